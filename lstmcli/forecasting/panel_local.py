"""Local models of a panel (``train --id-col --local``): one single-series ensemble per series, the series
fanned out over the cores.

Each series is fitted exactly as ``Forecaster.fit`` fits a single series (its own plan, lookbacks,
preprocessing, ensemble, validation and residuals); only the panel's season and horizon are shared, so
that every series is forecast the same number of steps. With more than one core the series go to
worker processes in chunks (``members``' forkserver, the same engine preloaded; never a process per
series), each fitted there with one thread; with one core they are fitted here, one after the other.
A series trained with one thread is the same bit for bit as with several (``members``), so the model
is the same whatever ``threads`` says.
"""

from __future__ import annotations

import math
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

from lstmcli.errors import ConfigError, DataError, TrainingError
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.state import FittedState

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from lstmcli.data.series import SeriesData

__all__ = ["fit_local"]

CHUNKS_PER_WORKER = (
    8  # tasks per worker: small enough to balance long and short series, few enough to be cheap
)
MAX_CHUNK = 32  # series per task at most (progress stays fluid on large panels)


def fit_local(
    cfg: ForecasterConfig,
    ids: Sequence[str],
    series: Sequence[SeriesData],
    *,
    cores: int,
    on_series: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    keep_untrained: bool = False,
) -> tuple[list[str], list[FittedState], list[tuple[str, str]], bool]:
    """Fit one model per series (in ``ids`` order); returns the ids fitted, their states, the series
    left out with the reason (too short, or not reached when ``should_stop`` turned true) and whether
    it was interrupted. ``on_series(done, total)`` is called as series finish. ``keep_untrained``
    keeps a series whose networks never finished an epoch (the backtest scores what fit gives)."""
    order = list(range(len(ids)))
    results: dict[int, FittedState | str] = {}
    total = len(order)
    interrupted = False

    def done(k: int, outcome: FittedState | str) -> None:
        results[k] = outcome
        if on_series is not None:
            on_series(len(results), total)

    if on_series is not None:
        on_series(0, total)
    workers = min(cores, total)
    pooled = False
    if workers > 1 and total > 1:
        size = max(1, min(MAX_CHUNK, math.ceil(total / (workers * CHUNKS_PER_WORKER))))
        chunks = [order[i : i + size] for i in range(0, total, size)]
        try:
            interrupted = _in_processes(cfg, series, chunks, workers, done, should_stop, keep_untrained)
            pooled = True
        except _Unavailable:
            results.clear()
    if not pooled:
        for k in order:
            if should_stop is not None and should_stop():
                interrupted = True
                break
            done(k, _fit_one(cfg, series[k], keep_untrained))
    kept_ids, states, skipped = [], [], []
    for k in order:
        outcome = results.get(k, "not trained (interrupted)")
        if isinstance(outcome, str):
            skipped.append((str(ids[k]), outcome))
        else:
            kept_ids.append(str(ids[k]))
            states.append(outcome)
    return kept_ids, states, skipped, interrupted


def _fit_one(cfg: ForecasterConfig, data: SeriesData, keep_untrained: bool = False) -> FittedState | str:
    """One series' model, or why it has none."""
    model = Forecaster(cfg)
    try:
        model.plan(data)
    except (ConfigError, DataError):
        return "too short"
    try:
        model.fit(data, threads=1)
    except DataError:
        return "too short"
    state = model.state_
    assert state is not None
    if not keep_untrained and state.train_result.best_epoch == 0 and state.constant is None:
        return "did not train (diverged)"
    return state


def _fit_chunk(
    cfg: ForecasterConfig, chunk: list[tuple[int, SeriesData]], keep_untrained: bool
) -> list[tuple[int, FittedState | str]]:
    """A worker's task: the series of one chunk, until the parent says stop."""
    out = []
    for k, data in chunk:
        if _stop is not None and _stop.is_set():
            break
        out.append((k, _fit_one(cfg, data, keep_untrained)))
    return out


class _Unavailable(RuntimeError):
    pass


_stop = None


def _init_worker(stop: object) -> None:
    global _stop
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the parent
    _stop = stop


def _in_processes(
    cfg: ForecasterConfig,
    series: Sequence[SeriesData],
    chunks: list[list[int]],
    workers: int,
    done: Callable[[int, FittedState | str], None],
    should_stop: Callable[[], bool] | None,
    keep_untrained: bool,
) -> bool:
    from lstmcli.forecasting.members import _context

    try:
        ctx = _context()
        stop = ctx.Event()
        pool = ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker, initargs=(stop,))
    except (OSError, ImportError, NotImplementedError, ValueError) as e:
        raise _Unavailable(str(e)) from e
    interrupted = False
    with pool:
        try:
            pending = {
                pool.submit(_fit_chunk, cfg, [(k, series[k]) for k in chunk], keep_untrained)
                for chunk in chunks
            }
            while pending:
                finished, pending = wait(pending, timeout=0.1, return_when=FIRST_COMPLETED)
                for future in finished:
                    for k, outcome in future.result():
                        done(k, outcome)
                if not interrupted and should_stop is not None and should_stop():
                    interrupted = True
                    stop.set()  # chunks not started yet return nothing; running ones finish their series
                    for future in pending:
                        future.cancel()
                    pending = {f for f in pending if not f.cancelled()}
        except BrokenProcessPool as e:
            raise TrainingError(
                "a training worker process died (out of memory?); try --threads 1 or a smaller model"
            ) from e
        except BaseException:
            stop.set()
            raise
    return interrupted
