"""Backtests of a panel with inputs known in advance (``backtest --id-col --future-features``,
``--calendar``, ``--holidays``): one origin per series, the last ``horizon`` steps of each, as
``backtest_panel`` and ``backtest_long`` score a panel; the model (global, or local per series) sees the
series up to its origin, and forecasts its horizon with the ACTUAL values of the known-future columns
there, as a forecast with a ``--future`` file would (calendar and holidays from the dates).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.backtest import BacktestResult, _truncate, panel_result
from lstmcli.forecasting.config import ForecasterConfig

__all__ = ["backtest_panel_known"]


def backtest_panel_known(
    panel: Any, config: ForecasterConfig, *, horizon: int, season: int, mode: str,
    levels: Sequence[float] = (), threads: int = 1, executor: Any = None,
) -> BacktestResult:  # fmt: skip
    """Each series of ``panel`` (``data.panel.load_panel`` with its known-future columns) forecast
    from ``horizon`` steps before its end by a ``PanelForecaster`` (``mode``) fitted on the series up
    to there, the known inputs of the horizon being the data's own."""
    from lstmcli.data.future import FutureValues, PanelFuture
    from lstmcli.forecasting.panel import PanelForecaster

    started = time.perf_counter()
    if not horizon or horizon < 1:
        raise ConfigError("--horizon must be at least 1")
    ids = list(panel.ids)
    short = [sid for sid, s in zip(ids, panel.series, strict=True) if len(s.values) <= horizon + 2]
    if short:
        raise ConfigError(f"{panel.path}: series '{short[0]}' is too short for a backtest of {horizon} steps")
    _refuse_filled_scores(panel, horizon)
    trains = [_truncate(s, len(s.values) - horizon) for s in panel.series]
    cfg = replace(config, horizon=horizon, season=season)
    model = PanelForecaster(cfg, mode=mode).fit(
        trains, ids=ids, id_col=panel.id_col, threads=threads, executor=executor
    )
    future = None
    if panel.series[0].future_features is not None:
        future = PanelFuture(str(panel.path), panel.id_col, {
            sid: FutureValues(
                f"{panel.path}, series '{sid}'", s.future_feature_names, s.future_features[-horizon:],
                None if s.timestamps is None else s.timestamps[-horizon:], np.zeros(horizon, dtype=np.int64),
            )
            for sid, s in zip(ids, panel.series, strict=True)
        })  # fmt: skip
    fitted = set(model.ids_)
    forecasts = model.predict(horizon, ids=[sid for sid in ids if sid in fitted], future=future)
    ys = [np.asarray(t.values, dtype=np.float64) for t in trains]
    actuals = [np.asarray(s.values, dtype=np.float64)[-horizon:] for s in panel.series]
    result = panel_result(model, forecasts, ys, actuals, ids, horizon, season, levels)
    result.seconds = time.perf_counter() - started
    return result


def _refuse_filled_scores(panel: Any, horizon: int) -> None:
    """A series with a filled value among its last ``horizon`` (a missing date, an empty cell) is an
    error: its forecast would be scored against a value the reader made up (`backtest --id-col` without
    known inputs refuses the missing date alike)."""
    from lstmcli.data.wording import fmt_ts

    for sid, s in zip(panel.ids, panel.series, strict=True):
        at = panel.filled.get(sid)
        scored = at[at >= len(s.values) - horizon] if at is not None else ()
        if len(scored):
            k = int(scored[0])
            when = fmt_ts(s.timestamps[k]) if s.timestamps is not None else f"step {k + 1}"
            raise DataError(
                f"{panel.path}: series {sid!r} has no '{panel.target}' value for {when}, among the {horizon} "
                "steps backtest scores: a forecast would be scored against a filled value; give the value, or "
                "a shorter --horizon"
            )
        at = panel.filled_known.get(sid)
        ahead = at[at >= len(s.values) - horizon] if at is not None else ()
        if len(ahead):  # (predict refuses a missing known value of the forecast period alike)
            k = int(ahead[0])
            when = fmt_ts(s.timestamps[k]) if s.timestamps is not None else f"step {k + 1}"
            names = ", ".join(f"'{c}'" for c in s.future_feature_names)
            raise DataError(
                f"{panel.path}: series {sid!r} has no value of its known inputs ({names}) for {when}, among the "
                f"{horizon} steps backtest forecasts: the forecast would use a filled value; give it, or a "
                "shorter --horizon"
            )
