"""Training the members of an ensemble: one after the other, or side by side in worker processes.

The members are independent (each has its own seed, lookback and windows), so on a machine with several
cores they can train at the same time. Processes rather than BLAS threads: the per-step products of the
small networks forecasting uses do not gain from threads, while whole members do, and processes never
wait for each other, so a busy core slows a run down by its share and no more (BLAS threads collapse,
see ``engine.threads``). Each worker runs the same code on the same numbers with one BLAS thread, so a
model is the same bit for bit however it was trained.

Workers come from a "forkserver" (a clean process that has imported the engine and loaded its compiled
loops once, ``_worker_start``, and forks a worker per pool), or "spawn" where that does not exist:
forking the caller itself would copy whatever threads it runs (a progress bar's, say) in an unknown
state. Starting them costs about 0.4 s, so small jobs train in the calling process
(``worth_processes``).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.connection
import os
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.training import EpochReport, TrainConfig, TrainResult, fit
from lstmcli.errors import TrainingError, WorkersUnavailable
from lstmcli.forecasting import early_workers

# Below this much estimated training time, starting worker processes costs more than it saves: about
# 0.4 s until the forkserver has imported the engine and loaded its loops, after which 5 members on 2
# workers take about 0.6 of their one-process time (break-even near 1 s).
MIN_PARALLEL_SECONDS = 1.0
# Early stopping when each epoch is a sample of a larger pool (a big panel, ``epoch_windows``): the
# patience shrinks by sample / pool, no lower than this. A sampled epoch is a fresh draw of a pool up to
# many times its size, so the model has usually seen what it will learn long before 30 such epochs
# (20,000 series: best epoch 5, then 30 epochs of no progress); a pool no larger than the sample (every
# M1/M3-size panel, every single series) keeps its patience as it is.
MIN_SAMPLED_PATIENCE = 10


def sampled_patience(patience: int, pool: int, epoch_windows: int) -> int:
    """The patience of a member trained on ``pool`` windows, ``epoch_windows`` of them an epoch (0: all):
    ``patience`` when every window is trained each epoch, else patience * sample / pool rounded up, at
    least MIN_SAMPLED_PATIENCE (and never more than ``patience``; 0 stays 0, off)."""
    if not patience or not 0 < epoch_windows < pool:
        return patience
    return min(patience, max(MIN_SAMPLED_PATIENCE, -(-patience * epoch_windows // pool)))


@dataclass(frozen=True)
class MemberJob:
    """Everything one member's training needs (picklable, to be sent to a worker)."""

    index: int
    net_config: NetworkConfig
    train_config: TrainConfig
    seed: Any  # what np.random.default_rng takes
    x: np.ndarray
    t: np.ndarray
    x_val: np.ndarray | None
    t_val: np.ndarray | None

    def estimated_seconds(self) -> float:
        """A rough single-thread estimate: about 0.26 µs per window and time step plus a term in hidden²
        for the products (measured at hidden 16-64 with validation passes included)."""
        n, steps, _ = self.x.shape
        if self.train_config.epoch_windows:  # an epoch of a sample of the windows
            n = min(n, self.train_config.epoch_windows)
        hidden = self.net_config.hidden_size
        per_window_step = (0.26e-6 + 2.6e-10 * hidden * hidden) * self.net_config.num_layers
        epochs = self.train_config.epochs
        if self.train_config.patience:  # early stopping usually ends long before the maximum
            epochs = min(epochs, 3 * self.train_config.patience + 10)
        return epochs * n * steps * per_window_step


