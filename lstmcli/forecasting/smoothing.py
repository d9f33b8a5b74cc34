r"""ES: exponential smoothing with a damped trend or none, on the seasonally adjusted series.

The M4 benchmarks' *SES* and *Damped* (Makridakis et al., 2020), one chosen per series, as ETS does:

1. Seasonal adjustment as Theta's (``theta.fit_theta``: classical multiplicative indices when M4's 90 %
   autocorrelation test passes at lag ``m``; the forecasts are multiplied back by them).
2. On the adjusted series :math:`x_0 .. x_{n-1}`, the damped-trend model ETS(A,Ad,N) (Gardner &
   McKenzie, 1985):

   .. math::

       \hat x_i = \ell_{i-1} + \phi b_{i-1}, \qquad e_i = x_i - \hat x_i, \qquad
       \ell_i = \hat x_i + \alpha e_i, \qquad b_i = \phi b_{i-1} + \beta e_i,

   forecasting :math:`\ell_{n-1} + (\phi + \dots + \phi^h) b_{n-1}` at step :math:`h`; and simple
   exponential smoothing (no trend: :math:`b = 0`).
3. Each model's parameters minimise the squared one-step errors :math:`\sum_i e_i^2`. The errors are
   linear in the initial states :math:`\ell_{-1}, b_{-1}`, so for given :math:`(\alpha, \beta, \phi)` the
   best initial states solve a least-squares problem (``smoothing_loops.grid_fits``); the parameters are
   searched on a fixed grid (``ALPHAS``, ``BETA_SHARES`` of alpha, ``PHIS``, with :math:`\phi = 1`, Holt's
   linear trend, among them). No iterative optimiser: the fit is the same on every machine.
4. The model with the smaller AICc, :math:`n \log(\mathrm{SSE}/n) + 2k + 2k(k+1)/(n-k-1)` with ``k``
   the smoothing parameters and initial states (5 with the trend, 2 without), is the forecast; the
   trend needs :math:`n \ge 7` observations (AICc defined).

Why it is here: it is the classical member the default combination lacked. On every series of M1 and
M3 the mean of the networks, Theta and ES forecasts better than the mean of the networks and Theta
(RESULTS.md "Accuracy on M1 and M3"). statsforecast's AutoETS also fits seasonal and multiplicative
models by likelihood; this is the smaller, deterministic model family that carries most of the gain.
Series of fewer than ``MIN_OBSERVATIONS`` (or constant) get the naive forecast, and only the last
``HISTORY`` observations are fitted (the states forget older ones: ``alpha >= 0.02``).
"""

from __future__ import annotations

import math

import numpy as np

from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.seasonal import adjustment_indices
from lstmcli.forecasting.theta import HISTORY as SEASONAL_HISTORY
from lstmcli.forecasting.theta import MIN_OBSERVATIONS, fitted_forecast, forecasts_from_origins

__all__ = ["HISTORY", "es", "es_from_origins", "fit_es"]

HISTORY = 1_000  # observations fitted at most: 0.98^1000 ~ 2e-9, the initial states are long forgotten
ALPHAS = np.linspace(0.02, 0.98, 25)
BETA_SHARES = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0])  # beta = share * alpha
PHIS = np.array([0.8, 0.85, 0.9, 0.94, 0.98, 1.0])  # 0.8-0.98 as ETS allows, and Holt's 1
TREND_PARAMETERS, LEVEL_PARAMETERS = 5, 2  # AICc's k: alpha, beta, phi, l0, b0 | alpha, l0

_A, _S, _P = np.meshgrid(ALPHAS, BETA_SHARES, PHIS, indexing="ij")
_TREND_GRID = (_A.ravel().copy(), (_A * _S).ravel(), _P.ravel().copy())


def fit_es(y, m: int, indices: np.ndarray | None = None) -> BaselineFit:
    """Fit ES to the series ``y`` with seasonal period ``m`` (see the module docstring); ``indices``: the
    ``adjustment_indices`` of ``y``'s last ``theta.HISTORY`` observations when already known."""
    from lstmcli.forecasting.smoothing_loops import grid_fits  # Numba: imported by a fit only

    x = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty 1-D series, got shape {x.shape}")
    x = x[-SEASONAL_HISTORY:]  # the part Theta adjusts: the same seasonal figure and phase
    n = x.size
    if n < MIN_OBSERVATIONS or float(np.ptp(x)) == 0.0:
        return BaselineFit(float(x[-1]), n=n)  # naive
    s = adjustment_indices(x, m) if indices is None else indices
    adjusted = (x / s[np.arange(n) % s.size])[-HISTORY:]
    shift = float(adjusted[0])  # the fit is the same for data shifted by a constant: start near zero
    data = adjusted - shift
    k = data.size
    candidates = []
    for trend, grid, params in (
        (False, (ALPHAS, ALPHAS, ALPHAS), LEVEL_PARAMETERS),
        (True, _TREND_GRID, TREND_PARAMETERS),
    ):
        if k - params - 1 <= 0:
            continue
        sse, level0, trend0, level, slope = (np.empty(grid[0].size) for _ in range(5))
        grid_fits(data, *grid, trend, sse, level0, trend0, level, slope)
        g = int(np.argmin(np.where(np.isfinite(sse), sse, np.inf)))
        alpha, phi = float(grid[0][g]), float(grid[2][g]) if trend else 0.0
        candidates.append(
            (_aicc(float(sse[g]), k, params), trend, alpha, phi, float(level[g]), float(slope[g]))
        )
    if not candidates:
        return BaselineFit(float(x[-1]), n=n)
    _, trend, alpha, phi, level, slope = min(candidates, key=lambda c: (c[0], c[1]))
    if not trend:
        return BaselineFit(float(level) + shift, alpha, n=n, seasonal=s)
    return BaselineFit(float(level) + shift, alpha, n=n, seasonal=s, trend=float(slope), damping=phi)


def es(y, horizon: int, m: int) -> np.ndarray:
    """ES forecast of ``horizon`` steps after ``y`` (same signature as the other baselines)."""
    return fitted_forecast(fit_es, y, horizon, m)


def es_from_origins(y, origins, horizon: int, m: int) -> np.ndarray:
    """(n, horizon): row i is ``es(y[:origins[i]], horizon, m)``, bit for bit (the seasonal figures of
    every origin from one pass, as ``theta.theta_from_origins``)."""
    return forecasts_from_origins(fit_es, y, origins, horizon, m)


def _aicc(sse: float, n: int, k: int) -> float:
    """AICc of a fit with Gaussian one-step errors, up to terms every model shares."""
    return n * math.log(max(sse, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
