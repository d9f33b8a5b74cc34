"""Preprocessing: from the series in data units to the windows a network sees, and back.

What happens to the data, in order (every step is recorded in the model file):

1. seasonal adjustment (``deseasonalize="auto"``): when the series is positive and passes the M4 90 %
   autocorrelation test for its season, it is divided by classical multiplicative seasonal indices (the
   decomposition the M4 benchmarks use; for quarterly, monthly and weekly data from the last 8 years
   only); forecasts are multiplied back by the indices of their phase;
2. the transform pipeline (``transform="auto"``: for a positive seasonal series a Box-Cox power
   transform with Guerrero's lambda, then for every series a scaling by the typical one-step change) is
   fitted on the training part only and applied to the whole series; feature columns are standardised
   with the training part's mean and spread;
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
    ) -> Preprocessing:
        """Fit every step on ``y`` (F feature columns ``features``, (n, F)) only: the training part."""
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
        return prep

    @property
    def lag(self) -> int:
        """Steps the pipeline's differencing removes from the start of the series."""
        return self.pipeline.lost

    # ------------------------------------------------------------------------------------------ series
    def prepare(self, y: np.ndarray, features: np.ndarray, start: int = 0) -> Prepared:
        """Steps 1-2 for ``y`` (n,) and its features (n, F); ``y[0]`` is at position ``start`` of the
        series the model was fitted on (it fixes the phase of the seasonal indices)."""
        adjusted = self.deseason(y, start)
        z = self.pipeline.transform(adjusted)
        return Prepared(adjusted, z, self.input_matrix(z, features[self.lag :]))

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

    def input_matrix(self, z: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(T,) transformed target and (T, F) raw features -> (T, 1+F+S) network inputs (S static)."""
        static = np.broadcast_to(self.static, (len(z), len(self.static)))  # (T, S)
        if features.shape[1] == 0:
            return np.column_stack([z, static]) if len(self.static) else z[:, None]
        scaled = (features - self.feature_mean) / self.feature_scale
        return np.column_stack([z, scaled, static])

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
