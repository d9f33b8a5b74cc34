"""The compiled loops of ``theta``'s fit (Numba), apart so that importing ``theta`` (every command that
forecasts, through ``baselines``) does not import Numba: only fitting Theta runs them."""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmcli.engine import jit_cache

LEVEL_BOUND = 1e10  # statsforecast's bounds on L0
# (1-alpha)^i below this is taken as 0: its terms are then 1e-150 of the others', and without the cut
# the loops run into subnormal numbers, which made a fit 15-40 times slower at small alpha
NEGLIGIBLE = 1e-150

_CACHE = jit_cache.cache_enabled()


@njit(cache=_CACHE, error_model="numpy")
def profile(x, alpha, intercept, slope):  # pragma: no cover - compiled
    """(SSE, L0) for one alpha: the L0 that minimises the squared one-step errors x_i - xhat_i, i >= 3.

    With S the smoothed level started from 0 (S_{-1} = 0), the level is S_i + (1-alpha)^(i+1) L0, so the
    error is r_i - L0 w_i with w_i = (1-alpha)^i and r_i = x_i - S_{i-1} - drift_i."""
    q = 1.0 - alpha
    s_prev = alpha * x[0]  # S_0
    w = q  # w_1
    rw = 0.0
    ww = 0.0
    for i in range(1, x.size):
        drift = 0.5 * (intercept * w + slope * (1.0 - q * w) / alpha)
        if i >= 3:
            r = x[i] - s_prev - drift
            rw += r * w
            ww += w * w
        s_prev = alpha * x[i] + q * s_prev
        w = w * q if w > NEGLIGIBLE else 0.0
    level0 = rw / ww if ww > 0.0 else 0.0
    level0 = min(max(level0, -LEVEL_BOUND), LEVEL_BOUND)
    s_prev = alpha * x[0]
    w = q
    sse = 0.0
    for i in range(1, x.size):
        drift = 0.5 * (intercept * w + slope * (1.0 - q * w) / alpha)
        if i >= 3:
            e = x[i] - s_prev - drift - level0 * w
            sse += e * e
        s_prev = alpha * x[i] + q * s_prev
        w = w * q if w > NEGLIGIBLE else 0.0
    return sse, level0


@njit(cache=_CACHE, error_model="numpy")
def run_level(x, alpha, level0):  # pragma: no cover - compiled
    level = alpha * x[0] + (1.0 - alpha) * level0
    for i in range(1, x.size):
        level = alpha * x[i] + (1.0 - alpha) * level
    return level


def warm_up() -> None:
    """Load (or compile) both loops for what a fit passes them: a float64 series and float scalars."""
    x = np.arange(1.0, 9.0)
    profile(x, 0.5, 0.0, 0.0)
    run_level(x, 0.5, 0.0)
