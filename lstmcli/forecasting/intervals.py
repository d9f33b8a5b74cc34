"""Prediction intervals: split-conformal widths from the validation residuals.

The residuals are the out-of-sample errors ``actual - forecast`` recorded from every validation origin
(``Forecaster.fit``). The rule (issue #21, chosen on the M1 and M3 groups, benchmarks/RESULTS.md
"Interval rules"):

- a single series (``conformal_width``): per step the conformal quantile of its own residuals; where a
  step has too few for the level, the pooled residuals scaled by the step number, floored by the
  series' own in-sample Naive2 errors (``naive2_errors``);
- the series of a panel (``panel_widths``, used by ``backtest --id-col`` and a panel model's predict):
  every series' residuals divided by its scale and pooled per step over the series, each series
  weighing the same; a step's conformal quantile times the series' scale. The scale is the geometric
  mean of the series' mean one-step in-sample Naive2 error and its mean one-step validation error
  (``series_scales``): a series the models forecast better than Naive2 gets a narrower interval than one
  they forecast worse. Steps fewer than ``PANEL_MIN`` series validated continue as the pooled Naive2
  errors grow. A panel of fewer than ``PANEL_MIN`` series: each series on its own;
- either way, a combination's interval then stretches, where it does not already, to hold every
  member's forecast (``holding_members``): where the networks, Theta, ES and ARIMA disagree, the mean is
  less sure than its validation errors alone say (chosen for a lower MSIS in every group of M1 and M3:
  RESULTS.md "Interval rules").
"""

from __future__ import annotations

import math

import numpy as np

from lstmcli.errors import ConfigError

__all__ = [
    "conformal_width",
    "holding_members",
    "interval",
    "level_warning",
    "naive2_errors",
    "panel_intervals",
    "panel_level_warning",
    "panel_widths",
    "recalibrate",
    "series_scale",
    "series_scales",
]


def interval(
    values: np.ndarray,
    level: float,
    residuals: np.ndarray,
    floor_errors: np.ndarray | None,
    members: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(lower, upper) around ``values`` at ``level`` percent: ``values`` -+ ``conformal_width``, holding
    the combination's ``members`` (``holding_members``)."""
    if not 0 < level < 100:
        raise ConfigError(f"--level must be between 0 and 100, got {level}")
    if len(residuals) == 0:
        raise ConfigError("this model has no validation residuals for intervals; retrain with --val-size > 0")
    width = conformal_width(residuals, level / 100.0, len(values), floor_errors)
    return holding_members(values - width, values + width, members)


def level_warning(level: float, residuals: np.ndarray, floor_errors: np.ndarray | None) -> str | None:
    """One line when ``level`` asks for more errors than a single series' model has to calibrate it (a
    split-conformal quantile at 99.99 % needs 9,999): its bounds are then the largest errors it saw."""
    need = math.ceil(level / (100.0 - level) - 1e-9)
    res = np.asarray(residuals, dtype=np.float64)
    have = int(np.isfinite(res).sum()) if res.size else 0
    if floor_errors is not None and np.size(floor_errors):
        have = max(have, int(np.isfinite(np.asarray(floor_errors)[:, 0]).sum()))
    if not have or have >= need:
        return None
    return (
        f"--level {level:g} needs {need:,} errors to calibrate, this model has {have:,}: its bounds are "
        "the largest errors it saw, likely too narrow"
    )


def panel_level_warning(
    level: float, residuals: list[np.ndarray], floors: list[np.ndarray | None]
) -> str | None:
    """``level_warning`` for the series of a panel: calibrated together (``PANEL_MIN`` series with
    validation errors, or more), a level needs as many series as a single series needs errors (99.9 %:
    999); fewer, each series on its own, as ``level_warning`` says of the first that falls short."""
    have = sum(1 for r in residuals if np.size(r))
    if have >= PANEL_MIN:
        need = math.ceil(level / (100.0 - level) - 1e-9)
        if have >= need:
            return None
        return (
            f"--level {level:g} needs {need:,} series to calibrate over, this model has {have:,}: its bounds "
            "are the largest scaled errors it saw, likely too narrow"
        )
    return next(
        (w for r, f in zip(residuals, floors, strict=True) if (w := level_warning(level, r, f))), None
    )


def holding_members(
    lower: np.ndarray, upper: np.ndarray, members: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """``(lower, upper)`` stretched, step by step where they do not already, to hold every forecast a
    combination averaged (``members``, (k, horizon): the networks' and its baselines'; None: a forecast of
    the networks alone, unchanged). The calibrated width stays the least; the interval is no longer
    symmetric where a member lies beyond it."""
    if members is None:
        return lower, upper
    m = np.asarray(members, dtype=np.float64)[:, : len(lower)]
    return np.minimum(lower, m.min(axis=0)), np.maximum(upper, m.max(axis=0))


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
    to 83 % / 89 %; benchmarks/README.md), and never less than the step's largest residual (what any
    lower level the step has enough residuals for gets at most: a higher level is never narrower).
    Widths never shrink with the step, and steps beyond the validated horizon widen like a random
    walk: the last width times sqrt(step / validated steps).
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
            continue
        if floor_errors is not None and floor_errors.ndim == 2 and j < floor_errors.shape[1]:
            floor = floor_errors[:, j][np.isfinite(floor_errors[:, j])]
            if floor.size:
                width[j] = max(width[j], _conformal_quantile(np.sort(floor), coverage))
        if col.size:  # a lower level's quantile of this step is at most its largest error: levels nest
            width[j] = max(width[j], float(col.max()))
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


