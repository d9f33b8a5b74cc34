"""Preprocessing: from the series in data units to the windows a network sees, and back.

What happens to the data, in order (every step is recorded in the model file):

1. seasonal adjustment (``deseasonalize="auto"``): when the series is positive and passes the M4 90 %
   autocorrelation test for its season, it is divided by classical multiplicative seasonal indices (the
   decomposition the M4 benchmarks use; for quarterly, monthly and weekly data from the last 8 years
   only); forecasts are multiplied back by the indices of their phase;
2. the transform pipeline (``transform="auto"``: for a positive seasonal series a Box-Cox power
   transform with Guerrero's lambda, then for every series a scaling by the typical one-step change) is
   fitted on the training part only and applied to the whole series; feature columns are standardised
   with the training part's mean and spread, and so are the inputs known in advance (``known``), which
   the input at step t carries for the steps t+1 .. t+lead it forecasts (``known_block``);
3. windows are cut; with ``normalize="window"`` each window's last value is subtracted from its inputs
   and targets, so the network learns the next step relative to the current level (ES-RNN's per-series
   levels in their simplest form: a network that outputs 0 forecasts the naive "no change"); with
   ``"ses"`` the level is the exponentially smoothed one.

``Preprocessing`` holds what these steps fitted and applies them; ``prepare`` is the chain 1-2 for any
stretch of the series, the one place it is written.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from lstmcli.data.transforms import Pipeline, make_pipeline
from lstmcli.forecasting.seasonal import classical_indices, prefix_seasonality

__all__ = ["Prepared", "Preprocessing", "fit_ses_alpha"]

# Seasonal indices of quarterly, monthly and weekly data (a season of one year) come from the last
# SEASONAL_SPAN years only (None: all), as X-11's seasonal filters weigh about the nearest seven years; a
# shorter season (hours of a day, days of a week) uses the whole series (8 days of hourly data are too few).
SEASONAL_SPAN: int | None = 8
YEARLY_SEASONS = (4, 12, 52)
SEASONAL_AVERAGE = "mean"  # how the ratios to the moving average are averaged per phase: mean | median


class Prepared(NamedTuple):
    """A stretch of the series after steps 1-2."""

    adjusted: np.ndarray  # (n,) seasonally adjusted values, data units (what inverse transforms need)
    z: np.ndarray  # (n - lag,) the transformed target
    inputs: np.ndarray  # (n - lag, 1 + F + S) network inputs: z, the scaled features, the static ones


@dataclass
class Preprocessing:
    """The fitted seasonal indices, transform pipeline, feature scaling and window levels."""

    normalize: str  # window | ses | none (ForecasterConfig.normalize)
    pipeline: Pipeline
    seasonal: np.ndarray  # (m,) multiplicative indices, position t uses t % m; (1,) = not adjusted
    level_alpha: float  # smoothing constant of the "ses" window levels (1 otherwise)
    feature_mean: np.ndarray  # (F,)
    feature_scale: np.ndarray  # (F,)
    # (S,) the series' static features, already encoded (a global panel's --static-features: one-hot
    # categories, standardised numbers), the same at every step; (0,) without
    static: np.ndarray = field(default_factory=lambda: np.zeros(0))
    known_mean: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,) inputs known in advance
    known_scale: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (K,)
    known_lead: int = 1  # steps ahead whose known inputs each step carries: 1 recursive, horizon direct

    @classmethod
    def fit(
        cls,
        y: np.ndarray,
        features: np.ndarray,
        *,
        transform: str,
        season: int,
        deseasonalize: str,
        normalize: str,
        known: np.ndarray | None = None,
        known_lead: int = 1,
    ) -> Preprocessing:
        """Fit every step on ``y`` (F feature columns ``features``, (n, F), K known inputs ``known``,
        (n, K)) only: the training part."""
        m = season
        seasonal = np.ones(1)
        # (seasonality_test's answer, from running sums: on a long series its direct sums cost seconds)
        seasonal_test = deseasonalize == "auto" and m > 1 and np.all(y > 0)
        if seasonal_test and prefix_seasonality(y, m, [len(y)])[0]:
            span = SEASONAL_SPAN if m in YEARLY_SEASONS else None
            s = classical_indices(y, m, span=span, average=SEASONAL_AVERAGE)
            if s is not None:
                seasonal = s
        prep = cls(normalize, make_pipeline(transform, season), seasonal, 1.0, np.zeros(0), np.zeros(0))
        adjusted = prep.deseason(y, 0)
        prep.pipeline.fit(adjusted)
        if normalize == "ses":
            prep.level_alpha = fit_ses_alpha(prep.pipeline.transform(adjusted))
        if features.shape[1]:
            prep.feature_mean, prep.feature_scale = features.mean(axis=0), _safe_std(features)
        if known is not None and known.shape[1]:
            prep.known_mean, prep.known_scale = known.mean(axis=0), _safe_std(known)
            prep.known_lead = int(known_lead)
        return prep

    @property
    def lag(self) -> int:
        """Steps the pipeline's differencing removes from the start of the series."""
        return self.pipeline.lost

    # ------------------------------------------------------------------------------------------ series
    def prepare(
        self, y: np.ndarray, features: np.ndarray, start: int = 0, known: np.ndarray | None = None
    ) -> Prepared:
        """Steps 1-2 for ``y`` (n,) and its features (n, F); ``y[0]`` is at position ``start`` of the
        series the model was fitted on (it fixes the phase of the seasonal indices). ``known`` (n + a,
        K): the inputs known in advance for the same steps and ``a`` steps after them."""
        adjusted = self.deseason(y, start)
        z = self.pipeline.transform(adjusted)
        block = None if known is None else self.known_block(known, len(y))[self.lag :]
        return Prepared(adjusted, z, self.input_matrix(z, features[self.lag :], block))

    @property
    def n_known(self) -> int:
        return len(self.known_mean)

    def known_block(self, known: np.ndarray, rows: int) -> np.ndarray:
        """(rows, lead * K): row t holds the scaled known inputs of steps t+1 .. t+lead (step-major),
        taken from ``known`` (m, K) raw; past its last row the last one repeats (those rows only feed
        windows whose forecasts run past the data, never a training target or a scored forecast)."""
        K, lead = self.n_known, self.known_lead
        if K == 0:
            return np.empty((rows, 0))
        scaled = (np.asarray(known, dtype=np.float64) - self.known_mean) / self.known_scale
        at = np.minimum(np.arange(rows)[:, None] + 1 + np.arange(lead)[None, :], len(scaled) - 1)
        return scaled[at].reshape(rows, lead * K)

    def ahead_inputs(self, known: np.ndarray, n: int, n_features: int) -> np.ndarray:
        """Input rows for the steps n .. len(known)-1 after the data (recursive forecasting appends them,
        its forecasts in the target channel): zeros for the target and past features, the static
        features (a global panel's, the same at every step) and the known inputs' block."""
        block = self.known_block(known, len(known))[n:]
        static = np.broadcast_to(self.static, (len(block), len(self.static)))
        return np.column_stack([np.zeros((len(block), 1 + n_features)), static, block])

    def to_data_units(self, zf: np.ndarray, adjusted_history: np.ndarray, start: int) -> np.ndarray:
        """Transformed forecasts ``zf`` (``zf[0]`` at position ``start``) back to data units; the
        inverse transforms continue from ``adjusted_history``, the adjusted values before them."""
        return self.reseason(self.pipeline.inverse(zf, adjusted_history), start)

    def deseason(self, y: np.ndarray, start: int) -> np.ndarray:
        """Divide by the seasonal index of each value's position (``y[0]`` is at position ``start``)."""
        s = self.seasonal
        if s.size <= 1:
            return np.asarray(y, dtype=np.float64)
        return np.asarray(y, dtype=np.float64) / s[(start + np.arange(len(y))) % s.size]

    def reseason(self, f: np.ndarray, start: int) -> np.ndarray:
        """Multiply forecasts ``f`` (``f[..., 0]`` at position ``start``) by their seasonal indices."""
        s = self.seasonal
        if s.size <= 1:
            return f
        return f * s[(start + np.arange(f.shape[-1])) % s.size]

    def input_matrix(
        self, z: np.ndarray, features: np.ndarray, block: np.ndarray | None = None
    ) -> np.ndarray:
        """(T,) transformed target, (T, F) raw features and (T, lead * K) known block (scaled) -> (T,
        1 + F + S + lead * K) network inputs (S static: a global panel's, the same at every step)."""
        has_block = block is not None and block.shape[1] > 0
        if features.shape[1] == 0 and not has_block and not len(self.static):
            return z[:, None]
        scaled = (features - self.feature_mean) / self.feature_scale
        static = np.broadcast_to(self.static, (len(z), len(self.static)))  # (T, S)
        return np.column_stack([z, scaled, static, *([block] if has_block else [])])

    # ------------------------------------------------------------------------------------------ windows
    def normalize_windows(self, x: np.ndarray, t: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Subtract each window's level from its target channel and targets (see ``levels``).

        ``x`` (N, L, D) windows, ``t`` (N, O) their targets or None."""
        x = np.array(x, dtype=np.float64)  # a copy: windows may be views of the series
        if self.normalize == "none":
            return x, (None if t is None else np.array(t, dtype=np.float64))
        level = self.levels(x)
        x[:, :, 0] -= level[:, None]
        return x, (None if t is None else t - level[:, None])

    def levels(self, x: np.ndarray) -> np.ndarray:
        """The level of each window (N,): its last value (``window``), or the exponentially smoothed level
        at its end (``ses``: simple exponential smoothing through the window with the fitted
        ``level_alpha``, started at its first value, so a forecast of 0 by the network is the SES
        forecast)."""
        if self.normalize == "none":
            return np.zeros(len(x))
        if self.normalize == "window" or self.level_alpha >= 1.0:
            return x[:, -1, 0].copy()
        return x[:, :, 0] @ _ses_weights(x.shape[1], self.level_alpha)


def _ses_weights(n: int, alpha: float) -> np.ndarray:
    """Weights w (n,) with level = values @ w for simple exponential smoothing started at values[0]."""
    k = np.arange(n)[::-1]  # steps back from the end
    w = alpha * (1.0 - alpha) ** k
    w[0] = (1.0 - alpha) ** (n - 1)
    return w


def fit_ses_alpha(z: np.ndarray, grid: np.ndarray | None = None) -> float:
    """Smoothing constant of simple exponential smoothing with the least one-step squared error on ``z``
    (the M4 SES benchmark's criterion), searched on a grid from 0.05 to 1."""
    z = np.asarray(z, dtype=np.float64)
    if len(z) < 3:
        return 1.0
    grid = np.linspace(0.05, 1.0, 20) if grid is None else grid
    best, best_sse = 1.0, math.inf
    for alpha in grid:
        level, sse = z[0], 0.0
        for v in z[1:]:
            sse += (v - level) ** 2
            level += alpha * (v - level)
        if best_sse == math.inf or sse < best_sse * (1.0 - 1e-12):
            best, best_sse = float(alpha), sse
    return best


def _safe_std(a: np.ndarray) -> np.ndarray:
    std = a.std(axis=0)
    return np.where(std > 1e-12 * np.maximum(1.0, np.abs(a).max(axis=0)), std, 1.0)
