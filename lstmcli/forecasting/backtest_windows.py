"""Cross-validation of a panel over several origins (``backtest --id-col --windows N --step S``).

Window w of N (1 the earliest) holds back the last ``(N - w) * S`` rows of every series and backtests
what is left as a panel backtest does, one origin per series: the models (local or global) are trained
anew on the rows before that origin and forecast its horizon, so no window sees the rows it is scored on.
The latest window is the single-origin backtest (with a ``split`` column: its test rows). As
statsforecast's ``cross_validation(n_windows, step_size)`` with refitting.

The windows' results are stacked into one ``BacktestResult``, a row per series and window, each row
knowing its window (``window``) and the rows its window held back (``held_back``); measures over all
rows average over series and windows alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from lstmcli.errors import ConfigError, DataError, OptionError
from lstmcli.forecasting.backtest import MIN_TRAINING_ROWS, BacktestResult, covered

__all__ = [
    "backtest_panel_windows",
    "backtest_windows",
    "hold_back_panel",
    "hold_back_series",
    "window_min_rows",
]


def hold_back_series(series: Sequence[Any], rows: int) -> list[Any]:
    """Long-format series (``LongSeries``) without their last ``rows`` rows; a ``split`` column's count
    of test rows stays, so the window scores as many rows, just earlier."""
    if rows == 0:
        return list(series)
    return [
        replace(s, values=s.values[:-rows], times=None if s.times is None else s.times[:-rows])
        for s in series
    ]


def hold_back_panel(panel: Any, rows: int) -> Any:
    """A ``Panel`` (with known inputs) without the last ``rows`` rows of each series."""
    if rows == 0:
        return panel
    from lstmcli.forecasting.backtest import _truncate

    cut = tuple(_truncate(s, len(s.values) - rows) for s in panel.series)
    length = {sid: len(s.values) for sid, s in zip(panel.ids, cut, strict=True)}
    filled = {sid: at[at < length[sid]] for sid, at in panel.filled.items() if sid in length}
    known = {sid: at[at < length[sid]] for sid, at in panel.filled_known.items() if sid in length}
    return replace(panel, series=cut, filled=filled, filled_known=known)


def window_min_rows(held_back: int, horizon: int) -> int:
    """The rows a series needs before a window's origin to be scored there: the one-origin backtest's
    ``MIN_TRAINING_ROWS`` in the latest window (as the M3/M4 competitions score every series), at least
    the horizon in an earlier one (as a single series' backtest needs): a window of series cut down to a
    couple of rows, forecast by Naive2, would only blur the comparison."""
    return MIN_TRAINING_ROWS if held_back == 0 else max(MIN_TRAINING_ROWS, horizon)


def backtest_windows(
    run: Callable[[int, int], BacktestResult],
    *,
    windows: int,
    step: int,
    horizon: int | None = None,
    lengths: Sequence[int] = (),
    path: str = "data",
) -> BacktestResult:
    """The results of ``run(window, held_back)`` for each window, earliest first, stacked into one.

    ``run`` backtests the panel without the last ``held_back`` rows of each series (a single-origin
    backtest, scoring a series with ``window_min_rows`` rows before the origin). With the ``horizon``
    and the series' ``lengths``, windows longer than the longest series are an error before any
    training; a window that cannot be scored is an error naming it."""
    if windows < 1 or step < 1:
        raise ConfigError("--windows and --step must be at least 1")
    if windows > 1 and horizon and len(lengths):
        first = window_min_rows((windows - 1) * step, horizon)
        need = (windows - 1) * step + horizon + first
        if max(lengths) < need:
            raise ConfigError(
                f"{windows} windows of {horizon} steps, {step} apart, need a series of at least {need} rows "
                f"(the earliest scores a series with {first} rows before its origin); the longest of {path} "
                f"has {max(lengths)}: use fewer --windows or a smaller --step"
            )
    parts = []
    for w in range(1, windows + 1):
        held_back = (windows - w) * step
        try:
            parts.append(run(w, held_back))
        except (DataError, ConfigError) as e:
            if windows == 1 or isinstance(e, OptionError):
                raise
            which = f"the last {held_back} rows held back" if held_back else "the latest"
            raise type(e)(f"window {w} of {windows} ({which}): {e}") from e
    return stack_windows(parts, step)


def backtest_panel_windows(
    series: Sequence[Any], config: Any, *, mode: str, windows: int, step: int, horizon: int, season: int,
    levels: Sequence[float] = (), path: str = "data", threads: int = 1, executor: Any = None,
    static: dict[str, Sequence[Any]] | None = None, on_window: Callable[[int], Any] | None = None,
) -> BacktestResult:  # fmt: skip
    """``backtest_windows`` of long-format series (``backtest --id-col``, ``crossval.cross_validation``):
    each window is the one-origin backtest of the series cut at its origin, by one global model
    (``backtest_panel``) or a model per series (``backtest_long``), scoring a series with
    ``window_min_rows``. ``on_window(w)`` is called as window w starts and returns the local models'
    progress callback for it (or None)."""
    from lstmcli.forecasting.backtest import backtest_long, backtest_panel

    def one_window(w: int, held_back: int) -> BacktestResult:
        report = on_window(w) if on_window is not None else None
        part = hold_back_series(series, held_back)
        least = window_min_rows(held_back, horizon)
        if mode == "global":
            return backtest_panel(
                part, config, horizon=horizon, season=season, levels=levels, path=path, threads=threads,
                static=static, executor=executor, min_rows=least,
            )  # fmt: skip
        return backtest_long(
            part, config, horizon=horizon, season=season, levels=levels, path=path, on_fit=report,
            threads=threads, executor=executor, min_rows=least,
        )  # fmt: skip

    return backtest_windows(
        one_window, windows=windows, step=step, horizon=horizon, lengths=[len(s.values) for s in series],
        path=path,
    )  # fmt: skip


def stack_windows(parts: Sequence[BacktestResult], step: int) -> BacktestResult:
    """One result of every window's rows, in order; an interval level is kept when every window has it
    (its coverage over the forecasts that have one: ``covered``); a note of some windows says which."""
    if len(parts) == 1:
        return parts[0]
    first = parts[0]
    if any(p.horizon != first.horizon or list(p.forecasts) != list(first.forecasts) for p in parts):
        raise ValueError("windows of one backtest score the same horizon and methods")
    window = np.concatenate([np.full(len(p.labels), w, dtype=np.int64) for w, p in enumerate(parts, 1)])
    result = BacktestResult(
        first.horizon,
        first.season,
        np.concatenate([p.actual for p in parts]),
        {name: np.concatenate([p.forecasts[name] for p in parts]) for name in first.forecasts},
        [y for p in parts for y in p.insample],
        [label for p in parts for label in p.labels],
    )
    result.window = window
    result.held_back = (len(parts) - window) * step
    for level in first.intervals:
        if all(level in p.intervals for p in parts):
            lo = np.concatenate([p.intervals[level][0] for p in parts])
            hi = np.concatenate([p.intervals[level][1] for p in parts])
            result.intervals[level] = (lo, hi)
            share = covered(result.actual, lo, hi)
            if share is not None:
                result.coverage[level] = share
    result.notes = _window_notes([p.notes for p in parts])
    result.seconds = float(sum(p.seconds for p in parts))
    return result


def _window_notes(notes: Sequence[Sequence[str]]) -> list[str]:
    """Every window's notes once: as they are when every window has them, else led by the windows."""
    out: list[str] = []
    for text in dict.fromkeys(n for part in notes for n in part):
        where = [w for w, part in enumerate(notes, 1) if text in part]
        if len(where) == len(notes):
            out.append(text)
        else:
            which = f"window {where[0]}" if len(where) == 1 else "windows " + ", ".join(map(str, where))
            out.append(f"{which} of {len(notes)}: {text}")
    return out
