"""Seasonality: M4's test for it, and classical multiplicative seasonal indices.

One implementation for both users: the Naive2 baseline (``baselines``, the whole history, as R
``decompose``) and the forecaster's seasonal adjustment (``preprocessing``, the last few years only).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "AVERAGES",
    "adjustment_indices",
    "classical_indices",
    "prefix_indices",
    "prefix_seasonality",
    "seasonality_test",
]

# One-sided 95% normal quantile: M4's "90% seasonality test" (two-sided at 90%) uses |r_m| > 1.645 * se.
_TCRIT = 1.645

# How the ratios to the moving average are averaged per phase. "mean" adds them pairwise (np.mean);
# "mean-in-order" adds them in time order (np.bincount), as Naive2 always has; the two agree to about
# 1e-16 and exactly while a phase has fewer than 8 ratios. Both stay so that no number changes.
AVERAGES = ("mean", "mean-in-order", "median")


def _acf(x: np.ndarray, max_lag: int) -> np.ndarray:
    """Sample autocorrelations r_0..r_max_lag as in R ``acf`` (mean removed, denominator sum of squares)."""
    d = x - x.mean()
    denom = float(np.dot(d, d))
    if denom == 0.0:
        return np.full(max_lag + 1, np.nan)
    return np.array([np.dot(d[k:], d[: d.size - k]) / denom for k in range(max_lag + 1)])


def seasonality_test(y, m: int) -> bool:
    r"""M4's 90% autocorrelation test for seasonality at lag ``m``.

    The series is called seasonal when

    .. math:: |r_m| > 1.645 \sqrt{\frac{1 + 2\sum_{k=1}^{m-1} r_k^2}{T}}

    where :math:`r_k` is the lag-``k`` sample autocorrelation (R ``acf``) and the right-hand side is the
    Bartlett standard error of :math:`r_m` under an MA(m-1) null, as in the M4 R benchmarks
    (``SeasonalityTest``).

    Parameters
    ----------
    y : array_like, shape (T,)
        Training series.
    m : int
        Seasonal period.

    Returns
    -------
    bool
        ``False`` when ``m <= 1``, ``T < 3m`` (too short to judge, as in M4) or the series is constant.
    """
    x = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty 1-D series, got shape {x.shape}")
    m = int(m)
    if m <= 1 or x.size < 3 * m:
        return False
    r = _acf(x, m)
    if not np.all(np.isfinite(r)):
        return False
    limit = _TCRIT * np.sqrt((1.0 + 2.0 * np.sum(r[1:m] ** 2)) / x.size)
    return bool(abs(r[m]) > limit)


def classical_indices(y, m: int, *, span: int | None = None, average: str = "mean") -> np.ndarray | None:
    r"""Multiplicative seasonal indices of the classical decomposition (R ``decompose``), from the last
    ``span`` seasons of ``y`` only (all of it for None), so that a pattern that drifts over decades can
    be taken as it is now.

    1. Trend :math:`\tilde y_t`: centred moving average of order ``m`` (odd ``m``) or 2 x ``m`` (even
       ``m``: weights :math:`\tfrac{1}{2m}, \tfrac1m, \dots, \tfrac1m, \tfrac{1}{2m}`), where it fits.
    2. Ratios :math:`y_t / \tilde y_t`, averaged per phase :math:`t \bmod m` (``average``, see AVERAGES).
    3. Normalise to mean 1.

    Index k is for positions t of ``y`` (0 at its first value, whatever the span) with t % m == k.
    None when the adjustment cannot apply: fewer than two seasons, a non-positive moving average (ratios
    to it mean nothing; the M4 anchor skips the adjustment then) or an index that is not finite and
    positive (dividing by it would break the forecast).
    """
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {', '.join(AVERAGES)}, got {average!r}")
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    start = 0 if span is None else max(0, n - span * m)
    x = y[start:]
    if m <= 1 or len(x) < 2 * m:
        return None
    weights = np.full(m, 1.0 / m) if m % 2 else np.r_[0.5, np.ones(m - 1), 0.5] / m
    half = weights.size // 2
    trend = np.convolve(x, weights, mode="valid")  # trend[i] belongs to x[half + i]
    if np.any(trend <= 0.0):
        return None
    ratio = x[half : half + trend.size] / trend
    phase = (start + np.arange(half, half + trend.size)) % m  # phases of positions in the whole series
    if average == "mean-in-order":
        # two seasons give every phase at least one ratio
        figure = np.bincount(phase, weights=ratio, minlength=m) / np.bincount(phase, minlength=m)
    else:
        agg = np.median if average == "median" else np.mean
        figure = np.array([agg(ratio[phase == k]) for k in range(m)])
    figure = figure / figure.mean()
    if not np.all(np.isfinite(figure)) or np.any(figure <= 0.0):
        return None
    return figure


def adjustment_indices(y: np.ndarray, m: int) -> np.ndarray:
    """The indices Naive2 and Theta divide by: ``classical_indices`` of the whole of ``y`` (phases in
    time order) when ``seasonality_test`` passes and they apply, else all ones (shape (max(m, 1),))."""
    ones = np.ones(max(int(m), 1))
    if not seasonality_test(y, m):
        return ones
    figure = classical_indices(y, m, average="mean-in-order")
    return ones if figure is None else figure


# ---------------------------------------------------------------------------------------------- prefixes
# Naive2 from every validation origin needs the test and the indices of every prefix y[:n] of one series.
# Run one by one that is O(T^2 m); these give the very same answers in O(T m).


def prefix_seasonality(y, m: int, lengths) -> np.ndarray:
    """``seasonality_test(y[:n], m)`` for every ``n`` in ``lengths``, in one pass over ``y``.

    The autocorrelations of every prefix come from running sums (of the values, their squares and their
    lag-k products, after shifting by one constant). Those differ from the direct sums of
    ``seasonality_test`` by rounding only, and a rigorous bound on that rounding (both ways of summing) is
    computed with them: a prefix whose ``|r_m|`` lies within the bound of the test's limit is decided by
    ``seasonality_test`` itself, so every answer is the one it gives.
    """
    x = np.asarray(y, dtype=np.float64)
    n = np.asarray(lengths, dtype=np.int64)
    m = int(m)
    out = np.zeros(n.size, dtype=bool)
    if m <= 1 or n.size == 0:
        return out
    live = n >= 3 * m  # shorter prefixes are never seasonal (too short to judge, as in M4)
    if not live.any():
        return out
    nl = n[live]
    top = int(nl.max())
    shift = float(np.mean(x[: int(nl.min())]))
    xs = x[:top] - shift

    def running(v: np.ndarray) -> np.ndarray:  # running[k] = sum of v[:k]
        return np.concatenate(([0.0], np.cumsum(v)))

    with np.errstate(all="ignore"):
        S, Sabs, Q = running(xs), running(np.abs(xs)), running(xs * xs)
        cnt = nl.astype(np.float64)
        mu = S[nl] / cnt
        c = np.empty((nl.size, m + 1))
        for k in range(m + 1):
            P = running(xs[k:] * xs[: top - k])  # P[j] = sum over t = k .. k+j-1 of x_t x_{t-k}
            c[:, k] = P[nl - k] - mu * ((S[nl] - S[k]) + S[nl - k]) + (cnt - k) * mu * mu
        r = c / c[:, :1]
        limit = _TCRIT * np.sqrt((1.0 + 2.0 * np.sum(r[:, 1:m] ** 2, axis=1)) / cnt)
        gap = np.abs(r[:, m]) - limit
        # rounding of either computation: each sum of at most n terms errs by at most n*eps times the sum
        # of their magnitudes (which Q, Sabs and the mean bound); the exact test also centres with the
        # unshifted mean
        amu = np.abs(mu)
        slack = (
            4.0 * cnt * np.finfo(np.float64).eps
            * (Q[nl] + 2 * amu * Sabs[nl] + cnt * mu * mu + (abs(shift) + amu) * (Sabs[nl] + cnt * amu))
        )  # fmt: skip
        tol = 4.0 * slack / c[:, 0] * (2.0 + 2.0 * m)
        sure = np.isfinite(gap) & np.isfinite(tol) & (c[:, 0] > 0) & (np.abs(gap) > tol)
    verdict = gap > 0
    for i in np.flatnonzero(~sure):
        verdict[i] = seasonality_test(x[: nl[i]], m)
    out[live] = verdict
    return out


def prefix_indices(y, m: int, lengths) -> np.ndarray:
    """``classical_indices(y[:n], m, average="mean-in-order")`` for every ``n`` in ``lengths``, as rows of
    an (len(lengths), m) array (NaN rows where it gives None), bit for bit: the moving average of a
    prefix is the start of the whole series' one, and the per-phase sums in time order are running sums."""
    x = np.asarray(y, dtype=np.float64)
    n = np.asarray(lengths, dtype=np.int64)
    m = int(m)
    out = np.full((n.size, max(m, 1)), np.nan)
    live = n >= 2 * m
    if m <= 1 or not live.any():
        return out
    nl = n[live]
    top = int(nl.max())
    weights = np.full(m, 1.0 / m) if m % 2 else np.r_[0.5, np.ones(m - 1), 0.5] / m
    half = weights.size // 2
    trend = np.convolve(x[:top], weights, mode="valid")  # as classical_indices' for every prefix
    bad = np.flatnonzero(~(trend > 0.0) & ~np.isnan(trend))  # `trend <= 0.0`, as classical_indices asks
    first_bad = int(bad[0]) if bad.size else trend.size
    with np.errstate(all="ignore"):
        ratio = x[half : half + trend.size] / trend
        size = nl - 2 * half  # the prefix's moving average: trend[:size]
        sums = np.empty((nl.size, m))
        counts = np.empty((nl.size, m), dtype=np.int64)
        for k in range(m):
            first = (k - half) % m  # first ratio index of phase k
            running = np.cumsum(ratio[first::m])  # time order, as np.bincount adds
            count = np.maximum(0, (size - first + m - 1) // m)
            counts[:, k] = count
            sums[:, k] = running[np.maximum(count - 1, 0)]
        figure = sums / counts
        figure = figure / figure.mean(axis=1, keepdims=True)
    ok = (
        (size <= first_bad)
        & np.all(np.isfinite(figure) & (figure > 0.0), axis=1)
        & np.all(counts > 0, axis=1)
    )
    rows = np.flatnonzero(live)
    out[rows[ok]] = figure[ok]
    return out
