"""What the validation says, in plain terms: which method won, which horizon steps were scored, which
networks stopped learning at once. The command line words it; the reasoning lives here."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from lstmcli.data.transforms import transform_names
from lstmcli.forecasting.config import METHODS, ForecasterConfig

__all__ = [
    "best_method",
    "first_epoch_members",
    "first_epoch_message",
    "horizon_message",
    "method_key",
    "setting_warnings",
    "validated_steps",
    "winner",
]

BASELINE_NAMES = tuple(name for key, name in METHODS.items() if key != "lstm")


def _owa(row: Mapping[str, float] | None) -> float:
    value = None if row is None else row.get("OWA")
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else math.inf


def winner(metrics: Mapping[str, Mapping[str, float]]) -> str | None:
    """The baseline with the lowest OWA when it is at or below the LSTM's (ties go to the simpler
    forecast), else None (the LSTM won, or the table has no OWA to compare)."""
    lstm = _owa(metrics.get("LSTM"))
    if not math.isfinite(lstm):
        return None
    best = min(BASELINE_NAMES, key=lambda name: _owa(metrics.get(name)))
    return best if _owa(metrics.get(best)) <= lstm else None


def method_key(name: str) -> str:
    """``predict --method`` value of a method named as the tables name it ("Theta" -> "theta")."""
    return next(key for key, value in METHODS.items() if value == name)


def best_method(metrics: Mapping[str, Mapping[str, float]]) -> str:
    """``predict --method`` value of the validation's winner: the baseline that beat the LSTM, or lstm."""
    name = winner(metrics)
    return "lstm" if name is None else method_key(name)


def validated_steps(residuals: np.ndarray) -> int:
    """How many leading horizon steps validation scored: 1 .. this step had at least one actual value
    (an origin near the end of the series has actuals for its first steps only)."""
    res = np.asarray(residuals, dtype=np.float64)
    if res.ndim != 2 or res.size == 0:
        return 0
    seen = np.flatnonzero(np.isfinite(res).any(axis=0))
    return int(seen[-1]) + 1 if seen.size else 0


def first_epoch_members(member_epochs: list[int], max_epochs: int = 2) -> list[int]:
    """0-based members whose best epoch was the first although more were allowed (``max_epochs``):
    early stopping found nothing better after one pass over the data, so the network is little more
    than its initialisation."""
    if max_epochs <= 1:
        return []
    return [k for k, epoch in enumerate(member_epochs) if int(epoch) == 1]


def first_epoch_message(members: list[int], total: int) -> str | None:
    """One line naming the ensemble members (0-based ``members``, shown 1-based) whose best epoch was the
    first, or None."""
    if not members:
        return None
    which = ", ".join(str(k + 1) for k in members)
    network, its = ("network", "its") if len(members) == 1 else ("networks", "their")
    return (
        f"{network} {which} of the {total} in the ensemble stopped at {its} first epoch (no later epoch did "
        "better on validation): barely trained"
    )


def step_range(first: int, last: int) -> str:
    """ "steps 3-6", "step 6"."""
    return f"step {first}" if first == last else f"steps {first}-{last}"


def horizon_message(horizon: int, steps: int) -> str | None:
    """One line when the horizon goes beyond the ``steps`` validation scored, or None."""
    if steps <= 0 or steps >= horizon:
        return None
    return (
        f"validation scored horizon {step_range(1, steps)} only: {step_range(steps + 1, horizon)} were never checked "
        "against held-out data and their intervals are extrapolated; use a larger --val-size or a shorter "
        "--horizon"
    )


def setting_warnings(config: ForecasterConfig) -> list[str]:
    """One line for each setting that does nothing or starves the network, as given (before training):
    what PyTorch warns of for dropout, and what the pipeline makes of a lookback of 1 or of raw values."""
    out = []
    if config.dropout > 0 and config.layers == 1:
        out.append(
            f"--dropout {config.dropout:g} has no effect with one layer: it acts between stacked layers "
            "(--layers 2 or more)"
        )
    if config.lookback == 1 and config.normalize == "window":
        out.append(
            "--lookback 1 with --normalize window shows the network only its window minus its last value, "
            "always 0: it sees no past of the target; use --lookback 2 or more, or --normalize ses"
        )
    raw = config.transform.strip().lower() != "auto" and transform_names(config.transform) == ["none"]
    if config.normalize == "none" and raw:
        out.append(
            "--normalize none with --transform none feeds the network the raw values: unless they lie "
            "near -1..1 its gates saturate and it learns little; keep the default --transform auto"
        )
    return out


FAR_OUT = 10  # a forecast this many times the data's range (or size) beyond it is no forecast


def forecast_warnings(
    history: np.ndarray, values: np.ndarray, season: int = 1, residuals: np.ndarray | None = None
) -> list[str]:
    """Plain-language warnings for forecasts that are probably not worth much: a flat line, the last
    observations (or the last season) repeated, or steps beyond those the model's validation scored
    (``residuals``, its validation errors: (n, steps), NaN where a step was not reached)."""
    out = []
    validated = 0 if residuals is None else validated_steps(residuals)
    if 0 < validated < len(values):
        # a model trained for this horizon whose validation stopped short: its windows were too few
        trained_for = np.shape(residuals)[-1] >= len(values)
        fix = "a larger --val-size" if trained_for else f"--horizon {len(values)}"
        out.append(
            f"{step_range(validated + 1, len(values))} go beyond the {validated} the model's validation scored: "
            f"never checked against held-out data, their intervals extrapolated; forecast a shorter "
            f"--horizon, or train with {fix}"
        )
    history = np.asarray(history, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    h = len(values)
    lo, hi = float(np.min(history)), float(np.max(history))
    far = float(np.max(np.maximum(values - hi, lo - values)))
    if far > FAR_OUT * max(hi - lo, abs(hi), 1e-12):  # a huge --lr, say: nothing a series' own range explains
        out.append(
            f"the forecast leaves the data's range by far (up to {float(values[np.argmax(np.abs(values))]):.4g}; "
            f"the data lie in {lo:.4g} .. {hi:.4g}): training may have diverged; try a smaller --lr"
        )
    if lo > 0 and float(np.min(values)) <= 0:  # (a Box-Cox inverse stops at 0: 2,434 steps of exactly 0)
        k = int(np.argmax(values <= 0))
        out.append(
            f"from step {k + 1} the forecast is {float(values[k]):.4g} or less although every observed value is "
            "positive: it ran down to zero or past it; forecast a shorter --horizon"
        )
    recent = history[-max(h, 2) * 2 :]
    scale = float(np.std(recent)) or float(np.abs(history).mean()) or 1.0
    if h > 1 and float(np.ptp(values)) < 1e-3 * scale:
        # (a flat forecast of a flat history also "repeats" it: one warning says it all)
        out.append("the forecast is flat: the network found no pattern beyond the current level")
        return out
    if h > 1 and len(history) >= h:
        shifted = history[-h:]
        if float(np.max(np.abs(values - shifted))) < 0.02 * scale:
            out.append(
                "the forecast repeats the last observations shifted forward; compare with the naive baseline"
            )
    if h > 1 and season > 1 and len(history) >= season and season != h:
        last_season = history[-season:][np.arange(h) % season]
        if float(np.max(np.abs(values - last_season))) < 0.02 * scale:
            out.append("the forecast repeats the last season; compare with the seasonal naive baseline")
    return out
