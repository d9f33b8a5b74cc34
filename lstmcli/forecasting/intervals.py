"""Prediction intervals: split-conformal widths from the validation residuals, with a floor.

The residuals are the out-of-sample errors ``actual - forecast`` recorded from every validation origin
(``Forecaster.fit``); where a horizon step has too few of them for the level, the series' own in-sample
Naive2 errors (``naive2_errors``) keep the interval from being too narrow.
"""

from __future__ import annotations

import math

import numpy as np

from lstmcli.errors import ConfigError

__all__ = ["conformal_width", "interval", "naive2_errors"]


def interval(
    values: np.ndarray, level: int, residuals: np.ndarray, floor_errors: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) around ``values`` at ``level`` percent: ``values`` -+ ``conformal_width``."""
    if not 0 < level < 100:
        raise ConfigError(f"--level must be between 0 and 100, got {level}")
    if len(residuals) == 0:
        raise ConfigError("this model has no validation residuals for intervals; retrain with --val-size > 0")
    width = conformal_width(residuals, level / 100.0, len(values), floor_errors)
    return values - width, values + width


def conformal_width(
    residuals: np.ndarray, coverage: float, horizon: int, floor_errors: np.ndarray | None = None
) -> np.ndarray:
    """Half-width per horizon step from the out-of-sample errors ``actual - forecast`` recorded from the
    validation origins ((n, h) with NaN where an origin was too close to the end for that step).

    Split conformal: a step with enough residuals for the level (n_j >= coverage / (1 - coverage), e.g.
    19 for 95 %) gets the ⌈(n_j+1)·coverage⌉-th smallest of its absolute residuals, which covers a new
    error with probability ≥ coverage when errors are exchangeable. Steps with fewer residuals (short
    series give only a few validation origins) pool every residual after dividing it by its step number
    -- forecast errors of a level or drift that is a little off grow about linearly with the step -- and
    get the conformal quantile of that pool times the step number, or, when it is larger, the conformal
    quantile of ``floor_errors`` at that step: the series' own in-sample Naive2 errors (``naive2_errors``),
    plentiful and model-free (on the M3 yearly series this lifted 80 % / 95 % coverage from 65 % / 68 %
    to 83 % / 89 %; benchmarks/README.md). Widths never shrink with the step, and steps
    beyond the validated horizon widen like a random walk: the last width times
    sqrt(step / validated steps).
    """
    res = np.abs(np.asarray(residuals, dtype=np.float64))
    if res.ndim != 2 or res.shape[0] == 0:
        return np.zeros(horizon)
    n, h_cal = res.shape
    need = math.ceil(coverage / (1.0 - coverage) - 1e-9)
    steps = np.arange(1, h_cal + 1)
    pooled = (res / steps[None, :]).ravel()
    pooled = np.sort(pooled[np.isfinite(pooled)])
    if pooled.size == 0:
        return np.zeros(horizon)
    width = _conformal_quantile(pooled, coverage) * steps.astype(np.float64)
    for j in range(h_cal):
        col = res[:, j][np.isfinite(res[:, j])]
        if col.size >= need:
            width[j] = _conformal_quantile(np.sort(col), coverage)
        elif floor_errors is not None and floor_errors.ndim == 2 and j < floor_errors.shape[1]:
            floor = floor_errors[:, j][np.isfinite(floor_errors[:, j])]
            if floor.size:
                width[j] = max(width[j], _conformal_quantile(np.sort(floor), coverage))
    width = np.maximum.accumulate(width)  # uncertainty does not shrink with the horizon
    if horizon <= h_cal:
        return width[:horizon]
    extra = width[-1] * np.sqrt(np.arange(h_cal + 1, horizon + 1) / h_cal)
    return np.concatenate([width, extra])


def _conformal_quantile(sorted_values: np.ndarray, coverage: float) -> float:
    """The ⌈(n+1)·coverage⌉-th smallest value (the largest when n is too small for the level)."""
    n = sorted_values.size
    return float(sorted_values[min(n, math.ceil((n + 1) * coverage)) - 1])


def naive2_errors(y: np.ndarray, seasonal: np.ndarray, horizon: int, max_origins: int = 400) -> np.ndarray:
    """(k, horizon) absolute in-sample errors of Naive2 (the last value of the seasonally adjusted series,
    re-seasoned; plain naive when ``seasonal`` is all ones) from the last ``k <= max_origins`` origins
    that have all ``horizon`` steps inside ``y``: the floor of ``conformal_width``."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    k = min(max_origins, n - horizon)
    if k < 1:
        return np.zeros((0, horizon))
    s = np.asarray(seasonal, dtype=np.float64)
    position = np.arange(n)
    adjusted = y / s[position % s.size]
    origins = np.arange(n - horizon - k, n - horizon)
    steps = np.arange(1, horizon + 1)
    target = origins[:, None] + steps[None, :]
    forecast = adjusted[origins][:, None] * s[target % s.size]
    return np.abs(y[target] - forecast)
