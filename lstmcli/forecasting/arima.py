r"""ARIMA: an ARIMA(p, 1, 0) with p <= 1, with or without drift, chosen per series by AICc.

1. Seasonal adjustment as Theta's (``theta.fit_theta``: classical multiplicative indices when M4's 90 %
   autocorrelation test passes at lag ``m``; the forecasts are multiplied back by them).
2. :math:`x_i` = the logarithm of the adjusted series when every value is positive (growth is then
   proportional, as it is in most business series), else the adjusted series itself.
3. On its differences :math:`d_i = x_i - x_{i-1}` (the first one left out, so that every model is fitted
   to the same errors), four models by least squares in closed form:

   .. math::

       d_i = e_i, \qquad d_i = c + e_i, \qquad d_i = \phi d_{i-1} + e_i, \qquad
       d_i = c + \phi d_{i-1} + e_i,

   the random walk, with drift, and the autoregressive ones, kept only with :math:`0 \le \phi \le`
   ``MAX_PHI`` (stationary, and no oscillating forecast). The smallest AICc wins.
4. The forecast: with :math:`\mu = c / (1 - \phi)` the differences' mean, step :math:`h` is

   .. math::

       x_{n-1} + h \mu + (d_{n-1} - \mu) (\phi + \dots + \phi^h),

   (exponentiated, times the seasonal index): a drift, and the last change fading into it.

Why it is here: on the series without a season of M1 and M3 the mean of the networks, Theta and ES
forecast worse than statsforecast's AutoARIMA on M1's yearly series; with this fourth member the mean
is level with it there and better on M3's (RESULTS.md "Accuracy on M1 and M3"), so ``combine`` "auto"
adds it for series without a season (``config.resolve_combine``). statsforecast's AutoARIMA searches
orders, differencing by unit-root tests and seasonal terms; this is the small, closed-form part of it
that carried the gain, the same on every machine. Series of fewer than ``MIN_OBSERVATIONS`` (or
constant) get the naive forecast.
"""

from __future__ import annotations

import math

import numpy as np

from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.theta import fitted_forecast, fitted_part, forecasts_from_origins

__all__ = ["MAX_PHI", "arima", "arima_from_origins", "fit_arima"]

MAX_PHI = 0.98  # ETS's largest damping: a change that fades, however slowly


def fit_arima(y, m: int, indices: np.ndarray | None = None) -> BaselineFit:
    """Fit the ARIMA of the module docstring to the series ``y`` with seasonal period ``m``; ``indices``:
    ``adjustment_indices`` of the fitted part (its last ``theta.HISTORY`` values) when already known."""
    x, s = fitted_part(y, m, indices)  # the part Theta adjusts: the same seasonal figure and phase
    n = x.size
    if s is None:
        return BaselineFit(float(x[-1]), n=n)  # naive
    adjusted = x / s[np.arange(n) % s.size]
    log = bool(np.all(adjusted > 0.0))
    data = np.log(adjusted) if log else adjusted
    mu, phi = _choose(np.diff(data))
    last_change = float(data[-1] - data[-2])
    # alpha 1 and slope 2 mu make BaselineFit's drift term mu a step (fits.py); the trend is the AR part
    path = {"alpha": 1.0, "slope": 2.0 * mu, "trend": last_change - mu if phi else 0.0, "damping": phi or 1.0}
    if log:
        return BaselineFit(float(data[-1]), n=n, seasonal=np.log(s), additive=True, log=True, **path)
    return BaselineFit(float(data[-1]), n=n, seasonal=s, **path)


def _choose(d: np.ndarray) -> tuple[float, float]:
    """(mu, phi) of the model with the smallest AICc among the four of the module docstring, fitted to
    d[1:] (phi 0: no autoregressive term)."""
    y, z = d[1:], d[:-1]
    k = y.size
    yc, zc = y - y.mean(), z - z.mean()
    models = [(float(y @ y), 1, 0.0, 0.0), (float(yc @ yc), 2, float(y.mean()), 0.0)]  # (sse, k, mu, phi)
    zz, zzc = float(z @ z), float(zc @ zc)
    if zz > 0.0:
        phi = float(y @ z) / zz
        if 0.0 <= phi <= MAX_PHI:
            r = y - phi * z
            models.append((float(r @ r), 2, 0.0, phi))
    if zzc > 0.0:
        phi = float(yc @ zc) / zzc
        if 0.0 <= phi <= MAX_PHI:
            c = float(y.mean()) - phi * float(z.mean())
            r = y - c - phi * z
            models.append((float(r @ r), 3, c / (1.0 - phi), phi))
    best = min(models, key=lambda mdl: _aicc(mdl[0], k, mdl[1]))
    return best[2], best[3]


def _aicc(sse: float, n: int, k: int) -> float:
    """AICc with the error variance counted in ``k``; infinite when ``n`` leaves no room for it (on the
    shortest series, where the first model, the random walk, then wins)."""
    if n - k - 1 <= 0:
        return math.inf
    return n * math.log(max(sse, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def arima(y, horizon: int, m: int) -> np.ndarray:
    """ARIMA forecast of ``horizon`` steps after ``y`` (same signature as the other baselines)."""
    return fitted_forecast(fit_arima, y, horizon, m)


def arima_from_origins(y, origins, horizon: int, m: int) -> np.ndarray:
    """(n, horizon): row i is ``arima(y[:origins[i]], horizon, m)``, bit for bit (the seasonal figures of
    every origin from one pass, as ``theta.theta_from_origins``)."""
    return forecasts_from_origins(fit_arima, y, origins, horizon, m)
