"""The compiled loops of ``smoothing``'s fits (Numba), apart so that importing ``smoothing`` (every command
that forecasts, through ``baselines``) does not import Numba: only fitting the ES baseline runs them."""

from __future__ import annotations

import numpy as np
from numba import njit

from lstmcli.engine import jit_cache

LEVEL_BOUND = 1e10  # the initial states are kept within this (as Theta's L0)

_CACHE = jit_cache.cache_enabled()


@njit(cache=_CACHE)  # the default error model: no division here can meet a zero, and it compiles faster
def grid_fits(
    x, alphas, betas, phis, trend, sse, level0, trend0, level, slope
):  # pragma: no cover - compiled
    """For every parameter set g (``alphas[g]``, ``betas[g]``, ``phis[g]``): the initial level and trend
    minimising the squared one-step errors, that sum, and the level and trend after the last
    observation, written to ``sse[g]``, ``level0[g]``, ``trend0[g]``, ``level[g]``, ``slope[g]``.
    ``trend`` False: no trend (SES; the betas and phis are not read).

    The forecasts are linear in the initial states: e_i = ec_i - fu_i L0 - fv_i B0, with ec the errors
    of the data run from zero states and fu, fv the forecasts of zero data run from the unit states;
    the best (L0, B0) solves the 2 x 2 normal equations. The model then runs again from those states
    for the sum (not expanded from the normal equations, which cancels badly when the errors are small
    next to the values) and the final states. The parameter sets are the inner loop: independent
    lanes, which the compiler vectorises (five times faster than one set after another, the same
    arithmetic for each). One function: each compiled loop costs a first run its compile time."""
    n = x.size
    size = alphas.size
    a = alphas.copy()
    b = betas.copy() if trend else np.zeros(size)
    p = phis.copy() if trend else np.zeros(size)
    lc, bc, lu, bu = np.zeros(size), np.zeros(size), np.ones(size), np.zeros(size)
    lv, bv = np.zeros(size), np.ones(size)
    suu, suv, svv, scu, scv = np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)
    for i in range(n):
        xi = x[i]
        for g in range(size):
            fc = lc[g] + p[g] * bc[g]
            fu = lu[g] + p[g] * bu[g]
            fv = lv[g] + p[g] * bv[g]
            ec = xi - fc
            suu[g] += fu * fu
            suv[g] += fu * fv
            svv[g] += fv * fv
            scu[g] += ec * fu  # e_i = ec_i - fu_i L0 - fv_i B0: the normal equations' right-hand side
            scv[g] += ec * fv
            lc[g] = fc + a[g] * ec
            bc[g] = p[g] * bc[g] + b[g] * ec
            lu[g] = fu - a[g] * fu
            bu[g] = p[g] * bu[g] - b[g] * fu
            lv[g] = fv - a[g] * fv
            bv[g] = p[g] * bv[g] - b[g] * fv
    for g in range(size):
        l0 = 0.0
        b0 = 0.0
        det = suu[g] * svv[g] - suv[g] * suv[g]
        if trend and det > 1e-12 * suu[g] * svv[g]:
            l0 = (scu[g] * svv[g] - scv[g] * suv[g]) / det
            b0 = (scv[g] * suu[g] - scu[g] * suv[g]) / det
        elif suu[g] > 0.0:
            l0 = scu[g] / suu[g]
        level0[g] = min(max(l0, -LEVEL_BOUND), LEVEL_BOUND)
        trend0[g] = min(max(b0, -LEVEL_BOUND), LEVEL_BOUND)
        lc[g] = level0[g]
        bc[g] = trend0[g]
        sse[g] = 0.0
    for i in range(n):  # the sums of squares, run from the fitted initial states
        xi = x[i]
        for g in range(size):
            f = lc[g] + p[g] * bc[g]
            e = xi - f
            sse[g] += e * e
            lc[g] = f + a[g] * e
            bc[g] = p[g] * bc[g] + b[g] * e
    for g in range(size):
        level[g] = lc[g]
        slope[g] = bc[g]


