"""Files that are not what they seem, at the command line (issue #24, items 5, 6 and 10): devices, named
pipes, huge files, outputs that would replace an input, symlinks and special files as outputs, signals
during the final save, read-only file systems, and Ctrl-C while the command starts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmcli.cli import app

REPO = Path(__file__).resolve().parent.parent
AIR = REPO / "sample_data" / "air_passengers.csv"
FAST = ["--epochs", "2", "--hidden", "4", "--ensemble", "1", "--threads", "1"]
ENV = os.environ | {"PYTHONPATH": str(REPO), "NO_COLOR": "1"}


@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


def _one_line_error(result, *fragments: str) -> str:
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def _limit_memory() -> None:  # in the child: an unbounded read fails fast instead of eating the machine
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def _lstmcli(cwd: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lstmcli", *args], cwd=cwd, env=ENV, capture_output=True, text=True,
        timeout=timeout, stdin=subprocess.DEVNULL, preexec_fn=_limit_memory,
    )  # fmt: skip


def _one_line_exit_1(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


# ------------------------------------------------------------------------------ item 5: unbounded reads
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_a_device_is_refused_before_it_is_read(tmp_path, trained_model):
    proc = _lstmcli(tmp_path, "train", "/dev/zero")
    _one_line_exit_1(proc, "/dev/zero: is a character device, not a CSV file")
    proc = _lstmcli(tmp_path, "predict", "-m", "/dev/zero")
    _one_line_exit_1(proc, "zero: is a character device, not a model file")
    proc = _lstmcli(tmp_path, "predict", "-m", str(trained_model), "--data", "/dev/zero")
    _one_line_exit_1(proc, "/dev/zero: is a character device, not a CSV file")


def test_a_named_pipe_without_a_writer_is_refused_not_waited_for(tmp_path, trained_model):
    os.mkfifo(tmp_path / "pipe.csv")
    os.mkfifo(tmp_path / "pipe.npz")
    for args, message in [
        (["train", "pipe.csv"], "pipe.csv: is a named pipe (FIFO), not a CSV file"),
        (["backtest", "pipe.csv"], "pipe.csv: is a named pipe (FIFO), not a CSV file"),
        (["predict", "-m", "pipe.npz"], "pipe.npz: is a named pipe (FIFO), not a model file"),
        (["inspect", "-m", str(trained_model), "--data", "pipe.csv"], "is a named pipe (FIFO)"),
    ]:
        _one_line_exit_1(_lstmcli(tmp_path, *args, timeout=30), message)


def test_files_over_the_size_bound_are_refused_unread(runner, tmp_path):
    from lstmcli.files import MAX_INPUT_BYTES

    for name in ("huge.csv", "huge.npz"):
        with open(tmp_path / name, "wb") as f:
            f.truncate(MAX_INPUT_BYTES + 1)  # sparse: no disk space, and never read
    result = runner.invoke(app, ["train", "huge.csv"])
    _one_line_error(
        result, "huge.csv: lstmcli reads CSV files of at most 1 GiB; this one has 1,073,741,825 bytes"
    )
    result = runner.invoke(app, ["predict", "-m", "huge.npz"])
    _one_line_error(result, "huge.npz: lstmcli reads model files of at most 1 GiB")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
def test_a_file_whose_size_says_nothing_is_read_with_the_bound(runner, monkeypatch):
    from lstmcli import files

    monkeypatch.setattr(files, "MAX_INPUT_BYTES", 64)  # /proc files say 0 bytes and hold more
    _one_line_error(
        runner.invoke(app, ["train", "/proc/self/status"]), "of at most 64 bytes; this one is larger"
    )


# ------------------------------------------------------------------------------ item 6: outputs and inputs
def _model_in(tmp_path: Path, trained_model: Path) -> Path:
    model = tmp_path / "model.npz"
    model.write_bytes(trained_model.read_bytes())
    return model


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_predict_output_never_replaces_the_model_or_the_data(runner, tmp_path, trained_model, link):
    model = _model_in(tmp_path, trained_model)
    data = tmp_path / "new.csv"
    data.write_bytes(AIR.read_bytes())
    before = model.read_bytes(), data.read_bytes()
    for given, option in [(model, "--model"), (data, "--data")]:
        output = given.name
        if link == "symlink":
            output = "out-link"
            Path(output).unlink(missing_ok=True)
            os.symlink(given.name, output)
        elif link == "hardlink":
            output = "out-hard"
            Path(output).unlink(missing_ok=True)
            os.link(given, output)
        result = runner.invoke(app, ["predict", "-m", "model.npz", "--data", "new.csv", "-o", output])
        _one_line_error(
            result, f"--output {output} is the file given as {option}", "choose another file name"
        )
    assert (model.read_bytes(), data.read_bytes()) == before


@pytest.mark.parametrize("link", ["same", "symlink", "hardlink"])
def test_train_model_never_replaces_the_data(runner, tmp_path, link):
    data = tmp_path / "x.csv"
    data.write_bytes(AIR.read_bytes())
    output = "x.csv"
    if link == "symlink":
        os.symlink("x.csv", output := "link.npz")
    elif link == "hardlink":
        os.link("x.csv", output := "hard.npz")
    result = runner.invoke(app, ["train", "x.csv", "-m", output, *FAST])
    _one_line_error(result, f"--model {output} is the file given as DATA (x.csv)")
    assert data.read_bytes() == AIR.read_bytes()


def test_an_output_through_a_symlink_replaces_the_file_it_leads_to(runner, tmp_path, trained_model):
    _model_in(tmp_path, trained_model)
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "forecast.csv").write_text("old\n")
    os.symlink("sub/forecast.csv", "link.csv")
    os.symlink("sub/new.csv", "dangling.csv")
    for name in ("link.csv", "dangling.csv"):
        assert runner.invoke(app, ["predict", "-m", "model.npz", "-o", name]).exit_code == 0
        assert os.path.islink(name) and Path(name).read_text().startswith("date,forecast\n")
    assert (tmp_path / "sub" / "forecast.csv").read_text().startswith("date,forecast\n")
    assert sorted(os.listdir(tmp_path / "sub")) == ["forecast.csv", "new.csv"]
    assert runner.invoke(app, ["train", str(AIR), "-m", "model-link.npz", *FAST]).exit_code == 0
    os.replace("model-link.npz", "sub/model.npz")
    os.symlink("sub/model.npz", "model-link.npz")
    assert (
        runner.invoke(app, ["train", str(AIR), "-m", "model-link.npz", *FAST, "--seed", "1"]).exit_code == 0
    )
    assert os.path.islink("model-link.npz")


@pytest.mark.skipif(not os.path.exists("/dev/null"), reason="needs /dev/null")
def test_a_device_as_output_is_refused_and_stays_a_device(runner, tmp_path, trained_model):
    _model_in(tmp_path, trained_model)
    os.symlink("/dev/null", "null.csv")
    result = runner.invoke(app, ["predict", "-m", "model.npz", "-o", "null.csv"])
    _one_line_error(result, "null.csv: is a character device; lstmcli writes only regular files")
    assert os.path.islink("null.csv") and os.readlink("null.csv") == "/dev/null"
    os.symlink("/dev/null", "null.npz")
    result = runner.invoke(app, ["train", str(AIR), "-m", "null.npz", *FAST])
    _one_line_error(result, "null.npz: is a character device")
    assert "note:" not in result.stderr  # refused before training
    assert os.path.islink("null.npz")


@pytest.mark.skipif(not os.path.exists("/proc/self/fd/1"), reason="needs /proc")
def test_a_link_to_standard_output_is_not_replaced(tmp_path, trained_model):
    _model_in(tmp_path, trained_model)
    os.symlink("/proc/self/fd/1", tmp_path / "stdout.csv")
    proc = _lstmcli(tmp_path, "predict", "-m", "model.npz", "-o", "stdout.csv", "--format", "json")
    _one_line_exit_1(proc, "stdout.csv: is a named pipe (FIFO); lstmcli writes only regular files")
    assert proc.stdout == "" and os.readlink(tmp_path / "stdout.csv") == "/proc/self/fd/1"


@pytest.mark.skipif(not os.path.exists("/dev/stderr"), reason="needs /dev/stderr")
def test_the_file_a_stream_is_redirected_to_is_not_replaced(tmp_path, trained_model):
    # `-o /dev/stderr 2>>run.log` replaced run.log with the forecast: the log's earlier lines were lost
    _model_in(tmp_path, trained_model)
    log = tmp_path / "run.log"
    log.write_text("earlier log line\n")
    with open(log, "a") as err:
        proc = subprocess.run(
            [sys.executable, "-m", "lstmcli", "predict", "-m", "model.npz", "-o", "/dev/stderr", "--format", "csv"],
            cwd=tmp_path, env=ENV, stdout=subprocess.DEVNULL, stderr=err, stdin=subprocess.DEVNULL, timeout=60,
        )  # fmt: skip
    assert proc.returncode == 1
    assert log.read_text().splitlines() == [
        "earlier log line",
        "error: /dev/stderr: is where this command's standard error goes; replacing it would lose what is "
        "written there; leave out the output file and use --format csv or json",
    ]


# ------------------------------------------------------------------------------ item 10: smaller ones
def _python(cwd: Path, code: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=ENV, capture_output=True, text=True, timeout=timeout
    )


@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP"])
def test_a_signal_during_the_final_save_leaves_no_temporary_file(tmp_path, trained_model, signame):
    """The signal comes while the temporary file exists (sent from inside its fsync, so no timing):
    the file is removed, the previous model is intact, and the process ends by that signal."""
    if not hasattr(signal, signame):
        pytest.skip(f"no {signame} here")
    model = _model_in(tmp_path, trained_model)
    before = model.read_bytes()
    code = (
        "import os, signal, sys\n"
        "fsync = os.fsync\n"
        f"def fsync_then_signal(fd):\n    fsync(fd)\n    os.kill(os.getpid(), signal.{signame})\n"
        "os.fsync = fsync_then_signal\n"
        "from lstmcli.__main__ import main\n"  # the console script's entry point (its own SIGTERM handler)
        f"sys.argv = ['lstmcli', 'train', {str(AIR)!r}, '-m', 'model.npz', *{FAST!r}, '--seed', '5']\n"
        "main()\n"
    )
    proc = _python(tmp_path, code)
    assert proc.returncode == -getattr(signal, signame), proc.stderr
    assert "Traceback" not in proc.stderr
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]
    assert model.read_bytes() == before


def test_a_read_only_file_system_is_reported_as_such(runner, tmp_path, monkeypatch):
    """As a user meets it on a read-only mount: access(2) says no (EROFS) and statvfs says read-only."""
    import types

    real_statvfs, real_access = os.statvfs, os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: not mode & os.W_OK and real_access(p, mode, **kw))
    monkeypatch.setattr(os, "statvfs", lambda path: types.SimpleNamespace(f_flag=os.ST_RDONLY))
    result = runner.invoke(app, ["train", str(AIR), *FAST])
    _one_line_error(result, "model.npz: cannot write in folder . (read-only file system)")
    monkeypatch.setattr(os, "statvfs", real_statvfs)
    result = runner.invoke(app, ["train", str(AIR), *FAST])  # a writable file system: permission denied
    _one_line_error(result, "model.npz: cannot write in folder . (permission denied)")
    assert os.listdir(tmp_path) == []


def test_mixed_naive_and_time_zone_aware_times_are_named_as_such(runner, tmp_path):
    """Read in UTC, 02:00+02:00 is 00:00: this file was reported as having a duplicate time."""
    rows = ["2020-01-01 00:00:00,1", "2020-01-01 01:00:00,2", "2020-01-01 02:00:00+02:00,3"]
    rows += [f"2020-01-01 {h:02d}:00:00+02:00,{h}" for h in range(3, 12)]
    (tmp_path / "mixed.csv").write_text("date,value\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["train", "mixed.csv", *FAST])
    _one_line_error(
        result,
        "mixed.csv: column 'date' mixes times with a UTC offset (line 4: '2020-01-01 02:00:00+02:00') and "
        "times without one (line 2: '2020-01-01 00:00:00'); give every time an offset, or none",
    )
    assert sorted(os.listdir(tmp_path)) == ["mixed.csv"]


def test_all_aware_times_with_different_offsets_still_load(runner, tmp_path):
    rows = [f"2020-03-{d:02d}T00:00:00{'+01:00' if d < 15 else '+02:00'},{d}" for d in range(1, 29)]
    (tmp_path / "dst.csv").write_text("date,value\n" + "\n".join(rows) + "\n")
    result = runner.invoke(app, ["train", "dst.csv", *FAST])
    assert result.exit_code == 0, result.output
    # (daily at local midnight: the local dates, which a daily grid holds; in UTC it would not)
    assert "different UTC offsets (daylight saving time) but one local clock time" in " ".join(
        result.stderr.split()
    )
    hourly = [f"2020-03-29T{h:02d}:00:00{'+01:00' if h < 2 else '+02:00'},{h}" for h in (0, 1, *range(3, 24))]
    (tmp_path / "dst.csv").write_text("date,value\n" + "\n".join(hourly) + "\n")
    result = runner.invoke(app, ["train", "dst.csv", *FAST, "--horizon", "2"])
    assert result.exit_code == 0, result.output
    assert "different UTC offsets; they were converted to UTC" in result.stderr


def test_ctrl_c_while_the_command_starts_is_quiet_exit_130(tmp_path):
    """Ctrl-C later (Typer) exits 130 without a word; while Typer and Rich are still being imported it
    printed a traceback. The signal is sent from the import of Typer, so no timing is involved."""
    code = (
        "import os, signal, sys\n"
        "class InterruptAtTyper:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'typer':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "        return None\n"
        "sys.meta_path.insert(0, InterruptAtTyper())\n"
        "sys.argv = ['lstmcli', 'predict']\n"
        "from lstmcli.__main__ import main\n"
        "main()\n"
    )
    proc = _python(tmp_path, code, timeout=60)
    assert (proc.returncode, proc.stdout, proc.stderr) == (130, "", "")


def test_train_does_not_replace_a_file_that_is_not_a_model(runner, tmp_path, monkeypatch):
    """`train -m forecast.csv` replaced a forecast with a model, without a word; models only over models."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "forecast.csv").write_text("date,forecast\n2024-01-01,1.0\n")
    for args in (["-m", "forecast.csv"], ["--id-col", "series", "-m", "forecast.csv"]):
        data = REPO / "sample_data" / ("monthly_panel.csv" if "--id-col" in args else "air_passengers.csv")
        result = runner.invoke(app, ["train", str(data), *args, *FAST])
        _one_line_error(result, "forecast.csv: exists and is not a model file")
        assert (tmp_path / "forecast.csv").read_text() == "date,forecast\n2024-01-01,1.0\n"
    assert runner.invoke(app, ["train", str(AIR), "-m", "model.npz", *FAST]).exit_code == 0
    assert (
        runner.invoke(app, ["train", str(AIR), "-m", "model.npz", *FAST]).exit_code == 0
    )  # a model: replaced
