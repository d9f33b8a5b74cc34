"""The cross-validation table of a backtest on many series: one row per series, origin and step, as
statsforecast's ``cross_validation`` gives it (``unique_id, ds, cutoff, y`` and a column per model).
``result_rows`` builds it from a panel backtest (``backtest --id-col``, ``PanelForecaster.cross_validation``).

Here the columns are the id column under its own name, ``cutoff`` (the last time the model saw),
``date`` (or ``step`` when the file counts steps), ``actual``, ``forecast`` (the LSTM), one column per
baseline, named as the method is in the tables (whatever ``baselines`` holds, so a new baseline is a
new column), then ``lower_L``/``upper_L`` for each interval level. Times are written as the file gives
them: a date (with its time of day when it has one) or the step number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lstmcli.data.stepdates import dates_text
from lstmcli.errors import ConfigError

__all__ = ["cross_validation_rows", "result_rows", "series_times"]


def series_times(times: np.ndarray | None, n: int, horizon: int) -> tuple[str, Any, list[Any]]:
    """The name of the time column ("date" or "step"), the cutoff and the times of the last ``horizon``
    rows of a series of ``n`` rows whose time column holds ``times`` (None: rows are steps 1, 2, …)."""
    if times is None:
        return "step", n - horizon, list(range(n - horizon + 1, n + 1))
    if np.issubdtype(times.dtype, np.datetime64):
        text = dates_text(times)[n - horizon - 1 :]  # (written alike over the whole series)
        return "date", text[0], text[1:]
    steps = [int(t) if float(t).is_integer() else float(t) for t in times[n - horizon - 1 :]]
    return "step", steps[0], steps[1:]


def cross_validation_rows(
    id_col: str,
    ids: Sequence[str],
    times: Sequence[tuple[str, Any, list[Any]]],
    actual: np.ndarray,
    forecast: np.ndarray,
    baselines: Mapping[str, np.ndarray],
    bounds: Mapping[float, tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[dict[str, Any]]:
    """One row per series and step.

    - ids: (S,) the series; times: per series ``series_times``' (column name, cutoff, step times)
    - actual, forecast: (S, horizon); baselines: method -> (S, horizon), in the order of the columns
    - bounds: level -> (lower, upper), each (S, horizon); NaN (a series without residuals) is None
    """
    taken = {"cutoff", "date", "step", "actual", "forecast", *baselines}
    taken |= {f"{side}_{level}" for level in (bounds or {}) for side in ("lower", "upper")}
    if id_col in taken:
        raise ConfigError(
            f"the id column '{id_col}' has the name of a column of the cross-validation table; rename it"
        )
    rows = []
    for k, sid in enumerate(ids):
        column, cutoff, steps = times[k]
        for j, when in enumerate(steps):
            row: dict[str, Any] = {id_col: sid, "cutoff": cutoff, column: when}
            row["actual"] = float(actual[k, j])
            row["forecast"] = float(forecast[k, j])
            row |= {name: float(f[k, j]) for name, f in baselines.items()}
            for level, (lo, hi) in (bounds or {}).items():
                row[f"lower_{level}"] = None if np.isnan(lo[k, j]) else float(lo[k, j])
                row[f"upper_{level}"] = None if np.isnan(hi[k, j]) else float(hi[k, j])
            rows.append(row)
    return rows


def result_rows(id_col: str, series: Sequence[Any], result: Any) -> list[dict[str, Any]]:
    """The table of a panel backtest's ``result`` (a ``BacktestResult``, one window or several) of the
    long-format ``series`` it scored (each with ``series_id``, ``values`` and ``times``): the LSTM next
    to every baseline the result holds, and the interval bounds of each level. Each row's times are its
    series' own, up to the rows its window held back; a series too short to be scored has no rows."""
    by_id = {str(s.series_id): s for s in series}
    held_back = result.held_back if result.held_back is not None else [0] * len(result.labels)
    times = []
    for label, k in zip(result.labels, held_back, strict=True):
        s = by_id[label]
        n = len(s.values) - int(k)
        times.append(series_times(None if s.times is None else s.times[:n], n, result.horizon))
    forecasts = result.forecasts
    return cross_validation_rows(
        id_col,
        result.labels,
        times,
        result.actual,
        forecasts["LSTM"],
        {name: f for name, f in forecasts.items() if name != "LSTM"},
        result.intervals,
    )