@njit(cache=_CACHE)  # the default error model: no division here can meet a zero, and it compiles faster
def seasonal_grid_fits(
    x, season0, alphas, betas, phis, gammas, trend, sse, level0, trend0, level, slope, seasons
):  # pragma: no cover - compiled
    """``grid_fits`` with additive seasonal states (Holt-Winters): for every parameter set g, also
    ``gammas[g]``; the seasonal states start at ``season0`` (m,), observation i using state ``i % m``, and
    end in ``seasons[:, g]``. The initial level and trend are solved as there (the seasonal states of
    the unit runs start at zero: the errors stay linear in the level and trend). Apart from
    ``grid_fits``: its lanes are vectorised, and the seasonal arrays would stop that (three times
    slower on every series without a season). The solve for the initial states repeats ``grid_fits``'
    on purpose: as a compiled function of its own it cost a first run some 0.1 CPU-s more."""
    n = x.size
    size = alphas.size
    m = season0.size
    a = alphas.copy()
    b = betas.copy() if trend else np.zeros(size)
    p = phis.copy() if trend else np.zeros(size)
    gam = gammas.copy()
    sc = np.empty((m, size))
    for j in range(m):
        sc[j, :] = season0[j]
    su, sv = np.zeros((m, size)), np.zeros((m, size))
    lc, bc, lu, bu = np.zeros(size), np.zeros(size), np.ones(size), np.zeros(size)
    lv, bv = np.zeros(size), np.ones(size)
    suu, suv, svv, scu, scv = np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size), np.zeros(size)
    for i in range(n):
        xi = x[i]
        j = i % m
        for g in range(size):
            base_c = lc[g] + p[g] * bc[g]
            base_u = lu[g] + p[g] * bu[g]
            base_v = lv[g] + p[g] * bv[g]
            fc = base_c + sc[j, g]
            fu = base_u + su[j, g]
            fv = base_v + sv[j, g]
            ec = xi - fc
            suu[g] += fu * fu
            suv[g] += fu * fv
            svv[g] += fv * fv
            scu[g] += ec * fu  # e_i = ec_i - fu_i L0 - fv_i B0: the normal equations' right-hand side
            scv[g] += ec * fv
            lc[g] = base_c + a[g] * ec
            bc[g] = p[g] * bc[g] + b[g] * ec
            sc[j, g] += gam[g] * ec
            lu[g] = base_u - a[g] * fu  # the unit runs' errors are -fu, -fv
            bu[g] = p[g] * bu[g] - b[g] * fu
            su[j, g] -= gam[g] * fu
            lv[g] = base_v - a[g] * fv
            bv[g] = p[g] * bv[g] - b[g] * fv
            sv[j, g] -= gam[g] * fv
    for g in range(size):
        l0 = 0.0
        b0 = 0.0
        det = suu[g] * svv[g] - suv[g] * suv[g]
        if trend and det > 1e-12 * suu[g] * svv[g]:
            l0 = (scu[g] * svv[g] - scv[g] * suv[g]) / det
            b0 = (scv[g] * suu[g] - scu[g] * suv[g]) / det
        elif suu[g] > 0.0:
            l0 = scu[g] / suu[g]
        level0[g] = min(max(l0, -LEVEL_BOUND), LEVEL_BOUND)
        trend0[g] = min(max(b0, -LEVEL_BOUND), LEVEL_BOUND)
        lc[g] = level0[g]
        bc[g] = trend0[g]
        sse[g] = 0.0
    for j in range(m):
        seasons[j, :] = season0[j]
    for i in range(n):  # the sums of squares, run from the fitted initial states
        xi = x[i]
        j = i % m
        for g in range(size):
            base = lc[g] + p[g] * bc[g]
            e = xi - (base + seasons[j, g])
            sse[g] += e * e
            lc[g] = base + a[g] * e
            bc[g] = p[g] * bc[g] + b[g] * e
            seasons[j, g] += gam[g] * e
    for g in range(size):
        level[g] = lc[g]
        slope[g] = bc[g]


def warm_up(which: tuple[str, ...] = ("es", "hw")) -> None:
    """Load (or compile) the loops for what a fit passes them: float64 arrays. ``which``: "es" the
    loop without a season, "hw" the seasonal one."""
    x = np.arange(1.0, 9.0)
    grid = np.full(2, 0.5)
    for trend in (True, False):
        if "es" in which:
            grid_fits(x, grid, grid, grid, trend, *(np.zeros(2) for _ in range(5)))
        if "hw" in which:
            seasonal_grid_fits(
                x,
                np.zeros(2),
                grid,
                grid,
                grid,
                grid,
                trend,
                *(np.zeros(2) for _ in range(5)),
                np.zeros((2, 2)),
            )