def series_scale(residuals: np.ndarray, floor_errors: np.ndarray | None) -> float:
    """A series' error scale for pooling with others: the mean one-step in-sample Naive2 error (the
    floor's first column), else the mean absolute validation residual, else 1."""
    for a in (
        floor_errors[:, :1] if floor_errors is not None and floor_errors.ndim == 2 else None,
        residuals,
    ):
        if a is not None:
            v = np.abs(np.asarray(a, dtype=np.float64))
            v = v[np.isfinite(v)]
            if v.size and float(v.mean()) > 0:
                return float(v.mean())
    return 1.0


PANEL_MIN = 20  # series with validation residuals (at a step) for a panel's errors to be pooled
OWN_MIN = 2  # one-step validation errors a series needs for its own errors to enter its scale


def series_scales(residuals: np.ndarray, floor_errors: np.ndarray | None) -> tuple[float, np.ndarray]:
    """A series' scale in a panel, and the scale each of its validation origins is calibrated with.

    The scale is the geometric mean of ``series_scale`` (the in-sample Naive2 errors: plentiful, but blind
    to how well the models do) and the series' own mean absolute one-step validation error (the models'
    own, from few origins), when it has ``OWN_MIN`` of those; else ``series_scale`` alone. Dividing a
    series' residuals by a mean of themselves would shrink them (a series of two errors a and b scales to
    a / mean(a, b), at most 2) and the pooled quantile with them: each origin's residuals are divided by the
    scale computed without that origin (leave one out), as a new error is divided by a scale that never
    saw it. (Chosen on M1 and M3 for MSIS: RESULTS.md "Interval rules".)"""
    base = series_scale(residuals, floor_errors)
    res = np.asarray(residuals, dtype=np.float64)
    rows = res.shape[0] if res.ndim == 2 else 0
    loo = np.full(rows, base)
    if rows == 0 or res.shape[1] == 0:
        return base, loo
    one_step = np.abs(res[:, 0])
    seen = np.isfinite(one_step)
    n = int(seen.sum())
    total = float(one_step[seen].sum())
    if n < OWN_MIN or total <= 0:
        return base, loo
    scale = math.sqrt(base * total / n)
    loo[:] = scale  # (an origin without a one-step error did not enter it)
    for k in np.flatnonzero(seen):
        rest = (total - one_step[k]) / (n - 1)
        loo[k] = math.sqrt(base * rest) if rest > 0 else base
    return scale, loo


