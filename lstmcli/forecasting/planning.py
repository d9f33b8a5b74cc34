"""Planning: every data-dependent setting (season, horizon, strategy, transform, lookbacks, validation
split), resolved before any training so that a setting that cannot work fails at once.

Lookbacks: ``lookback=None`` gives the first ensemble member two seasons (at least 8 steps, at most 200)
and member k that times ``LOOKBACK_FACTORS[k]`` (1, 0.5, 0.75, 1.5 and 2, as N-BEATS ensembles over
lookbacks); a short series gives up lookback (down to 2 steps), then validation, before it gives up
training windows.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.data.transforms import make_pipeline
from lstmcli.data.windows import Split, split_windows
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.config import ForecasterConfig

if TYPE_CHECKING:
    from lstmcli.data.series import SeriesData

__all__ = ["Plan", "data_name", "default_lookback", "make_plan", "resolve_transform"]

AUTO_SEASONAL_POSITIVE = "power,dstandard"  # what transform="auto" means for a positive seasonal series
AUTO_OTHER = "dstandard"  # ... and for any other series
# Automatic lookback: LOOKBACK_SEASONS seasons, at least LOOKBACK_MIN steps, at most LOOKBACK_MAX, times
# LOOKBACK_FACTORS[k] for ensemble member k; then capped so that short series keep training windows.
LOOKBACK_SEASONS = 2.0
LOOKBACK_MIN = 8
LOOKBACK_MAX = 200
LOOKBACK_FACTORS = (1.0, 0.5, 0.75, 1.5, 2.0)  # ensemble member k: default lookback times factor k % 5
MIN_TRAIN_WINDOWS = 6  # a short series gives up lookback (down to 2 steps) before it gives up these


@dataclass(frozen=True)
class Plan:
    """The settings resolved for one series. ``split`` counts windows of the chosen strategy (one-step
    windows for ``recursive``, ``horizon``-step windows for ``direct``); ``split.train_end`` is the
    number of leading transformed steps that training sees."""

    season: int
    horizon: int
    strategy: str  # "direct" whenever there are past features (their future values are unknown)
    transform: str  # the pipeline spec, "auto" resolved
    lag: int  # leading steps the pipeline's differencing drops
    lookbacks: tuple[int, ...]  # one per ensemble member; the first is the planned lookback
    split: Split


def default_lookback(season: int) -> int:
    return int(min(LOOKBACK_MAX, max(round(LOOKBACK_SEASONS * season), LOOKBACK_MIN)))


def resolve_transform(spec: str, y: np.ndarray, season: int = 1) -> str:
    """``"auto"``: for a positive seasonal series (season > 1) a Box-Cox power transform with its lambda
    chosen by Guerrero's method (log-like when the spread grows with the level), then scaling by the
    typical one-step change; otherwise the scaling only. (On the M4 yearly data a power transform made
    the networks extrapolate growth too steeply.)"""
    if spec.strip().lower() != "auto":
        return spec
    positive = bool(len(y)) and bool(np.all(np.asarray(y) > 0))
    return AUTO_SEASONAL_POSITIVE if positive and season > 1 else AUTO_OTHER


def data_name(data: SeriesData) -> str:
    """The data file's name, as error messages start."""
    return Path(str(data.path)).name


def check_newer(state: Any, data: SeriesData) -> None:
    """Newer data for a fitted model (``state``) continues the series it learned: the same target,
    features and frequency (the command line reads it so; data built in Python may not: a daily series
    given to a monthly model got monthly dates and the monthly season)."""
    name = data_name(data)
    if list(data.feature_names) != list(state.feature_names):
        raise DataError(
            f"{name}: the model was trained with features {state.feature_names or 'none'}, "
            f"this data has {list(data.feature_names) or 'none'}"
        )
    if data.target != state.target:
        raise DataError(
            f"{name}: the model forecasts '{state.target}', this data's target is '{data.target}'"
        )
    if data.freq and state.freq and not _same_frequency(data.freq, state.freq):
        raise DataError(
            f"{name}: the data's frequency is {data.freq}, the model's {state.freq}; newer data must continue "
            "the series the model learned"
        )


def _same_frequency(a: str, b: str) -> bool:
    from pandas.tseries.frequencies import to_offset

    try:
        return a == b or to_offset(a) == to_offset(b)
    except ValueError:
        return False


