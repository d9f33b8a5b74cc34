"""Beyond one machine (issue #20): `--scheduler` runs the work on a Dask cluster, with the same results.

The cluster is real: `dask scheduler` and two `dask worker --nthreads 1` processes on 127.0.0.1 (or the
one at $LSTMCLI_TEST_SCHEDULER, which CI starts), and the tests compare each run with the one-machine
run of the same command: metrics equal, model files equal byte for byte.
"""

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.forecasting import executors, panel_local
from lstmcli.forecasting.executors import chunk_size

# One cluster, tests that kill its workers and count its tasks: on one pytest-xdist worker, in turn.
pytestmark = pytest.mark.xdist_group("dask")

REPO = Path(__file__).resolve().parent.parent
PANEL = REPO / "sample_data" / "monthly_panel.csv"
TINY = ["--epochs", "4", "--hidden", "6", "--ensemble", "2"]
runner = CliRunner()
# Bounds on waiting for the cluster to start, not timings: a shared machine can take minutes
STARTUP = 600


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory) -> str:
    """The address of a running cluster of two single-threaded workers (their engine loaded), torn
    down at the end."""
    distributed = pytest.importorskip("distributed")
    given = os.environ.get("LSTMCLI_TEST_SCHEDULER")
    if given:
        with distributed.Client(given, timeout=STARTUP) as client:
            client.wait_for_workers(1, timeout=STARTUP)
            client.run(warm_up)
        yield given
        return
    folder = tmp_path_factory.mktemp("dask")
    address_file = folder / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    # run from the repository, so that the workers import this file's helpers (tests.test_dask)
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    }
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "cwd": REPO, "env": env}
    here = ["--host", "127.0.0.1", "--no-dashboard"]
    procs = [
        subprocess.Popen(
            [*dask, "scheduler", *here, "--port", "0", "--scheduler-file", str(address_file)], **quiet
        )
    ]
    try:
        deadline = time.monotonic() + STARTUP
        while not address_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(address_file.read_text())["address"]
        for k in range(2):
            worker = [
                address,
                "--nthreads",
                "1",
                "--name",
                f"w{k}",
                "--local-directory",
                str(folder / f"w{k}"),
            ]
            procs.append(subprocess.Popen([*dask, "worker", *here, *worker], **quiet))
        with distributed.Client(address, timeout=STARTUP) as client:
            client.wait_for_workers(2, timeout=STARTUP)
            client.run(warm_up)
        yield address
    finally:
        for p in reversed(procs):  # the workers first, then the scheduler
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()


def warm_up() -> None:
    from lstmcli.engine import kernels

    kernels.warm_up()


@pytest.fixture
def small_tasks(monkeypatch):
    """Tasks as small as the balance rule makes them (a few series each), so that the tiny panel is
    spread over both workers instead of one task."""
    monkeypatch.setattr(executors, "MIN_TASK_SECONDS", 0.0)


def _ok(args: list[str]) -> str:
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.stdout


def _without_seconds(text: str) -> dict:
    doc = json.loads(text)
    doc.pop("seconds", None)
    doc.pop("model", None)
    return doc


@pytest.mark.parametrize("mode", ["--local", "--global"])
def test_training_on_the_cluster_writes_the_same_model(tmp_path, scheduler, small_tasks, mode):
    here, there = tmp_path / "here.npz", tmp_path / "there.npz"
    common = ["train", str(PANEL), "--id-col", "series", mode, *TINY, "--format", "json"]
    one = _ok([*common, "-m", str(here), "--threads", "1"])
    cluster = _ok([*common, "-m", str(there), "--scheduler", scheduler])
    assert here.read_bytes() == there.read_bytes()
    assert _without_seconds(one) == _without_seconds(cluster)
    # and the forecasts of every series, in chunks on the cluster
    a = _ok(["predict", "-m", str(here), "--format", "csv", "--level", "80"])
    b = _ok(["predict", "-m", str(here), "--format", "csv", "--level", "80", "--scheduler", scheduler])
    assert a == b and a.count("\n") == 1 + 4 * 12


def test_a_single_series_trains_its_members_on_the_cluster(tmp_path, scheduler):
    data = PANEL.parent / "ice_cream.csv"
    common = [
        "train",
        str(data),
        "--epochs",
        "5",
        "--hidden",
        "6",
        "--ensemble",
        "3",
        "--monitor",
        "forecast",
    ]
    _ok([*common, "-m", str(tmp_path / "a.npz"), "--threads", "1", "-q"])
    _ok([*common, "-m", str(tmp_path / "b.npz"), "--scheduler", scheduler, "-q"])
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


@pytest.mark.parametrize(
    ("mode", "windows"), [("--local", []), ("--global", []), ("--global", ["--windows", "2", "--step", "3"])]
)
def test_a_backtest_on_the_cluster_scores_the_same(scheduler, small_tasks, mode, windows):
    common = ["backtest", str(PANEL), "--id-col", "series", mode, "--horizon", "6", *windows, *TINY,
              "--format", "json"]  # fmt: skip
    one = _without_seconds(_ok([*common, "--threads", "1"]))
    cluster = _without_seconds(_ok([*common, "--scheduler", scheduler]))
    assert one == cluster and one["overall"]["LSTM"]["sMAPE"] > 0


