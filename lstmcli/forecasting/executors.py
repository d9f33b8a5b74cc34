"""Where independent pieces of work run: in this process, in worker processes on this machine, or on a
Dask cluster (``train``/``predict``/``backtest --scheduler``).

One interface, ``Executor.map(fn, items)``: call ``fn(item, stop)`` for every item and return the results
by item index. ``fn`` must be pure (a module-level function of its arguments): an item may run anywhere,
and on a cluster it runs again when the worker running it dies. ``stop()`` turns true when the caller
asked to stop (the first Ctrl-C); ``fn`` then ends early with what it has, and items not started yet
are not run (their index is missing from the result). Results are keyed by index, never by where or
when they ran, so the caller assembles them in a fixed order whatever the number of workers.

The items are chunks of series or ensemble members (never one task per series: a task costs
milliseconds on a cluster); ``chunk_size`` is the rule. Dask is imported only when a scheduler is
asked for.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from typing import Any, Protocol

from lstmcli.errors import ConfigError, TrainingError, WorkersUnavailable

__all__ = ["DaskCluster", "Executor", "InProcess", "Processes", "chunk_size", "connect"]

CHUNKS_PER_WORKER = 8  # tasks per worker: enough to balance long and short pieces of work
MIN_TASK_SECONDS = 0.5  # estimated work per task at least: a Dask task's own cost (ms) stays below 1 %
MAX_TASK_SECONDS = 30.0  # and at most (unless one item is longer): progress and Ctrl-C stay responsive
CONNECT_SECONDS = 10  # an unreachable scheduler is an error after this long
STOP_POLL_SECONDS = 0.25  # how often a task on a cluster asks whether the user stopped (a round trip)

Stop = Callable[[], bool]


class Executor(Protocol):
    workers: int  # pieces of work that run at the same time
    remote: bool  # items and results are pickled (another process or machine)

    def map(
        self,
        fn: Callable[[Any, Stop], Any],
        items: Sequence[Any],
        *,
        on_result: Callable[[int, Any], None] | None = None,
        should_stop: Stop | None = None,
    ) -> dict[int, Any]: ...


def chunk_size(total: int, workers: int, seconds_each: float) -> int:
    """Items per task: about CHUNKS_PER_WORKER tasks per worker, each with at least MIN_TASK_SECONDS and
    at most MAX_TASK_SECONDS of estimated work (``seconds_each`` per item, a rough single-core figure)."""
    balanced = math.ceil(total / max(1, workers * CHUNKS_PER_WORKER))
    each = max(seconds_each, 1e-9)
    least = math.ceil(MIN_TASK_SECONDS / each)
    most = max(1, math.floor(MAX_TASK_SECONDS / each))
    return max(1, min(total, max(least, min(balanced, most))))


def chunks_of(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _never() -> bool:
    return False


# ---------------------------------------------------------------------------------------------- here
class InProcess:
    """One item after the other, in this process."""

    workers, remote = 1, False

    def map(self, fn, items, *, on_result=None, should_stop=None):  # noqa: ANN001, ANN201
        stop = should_stop or _never
        out: dict[int, Any] = {}
        for k, item in enumerate(items):
            if stop():
                break
            out[k] = fn(item, stop)
            if on_result is not None:
                on_result(k, out[k])
        return out


# ---------------------------------------------------------------------------------------------- processes
_pool_stop: Any = None  # in a pool's worker: the parent's stop event


def _init_pool_worker(stop: Any) -> None:
    global _pool_stop
    from lstmcli.forecasting.members import worker_started

    worker_started()
    _pool_stop = stop


def _pool_stopped() -> bool:
    return _pool_stop is not None and _pool_stop.is_set()


def _run_in_pool(fn: Callable[[Any, Stop], Any], item: Any) -> Any:
    return fn(item, _pool_stopped)


class Processes:
    """Worker processes on this machine (``members``' forkserver, the engine preloaded), one BLAS
    thread each. ``map`` raises ``WorkersUnavailable`` when no process can be started."""

    remote = True

    def __init__(self, workers: int) -> None:
        self.workers = max(1, int(workers))

    def map(self, fn, items, *, on_result=None, should_stop=None):  # noqa: ANN001, ANN201
        from lstmcli.forecasting.members import _context, signals_held

        try:
            ctx = _context()
            stop = ctx.Event()
            pool = ProcessPoolExecutor(
                min(self.workers, max(1, len(items))), mp_context=ctx, initializer=_init_pool_worker,
                initargs=(stop,),
            )  # fmt: skip
        except (OSError, ImportError, NotImplementedError, ValueError) as e:
            raise WorkersUnavailable(str(e)) from e
        out: dict[int, Any] = {}
        with pool:
            try:
                with signals_held():  # submitting starts the workers
                    pending = {pool.submit(_run_in_pool, fn, item): k for k, item in enumerate(items)}
                while pending:
                    finished, _ = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                    for future in finished:
                        k = pending.pop(future)
                        if not future.cancelled():
                            out[k] = future.result()
                            if on_result is not None:
                                on_result(k, out[k])
                    if not stop.is_set() and should_stop is not None and should_stop():
                        stop.set()  # items not started return at once; running ones end early
                        for future in list(pending):
                            if future.cancel():
                                pending.pop(future)
            except BrokenProcessPool as e:
                raise TrainingError(
                    "a training worker process died (out of memory?); try --threads 1 or a smaller model"
                ) from e
            except BaseException:
                stop.set()
                raise
        return out


# ---------------------------------------------------------------------------------------------- Dask
class _ClusterStop:
    """``stop()`` in a task on a cluster: whether the caller set the Dask Event ``name`` (asked at most
    every STOP_POLL_SECONDS, each question being a round trip to the scheduler)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.asked = -math.inf
        self.answer = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self.answer and now - self.asked >= STOP_POLL_SECONDS:
            from distributed import Event

            self.asked = now
            self.answer = Event(self.name).is_set()
        return self.answer


def _run_on_cluster(item: Any, fn: Callable[[Any, Stop], Any], stop_name: str) -> Any:
    from lstmcli.engine.threads import one_blas_thread

    with one_blas_thread():  # as in a local worker process: the same bits whatever the machine
        return fn(item, _ClusterStop(stop_name))


class DaskCluster:
    """A connection to a Dask distributed scheduler (``connect``); each item is one task, its data
    sent with it (so that a task whose worker died can run again elsewhere)."""

    remote = True

    def __init__(self, client: Any, address: str, cluster: Any = None) -> None:
        self.client, self.address, self._cluster = client, address, cluster

    @property
    def workers(self) -> int:
        return max(1, sum(self.client.nthreads().values()))

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()

    def map(self, fn, items, *, on_result=None, should_stop=None):  # noqa: ANN001, ANN201
        from distributed import Event
        from distributed import wait as dask_wait

        run = uuid.uuid4().hex
        stop_name = f"lstmcli-stop-{run}"
        event = Event(stop_name, client=self.client)
        with warnings.catch_warnings():
            # a chunk's data travels inside its task on purpose (not scattered: data held by one worker
            # would be lost with it, and the task could not run again elsewhere)
            warnings.filterwarnings("ignore", message="Sending large graph")
            items = list(items)
            # one graph for the whole run, not a submit per item: the scheduler builds a graph in a
            # thread, so a later item's graph could arrive after a cancel (or a finished first item)
            submitted = self.client.map(
                _run_on_cluster,
                items,
                fn=fn,
                stop_name=stop_name,
                key=[f"lstmcli-{run}-{k}" for k in range(len(items))],
            )
            futures = {future: k for k, future in enumerate(submitted)}
        out: dict[int, Any] = {}
        pending = set(futures)
        try:
            while pending:
                try:
                    finished = dask_wait(list(pending), timeout=0.1, return_when="FIRST_COMPLETED").done
                except TimeoutError:  # (Dask's wait raises when nothing finished in time)
                    finished = set()
                for future in finished:
                    pending.discard(future)
                    k = futures[future]
                    out[k] = self._result(future)
                    if on_result is not None:
                        on_result(k, out[k])
                if should_stop is not None and not event.is_set() and should_stop():
                    event.set()  # tasks not started return at once; running ones end early
        except BaseException:  # a second Ctrl-C, or a task's error: nothing of this run stays on the cluster
            event.set()
            self.client.cancel(list(futures), force=True)
            raise
        finally:
            with contextlib.suppress(Exception):  # (the scheduler may be gone: the error above says so)
                event.clear()
        return out

    def _result(self, future: Any) -> Any:
        """A task's result; its own error is raised as it would be in one process, the cluster's
        failures (a task whose workers kept dying, a lost scheduler) as one line naming the address."""
        from distributed.scheduler import KilledWorker

        try:
            return future.result()
        except (KilledWorker, CancelledError, OSError) as e:
            if isinstance(e, OSError) and future.status == "error":
                raise  # (a task's own OSError)
            what = " ".join(str(e).split()) or type(e).__name__
            raise TrainingError(f"--scheduler {self.address}: the cluster failed this run ({what})") from None


def _versions() -> tuple[str, str]:
    import numpy

    import lstmcli

    return lstmcli.__version__, numpy.__version__


def require_dask(address: str | None) -> None:
    """Before any work: ``--scheduler`` without Dask installed is a one-line error saying what to install."""
    if address is None:
        return
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise ConfigError(
            f'--scheduler {address}: Dask is not installed; pip install "lstmcli[dask]"'
        ) from None


@contextmanager
def connect(address: str) -> Iterator[DaskCluster]:
    """A Dask cluster at ``address`` (``tcp://host:8786``), or ``local`` for a LocalCluster of one
    single-threaded worker process per core here; closed at the end. Errors are one line: Dask not
    installed, no scheduler answering, no worker, or workers with another lstmcli or NumPy (whose
    models would not be the same bits)."""
    require_dask(address)
    import logging

    import distributed

    for name in ("distributed", "distributed.client", "distributed.worker", "distributed.scheduler"):
        logging.getLogger(name).setLevel(logging.ERROR)  # the commands speak for themselves
    cluster = None
    if address == "local":
        import warnings

        from lstmcli.engine.threads import available_cores

        with warnings.catch_warnings():  # (Dask's own, e.g. "port 8787 is already in use": not the user's)
            warnings.simplefilter("ignore", UserWarning)
            cluster = distributed.LocalCluster(
                n_workers=available_cores(), threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(address, timeout=CONNECT_SECONDS)
        except ValueError as e:  # an address Dask cannot parse: nothing was asked of the network
            raise ConfigError(
                f"--scheduler {address}: not a scheduler address ({' '.join(str(e).split())}); expected "
                "tcp://host:port, or 'local'"
            ) from None
        except (OSError, TimeoutError) as e:
            raise ConfigError(
                f"--scheduler {address}: no Dask scheduler answered within {CONNECT_SECONDS} s "
                f"({' '.join(str(e).split()) or type(e).__name__})"
            ) from None
    executor = DaskCluster(client, address, cluster)
    try:
        try:
            client.wait_for_workers(1, timeout=CONNECT_SECONDS)
        except TimeoutError:
            raise ConfigError(
                f"--scheduler {address}: the scheduler has no worker; start one with dask worker {address}"
            ) from None
        here = _versions()
        try:
            theirs_by_worker = client.run(_versions)
        except Exception as e:  # a worker that cannot import lstmcli
            raise ConfigError(
                f"--scheduler {address}: a worker cannot run lstmcli ({type(e).__name__}: "
                f"{' '.join(str(e).split())}); install lstmcli where the workers run"
            ) from None
        for worker, theirs in theirs_by_worker.items():
            if tuple(theirs) != here:
                raise ConfigError(
                    f"--scheduler {address}: worker {worker} runs lstmcli {theirs[0]} with NumPy "
                    f"{theirs[1]}, this is lstmcli {here[0]} with NumPy {here[1]}; install the same on both"
                )
        yield executor
    finally:
        executor.close()


@contextmanager
def maybe_connect(address: str | None) -> Iterator[DaskCluster | None]:
    """``connect(address)``, or None without an address (the work stays on this machine)."""
    if address is None:
        yield None
        return
    with connect(address) as executor:
        yield executor
