"""The cross-validation table of a backtest on many series: one row per series, origin and step, as
statsforecast's ``cross_validation`` gives it (``unique_id, ds, cutoff, y`` and a column per model).
``result_rows`` builds it from a panel backtest (``backtest --id-col``); ``cross_validation`` runs one
from Python, statsforecast's way.

Here the columns are the id column under its own name, ``cutoff`` (the last time the model saw),
``window`` (1 the earliest; only when there are several), ``date`` (or ``step`` when the file counts
steps), ``actual``, ``forecast`` (the LSTM), one column per baseline, named as the method is in the
tables (whatever ``baselines`` holds, so a new baseline is a new column), then ``lower_L``/``upper_L``
for each interval level. Times are written as the file gives
them: a date (with its time of day when it has one) or the step number.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from lstmcli.data.stepdates import dates_text
from lstmcli.errors import ConfigError

__all__ = ["cross_validation", "cross_validation_rows", "result_rows", "series_times"]


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
    windows: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """One row per series and step.

    - ids: (S,) the series; times: per series ``series_times``' (column name, cutoff, step times)
    - actual, forecast: (S, horizon); baselines: method -> (S, horizon), in the order of the columns
    - bounds: level -> (lower, upper), each (S, horizon); NaN (a series without residuals) is None
    - windows: (S,) each row's window (1 the earliest), a ``window`` column after ``cutoff``; None: one
    """
    taken = {"cutoff", "window", "date", "step", "actual", "forecast", *baselines}
    taken |= {f"{side}_{level:g}" for level in (bounds or {}) for side in ("lower", "upper")}
    if id_col in taken:
        raise ConfigError(
            f"the id column '{id_col}' has the name of a column of the cross-validation table; rename it"
        )
    rows = []
    for k, sid in enumerate(ids):
        column, cutoff, steps = times[k]
        for j, when in enumerate(steps):
            row: dict[str, Any] = {id_col: sid, "cutoff": cutoff}
            if windows is not None:
                row["window"] = int(windows[k])
            row[column] = when
            row["actual"] = float(actual[k, j])
            row["forecast"] = float(forecast[k, j])
            row |= {name: float(f[k, j]) for name, f in baselines.items()}
            for level, (lo, hi) in (bounds or {}).items():
                row[f"lower_{level:g}"] = None if np.isnan(lo[k, j]) else float(lo[k, j])  # (80, not 80.0)
                row[f"upper_{level:g}"] = None if np.isnan(hi[k, j]) else float(hi[k, j])
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
        result.window,
    )


def cross_validation(
    df: Any, *, h: int, n_windows: int = 1, step_size: int | None = None, config: Any = None,
    mode: str = "local", levels: Sequence[float] = (), id_col: str = "unique_id", time_col: str = "ds",
    target: str = "y", threads: int = 1, executor: Any = None,
) -> tuple[Any, Any]:  # fmt: skip
    """statsforecast's ``cross_validation`` of a long pandas DataFrame: ``n_windows`` origins per
    series, ``step_size`` apart (default ``h``), the last leaving exactly ``h`` rows; each window's
    models (``config``, a ``ForecasterConfig``, and ``mode``, "local" or "global") trained anew on the
    rows before its origin and forecasting the ``h`` after it (``backtest --id-col --windows``).

    Returns the table (a DataFrame: a row per series, window and step, the columns of the module's
    docstring, as `backtest --format csv` writes them) and the scores (a ``BacktestResult``:
    ``overall()``, ``per_window()``, ``per_series()``, ``coverage``, ``msis()``, ``notes``)."""
    import pandas as pd

    from lstmcli.data.frequency import season_length
    from lstmcli.data.loader import load_long_csv, read_frame
    from lstmcli.data.panel import check_scored_rows, panel_frequency
    from lstmcli.errors import DataError
    from lstmcli.forecasting.backtest_windows import backtest_panel_windows
    from lstmcli.forecasting.config import ForecasterConfig, checked_levels

    config = config or ForecasterConfig()
    if mode not in ("local", "global"):
        raise ConfigError(f"mode must be local or global, got {mode!r}")
    h, n_windows = _count("h", h), _count("n_windows", n_windows)
    step = h if step_size is None else _count("step_size", step_size)
    levels = checked_levels(levels)
    if not hasattr(df, "columns"):
        raise ConfigError(f"cross_validation takes a long pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in (id_col, time_col, target) if c not in df.columns]
    if missing:
        raise DataError(
            f"the DataFrame has no column {missing[0]!r}; columns are: {', '.join(map(str, df.columns))}"
        )
    notes: list[str] = []

    def read(path: str) -> tuple[list[Any], str | None]:
        series = load_long_csv(path, id_col=id_col, target=target, time_col=time_col, notes=notes)
        return series, panel_frequency(path, id_col=id_col, target=target, time_col=time_col)

    series, freq = read_frame(df[[id_col, time_col, target]], read)
    season = config.season or season_length(freq)
    where = "the DataFrame"
    if config.season is None and freq is None:
        notes.append(
            f"{where} has no dates with a regular frequency, so no season: give ForecasterConfig(season=...) "
            "(12 for monthly data, 4 for quarterly)"
        )
    notes += check_scored_rows(series, freq, h + (n_windows - 1) * step, where)

    result = backtest_panel_windows(
        series, config, mode=mode, windows=n_windows, step=step, horizon=h, season=season, levels=levels,
        path=where, threads=threads, executor=executor,
    )  # fmt: skip
    result.notes[:0] = notes
    return pd.DataFrame(result_rows(id_col, series, result)), result


def _count(name: str, value: Any) -> int:
    """A whole number of at least 1 (2.0 from arithmetic too), else a one-line error naming it."""
    import numbers

    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not float(value).is_integer()
        or value < 1
    ):
        raise ConfigError(f"{name} must be a whole number of at least 1, got {value!r}")
    return int(value)