# Sizes the float64 statistics of a series handle: beyond them squares and sums of squares (a standard
# deviation, an autocorrelation) overflow to inf, or underflow to 0 so that a varying series looks constant.
MAGNITUDES = (1e-100, 1e100)


def check_magnitude(values: np.ndarray, column: str, name: str) -> None:
    """A one-line DataError for a column with a missing or infinite value (the CSV loaders fill or refuse
    them; data built by hand may hold them: every forecast was NaN), or whose values are too large or too
    small (but not all zero) for lstmcli's arithmetic, saying so, instead of forecasts that silently lose
    their scale or diverge."""
    bad = ~np.isfinite(values)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{name}: column '{column}' has {values[k]} at row {k + 1} (of {len(values)}); the values must be "
            "finite numbers: fill or drop the missing ones first (reading a CSV does, with a note)"
        )
    with np.errstate(all="ignore"):
        largest = float(np.max(np.abs(values))) if len(values) else 0.0
    if largest > MAGNITUDES[1]:
        raise DataError(
            f"{name}: column '{column}' has values as large as {largest:.3g}; beyond {MAGNITUDES[1]:g} in size "
            "the arithmetic overflows (their squares pass the largest number); divide the column by a power of ten"
        )
    if 0.0 < largest < MAGNITUDES[0]:
        raise DataError(
            f"{name}: column '{column}' has values no larger than {largest:.3g}; below {MAGNITUDES[0]:g} the "
            "spread underflows to zero (their squares are too small to hold); multiply the column by a power of ten"
        )


def make_plan(cfg: ForecasterConfig, data: SeriesData) -> Plan:
    """Resolve every setting of ``cfg`` left to the data; raises ConfigError when one cannot work."""
    from lstmcli.data.loader import season_length  # pandas: only when a forecaster is planned

    y = np.asarray(data.values, dtype=np.float64)
    n = len(y)
    n_features = np.asarray(data.features).reshape(n, -1).shape[1]
    check_magnitude(y, data.target, data_name(data))
    for column, values in zip(data.feature_names, np.asarray(data.features).reshape(n, -1).T, strict=False):
        check_magnitude(np.asarray(values, dtype=np.float64), column, data_name(data))
    if data.future_features is not None:
        for column, values in zip(data.future_feature_names, np.asarray(data.future_features).T, strict=True):
            check_magnitude(np.asarray(values, dtype=np.float64), column, data_name(data))
    season = cfg.season or season_length(data.freq)
    horizon = cfg.horizon or max(season, 1)
    # Feeding forecasts back needs future values of the features, which nobody has: go direct.
    strategy = "direct" if n_features and cfg.strategy == "recursive" else cfg.strategy
    transform = resolve_transform(cfg.transform, y, season)
    lag = make_pipeline(transform, season).lost
    n_z = n - lag
    if strategy == "direct":
        split, lookback = _plan_direct(cfg, n_z, season, horizon, data_name(data))
    else:
        split, lookback = _plan_recursive(cfg, n_z, season, horizon, data_name(data))
    lookbacks = _member_lookbacks(cfg, n_z, split, season, horizon, strategy, lookback)
    return Plan(season, horizon, strategy, transform, lag, tuple(lookbacks), split)


def _member_lookbacks(
    cfg: ForecasterConfig, n_z: int, split: Split, season: int, horizon: int, strategy: str, lookback: int
) -> list[int]:
    """One lookback per ensemble member: the planned one for the first, then LOOKBACK_FACTORS times
    the default (N-BEATS-style diversity), each capped like the first so short series keep their
    training windows (a capped member may repeat another's lookback)."""
    if cfg.lookback is not None:
        return [int(cfg.lookback)] * cfg.ensemble
    base = default_lookback(season)
    out = [int(lookback)]
    for k in range(1, cfg.ensemble):
        wanted = max(2, int(round(base * LOOKBACK_FACTORS[k % len(LOOKBACK_FACTORS)])))
        if strategy == "direct":
            first_val = split.val.start + lookback if split.n_val else n_z
            cap = min(first_val, split.train_end - horizon - 2)
        else:
            cap = recursive_lookback_cap(n_z, split.n_val)
        out.append(int(max(2, min(wanted, cap, LOOKBACK_MAX))))
    return out


def validation_steps(val_size: float, n_z: int) -> int:
    """The validation steps ``--val-size`` asks of a recursive series of ``n_z`` usable values: a count
    when at least 1, else that share of them (at least one)."""
    if val_size >= 1:
        return int(val_size)
    return max(1, int(round(val_size * n_z))) if val_size > 0 else 0


