"""The workers' forkserver started before the data is read (``forecasting.early_workers``, issue #23):
on a cold cache it compiles its share of the loops while the caller compiles the rest, it waits for
the caller's share and never longer than the caller lives, and the model is the same as a warm run's.
Checked by what the processes write and do, not by timing them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from lstmcli.forecasting import early_workers

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "ice_cream.csv"
FAST = ["--epochs", "3", "--ensemble", "2", "--hidden", "4", "--format", "json", "--threads", "2"]


def test_the_server_waits_until_the_caller_releases_its_share(tmp_path) -> None:
    """The caller releases by removing its folder (nothing is left behind); a temporary-folder cleaner
    that removes it releases the server the same way, so it never waits while workers are wanted."""
    handoff = early_workers.Handoff(str(tmp_path / "handoff"))
    Path(handoff.folder).mkdir()
    threading.Timer(0.2, handoff.release).start()
    early_workers.wait_for_caller(f"{os.getppid()}:{handoff.folder}")  # as if this were the server
    assert not Path(handoff.folder).exists()
    handoff.release()  # twice (warm_engine, then a pool), or after a cleaner: no error


def test_a_server_whose_caller_has_ended_removes_the_folder_and_exits(tmp_path, monkeypatch) -> None:
    parents = iter([100, 100, 1])  # the caller, then init: the caller has ended

    class Exited(Exception):
        pass

    def exit_(code: int) -> None:
        raise Exited(code)

    folder = tmp_path / "handoff"
    folder.mkdir()
    monkeypatch.setattr(early_workers.os, "getppid", lambda: next(parents))
    monkeypatch.setattr(early_workers.os, "_exit", exit_)
    monkeypatch.setattr(early_workers, "POLL_SECONDS", 0.0)
    with pytest.raises(Exited):
        early_workers.wait_for_caller(f"100:{folder}")
    assert not folder.exists()  # a caller that ended by a signal ran no exit handler: the server tidies


def test_a_pool_that_starts_releases_a_pending_handoff(tmp_path, monkeypatch) -> None:
    from lstmcli.forecasting import members

    handoff = early_workers.Handoff(str(tmp_path / "handoff"))
    Path(handoff.folder).mkdir()
    monkeypatch.setattr(early_workers, "_pending", handoff)
    assert early_workers.pending()
    members._context()
    assert not Path(handoff.folder).exists() and not early_workers.pending()


@pytest.fixture
def short_tmp():
    """A temporary folder of a short path: the forkserver's socket is made in the temporary folder, and
    a socket's path has at most 107 bytes (pytest's tmp_path under xdist, at its 100th run, has 108: the
    early start then failed, as it falls back to for a user whose TMPDIR is that long)."""
    folder = Path(tempfile.mkdtemp(prefix="ew"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _train(cwd: Path, cache: Path, model: str, temporary: Path) -> subprocess.CompletedProcess:
    """A `train` of the sample with its own Numba cache, and its own temporary folder (the handoff
    folders it makes there are its own, whatever else runs on the machine)."""
    env = os.environ | {"NUMBA_CACHE_DIR": str(cache), "TMPDIR": str(temporary)}
    return subprocess.run(
        [sys.executable, "-m", "lstmcli", "train", str(SAMPLE), "--model", model, *FAST],
        capture_output=True, text=True, cwd=cwd, env=env, timeout=600,
    )  # fmt: skip


WARM_UP = """
import json
from lstmcli.engine import kernels
from lstmcli.forecasting import smoothing_loops, theta_loops
kernels.warm_up()
theta_loops.warm_up()
smoothing_loops.warm_up(("hw",))  # the sample is seasonal: ES without a season is never compiled
loops = (
    kernels.forward_steps, kernels.backward_steps, kernels.adam_update, theta_loops.profile, theta_loops.run_level,
    smoothing_loops.seasonal_grid_fits,
)
print(json.dumps({"cached": kernels._CACHE, "misses": sum(sum(f.stats.cache_misses.values()) for f in loops)}))
"""


@pytest.mark.skipif(
    "forkserver" not in __import__("multiprocessing").get_all_start_methods(), reason="no forkserver"
)
def test_a_first_train_shares_the_compile_and_trains_the_model_a_warm_run_trains(tmp_path, short_tmp) -> None:
    cache = tmp_path / "cache"
    first = _train(
        tmp_path, cache, "first.npz", short_tmp
    )  # empty cache: the forkserver and this process compile
    assert first.returncode == 0, first.stderr
    probe = subprocess.run(
        [sys.executable, "-c", WARM_UP], capture_output=True, text=True, cwd=tmp_path,
        env=os.environ | {"NUMBA_CACHE_DIR": str(cache)},
    )  # fmt: skip
    assert probe.returncode == 0, probe.stderr
    report = json.loads(probe.stdout)
    if not report["cached"]:
        pytest.skip("Numba has no cache folder here: every run compiles")
    assert report["misses"] == 0  # both shares (the engine's, Theta's, Holt-Winters's loops) are cached
    warm = _train(tmp_path, cache, "warm.npz", short_tmp)
    assert warm.returncode == 0, warm.stderr
    with np.load(tmp_path / "first.npz") as a, np.load(tmp_path / "warm.npz") as b:
        weights = [k for k in a.files if a[k].dtype.kind == "f"]
        assert weights and sorted(a.files) == sorted(b.files)
        for key in weights:
            assert np.array_equal(a[key], b[key], equal_nan=True), key
    assert json.loads(first.stdout)["validation"] == json.loads(warm.stdout)["validation"]
    assert not list((tmp_path / "tmp").glob("lstmcli-*"))  # the handoff folders are gone


ORPHAN = """
import json, os, sys
from multiprocessing import forkserver
from lstmcli.forecasting import early_workers
assert early_workers.start() is not None
print(forkserver._forkserver._forkserver_pid, flush=True)
os._exit(0)  # a caller that ends before releasing its share (a bad file, Ctrl-C)
"""


def _ended(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")  # a zombie has ended too
    except FileNotFoundError:
        return True


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_a_server_started_early_ends_with_a_caller_that_never_released_it(tmp_path, short_tmp) -> None:
    """Nor is its folder left behind: the caller ran no exit handler, the server removes it."""
    temporary = short_tmp
    out = subprocess.run(
        [sys.executable, "-c", ORPHAN], capture_output=True, text=True, cwd=tmp_path,
        env=os.environ | {"NUMBA_CACHE_DIR": str(tmp_path / "cache"), "TMPDIR": str(temporary)}, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout.split()[0])
    deadline = time.monotonic() + 120  # a bound on a hang, not a speed check
    while not _ended(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _ended(pid)
    assert not list(temporary.glob("lstmcli-*"))


SHARES = """
import json, os, sys, time
from pathlib import Path
from lstmcli.engine import kernels
from lstmcli.forecasting import early_workers
cache = Path(os.environ["NUMBA_CACHE_DIR"])
FUNCTIONS = {  # a share's names: the compiled functions each stands for
    "forward": ["forward_steps"], "adam": ["adam_update"], "backward": ["backward_steps"],
    "theta": ["profile", "run_level"], "es": ["grid_fits"], "hw": ["seasonal_grid_fits"],
}

