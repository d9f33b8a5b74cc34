"""Local models of a panel (``train --id-col --local``): one single-series ensemble per series, the series
fanned out over the cores or a Dask cluster.

Each series is fitted exactly as ``Forecaster.fit`` fits a single series (its own plan, lookbacks,
preprocessing, ensemble, validation and residuals); only the panel's season and horizon are shared, so
that every series is forecast the same number of steps. With more than one core the series go to
worker processes in chunks (``executors``: ``members``' forkserver, the same engine preloaded; never a
process or a task per series), each fitted there with one thread; with one core they are fitted here,
one after the other. A series trained with one thread is the same bit for bit as with several
(``members``), so the model is the same whatever ``threads`` says or wherever a chunk ran.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.executors import (
    InProcess,
    Processes,
    Stop,
    WorkersUnavailable,
    chunk_size,
    chunks_of,
)
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.state import FittedState

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from lstmcli.data.series import SeriesData
    from lstmcli.forecasting.executors import Executor

__all__ = ["fit_local", "series_seconds"]


def fit_local(
    cfg: ForecasterConfig,
    ids: Sequence[str],
    series: Sequence[SeriesData],
    *,
    cores: int,
    on_series: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    keep_untrained: bool = False,
    executor: Executor | None = None,
) -> tuple[list[str], list[FittedState], list[tuple[str, str]], bool]:
    """Fit one model per series (in ``ids`` order); returns the ids fitted, their states, the series
    left out with the reason (too short, or not reached when ``should_stop`` turned true) and whether
    it was interrupted. ``on_series(done, total)`` is called as series finish. ``keep_untrained``
    keeps a series whose networks never finished an epoch (the backtest scores what fit gives).
    ``executor`` (a Dask cluster, say) runs the chunks of series; by default worker processes here
    when ``cores`` is above one."""
    order = list(range(len(ids)))
    results: dict[int, FittedState | str] = {}
    total = len(order)

    def done(_: int, outcomes: list[tuple[int, FittedState | str]]) -> None:
        for k, outcome in outcomes:
            results[k] = outcome
        if on_series is not None:
            on_series(len(results), total)

    if on_series is not None:
        on_series(0, total)
    if executor is None:
        executor = Processes(min(cores, total)) if min(cores, total) > 1 else InProcess()
    seconds = max((series_seconds(cfg, len(s.values)) for s in series), default=0.0)
    size = chunk_size(total, executor.workers, seconds) if executor.remote else 1
    # a task's data: the settings and its chunk of series, sent once per chunk
    chunks = [(cfg, keep_untrained, [(k, series[k]) for k in chunk]) for chunk in chunks_of(order, size)]
    try:
        executor.map(_fit_chunk, chunks, on_result=done, should_stop=should_stop)
    except WorkersUnavailable:
        results.clear()
        InProcess().map(_fit_chunk, chunks, on_result=done, should_stop=should_stop)
    interrupted = len(results) < total
    kept_ids, states, skipped = [], [], []
    for k in order:
        outcome = results.get(k, "not trained (interrupted)")
        if isinstance(outcome, str):
            skipped.append((str(ids[k]), outcome))
        else:
            kept_ids.append(str(ids[k]))
            states.append(outcome)
    return kept_ids, states, skipped, interrupted


def series_seconds(cfg: ForecasterConfig, n: int) -> float:
    """A rough single-core estimate of one series' fit with ``n`` values (``members``' figure per
    window and step), for the size of the chunks sent to workers."""
    from lstmcli.forecasting.ensemble import MAX_TRAIN_WINDOWS
    from lstmcli.forecasting.planning import default_lookback

    steps = cfg.lookback or default_lookback(cfg.season or 1)
    windows = max(1, min(n - steps, MAX_TRAIN_WINDOWS))
    epochs = min(cfg.epochs, 3 * cfg.patience + 10) if cfg.patience else cfg.epochs
    per_window_step = (0.26e-6 + 2.6e-10 * cfg.hidden * cfg.hidden) * cfg.layers
    runs = cfg.ensemble * (2 if cfg.refit else 1)
    return runs * epochs * windows * steps * per_window_step


def _fit_one(
    cfg: ForecasterConfig, data: SeriesData, keep_untrained: bool = False, stop: Stop | None = None
) -> FittedState | str | None:
    """One series' model, or why it has none; None when ``stop`` turned true before it finished."""
    model = Forecaster(cfg)
    try:
        model.plan(data)
    except (ConfigError, DataError):
        return "too short"
    try:
        model.fit(data, threads=1, should_stop=stop)
    except DataError:
        return "too short"
    state = model.state_
    assert state is not None
    if stop is not None and state.train_result.stop_reason == "interrupted":
        return None  # (stopped within a batch: a Ctrl-C reaches the series being trained, not only the next)
    if not keep_untrained and state.train_result.best_epoch == 0 and state.constant is None:
        return "did not train (diverged)"
    return state


def _fit_chunk(
    task: tuple[ForecasterConfig, bool, list[tuple[int, SeriesData]]], stop: Stop
) -> list[tuple[int, FittedState | str]]:
    """A worker's task: the series of one chunk, until the caller says stop (the series begun stops
    within a batch and is left out, as the series not begun are)."""
    cfg, keep_untrained, chunk = task
    out = []
    for k, data in chunk:
        if stop():
            break
        fitted = _fit_one(cfg, data, keep_untrained, stop)
        if fitted is None:
            break
        out.append((k, fitted))
    return out