def recursive_lookback_cap(n_z: int, v: int) -> int:
    """The longest lookback a recursive series of ``n_z`` usable values with ``v`` validation steps
    takes: at most half of what validation leaves, and MIN_TRAIN_WINDOWS training windows left (the
    caller keeps it at 2 or more)."""
    return min(n_z - v - MIN_TRAIN_WINDOWS, (n_z - v) // 2)


def _shorter_horizon(cfg: ForecasterConfig) -> str:
    """What to shorten: the horizon given, or the season it defaulted to."""
    if cfg.horizon is None and cfg.season is not None:
        return f"give a --horizon shorter than the {cfg.season} steps it defaults to (one --season)"
    return "use a shorter --horizon"


def _plan_recursive(
    cfg: ForecasterConfig, n_z: int, season: int, horizon: int, label: str
) -> tuple[Split, int]:
    v = validation_steps(cfg.val_size, n_z)
    if cfg.lookback is not None:
        L = cfg.lookback
        if n_z - v - L < 1:
            raise ConfigError(
                f"{label}: {n_z} usable rows, but lookback {L} + {v} validation steps leave no training "
                "window; use a shorter --lookback or --val-size"
            )
        if n_z < horizon:  # (as with the default lookback below)
            raise ConfigError(
                f"{label}: {n_z} usable rows, but forecasting {horizon} steps needs at least {horizon}; "
                f"{_shorter_horizon(cfg)} or more data"
            )
    else:
        L = default_lookback(season)
        # short series: give up lookback first (down to 2), then validation, to keep training windows
        L = max(2, min(L, recursive_lookback_cap(n_z, v)))
        v = max(0, min(v, n_z - L - 3))  # (a count beyond the series: as many as leave 3 windows)
        need = max(horizon, L + v + 3)
        if n_z < need:
            raise ConfigError(
                f"{label}: {n_z} usable rows, but forecasting {horizon} steps needs at least {need}; "
                f"{_shorter_horizon(cfg)} or more data"
            )
    n_windows = n_z - L
    n_train = n_windows - v
    return Split(train=slice(0, n_train), val=slice(n_train, n_windows), train_end=n_z - v), int(L)


def _plan_direct(cfg: ForecasterConfig, n_z: int, season: int, horizon: int, label: str) -> tuple[Split, int]:
    val_size = cfg.val_size if cfg.val_size < 1 else int(cfg.val_size)
    if cfg.lookback is not None:
        return split_windows(n_z, cfg.lookback, horizon, val_size, label=label), cfg.lookback
    # short series: give up lookback first (down to 2), then validation, to keep training windows
    wanted = default_lookback(season)
    room = n_z - horizon - max(4, int(0.3 * n_z))
    first = int(max(2, min(wanted, room)))
    for vs in (val_size, 0):
        for L in range(first, 1, -1):
            try:
                candidate = split_windows(n_z, L, horizon, vs, label=label)
            except ConfigError:
                continue
            if candidate.n_train >= min(MIN_TRAIN_WINDOWS, 3) or L == 2:
                return candidate, L
    return split_windows(n_z, 2, horizon, 0, label=label), 2  # raises with the minimum length


# Forecasts from at most this many validation origins make the error table and the intervals' residuals.
# Every origin costs a full multi-step forecast (for 1,000,000 hourly rows the 200,000 origins took 80 s
# beside 2 s of training an epoch) and a row of residuals in the model file; 2,000 evenly spaced ones
# measure the errors as well. Series with fewer origins (below some 10,000 rows) use every one, as always.
VALIDATION_ORIGINS = 2000


# (shared with the panel's global model, ``forecasting.panel``: one series' part of a fit)
def validation_points(plan: Plan, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Where validation forecasts start: as indices into the transformed series (``val_starts``) and
    as positions in the data (``origins``, at most VALIDATION_ORIGINS of them, evenly spaced)."""
    if plan.strategy == "direct":
        val_starts = np.arange(plan.split.val.start, plan.split.val.stop) + plan.lookbacks[0]
    else:
        val_starts = np.arange(plan.split.train_end, n - plan.lag)
    origins = val_starts + plan.lag  # the same, as positions in the data
    if len(origins) > VALIDATION_ORIGINS:  # long series: evenly spaced origins, first and last kept
        origins = origins[np.unique(np.linspace(0, len(origins) - 1, VALIDATION_ORIGINS).round().astype(int))]
    return val_starts, origins
