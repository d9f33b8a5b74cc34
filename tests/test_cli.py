"""The command line as a user meets it: train -> predict -> inspect -> backtest, errors, formats."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli import __version__
from lstmcli.cli import app
from tests.conftest import ctrl_c_after

REPO = Path(__file__).resolve().parent.parent
ICE_CREAM = REPO / "sample_data" / "ice_cream.csv"
AIR = REPO / "sample_data" / "air_passengers.csv"
FAST = ["--epochs", "4", "--hidden", "8"]


def _zip_bytes() -> bytes:
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr("previous.npy", b"previous")
    return buf.getvalue()


PREVIOUS = (
    _zip_bytes()
)  # an earlier model's bytes: a zip archive, as model files are (train replaces only those)


def run(runner: CliRunner, *args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_train_predict_inspect_with_no_other_flags(runner, cwd):
    result = run(runner, "train", ICE_CREAM, *FAST)
    assert result.exit_code == 0, result.output
    assert (cwd / "model.npz").exists()
    assert (
        "Training summary" in result.stdout
        and "Seasonal naive" in result.stdout
        and "Naive2" in result.stdout
    )

    result = run(runner, "predict", "--horizon", "12")
    assert result.exit_code == 0, result.output
    assert "2023-03-01" in result.stdout and "2024-02-01" in result.stdout  # dates continue the series

    result = run(runner, "inspect")
    assert result.exit_code == 0, result.output
    for title in ("forget gate", "input gate", "candidate", "output gate", "cell state", "hidden state"):
        assert title in result.stdout
    assert "half-life" in result.stdout


def test_inspect_tables_fit_the_terminal(runner, cwd, monkeypatch):
    """A gate table wider than the terminal squeezes every value to '0.…': by default inspect shows as
    many units as fit (at most 12) and says how to see the others."""
    assert run(runner, "train", AIR, "--epochs", "2", "--hidden", "20", "--ensemble", "1").exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")
    narrow = run(runner, "inspect", "--layer", "1")
    assert narrow.exit_code == 0, narrow.output
    assert ".…" not in narrow.stdout  # no value cut short (titles may say "-1 … 1")
    header = next(line for line in narrow.stdout.splitlines() if "u0" in line)
    shown = header.count(" u")
    assert 4 <= shown < 12 and f"Units 0-{shown - 1} of 20 shown" in narrow.stdout
    assert max(len(line) for line in narrow.stdout.splitlines()) <= 80
    monkeypatch.setenv("COLUMNS", "200")
    wide = run(runner, "inspect", "--layer", "1")
    assert " u11 " in wide.stdout and " u12 " not in wide.stdout and "at most 12 by default" in wide.stdout
    chosen = run(runner, "inspect", "--units", "0,15")  # an explicit choice is shown as asked
    assert " u15 " in chosen.stdout and "shown (" not in chosen.stdout


def test_predict_formats_and_output_file(runner, cwd):
    assert run(runner, "train", AIR, *FAST, "-m", "air.npz").exit_code == 0
    result = run(runner, "predict", "-m", "air.npz", "--horizon", "3", "--format", "json", "--level", "80")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # nothing else on stdout
    records = payload["forecast"]
    assert [r["date"] for r in records] == ["1961-01-01", "1961-02-01", "1961-03-01"]
    assert all(r["lower_80"] <= r["forecast"] <= r["upper_80"] for r in records)

    result = run(runner, "predict", "-m", "air.npz", "--horizon", "3", "--format", "csv", "--output", "f.csv")
    assert result.exit_code == 0, result.output
    lines = result.stdout.strip().splitlines()
    assert lines[0] == "date,forecast" and len(lines) == 4
    assert (cwd / "f.csv").read_text().strip().splitlines() == lines


def test_predict_from_newer_data(runner, cwd):
    assert run(runner, "train", AIR, *FAST).exit_code == 0
    newer = cwd / "newer.csv"
    newer.write_text("".join(AIR.read_text().splitlines(keepends=True)[:100]))  # ends 1957-03-01
    result = run(runner, "predict", "--data", newer, "--horizon", "2", "--format", "json")
    assert result.exit_code == 0, result.output
    assert [r["date"] for r in json.loads(result.stdout)["forecast"]] == ["1957-04-01", "1957-05-01"]


def test_inspect_json_has_the_documented_shape(runner, cwd):
    assert run(runner, "train", AIR, *FAST, "--layers", "2", "--lookback", "10").exit_code == 0
    result = run(runner, "inspect", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["gate_order"] == ["i", "f", "g", "o"]
    assert np.array(payload["inputs"]).shape == (10, 1)
    assert len(payload["layers"]) == 2
    for layer in payload["layers"]:
        for key in ("i", "f", "g", "o", "c", "h"):
            assert np.array(layer[key]).shape == (10, 8)
    assert len(payload["output"]) == 1

    result = run(runner, "inspect", "--format", "csv", "--layer", "2", "--steps", "3", "--units", "0,5")
    assert result.exit_code == 0, result.output
    rows = result.stdout.strip().splitlines()
    assert rows[0] == "layer,step,label,gate,unit,value"
    assert len(rows) == 1 + 6 * 3 * 2  # gates+states x steps x units


def test_backtest_shows_baselines(runner, cwd):
    result = run(runner, "backtest", AIR, *FAST, "--horizon", "6", "--windows", "3", "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload["overall"]) == {"LSTM", "Naive", "Seasonal naive", "Naive2", "Theta", "ES", "ARIMA"}
    assert len(payload["per_step"]) == 6 and len(payload["origins"]) == 3
    assert payload["overall"]["Naive2"]["OWA"] == pytest.approx(1.0)


def test_version_and_help(runner):
    result = run(runner, "--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"lstmcli {__version__}"
    result = run(runner, "--help")
    assert result.exit_code == 0
    for command in ("train", "predict", "inspect", "backtest"):
        assert command in result.stdout


def test_python_dash_m_and_help_does_not_import_pandas_or_numpy():
    code = "import sys; sys.argv=['lstmcli','--help']\ntry:\n import lstmcli.__main__\nexcept SystemExit: pass\nprint('pandas' in sys.modules, 'lstmcli.engine.network' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert out.stdout.strip().splitlines()[-1] == "False False False"
    out = subprocess.run(
        [sys.executable, "-m", "lstmcli", "--version"], capture_output=True, text=True, cwd=REPO
    )
    assert out.returncode == 0 and out.stdout.strip() == f"lstmcli {__version__}"


# ------------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "missing.csv"], "missing.csv"),
        (["train", AIR, "--target", "nope"], "nope"),
        (["train", AIR, "--lookback", "500"], "lookback"),
        (["predict"], "model.npz: no such model file"),
        (["inspect", "--model", "missing.npz"], "missing.npz: no such model file"),
        (["predict", "-m", "nowhere/model.npz"], "nowhere/model.npz: no such model file"),
    ],
)
def test_user_errors_are_one_line_exit_1(runner, cwd, args, message):
    result = run(runner, *args)
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", AIR, "--transform", "wavelet"], "unknown transform 'wavelet'"),
        (["train", AIR, "--freq", "XYZ"], "--freq 'XYZ' is not a pandas frequency alias"),
        (["backtest", AIR, "--transform", "auto,log"], "'auto' stands alone"),
    ],
)
def test_a_bad_option_value_lstmcli_checks_is_a_usage_error_exit_2_in_one_line(runner, cwd, args, message):
    # (they exited 1, where Typer's own checks of an option, --epochs abc, exit 2: both usage errors)
    result = run(runner, *args)
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr


def test_a_numpy_whose_blas_the_engine_cannot_call_is_one_line_exit_1(tmp_path):
    """The engine binds NumPy's 64-bit-integer GEMM when it is imported; a NumPy built without one is
    a user's problem to fix (another NumPy), so it is reported in words, not as an import traceback.
    In a fresh process whose BLAS lookup finds no library, before the engine is imported."""
    code = (
        "import sys\n"
        "from lstmcli.engine import threads\n"
        "threads.blas_controller = lambda: type('NoBlas', (), {'lib_controllers': []})()\n"
        "from lstmcli.cli import main\n"
        f"sys.argv = ['lstmcli', 'train', {str(AIR)!r}, '--epochs', '1']\n"
        "main()\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "64-bit-integer CBLAS" in lines[0] and "BLAS libraries loaded: none" in lines[0]


def test_usage_errors_exit_2(runner, cwd):
    result = run(runner, "predict", "--horizon", "0")
    assert result.exit_code == 2
    result = run(runner, "train", AIR, "--epochs", "many")
    assert result.exit_code == 2


@pytest.mark.parametrize(
    ("args", "listed"),
    [
        (["train", AIR, "--fill", "mean"], "'linear', 'ffill', 'zero'"),
        (["train", AIR, "--strategy", "mimo"], "'recursive', 'direct'"),
        (["train", AIR, "--normalize", "minmax"], "'window', 'ses', 'none'"),
        (["train", AIR, "--deseasonalize", "stl"], "'auto', 'none'"),
        (["backtest", AIR, "--monitor", "val"], "'forecast', 'loss'"),
        (["backtest", AIR, "--combine", "ets"], "'theta+es+arima'"),
        (["train", AIR, "--loss", "mape"], "'mse', 'mae', 'huber'"),
        (["predict", "--method", "sarima"], "'naive2', 'theta', 'es', 'arima', 'best'"),
    ],
)
def test_an_option_with_fixed_values_refuses_another_as_a_usage_error_that_lists_them(
    runner, cwd, args, listed
):
    result = run(runner, *args)
    shown = " ".join(result.stderr.replace("│", " ").split())  # the message as words, out of its box
    assert result.exit_code == 2 and listed in shown, result.output
    assert not (cwd / "model.npz").exists() and "Traceback" not in result.output


def test_the_fixed_values_the_command_line_offers_are_those_the_code_takes():
    from lstmcli.cli.options import FILLS
    from lstmcli.data.filling import FILL_METHODS
    from lstmcli.engine.losses import LOSSES
    from lstmcli.forecasting.config import LOSSES as LOSS_NAMES

    assert FILLS == FILL_METHODS and LOSS_NAMES == tuple(LOSSES)


def test_help_keeps_the_extras_in_its_install_hints(runner):
    """Typer reads help as Rich markup: an unescaped [dask] vanished, leaving pip install "lstmcli"."""
    for command, extras in (("train", ("holidays", "dask")), ("predict", ("dask",)), ("backtest", ("dask",))):
        shown = " ".join(run(runner, command, "--help").stdout.split())
        for extra in extras:
            assert f"lstmcli[{extra}]" in shown, (command, extra)


def test_errors_in_predict_and_inspect_options(runner, cwd):
    assert run(runner, "train", AIR, *FAST).exit_code == 0
    for args, message in [
        (["inspect", "--layer", "3"], "--layer 3 out of range"),
        (["inspect", "--units", "0,99"], "out of range"),
        (["inspect", "--units", "40"], "--units 40: the layer has 8 units; give at most 8"),  # (cut to 8)
        (["predict", "--data", "missing.csv"], "missing.csv"),
    ]:
        result = run(runner, *args)
        assert result.exit_code == 1, result.output
        assert message in result.stderr
    for units, message in (
        ("0", "(unit 0 alone: --units 0,)"),
        ("a", "a count like 8"),
        (",,", "a count like 8"),
    ):
        result = run(runner, "inspect", "--units", units)  # no model could make it right: a usage error
        assert result.exit_code == 2 and message in result.stderr, result.output
    twice = json.loads(run(runner, "inspect", "--units", "3,3,1", "--format", "json").stdout)
    assert twice["units"] == [3, 1]  # (unit 3 was shown twice)


def test_inspect_exports_every_unit_unless_units_narrows_them(runner, cwd):
    """json and csv held the first 12 units of 32 without a word (a walk-through): an export is whole."""
    assert run(runner, "train", AIR, "--epochs", "2", "--hidden", "16", "--ensemble", "1").exit_code == 0
    payload = json.loads(run(runner, "inspect", "--format", "json").stdout)
    assert payload["units"] == list(range(16)) and np.shape(payload["layers"][0]["h"])[1] == 16
    rows = list(csv.DictReader(io.StringIO(run(runner, "inspect", "--format", "csv").stdout)))
    assert {int(r["unit"]) for r in rows if r["gate"] == "f"} == set(range(16))
    assert "of 16 shown" in run(runner, "inspect").stdout  # (the tables: at most 12, and say so)


def test_failed_train_keeps_the_existing_model(runner, cwd):
    assert run(runner, "train", AIR, *FAST).exit_code == 0
    before = (cwd / "model.npz").read_bytes()
    bad = cwd / "bad.csv"
    bad.write_text("date,value\n2020-01-01,1\n2020-02-01,abc\n")
    result = run(runner, "train", bad)
    assert result.exit_code == 1
    assert (cwd / "model.npz").read_bytes() == before


def test_same_seed_same_model_file(runner, cwd):
    assert run(runner, "train", AIR, *FAST, "-m", "a.npz").exit_code == 0
    assert run(runner, "train", AIR, *FAST, "-m", "b.npz").exit_code == 0
    assert run(runner, "train", AIR, *FAST, "-m", "c.npz", "--seed", "1").exit_code == 0
    assert (cwd / "a.npz").read_bytes() == (cwd / "b.npz").read_bytes()
    assert (cwd / "a.npz").read_bytes() != (cwd / "c.npz").read_bytes()


def test_the_thread_count_does_not_change_the_model_file(runner, cwd, monkeypatch):
    """With 2 cores the members train side by side in worker processes (forced here, so that path runs
    however small the job), with 1 one after the other in this process: the same file either way."""
    from lstmcli.forecasting import ensemble, members

    monkeypatch.setattr(members, "MIN_PARALLEL_SECONDS", 0.0)
    job = ["--epochs", "3", "--hidden", "24", "--ensemble", "3", "--no-retrain"]
    assert run(runner, "train", AIR, *job, "-m", "one.npz", "--threads", "1").exit_code == 0
    calls = []
    monkeypatch.setattr(ensemble, "train_in_processes", _counting(members.train_in_processes, calls))
    assert run(runner, "train", AIR, *job, "-m", "two.npz", "--threads", "2").exit_code == 0
    assert calls, "the members did not train in worker processes"
    assert (cwd / "one.npz").read_bytes() == (cwd / "two.npz").read_bytes()


def _counting(function, calls: list):
    def counted(*args, **kwargs):
        calls.append(1)
        return function(*args, **kwargs)

    return counted


# ------------------------------------------------------------------------------------------ interruptions
def _start_training(cwd: Path, model: str, epochs: int = 100000, threads: str = "0") -> subprocess.Popen:
    env = os.environ | {"PYTHONPATH": str(REPO), "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "lstmcli", "train", str(ICE_CREAM), "-m", model, "--epochs", str(epochs),
         "--patience", "0", "--hidden", "16", "--threads", threads],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _wait_for_epochs(proc: subprocess.Popen, seconds: float = 2.0) -> None:
    """Wait until the data is read (its last note is on stderr; a busy machine may take long to get
    there), then a little for the engine to start and train."""
    for line in proc.stderr:
        if line.startswith("note: Frequency"):
            break
    time.sleep(seconds)
    assert proc.poll() is None, proc.communicate()


@pytest.mark.parametrize("threads", ["1", "2"])  # members one after the other / in worker processes
def test_ctrl_c_saves_the_best_weights_so_far(cwd, threads):
    # A busy machine may not finish the first epoch within the wait; the command then rightly writes
    # nothing ("interrupted before the first epoch finished"), and the test tries again, waiting longer.
    for seconds in (2.0, 10.0, 40.0):
        proc = _start_training(cwd, "model.npz", threads=threads)
        _wait_for_epochs(proc, seconds)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)  # a bound on a hang, not a speed check
        if "before the first epoch finished" not in err:
            break
    assert proc.returncode == 130, err  # (it was 0: a script's `train && predict` went on as if done)
    assert "interrupted" in out and "model.npz holds the best weights so far" in " ".join(err.split())
    from lstmcli.forecasting.forecaster import Forecaster

    assert Forecaster.load(cwd / "model.npz").train_result_.stop_reason == "interrupted"


def test_ctrl_c_never_replaces_an_existing_model_with_a_less_trained_one(runner, cwd, monkeypatch):
    """A first Ctrl-C keeps the best weights so far; over an existing model they replaced it, exit 0 (a
    walk-through). Now beside it, NAME.interrupted.npz, exit 130, and the command says so."""
    from lstmcli.cli import train as train_cmd
    from lstmcli.forecasting.forecaster import Forecaster

    (cwd / "model.npz").write_bytes(PREVIOUS)
    monkeypatch.setattr(
        train_cmd, "_Interrupts", ctrl_c_after(6)
    )  # (asked before each batch: in the second epoch)
    result = run(runner, "train", AIR, *FAST, "--ensemble", "1", "--threads", "1")
    assert result.exit_code == 130, result.output
    said = " ".join(result.stderr.split())
    assert "model.interrupted.npz holds the best weights so far; model.npz was left as it was" in said
    assert (cwd / "model.npz").read_bytes() == PREVIOUS
    assert Forecaster.load(cwd / "model.interrupted.npz").train_result_.stop_reason == "interrupted"
    (cwd / "model.interrupted.npz").write_text("my notes")  # (not a model: someone's file, kept)
    monkeypatch.setattr(train_cmd, "_Interrupts", ctrl_c_after(6))
    result = run(runner, "train", AIR, *FAST, "--ensemble", "1", "--threads", "1")
    assert result.exit_code == 130 and "model.interrupted-2.npz holds the best" in " ".join(
        result.stderr.split()
    )
    assert (cwd / "model.interrupted.npz").read_text() == "my notes" and (
        cwd / "model.npz"
    ).read_bytes() == PREVIOUS


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (Linux: /proc's children lists)."""
    found, todo = set(), [pid]
    while todo:
        p = todo.pop()
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found.update(children)
            todo.extend(children)
    return found