def panel_widths(
    residuals: list[np.ndarray],
    floors: list[np.ndarray | None],
    coverage: float,
    horizon: int,
    weigh: str = "series",
    own_errors: bool = True,
) -> list[np.ndarray]:
    """Half-widths for the series of a panel from their errors pooled over the series.

    Each series' validation residuals are divided by its scale (``series_scales``, each origin's without
    that origin's own error; ``own_errors`` False: its ``series_scale``, the rule before issue #21's
    eleventh part), its in-sample Naive2 errors by its ``series_scale``.
    Step j's scaled half-width q_j is the conformal quantile of the pooled validation residuals of that
    step (each series weighing the same: ``weigh`` "series"; or each residual: "origin") when at least
    ``PANEL_MIN`` series have one there; a later step with fewer continues the last such step k as the
    pooled Naive2 errors grow: q_j = q_k * M_j / M_k, M their mean at the step. A series' half-width is
    its scale times q. Every decision but the quantile is the same at every level, so a higher level
    never gives a narrower interval. Fewer than ``PANEL_MIN`` series: each series' own
    ``conformal_width``. Widths never shrink with the step; past the floor's steps they widen like a
    random walk.
    """
    scales = np.array([series_scale(r, f) for r, f in zip(residuals, floors, strict=True)])
    own = [
        series_scales(r, f) if own_errors else (sc, np.full(r.shape[0] if r.ndim == 2 else 0, sc))
        for r, f, sc in zip(residuals, floors, scales, strict=True)
    ]
    h_res = max((r.shape[1] for r in residuals if r.ndim == 2 and r.size), default=0)
    h_floor = max((f.shape[1] for f in floors if f is not None and f.ndim == 2 and f.size), default=0)
    h_cal = max(h_res, h_floor, 1)
    q = np.full(h_cal, np.nan)
    growth = np.full(h_cal, np.nan)
    for j in range(h_cal):
        values, weights = [], []
        for r, (_, by_origin) in zip(residuals, own, strict=True):
            if r.ndim == 2 and j < r.shape[1]:
                v = np.abs(r[:, j])
                seen = np.isfinite(v)
                v = v[seen] / by_origin[seen]
                if v.size:
                    values.append(v)
                    weights.append(np.full(v.size, 1.0 / v.size if weigh == "series" else 1.0))
        if len(values) >= PANEL_MIN:
            q[j] = _weighted_quantile(np.concatenate(values), np.concatenate(weights), coverage, len(values))
        means = [
            float(np.mean(np.abs(f[:, j])[np.isfinite(f[:, j])])) / sc
            for f, sc in zip(floors, scales, strict=True)
            if f is not None and f.ndim == 2 and j < f.shape[1] and np.isfinite(f[:, j]).any()
        ]
        if means:
            growth[j] = float(np.mean(means))
    known = np.flatnonzero(np.isfinite(q))
    if known.size == 0:  # too few series: each series on its own
        return [conformal_width(r, coverage, horizon, f) for r, f in zip(residuals, floors, strict=True)]
    q[known] = np.maximum.accumulate(q[known])  # uncertainty does not shrink with the horizon
    for j in range(h_cal):
        if not np.isfinite(q[j]):
            k = known[known < j].max() if np.any(known < j) else known.min()
            ratio = growth[j] / growth[k] if np.isfinite(growth[j]) and growth[k] > 0 else 1.0
            q[j] = q[k] * ratio
    q = np.maximum.accumulate(q)
    if horizon > h_cal:
        q = np.concatenate([q, q[-1] * np.sqrt(np.arange(h_cal + 1, horizon + 1) / h_cal)])
    return [scale * q[:horizon] for scale, _ in own]


def _weighted_quantile(values: np.ndarray, weights: np.ndarray, coverage: float, n: int) -> float:
    """The smallest value whose weighted share of the pool reaches coverage * (n + 1) / n (the split
    conformal correction for n exchangeable units), or the largest value."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    share = np.cumsum(w) / w.sum()
    k = int(np.searchsorted(share, min(1.0, coverage * (n + 1) / n) - 1e-12))
    return float(v[min(k, v.size - 1)])


def panel_intervals(
    residuals: list[np.ndarray], floors: list[np.ndarray | None], coverage: float, horizon: int
) -> list[np.ndarray]:
    """Half-widths for the series of one panel (``backtest --id-col``, ``predict`` of a panel model):
    the rule of the module's docstring."""
    return panel_widths(residuals, floors, coverage, horizon)


def recalibrate(forecasts: dict, states: dict, levels: tuple[float, ...]) -> dict:
    """A panel model's forecasts (by id, each with ``values``, ``members`` and ``intervals``) with the
    intervals that ``panel_intervals`` gives over every series of the model (``states``, by id), around
    the same values and holding the same members; a series without validation residuals keeps its own."""
    if not levels or not forecasts:
        return forecasts
    ids = [sid for sid, st in states.items() if len(st.residuals)]
    horizon = max(len(f.values) for f in forecasts.values())
    for level in levels:
        widths = panel_intervals(
            [states[sid].residuals for sid in ids], [states[sid].naive2_errors for sid in ids],
            level / 100, horizon,
        )  # fmt: skip
        by_id = dict(zip(ids, widths, strict=True))
        for sid, f in forecasts.items():
            if sid in by_id and level in f.intervals:
                w = by_id[sid][: len(f.values)]
                f.intervals[level] = holding_members(f.values - w, f.values + w, f.members)
    return forecasts
