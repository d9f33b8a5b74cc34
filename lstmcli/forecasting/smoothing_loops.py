"""The compiled loops of ``smoothing``'s fit (Numba), apart so that importing ``smoothing`` (every command
that forecasts, through ``baselines``) does not import Numba: only fitting the ES baseline runs them."""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmcli.engine import jit_cache

LEVEL_BOUND = 1e10  # the initial states are kept within this (as Theta's L0)

_CACHE = jit_cache.cache_enabled()


@njit(cache=_CACHE, error_model="numpy")
def grid_fits(x, alphas, betas, phis, trend, sse, level0, trend0):  # pragma: no cover - compiled
    """For every parameter set g (``alphas[g]``, ``betas[g]``, ``phis[g]``): the initial level and trend
    minimising the squared one-step errors, and that sum, written to ``sse[g]``, ``level0[g]``,
    ``trend0[g]``. ``trend`` False: no trend (SES; the betas and phis are not read).

    The errors are linear in the initial states: e_i = c_i + u_i L0 + v_i B0, with c from the data run
    from zero states and u, v from zero data run from the unit states; the best (L0, B0) solves the
    2 x 2 normal equations. The sum is then recomputed from a run with those states (not expanded from
    the normal equations, which cancels badly when the errors are small next to the values)."""
    n = x.size
    for g in range(alphas.size):
        a = alphas[g]
        b = betas[g] if trend else 0.0
        p = phis[g] if trend else 0.0
        lc = 0.0
        bc = 0.0
        lu = 1.0
        bu = 0.0
        lv = 0.0
        bv = 1.0
        suu = 0.0
        suv = 0.0
        svv = 0.0
        scu = 0.0
        scv = 0.0
        for i in range(n):
            fc = lc + p * bc
            fu = lu + p * bu
            fv = lv + p * bv
            ec = x[i] - fc
            suu += fu * fu
            suv += fu * fv
            svv += fv * fv
            scu -= ec * fu
            scv -= ec * fv
            lc = fc + a * ec
            bc = p * bc + b * ec
            lu = fu - a * fu
            bu = p * bu - b * fu
            lv = fv - a * fv
            bv = p * bv - b * fv
        # minimise sum (c_i + u_i L0 + v_i B0)^2 with u_i = -fu_i, v_i = -fv_i
        l0 = 0.0
        b0 = 0.0
        det = suu * svv - suv * suv
        if trend and det > 1e-12 * suu * svv:
            l0 = (scu * svv - scv * suv) / det
            b0 = (scv * suu - scu * suv) / det
        elif suu > 0.0:
            l0 = scu / suu
        l0 = min(max(l0, -LEVEL_BOUND), LEVEL_BOUND)
        b0 = min(max(b0, -LEVEL_BOUND), LEVEL_BOUND)
        level0[g] = l0
        trend0[g] = b0
        sse[g] = run(x, a, b, p, l0, b0)[0]


@njit(cache=_CACHE, error_model="numpy")
def run(x, alpha, beta, phi, level0, trend0):  # pragma: no cover - compiled
    """(sum of squared one-step errors, level, trend) after running the model over ``x``."""
    level = level0
    slope = trend0
    total = 0.0
    for i in range(x.size):
        f = level + phi * slope
        e = x[i] - f
        total += e * e
        level = f + alpha * e
        slope = phi * slope + beta * e
    return total, level, slope


def warm_up() -> None:
    """Load (or compile) both loops for what a fit passes them: float64 arrays and float scalars."""
    x = np.arange(1.0, 9.0)
    grid = np.full(2, 0.5)
    out = np.zeros(2)
    for trend in (True, False):
        grid_fits(x, grid, grid, grid, trend, out, out.copy(), out.copy())
    run(x, 0.5, 0.1, 0.9, 0.0, 0.0)