def train_member(
    job: MemberJob,
    *,
    on_epoch: Callable[[EpochReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    watch: Callable[[LSTMNetwork], Any] | None = None,
) -> tuple[LSTMNetwork, TrainResult]:
    """Build member ``job.index`` from its seed and train it. ``watch(net)``, when given, returns an
    object with ``on_epoch``, ``should_stop`` and ``finish(result)`` that takes over early stopping
    (the Forecaster's stopping on multi-step forecasts)."""
    rng = np.random.default_rng(job.seed)
    net = LSTMNetwork(job.net_config, rng=rng)
    has_val = job.x_val is not None and len(job.x_val) > 0
    watcher = watch(net) if watch is not None else None
    result = fit(
        net, job.x, job.t, job.train_config, rng,
        x_val=job.x_val if has_val else None, y_val=job.t_val if has_val else None,
        on_epoch=on_epoch if watcher is None else watcher.on_epoch,
        should_stop=should_stop if watcher is None else watcher.should_stop,
    )  # fmt: skip
    if watcher is not None:
        result = watcher.finish(result)
    return net, result


def worth_processes(jobs: list[MemberJob], workers: int) -> bool:
    return workers > 1 and len(jobs) > 1 and sum(j.estimated_seconds() for j in jobs) >= MIN_PARALLEL_SECONDS


def train_in_processes(
    jobs: list[MemberJob],
    workers: int,
    reporters: dict[int, Callable[[EpochReport], None] | None],
    should_stop: Callable[[], bool] | None,
    on_done: Callable[[int], None] | None = None,
) -> dict[int, tuple[np.ndarray, TrainResult]]:
    """Train ``jobs`` in ``workers`` processes; returns, per job index, the trained flat parameters and
    the result. Epoch reports are relayed to ``reporters[index]`` in this process, and ``on_done(index)``
    is called as each job ends (after its last report), while the others go on. When ``should_stop``
    turns true, running members stop after their current batch (keeping their best weights, as in one
    process) and members not started yet are left out of the result. On an exception here (a second
    Ctrl-C) the workers are told to stop, which they do within a batch.

    Raises ``WorkersUnavailable`` when no worker can be started, and ``TrainingError`` when a worker
    dies (killed for lack of memory, say)."""
    try:
        ctx = _context()
        events = ctx.SimpleQueue()  # put() writes at once (no feeder thread): reports precede the result
        stop = ctx.Event()
        pool = ProcessPoolExecutor(
            min(workers, len(jobs)), mp_context=ctx, initializer=_init_worker, initargs=(events, stop)
        )
    except (OSError, ImportError, NotImplementedError, ValueError) as e:
        raise WorkersUnavailable(str(e)) from e
    outcomes: dict[int, tuple[np.ndarray, TrainResult]] = {}
    with pool:
        try:
            # The first member starts at once and always trains (it is the one the training summary
            # reports, and in one process it would be trained first); then the longest first, so that
            # no worker is left with a long member at the end.
            first, *rest = sorted(jobs, key=lambda job: job.index)
            order = [first, *sorted(rest, key=lambda job: -job.estimated_seconds())]
            with signals_held():  # submitting starts the workers
                pending = {job.index: pool.submit(_run_job, job, job is not first) for job in order}
            while pending:
                wait(pending.values(), timeout=0.05, return_when=FIRST_COMPLETED)
                _relay(events, reporters)
                if should_stop is not None and not stop.is_set() and should_stop():
                    stop.set()
                for index in [i for i, f in pending.items() if f.done()]:
                    outcome = pending.pop(index).result()
                    if outcome is not None:
                        outcomes[index] = outcome
                    if on_done is not None:
                        on_done(index)
            _relay(events, reporters)
        except BrokenProcessPool as e:
            raise TrainingError(
                "a training worker process died (out of memory?); try --threads 1 or a smaller model"
            ) from e
        except BaseException:
            stop.set()  # the running members stop after their batch, the rest skip: shutdown is quick
            raise
    return outcomes


def network_from(job: MemberJob, flat: np.ndarray) -> LSTMNetwork:
    net = LSTMNetwork(job.net_config, rng=np.random.default_rng(0))
    net.flat_params[...] = flat
    return net


def _context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")
    if "forkserver" in methods:
        ctx.set_forkserver_preload(early_workers.PRELOAD)
        early_workers.release_pending()  # a server started early must not wait for this caller any more
    return ctx


def _relay(events: Any, reporters: dict[int, Callable[[EpochReport], None] | None]) -> None:
    """Pass the epoch reports queued so far on to their reporters."""
    while not events.empty():
        index, report = events.get()
        reporter = reporters.get(index)
        if reporter is not None:
            reporter(report)


_events: Any = None
_stop: Any = None


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait while a pool starts its workers, then arrive as they would have. A
    KeyboardInterrupt in the middle of starting one left a worker the pool did not count: the pool's
    "stop" went to another worker, and the command waited at shutdown for one that waits for work.
    Only the main thread receives signals; elsewhere, and for handlers set outside Python, nothing is
    held."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def hold(signum: int, frame: object) -> None:
        held.append(signum)

    previous = {}
    for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if signum is not None and signal.getsignal(signum) is not None:
            previous[signum] = signal.signal(signum, hold)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for signum in held:
            signal.raise_signal(signum)


def worker_started() -> None:
    """What every worker process of a pool does first (this module's, ``executors.Processes``'): Ctrl-C
    is for the command, which tells the workers through its stop event; and a worker never outlives its
    command. A command that ends abruptly (killed, or interrupted while the pool was still starting a
    worker, which then never gets the pool's "stop" and would wait for work forever) leaves its workers
    to their parent, the forkserver: a thread waits on the command's end and ends the worker then."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    command = multiprocessing.parent_process()  # the process that asked for this worker
    if command is not None:

        def end_with_the_command() -> None:
            multiprocessing.connection.wait([command.sentinel])
            os._exit(1)

        threading.Thread(target=end_with_the_command, name="end-with-the-command", daemon=True).start()


def _init_worker(events: Any, stop: Any) -> None:
    global _events, _stop
    worker_started()
    _events, _stop = events, stop


def _run_job(job: MemberJob, may_skip: bool) -> tuple[np.ndarray, TrainResult] | None:
    if may_skip and _stop.is_set():
        return None  # the user stopped training before this member started
    net, result = train_member(job, on_epoch=lambda r: _events.put((job.index, r)), should_stop=_stop.is_set)
    return net.flat_params.copy(), result