def _running(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc")
def test_sigterm_abandons_training_and_stops_the_worker_processes(cwd):
    """A job scheduler's kill (SIGTERM) during training: nothing written, one line, and no worker
    process left computing (they were: only Ctrl-C told them to stop)."""
    (cwd / "model.npz").write_bytes(PREVIOUS)
    proc = _start_training(cwd, "model.npz", threads="2")
    deadline = time.monotonic() + 300  # a bound on a hang, not a speed check
    # training has started once the workers' server has forked a worker (it starts before the data is
    # read, so waiting for a process two levels down, not a clock, says the members are training)
    while not any(_descendants(p) for p in _descendants(proc.pid)) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    workers = _descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)  # a bound on a hang, not a speed check
    assert proc.returncode == -signal.SIGTERM, err  # ends by the signal, as a job scheduler expects
    assert "abandoned: model.npz was not written" in err and "Traceback" not in err
    assert "leaked semaphore" not in err  # (multiprocessing's exit hook ran before the signal ended it)
    assert (cwd / "model.npz").read_bytes() == PREVIOUS
    deadline = time.monotonic() + 120
    while any(_running(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in workers if _running(p)]


def test_second_ctrl_c_abandons_without_writing(runner, cwd, monkeypatch):
    """The second Ctrl-C raises KeyboardInterrupt inside training: nothing may be written."""
    from lstmcli.cli.train import SAME_INTERRUPT_SECONDS, _Interrupts
    from lstmcli.forecasting.forecaster import Forecaster

    interrupts = _Interrupts()
    interrupts._handle(signal.SIGINT, None)  # first Ctrl-C: a request to stop
    assert interrupts.requested
    # the same interrupt delivered twice at once (`timeout -s INT` signals the command, then its group):
    # still a request to stop (it abandoned the series a local panel had finished; a walk-through)
    interrupts._handle(signal.SIGINT, None)
    interrupts._first -= SAME_INTERRUPT_SECONDS  # a person's second Ctrl-C, later
    with pytest.raises(KeyboardInterrupt):
        interrupts._handle(signal.SIGINT, None)  # second: abandon

    (cwd / "model.npz").write_bytes(PREVIOUS)

    def second_ctrl_c(self, data, **kw):
        raise KeyboardInterrupt

    monkeypatch.setattr(Forecaster, "fit", second_ctrl_c)
    result = run(runner, "train", AIR, *FAST)
    assert result.exit_code == 130  # (it was 1, where the README says Ctrl-C ends a command with 130)
    assert "abandoned: model.npz was not written" in result.stderr
    assert (cwd / "model.npz").read_bytes() == PREVIOUS
    assert sorted(os.listdir(cwd)) == ["model.npz"]


def test_ctrl_c_in_a_panel_of_local_models_never_replaces_a_model_with_some_series_of_it(
    runner, cwd, monkeypatch
):
    """A first Ctrl-C after one series of four: a new file holds that series (exit 130, said); an
    existing model is left as it was (it replaced it with a model of 1 series, exit 0), the series go
    beside it."""
    from lstmcli.cli import train as train_cmd

    # (asked before each series and each of its batches: pressed in the second series, which is left out)
    AfterOneSeries = ctrl_c_after(60)
    monkeypatch.setattr(train_cmd, "_Interrupts", AfterOneSeries)
    panel = REPO / "sample_data" / "monthly_panel.csv"
    args = ["train", panel, "--id-col", "series", *FAST, "--ensemble", "1", "--threads", "1"]
    result = run(runner, *args, "-m", "new.npz")
    assert result.exit_code == 130, result.output
    assert "new.npz holds the 1 of 4 series trained so far" in " ".join(result.stderr.split())
    (cwd / "model.npz").write_bytes(PREVIOUS)
    AfterOneSeries.asked = 0
    result = run(runner, *args)
    assert result.exit_code == 130, result.output
    said = " ".join(result.stderr.split())
    assert (
        "model.interrupted.npz holds the 1 of 4 series trained so far; model.npz was left as it was" in said
    )
    assert (cwd / "model.npz").read_bytes() == PREVIOUS


def test_two_trainings_writing_one_path_never_mix(cwd):
    procs = [_start_training(cwd, "model.npz", epochs=40) for _ in range(2)]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    from lstmcli.forecasting.forecaster import Forecaster

    Forecaster.load(cwd / "model.npz")  # complete and valid, whichever finished last
    assert sorted(os.listdir(cwd)) == ["model.npz"]


def test_backtest_long_format_scores_every_series(runner, cwd):
    long_csv = REPO / "tests" / "data" / "m3_quarterly_first3.csv"
    result = run(
        runner, "backtest", long_csv, "--id-col", "series_id", "--season", "4", *FAST, "--format", "json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["horizon"] == 8 and len(payload["origins"]) == 3 and payload["season"] == 4
    assert payload["overall"]["Naive2"]["OWA"] == pytest.approx(1.0)
    table = run(runner, "backtest", long_csv, "--id-col", "series_id", "--season", "4", *FAST)
    assert table.exit_code == 0 and "OWA" in table.stdout and "The LSTM" in table.stdout
    assert "no season" not in table.stderr
    # the file numbers its steps: without --season, no season, and a note says so and how to give one
    unseasonal = run(runner, "backtest", long_csv, "--id-col", "series_id", *FAST, "--format", "json")
    assert unseasonal.exit_code == 0 and json.loads(unseasonal.stdout)["season"] == 1
    note = " ".join(unseasonal.stderr.split())
    assert "m3_quarterly_first3.csv has no dates with a regular frequency, so no season" in note
    assert "give --season (12 for monthly data, 4 for quarterly)" in note
    # options a panel's backtest does not use are said to be unused, not silently dropped
    odd = run(runner, "backtest", long_csv, "--id-col", "series_id", "--season", "4", "--windows", "2",
              "--refit", "--horizon", "6", *FAST, "--format", "json")  # fmt: skip
    assert odd.exit_code == 0 and json.loads(odd.stdout)["horizon"] == 8, odd.output
    assert len(json.loads(odd.stdout)["windows"]) == 2  # (--windows is a panel's too now)
    said = " ".join(odd.stderr.split())
    assert "--refit is for a single series: each window of a panel trains its models anew" in said
    assert (
        "--horizon 6 is not used: m3_quarterly_first3.csv's split column marks 8 test rows per series" in said
    )
    trained = run(runner, "train", long_csv, "--id-col", "series_id", *FAST, "--format", "json")
    assert trained.exit_code == 0 and json.loads(trained.stdout)["horizon"] == 1
    said = " ".join(trained.stderr.split())  # train's default horizon is one season: 1 step here
    assert "not seasonal, and the horizon 1 step; give --season" in said and "and --horizon." in said


def test_every_option_is_documented_in_the_readme():
    import typer.main

    readme = (REPO / "README.md").read_text()
    command = typer.main.get_command(app)
    for name, sub in command.commands.items():
        assert f"### `lstmcli {name}`" in readme, name
        for param in sub.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help":
                    assert f"`{opt}`" in readme, f"{name} {opt}"


def test_training_progress_line_fits_80_columns():
    """Nothing of the line is cut short at 80 columns (it had lost its times to '0:…')."""
    import io

    from rich.console import Console

    from lstmcli.cli.render import TrainingProgress
    from lstmcli.engine.training import EpochReport

    buf = io.StringIO()
    with TrainingProgress(Console(file=buf, width=80, color_system=None), 300) as progress:
        progress.update(EpochReport(27, 300, 0.34091234, 0.2854321, 27, 0.2854321, 4.2))
    line = buf.getvalue().splitlines()[-1]
    assert "…" not in line and len(line) <= 80
    assert "train 0.3409 val 0.2854 best 0.2854 at ep 27 eta" in line
    # the retraining on all the data has no validation loss: no "best" beside the summary's
    buf = io.StringIO()
    with TrainingProgress(Console(file=buf, width=80, color_system=None), 300) as progress:
        progress.update(EpochReport(5, 300, 0.4083, None, 1, 0.4083, 1.0))
    assert "train 0.4083 val – best – eta" in buf.getvalue().splitlines()[-1]


def test_backtest_leaves_no_empty_line_on_stderr(runner, cwd):
    """Its transient progress bar, off a terminal, left an empty line before an error and after a run."""
    (cwd / "tiny.csv").write_text("date,value\n" + "".join(f"2020-{m:02d}-01,{m}\n" for m in range(1, 5)))
    failed = run(runner, "backtest", "tiny.csv")
    assert failed.exit_code == 1 and failed.stderr.splitlines()[-1].startswith("error: 5 windows of 12 steps")
    done = run(runner, "backtest", AIR, "--windows", "2", *FAST)
    assert done.exit_code == 0, done.output
    for result in (failed, done):
        assert "" not in result.stderr.splitlines(), result.stderr


def test_predict_and_inspect_data_say_what_reading_the_newer_file_decided(runner, cwd):
    """They filled gaps and left out columns without a note, where train says both."""
    assert run(runner, "train", AIR, *FAST).exit_code == 0
    lines = AIR.read_text().splitlines()
    gap = [line + ",x" for line in lines[1:] if not line.startswith(("1957-03", "1957-04"))]
    (cwd / "newer.csv").write_text("date,value,label\n" + "\n".join(gap) + "\n")
    for args in (["predict", "--horizon", "2", "--format", "csv"], ["inspect", "--format", "json"]):
        result = run(runner, *args, "--data", "newer.csv")
        assert result.exit_code == 0, result.output
        said = " ".join(result.stderr.split())
        assert "Added 2 missing time steps" in said and "1957-03-01, 1957-04-01" in said, said
        assert "Ignored text column 'label'" in said, said
        assert "Frequency MS (monthly, month start), the model's." in said and "--freq" not in said


def test_an_hourly_forecast_writes_every_time_with_its_clock(runner, cwd):
    stamps = np.arange("2020-01-01T00", "2020-01-15T00", dtype="datetime64[h]")
    values = 100 + 10 * np.sin(np.arange(stamps.size) * 2 * np.pi / 24)
    (cwd / "hourly.csv").write_text(
        "time,load\n"
        + "".join(f"{str(t).replace('T', ' ')}:00:00,{v:.3f}\n" for t, v in zip(stamps, values, strict=True))
    )
    assert run(runner, "train", "hourly.csv", *FAST).exit_code == 0
    result = run(runner, "predict", "--horizon", "26", "--format", "csv")
    assert result.exit_code == 0, result.output
    dates = [line.split(",")[0] for line in result.stdout.splitlines()[1:]]
    assert dates[0] == "2020-01-15 00:00:00" and dates[24] == "2020-01-16 00:00:00" and len(dates) == 26
    assert all(len(d) == 19 for d in dates)


def test_a_panel_backtest_names_the_series_too_short_to_fit(runner, cwd):
    # (it stopped the backtest of every series: "panel.csv, series 'tiny': 1 usable rows")
    panel = (REPO / "sample_data" / "monthly_panel.csv").read_text()
    tiny = "".join(f"tiny,2020-0{m}-01,{m}.0\n" for m in (1, 2, 3, 4, 5))
    (cwd / "panel.csv").write_text(panel + tiny)
    result = run(runner, "backtest", "panel.csv", "--id-col", "series", "--horizon", "2", *FAST)
    assert result.exit_code == 0, result.output
    assert (
        "1 of 5 series are too short for a model of these settings (tiny) and are forecast by Naive2 here"
        in (" ".join(result.stderr.split()))
    )


def test_a_panel_backtest_says_which_series_are_constant(runner, cwd):
    lines = (REPO / "sample_data" / "monthly_panel.csv").read_text().splitlines()
    flat = [
        line.rsplit(",", 1)[0] + ",5.0" if line.startswith("us_accidental_deaths,") else line
        for line in lines
    ]
    (cwd / "panel.csv").write_text("\n".join(flat) + "\n")
    result = run(runner, "backtest", "panel.csv", "--id-col", "series", "--horizon", "2", *FAST)
    assert result.exit_code == 0, result.output
    said = " ".join(result.stderr.split())
    assert "1 of 4 series are constant over their training rows (us_accidental_deaths)" in said


def test_a_panel_backtest_says_which_series_miss_dates(runner, cwd):
    """Its loader takes a series' rows as consecutive steps: a missing month shifted what followed, unsaid."""
    lines = (REPO / "sample_data" / "monthly_panel.csv").read_text().splitlines()
    gone = ("air_passengers,1955-03-01", "air_passengers,1955-04-01")
    (cwd / "panel.csv").write_text("\n".join(line for line in lines if not line.startswith(gone)) + "\n")
    result = run(runner, "backtest", "panel.csv", "--id-col", "series", "--horizon", "2", *FAST)
    assert result.exit_code == 0, result.output
    assert "1 of 4 series miss dates of the MS grid (air_passengers)" in " ".join(result.stderr.split())
    whole = run(runner, "backtest", REPO / "sample_data" / "monthly_panel.csv", "--id-col", "series",
                "--horizon", "2", *FAST)  # fmt: skip
    assert whole.exit_code == 0 and "miss dates" not in whole.stderr
    # a date missing among the scored rows (or just before them): the step after it was scored against a
    # later month than it forecast (a walk-through); refused, naming the series and the date
    for gone in ("air_passengers,1960-11-01", "air_passengers,1960-10-01"):
        (cwd / "panel.csv").write_text("\n".join(line for line in lines if not line.startswith(gone)) + "\n")
        result = run(runner, "backtest", "panel.csv", "--id-col", "series", "--horizon", "2", *FAST)
        assert result.exit_code == 1 and len(result.stderr.strip().splitlines()) == 1, result.output
        assert (
            f"series 'air_passengers' has no row for {gone.split(',')[1]}, among the 2 steps" in result.stderr
        )


def test_gapped_series_counts_the_steps_a_grid_expects():
    from types import SimpleNamespace

    from lstmcli.data.panel import gapped_series

    daily = np.array(["2020-01-01", "2020-01-02", "2020-01-04"], dtype="datetime64[ns]")
    monthly = np.array(["2020-01-01", "2020-02-01", "2020-03-01"], dtype="datetime64[ns]")
    series = [SimpleNamespace(series_id="d", times=daily), SimpleNamespace(series_id="m", times=monthly)]
    assert gapped_series(series, "D") == ["d", "m"]  # (monthly dates on a daily grid miss days)
    assert gapped_series(series[1:], "MS") == [] and gapped_series(series[:1], "D") == ["d"]


def test_predict_data_of_many_series_on_a_one_series_model_gives_advice_it_can_take(runner, cwd):
    """The loader's hint was 'did you mean --id-col series?', an option predict does not have."""
    assert run(runner, "train", AIR, *FAST).exit_code == 0
    result = run(runner, "predict", "--data", REPO / "sample_data" / "monthly_panel.csv")
    assert result.exit_code == 1 and "did you mean" not in result.stderr
    assert "this model holds one series: train with --id-col series for a model of each)" in result.stderr


def test_inspect_numbers_the_steps_of_a_series_without_dates_as_predict_does(runner, cwd):
    values = 50 + 10 * np.sin(np.arange(40) * 2 * np.pi / 12)
    (cwd / "steps.csv").write_text("value\n" + "".join(f"{v:.3f}\n" for v in values))
    assert run(runner, "train", "steps.csv", *FAST).exit_code == 0
    inspected = run(runner, "inspect", "--format", "json", "--steps", "3")
    assert inspected.exit_code == 0, inspected.output
    assert json.loads(inspected.stdout)["steps"] == ["38", "39", "40"]  # (they were t-2, t-1, t)
    predicted = run(runner, "predict", "--format", "csv", "--horizon", "1")
    assert predicted.stdout.splitlines()[1].startswith("41,")


def test_a_panel_backtest_without_test_rows_scores_the_last_season_by_default(runner, cwd):
    """--horizon says 'default: one season'; a panel file without a split column asked for it instead."""
    panel = REPO / "sample_data" / "monthly_panel.csv"
    result = run(runner, "backtest", panel, "--id-col", "series", *FAST, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["horizon"] == 12


def test_no_validation_says_why_without_blaming_an_option_not_given(runner, cwd):
    """It said '(--val-size 0)' when the series was merely too short for validation beside the horizon."""
    result = run(runner, "train", AIR, *FAST, "--horizon", "100", "--strategy", "direct")
    assert result.exit_code == 0, result.output
    said = " ".join(result.stdout.split())
    assert "No validation windows (the series is too short for them beside lookback" in said
    assert "--val-size 0" not in said
