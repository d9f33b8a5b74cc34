"""Pieces of the panel forecaster (``forecasting.panel``) that need none of its state: the tasks a
worker runs for a chunk of series, the progress of a pass over the series, static features given to the
API, and the mean validation table over the series."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.errors import ConfigError
from lstmcli.forecasting.forecaster import Forecast, Forecaster
from lstmcli.forecasting.metrics import mean_defined, owa

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from lstmcli.forecasting.config import ForecasterConfig

__all__ = ["Ticker", "forecast_chunk", "mean_table", "static_values"]


def forecast_chunk(
    task: tuple[ForecasterConfig, list[tuple[str, Any]], int | None, tuple[int, ...], str], stop: Any
) -> list[tuple[str, Forecast]]:
    """A worker's task: the forecasts of a chunk of series, from their states."""
    cfg, part, horizon, levels, method = task
    out = []
    for sid, state in part:
        model = Forecaster(cfg)
        model.state_ = state
        model.compiled_forecasts = True  # as PanelForecaster.forecaster runs a panel's series
        out.append((sid, model.predict(horizon, levels=levels, method=method)))
    return out


class Ticker:
    """Counts the series of one pass through ``on_series(done, total)``, every TICK series and at the end."""

    TICK = 256

    def __init__(self, on_series: Callable[[int, int], None] | None, total: int) -> None:
        self.on_series, self.total, self.done = on_series, total, 0
        if on_series is not None:
            on_series(0, total)

    def __call__(self, value: Any) -> Any:
        self.done += 1
        if self.on_series is not None and (self.done % self.TICK == 0 or self.done == self.total):
            self.on_series(self.done, self.total)
        return value


def static_values(values: Sequence[Any], n: int, name: str) -> np.ndarray:
    """One static feature's values for the API's list of series: (n,) float64 numbers or str."""
    v = np.asarray(values)
    if v.shape != (n,):
        raise ConfigError(f"static feature {name!r}: give one value per series ({n}), got shape {v.shape}")
    if v.dtype.kind in "iuf":
        v = v.astype(np.float64)
        if not np.isfinite(v).all():
            raise ConfigError(f"static feature {name!r}: every value must be a finite number")
        return v
    return v.astype(str)


def mean_table(tables: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """The mean of each method's measures over the series (as M4 scores a group), OWA on the means."""
    tables = [t for t in tables if t]
    if not tables:
        return {}
    out = {
        method: {m: mean_defined([t[method][m] for t in tables]) for m in tables[0][method] if m != "OWA"}
        for method in tables[0]
    }
    base = out["Naive2"]
    for row in out.values():
        row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
    return out