def cached(name):
    return any(cache.rglob(f"*.{name}-*.nbi"))

def wait_until(condition):
    deadline = time.monotonic() + 300  # a bound on a hang, not a speed check
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()

server = [f for name in early_workers.SERVER_SHARE for f in FUNCTIONS[name]]
callers = [f for name in early_workers.CALLER_SHARE if name in kernels.LOOPS for f in FUNCTIONS[name]]
assert early_workers.start() is not None
server_cached = [wait_until(lambda: cached(f)) for f in server]
time.sleep(1.0)  # the server now waits for this process: it compiles nothing more
before_release = [cached(f) for f in callers]
early_workers.release_pending()  # released without compiling the caller's share: the server loads the engine's
after = [wait_until(lambda: cached(f)) for f in callers]
print(json.dumps({"server": server_cached, "before_release": before_release, "after": after}))
"""


def test_on_a_cold_cache_the_server_compiles_its_share_then_waits_for_the_callers(tmp_path) -> None:
    out = subprocess.run(
        [sys.executable, "-c", SHARES], capture_output=True, text=True, cwd=tmp_path,
        env=os.environ | {"NUMBA_CACHE_DIR": str(tmp_path / "cache")}, timeout=900,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["server"] and all(report["server"])  # the server's share, without the caller's help
    assert report["before_release"] and not any(report["before_release"])  # nor a loop of the caller's
    assert all(report["after"])
