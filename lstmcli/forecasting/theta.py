r"""The standard theta method: simple exponential smoothing with drift on the seasonally adjusted series.

Assimakopoulos & Nikolopoulos (2000), in the state-space form of Hyndman & Billah (2003) and Fiorucci
et al. (2016) that statsforecast's ``Theta`` ("STM", theta = 2) implements:

1. Seasonal adjustment: when M4's 90 % autocorrelation test passes at lag ``m``, divide the series by
   classical multiplicative seasonal indices (``seasonal.adjustment_indices``, as Naive2 does), and
   multiply the forecasts back by them.
2. On the adjusted series :math:`x_0 .. x_{n-1}`: :math:`A, B`, the intercept and slope of the least-squares
   line through it (fixed), and for :math:`i = 1, 2, ...` (positions counted from 0)

   .. math::

       \hat x_i = \ell_{i-1} + \tfrac12 \Big(A (1-\alpha)^i + B \frac{1 - (1-\alpha)^{i+1}}{\alpha}\Big),
       \qquad \ell_i = \alpha x_i + (1 - \alpha) \ell_{i-1},
       \qquad \ell_0 = \alpha x_0 + (1-\alpha) L_0,

   so that far from the start the forecast is SES plus a drift of half the slope per step. The
   forecasts continue the recursion with :math:`\hat x` in place of :math:`x`.
3. :math:`\alpha \in [0.1, 0.99]` and :math:`L_0` minimise the squared one-step errors
   :math:`\sum_{i \ge 3} (x_i - \hat x_i)^2`, as statsforecast's objective does. Each error is linear in
   :math:`L_0`, so for a given :math:`\alpha` the best :math:`L_0` is a least-squares solution; the
   :math:`\alpha` is found on a grid, then refined by golden-section search. statsforecast searches both
   with Nelder-Mead from :math:`\alpha = 0.5` (tolerance 1e-4), so the two may stop at slightly different
   :math:`\alpha` (tests/test_theta.py compares them).

Differences from statsforecast, on purpose: the seasonality test is M4's (``seasonal.seasonality_test``:
at least three seasons of data, any ``m > 1``; statsforecast asks two seasons and ``m >= 4``), and a
series whose multiplicative adjustment does not apply (zero or negative values in the moving average)
is not adjusted (statsforecast adjusts it additively). Series of fewer than 4 observations (statsforecast
refuses them) get the naive forecast, and only the last ``HISTORY`` observations are fitted.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.seasonal import adjustment_indices, prefix_indices, prefix_seasonality

__all__ = [
    "HISTORY", "fit_theta", "fitted_forecast", "fitted_part", "forecasts_from_origins", "origin_figures", "theta",
    "theta_from_origins",
]  # fmt: skip

# Theta fits at most the last this many observations: the level forgets older ones within a few hundred
# steps (alpha >= 0.1), and it bounds the work of a Theta forecast from each of up to 2,000 validation
# origins. Competition series (M4 daily: at most 9,919 values) are fitted whole.
HISTORY = 10_000
MIN_OBSERVATIONS = 4  # below this (statsforecast refuses them) Theta is the naive forecast
ALPHA_BOUNDS = (0.1, 0.99)  # statsforecast's bounds
_GRID = np.linspace(ALPHA_BOUNDS[0], ALPHA_BOUNDS[1], 31)
_GOLDEN_STEPS = 24  # narrows a grid cell (0.03 wide) to about 3e-7


def fitted_part(y, m: int, indices: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """What Theta, ES and ARIMA fit of the series ``y``: its last ``HISTORY`` values (float64) and their
    ``adjustment_indices`` (``indices`` when already known); no indices when that part is shorter than
    ``MIN_OBSERVATIONS`` or constant, which those baselines forecast as naive."""
    x = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty 1-D series, got shape {x.shape}")
    x = x[-HISTORY:]
    if x.size < MIN_OBSERVATIONS or float(np.ptp(x)) == 0.0:
        return x, None
    return x, adjustment_indices(x, m) if indices is None else indices


def fit_theta(y, m: int, indices: np.ndarray | None = None) -> BaselineFit:
    """Fit the theta method to the series ``y`` with seasonal period ``m`` (see the module docstring);
    ``indices``: ``adjustment_indices`` of the fitted part when already known."""
    x, s = fitted_part(y, m, indices)
    n = x.size
    if s is None:
        return BaselineFit(float(x[-1]), n=n)  # naive: alpha 1 and no drift keep the last value
    adjusted = x / s[np.arange(n) % s.size]
    t = np.arange(1, n + 1, dtype=np.float64)
    mean = float(adjusted.mean())
    weighted = float(np.dot(adjusted, t)) / n
    slope = 6.0 * (2.0 * weighted - (n + 1) * mean) / (n * n - 1.0)
    intercept = mean - (n + 1) * slope / 2.0
    alpha, start = _optimise(adjusted, intercept, slope)
    level = _final_level(adjusted, alpha, start)
    return BaselineFit(level, alpha, intercept, slope, n, s)


def theta(y, horizon: int, m: int) -> np.ndarray:
    """Theta forecast of ``horizon`` steps after ``y`` (same signature as the other baselines)."""
    return fitted_forecast(fit_theta, y, horizon, m)


def fitted_forecast(fit: Callable[..., BaselineFit], y, horizon: int, m: int) -> np.ndarray:
    """``horizon`` steps after ``y`` of ``fit(y, m)`` (Theta's and ES's forecasts)."""
    h = int(horizon)
    if h < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    return fit(y, m).forecast(h)


def theta_from_origins(y, origins, horizon: int, m: int) -> np.ndarray:
    """(n, horizon): row i is ``theta(y[:origins[i]], horizon, m)``, bit for bit. The seasonal test and
    indices of origins within ``HISTORY`` come from one pass (``seasonal.prefix_seasonality`` and
    ``prefix_indices``, the same answers as one by one)."""
    return forecasts_from_origins(fit_theta, y, origins, horizon, m)


def forecasts_from_origins(
    fit: Callable[..., BaselineFit], y, origins, horizon: int, m: int, figures: list | None = None
) -> np.ndarray:
    """(n, horizon): row i is ``fit(y[:origins[i]], m, figure)``'s forecast, the figure of each origin
    from ``origin_figures`` (Theta's, ES's and ARIMA's fits take it; ``figures`` when already made)."""
    x = np.asarray(y, dtype=np.float64)
    o = np.asarray(origins, dtype=np.int64)
    if not o.size:
        return np.zeros((0, horizon))
    if figures is None:
        figures = origin_figures(x, m, o)
    return np.stack([fit(x[: int(end)], m, figures[i]).forecast(int(horizon)) for i, end in enumerate(o)])


def origin_figures(x: np.ndarray, m: int, origins: np.ndarray) -> list[np.ndarray | None]:
    """``adjustment_indices(x[:o], m)`` for each origin ``o`` fitted from the series' start (within
    ``HISTORY``), from one pass (``seasonal.prefix_seasonality`` and ``prefix_indices``); None for the
    others (a fit then computes its own)."""
    o = origins
    figures: list[np.ndarray | None] = [None] * o.size
    whole = np.flatnonzero((o <= HISTORY) & (o >= MIN_OBSERVATIONS))  # fitted from the series' start
    if int(m) > 1 and whole.size:
        k = int(m)
        figure = np.ones((whole.size, k))
        test = prefix_seasonality(x, k, o[whole])
        if test.any():
            found = prefix_indices(x, k, o[whole][test])
            usable = ~np.isnan(found).any(axis=1)
            figure[np.flatnonzero(test)[usable]] = found[usable]
        for row, i in enumerate(whole):
            figures[i] = figure[row]
    return figures


# ---------------------------------------------------------------------------------------------- fitting
# The compiled loops are in ``theta_loops``, imported by a fit only: a forecast from a fitted Theta
# (``fits.BaselineFit``, as ``predict`` makes it) needs no Numba.
def _optimise(x: np.ndarray, intercept: float, slope: float) -> tuple[float, float]:
    """(alpha, L0) minimising the one-step squared errors: the best grid point, then golden-section
    search over the grid cells on either side of it."""
    from lstmcli.forecasting.theta_loops import profile as _profile  # Numba: imported by a fit only

    sse = np.array([_profile(x, a, intercept, slope)[0] for a in _GRID])
    best = int(np.argmin(np.where(np.isfinite(sse), sse, np.inf)))
    lo, hi = _GRID[max(best - 1, 0)], _GRID[min(best + 1, _GRID.size - 1)]
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = _profile(x, a, intercept, slope)[0], _profile(x, b, intercept, slope)[0]
    for _ in range(_GOLDEN_STEPS):
        if fa <= fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _profile(x, a, intercept, slope)[0]
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _profile(x, b, intercept, slope)[0]
    candidates = [(sse[best], float(_GRID[best])), (fa, float(a)), (fb, float(b))]
    alpha = min(candidates, key=lambda c: (c[0] if math.isfinite(c[0]) else math.inf, c[1]))[1]
    return alpha, _profile(x, alpha, intercept, slope)[1]


def _final_level(x: np.ndarray, alpha: float, level0: float) -> float:
    """The level after the last observation, run as the model runs it (from L0)."""
    from lstmcli.forecasting.theta_loops import run_level

    return float(run_level(x, alpha, level0))