class KillsItsWorkerOnce:
    """A chunk task that ends its worker process the first time any worker runs it (the marker file
    says it happened), then does the real work: what a worker lost mid-run looks like to Dask."""

    def __init__(self, task, marker: str) -> None:
        self.task, self.marker = task, marker

    def __call__(self, item, stop):
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return self.task(item, stop)
        os.close(fd)
        os._exit(1)  # the nanny starts a new worker; the scheduler runs the task again


def test_a_worker_dying_mid_run_changes_nothing(tmp_path, scheduler, small_tasks, monkeypatch):
    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.panel import PanelForecaster

    panel = load_panel(PANEL, id_col="series")
    cfg = ForecasterConfig(epochs=3, hidden=6, ensemble=2, patience=0)
    PanelForecaster(cfg, mode="local").fit(panel, threads=1).save(tmp_path / "here.npz")
    marker = tmp_path / "killed"
    monkeypatch.setattr(panel_local, "_fit_chunk", KillsItsWorkerOnce(panel_local._fit_chunk, str(marker)))
    with executors.connect(scheduler) as cluster:
        model = PanelForecaster(cfg, mode="local").fit(panel, executor=cluster)
    model.save(tmp_path / "there.npz")
    assert marker.exists()  # a worker did die
    assert (tmp_path / "here.npz").read_bytes() == (tmp_path / "there.npz").read_bytes()


def test_a_stop_returns_what_finished_and_an_exception_cancels_the_rest(scheduler):
    with executors.connect(scheduler) as cluster:
        seen = []
        naps = [(0, 0.0), (1, 0.0)] + [(k, 5.0) for k in range(2, 6)]
        done = cluster.map(
            _nap, naps, on_result=lambda k, r: seen.append(k), should_stop=lambda: len(seen) >= 2
        )
        assert all(done[k] in (k, "stopped") for k in done) and len(done) >= 2
        assert sum(r == "stopped" for r in done.values()) >= 2  # the rest ended early or never ran

        def interrupt(k, r):
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            cluster.map(_nap, [(0, 0.0), (1, 60.0), (2, 60.0)], on_result=interrupt)
        # (a bound on the polling, not a timing: a cancelled task already running finishes its nap first,
        # and with one worker free the second 60 s nap may have started before the cancel reached it)
        deadline = time.monotonic() + 240
        while cluster.client.run_on_scheduler(_lstmcli_tasks) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert cluster.client.run_on_scheduler(_lstmcli_tasks) == 0  # nothing left on the cluster


def _nap(item: tuple[int, float], stop) -> object:
    k, seconds = item
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if stop():
            return "stopped"
        time.sleep(0.05)
    return k


def _lstmcli_tasks(dask_scheduler=None) -> int:
    """lstmcli's tasks the scheduler still has to run or is running."""
    waiting = ("processing", "waiting", "queued", "no-worker")
    return sum(
        str(key).startswith("lstmcli-") and t.state in waiting for key, t in dask_scheduler.tasks.items()
    )


def test_without_dask_the_option_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails as if not installed
    r = runner.invoke(app, ["train", str(PANEL), "--id-col", "series", "-m", str(tmp_path / "m.npz"),
                            "--scheduler", "local", *TINY])  # fmt: skip
    assert r.exit_code == 1
    assert r.stderr == 'error: --scheduler local: Dask is not installed; pip install "lstmcli[dask]"\n'
    assert not (tmp_path / "m.npz").exists()


def test_an_unreachable_scheduler_is_one_line_naming_it(tmp_path, monkeypatch):
    pytest.importorskip("distributed")
    import socket

    monkeypatch.setattr(executors, "CONNECT_SECONDS", 1)
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    started = time.monotonic()
    r = runner.invoke(app, ["backtest", str(PANEL), "--id-col", "series", "--scheduler", address, *TINY])
    assert r.exit_code == 1 and time.monotonic() - started < 30
    assert r.stderr.startswith(f"error: --scheduler {address}: no Dask scheduler answered within 1 s")
    assert r.stderr.count("\n") == 1
    bad = runner.invoke(app, ["backtest", str(PANEL), "--id-col", "series", "--scheduler", "bogus", *TINY])
    assert bad.exit_code == 1  # an address Dask cannot parse is said to be one, at once (no wait)
    assert bad.stderr.startswith("error: --scheduler bogus: not a scheduler address (")
    assert bad.stderr.rstrip().endswith("expected tcp://host:port, or 'local'")


def test_predict_on_one_series_refuses_the_scheduler(trained_model):
    r = runner.invoke(app, ["predict", "-m", str(trained_model), "--scheduler", "tcp://127.0.0.1:1"])
    assert r.exit_code == 1 and "--scheduler is for models of many series" in r.stderr


def test_chunks_are_sized_by_work_not_one_task_per_series():
    assert chunk_size(1000, 2, 0.001) == 500  # cheap series: at least MIN_TASK_SECONDS a task
    assert chunk_size(4, 2, 0.001) == 4
    assert chunk_size(10, 2, 10.0) == 1  # long series: one a task, for balance
    assert chunk_size(10_000, 4, 1.0) == 30  # at most MAX_TASK_SECONDS a task
    assert chunk_size(10_000, 4, 0.01) == 313  # else about CHUNKS_PER_WORKER tasks per worker
    assert chunk_size(7, 64, 0.0) == 7
    assert chunk_size(1, 1, 100.0) == 1
