r"""ES: exponential smoothing, chosen per series by AICc as ETS chooses, in two families.

**Without a season of 12 or more** (or with a value at or below zero): the M4 benchmarks' *SES* and
*Damped* (Makridakis et al., 2020) on the seasonally adjusted series:

1. Seasonal adjustment as Theta's (``theta.fit_theta``: classical multiplicative indices when M4's 90 %
   autocorrelation test passes at lag ``m``; the forecasts are multiplied back by them).
2. On the adjusted series :math:`x_0 .. x_{n-1}`, the damped-trend model ETS(A,Ad,N) (Gardner &
   McKenzie, 1985):

   .. math::

       \hat x_i = \ell_{i-1} + \phi b_{i-1}, \qquad e_i = x_i - \hat x_i, \qquad
       \ell_i = \hat x_i + \alpha e_i, \qquad b_i = \phi b_{i-1} + \beta e_i,

   forecasting :math:`\ell_{n-1} + (\phi + \dots + \phi^h) b_{n-1}` at step :math:`h`; and simple
   exponential smoothing (no trend: :math:`b = 0`).

**Positive series with a season** ``m >= SEASONAL_MIN_PERIOD``: Holt-Winters on :math:`x_i = \log y_i`,
ETS(A,Ad,A) on the log scale (multiplicative seasonality whose pattern evolves), with seasonal states
:math:`s` that start at the logarithms of the same classical indices (ones when the test fails):

.. math::

    \hat x_i = \ell_{i-1} + \phi b_{i-1} + s_{i \bmod m}, \qquad
    \ell_i = \ell_{i-1} + \phi b_{i-1} + \alpha e_i, \qquad s_{i \bmod m} \mathrel{+}= \gamma e_i,

forecasting :math:`\exp(\ell_{n-1} + (\phi + \dots + \phi^h) b_{n-1} + s_{(n-1+h) \bmod m})`, with the
damped trend or none, :math:`\gamma` a share of :math:`1 - \alpha` (``GAMMA_SHARES``, 0 among them: the
fixed classical pattern).

In both, each model's parameters minimise the squared one-step errors :math:`\sum_i e_i^2`. The errors
are linear in the initial level and trend, so for given parameters the best initial states solve a
least-squares problem (``smoothing_loops.grid_fits``, ``seasonal_grid_fits``); the parameters are
searched on a fixed grid (``ALPHAS``, ``BETA_SHARES`` of alpha, ``PHIS``, with :math:`\phi = 1`, Holt's
linear trend, among them; the ``SEASONAL_*`` grids for Holt-Winters, whose dampings stop at 0.98 as ETS's
do). No iterative optimiser: the fit is
the same on every machine.
The model with the smaller AICc, :math:`n \log(\mathrm{SSE}/n) + 2k + 2k(k+1)/(n-k-1)` with ``k`` the
smoothing parameters and initial states, is the forecast (the trend needs AICc to be defined).

Why it is here: it is the classical member the default combination lacked. On every series of M1 and
M3 the mean of the networks, Theta and ES forecasts better than the mean of the networks and Theta, and
Holt-Winters on the monthly series better again (RESULTS.md "Accuracy on M1 and M3"); on the quarterly
ones it did not, hence ``SEASONAL_MIN_PERIOD``. statsforecast's AutoETS also fits multiplicative errors
and chooses among more models by likelihood; this is the smaller, deterministic family. Series of fewer
than ``MIN_OBSERVATIONS`` (or constant) get the naive forecast, and only the last ``HISTORY``
observations are fitted (the states forget older ones: ``alpha >= 0.02``).
"""

from __future__ import annotations

import math

import numpy as np

from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.theta import fitted_forecast, fitted_part, forecasts_from_origins

__all__ = ["HISTORY", "es", "es_from_origins", "fit_es"]

HISTORY = 1_000  # observations fitted at most: 0.98^1000 ~ 2e-9, the initial states are long forgotten
ALPHAS = np.linspace(0.02, 0.98, 25)
BETA_SHARES = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0])  # beta = share * alpha
PHIS = np.array([0.8, 0.85, 0.9, 0.94, 0.98, 1.0])  # 0.8-0.98 as ETS allows, and Holt's 1
TREND_PARAMETERS, LEVEL_PARAMETERS = 5, 2  # AICc's k: alpha, beta, phi, l0, b0 | alpha, l0

_A, _S, _P = np.meshgrid(ALPHAS, BETA_SHARES, PHIS, indexing="ij")
_TREND_GRID = (_A.ravel().copy(), (_A * _S).ravel(), _P.ravel().copy())

# Holt-Winters on the log scale, for positive series with seasons of at least SEASONAL_MIN_PERIOD (on M1
# and M3 it helped the monthly series and not the quarterly ones: RESULTS.md); a coarser grid, since gamma
# multiplies it
SEASONAL_MIN_PERIOD = 12
SEASONAL_ALPHAS = np.linspace(0.02, 0.98, 13)
GAMMA_SHARES = np.array([0.0, 0.02, 0.05, 0.1, 0.2, 0.35])  # gamma = share * (1 - alpha), as ETS bounds it
SEASONAL_BETA_SHARES = np.array([0.0, 0.05, 0.1, 0.2, 0.5])
# no Holt's linear trend (1) for Holt-Winters, as ETS bounds phi: on M1 and M3 monthly it extrapolated a
# trend over the 18 steps too far (RESULTS.md)
SEASONAL_PHIS = np.array([0.8, 0.9, 0.98])
# AICc's k: alpha, beta, phi, gamma, l0, b0 | alpha, gamma, l0
SEASONAL_TREND_PARAMETERS, SEASONAL_LEVEL_PARAMETERS = 6, 3


