"""Starting the workers' forkserver before the data is read, and sharing the first run's compile with it.

Worker processes fork from a forkserver that has imported the engine and loaded its compiled loops
(``_worker_start``). Started when the first pool is made, it costs about 0.4 s while the caller waits;
started at the beginning of a command (``start``), it gets ready while the caller reads its data.

On a cold Numba cache (the first run after an install) the loops must also be compiled, once, about
3.5 CPU-s in one process. Here the two processes share it: the forkserver compiles ``SERVER_SHARE``
while the caller compiles ``CALLER_SHARE``, on two cores side by side; each finds the other's in the
cache afterwards. The forkserver waits for the caller's share (``Handoff.release``: the caller removes
a folder) before loading the rest, so that neither compiles a loop twice. Every pool that starts
releases a pending handoff first (``release_pending``), and a handoff folder that disappears otherwise
(a temporary-folder cleaner) releases it too, so a server can never wait for a caller that wants its
workers; a server whose caller ended first removes the folder itself. The machine code is the same
whichever process compiled it: results do not change.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import shutil
import tempfile
import time

PRELOAD = ["lstmcli.forecasting._worker_start"]  # what the forkserver imports before it forks workers
HANDOFF_ENV = "LSTMCLI_WORKERS_HANDOFF"  # the forkserver's environment: who releases it, and how
# The shares of a cold cache's compile, by loop: the engine's (``kernels.LOOPS``), Theta's and ES's
# Holt-Winters ("hw"; both run by the caller after training). About half the compile time each, the
# caller's the smaller: it also reads the data meanwhile (RESULTS.md "First run and warm runs"). ES's
# loop without a season ("es") compiles on first use: a seasonal first run never needs it.
SERVER_SHARE = ("forward", "hw")
CALLER_SHARE = ("backward", "adam", "theta")
POLL_SECONDS = 0.01

_pending: Handoff | None = None


class Handoff:
    """The caller's side: a private temporary folder that the forkserver waits on while it exists;
    ``release`` (once ``CALLER_SHARE`` is in the cache, or when workers are needed) removes it, so
    nothing is left behind."""

    def __init__(self, folder: str) -> None:
        self.folder = folder

    def release(self) -> None:
        global _pending
        shutil.rmtree(self.folder, ignore_errors=True)
        if _pending is self:
            _pending = None


def start() -> Handoff | None:
    """Start the forkserver now (where there is one); None when it cannot be or one is pending already.
    The caller compiles ``CALLER_SHARE`` and calls ``release_pending`` (``cli.common.warm_engine``)."""
    global _pending
    if "forkserver" not in multiprocessing.get_all_start_methods() or _pending is not None:
        return None
    from multiprocessing import forkserver

    multiprocessing.get_context("forkserver").set_forkserver_preload(PRELOAD)
    try:
        handoff = Handoff(tempfile.mkdtemp(prefix="lstmcli-"))
    except OSError:
        return None  # no temporary folder: the forkserver starts with the first pool, as it did
    atexit.register(handoff.release)
    # read by the forkserver when it starts, and by no one else: the caller's pid and the folder
    os.environ[HANDOFF_ENV] = f"{os.getpid()}:{handoff.folder}"
    try:
        forkserver.ensure_running()
    except (OSError, ValueError):
        handoff.release()
        return None  # the pool will say so, or train in this process, as without an early start
    finally:
        del os.environ[HANDOFF_ENV]
    _pending = handoff
    return handoff


def pending() -> bool:
    """Whether a forkserver started early waits for this process's share of the loops."""
    return _pending is not None


def release_pending() -> None:
    """A pool is about to start: a forkserver still waiting for the caller's share must wait no more."""
    if _pending is not None:
        _pending.release()


def warm_up(share: tuple[str, ...]) -> None:
    """Load (or, on a cold cache, compile) the loops of a share: the engine's, ``"theta"``, ``"es"`` and
    ``"hw"`` (ES without a season and Holt-Winters)."""
    from lstmcli.engine import kernels

    kernels.warm_up(tuple(name for name in share if name in kernels.LOOPS))
    if "theta" in share:
        from lstmcli.forecasting import theta_loops

        theta_loops.warm_up()
    if "es" in share or "hw" in share:
        from lstmcli.forecasting import smoothing_loops

        smoothing_loops.warm_up(tuple(name for name in ("es", "hw") if name in share))


def wait_for_caller(handoff: str) -> None:
    """In the forkserver, with its ``HANDOFF_ENV``: wait while the caller's folder exists (until the
    caller has released its share). When the caller has ended first (a bad file, Ctrl-C, a signal that
    ended it at once), remove the folder for it and exit: no one will fork workers from this server."""
    caller, folder = handoff.split(":", 1)
    while os.path.isdir(folder):
        if os.getppid() != int(caller):
            shutil.rmtree(folder, ignore_errors=True)
            os._exit(0)
        time.sleep(POLL_SECONDS)