def _seasonal_grids() -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    a, g = (v.ravel() for v in np.meshgrid(SEASONAL_ALPHAS, GAMMA_SHARES, indexing="ij"))
    level = (a, a, a, g * (1.0 - a))
    a, g, b, p = (
        v.ravel()
        for v in np.meshgrid(
            SEASONAL_ALPHAS, GAMMA_SHARES, SEASONAL_BETA_SHARES, SEASONAL_PHIS, indexing="ij"
        )
    )
    return level, (a, a * b, p, g * (1.0 - a))


_SEASONAL_LEVEL_GRID, _SEASONAL_TREND_GRID = _seasonal_grids()


def fit_es(y, m: int, indices: np.ndarray | None = None) -> BaselineFit:
    """Fit ES to the series ``y`` with seasonal period ``m`` (see the module docstring); ``indices``: the
    ``adjustment_indices`` of ``y``'s last ``theta.HISTORY`` observations when already known."""
    x, s = fitted_part(y, m, indices)  # the part Theta adjusts: the same seasonal figure and phase
    n = x.size
    if s is None:
        return BaselineFit(float(x[-1]), n=n)  # naive
    if int(m) >= SEASONAL_MIN_PERIOD and float(x.min()) > 0.0:
        fit = _fit_seasonal(x, s, int(m))
    else:
        fit = _fit_adjusted(x, s)
    return fit if fit is not None else BaselineFit(float(x[-1]), n=n)


def _fit_adjusted(x: np.ndarray, s: np.ndarray) -> BaselineFit | None:
    """SES or the damped trend on the series divided by the indices ``s`` (None: too short)."""
    n = x.size
    adjusted = (x / s[np.arange(n) % s.size])[-HISTORY:]
    shift = float(adjusted[0])  # the fit is the same for data shifted by a constant: start near zero
    best = _best_of(adjusted - shift, None, (
        (False, (ALPHAS, ALPHAS, ALPHAS), LEVEL_PARAMETERS),
        (True, _TREND_GRID, TREND_PARAMETERS),
    ))  # fmt: skip
    if best is None:
        return None
    trend, alpha, phi, level, slope, _ = best
    return BaselineFit(level + shift, alpha, n=n, seasonal=s, **_damped(trend, slope, phi))


def _fit_seasonal(x: np.ndarray, s: np.ndarray, m: int) -> BaselineFit | None:
    """Holt-Winters on log(x): ``m`` additive seasonal states started at log(s), evolving with gamma,
    with a damped trend or none (None: too short)."""
    n = x.size
    logs = np.log(x)[-HISTORY:]
    offset = n - logs.size  # the fitted part's first position: its phase in ``s``
    start = np.log(s)[(offset + np.arange(m)) % s.size]  # state j: the fitted part's positions j, j + m, ...
    shift = float(logs[0])
    best = _best_of(logs - shift, start, (
        (False, _SEASONAL_LEVEL_GRID, SEASONAL_LEVEL_PARAMETERS),
        (True, _SEASONAL_TREND_GRID, SEASONAL_TREND_PARAMETERS),
    ))  # fmt: skip
    if best is None:
        return None
    trend, alpha, phi, level, slope, states = best
    figure = np.roll(states, offset % m)  # by position in x, as a BaselineFit reads it
    return BaselineFit(
        level + shift, alpha, n=n, seasonal=figure, additive=True, log=True, **_damped(trend, slope, phi)
    )


def _damped(trend: bool, slope: float, phi: float) -> dict[str, float]:
    """A fit's damped trend, or nothing without one (the defaults: no trend, damping 1)."""
    return {"trend": slope, "damping": phi} if trend else {}


def _best_of(data: np.ndarray, season0: np.ndarray | None, families) -> tuple | None:
    """The family (trend or not) with the smaller AICc, each at its best grid point: (trend, alpha, phi,
    level, slope, seasonal states or None) after the last observation; None when no family has room for
    AICc. ``season0``: the initial seasonal states of Holt-Winters (None: no season)."""
    from lstmcli.forecasting.smoothing_loops import grid_fits, seasonal_grid_fits  # Numba: by a fit only

    k = data.size
    candidates = []
    for trend, grid, params in families:
        if k - params - 1 <= 0:
            continue
        size = grid[0].size
        sse, level0, trend0, level, slope = (np.empty(size) for _ in range(5))
        if season0 is None:
            grid_fits(data, *grid, trend, sse, level0, trend0, level, slope)
        else:
            states = np.empty((season0.size, size))
            seasonal_grid_fits(data, season0, *grid, trend, sse, level0, trend0, level, slope, states)
        g = int(np.argmin(np.where(np.isfinite(sse), sse, np.inf)))
        alpha, phi = float(grid[0][g]), float(grid[2][g]) if trend else 0.0
        figure = None if season0 is None else states[:, g].copy()
        best = (float(level[g]), float(slope[g]), figure)
        candidates.append((_aicc(float(sse[g]), k, params), trend, alpha, phi, *best))
    if not candidates:
        return None
    return min(candidates, key=lambda c: (c[0], c[1]))[1:]


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
