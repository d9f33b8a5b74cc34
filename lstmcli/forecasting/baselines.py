"""Naive baselines shown next to every lstmcli forecast: Naive, Seasonal naive and M4's Naive2.

They follow statsforecast 2.1.1 (``Naive``, ``SeasonalNaive``) and the M4 competition's R benchmark code
(Naive2), so lstmcli's numbers can be compared with published anchors. Only the training part ``y`` (the
history before the forecast origin) is ever used.

Naive2 (M4): if the series passes a 90% autocorrelation test for seasonality at lag ``m``, divide it by
classical multiplicative seasonal indices (R ``decompose``), repeat the last seasonally adjusted value and
multiply the forecasts back by the indices; otherwise it is plain Naive. The test and the indices live in
``seasonal``, shared with the forecaster's own seasonal adjustment.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstmcli.forecasting.metrics import evaluate, owa
from lstmcli.forecasting.seasonal import classical_indices, seasonality_test

__all__ = [
    "naive",
    "seasonal_naive",
    "seasonality_test",
    "seasonal_indices",
    "naive2",
    "BASELINES",
    "baseline_forecasts",
    "compare_with_baselines",
]


def _series(y) -> np.ndarray:
    x = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"expected a non-empty 1-D series, got shape {x.shape}")
    return x


def _check_horizon(horizon: int) -> int:
    h = int(horizon)
    if h < 1:
        raise ValueError(f"horizon must be >= 1, got {horizon}")
    return h


def naive(y, horizon: int) -> np.ndarray:
    r"""Naive forecast: the last observed value repeated.

    .. math:: \hat y_{T+j} = y_T, \quad j = 1..h

    Parameters
    ----------
    y : array_like, shape (T,)
        Training series.
    horizon : int
        Number of steps ``h`` to forecast (>= 1).

    Returns
    -------
    ndarray, shape (h,)
    """
    x = _series(y)
    return np.full(_check_horizon(horizon), x[-1])


def seasonal_naive(y, horizon: int, m: int) -> np.ndarray:
    r"""Seasonal naive forecast: the value one season back, i.e. the last season repeated.

    .. math:: \hat y_{T+j} = y_{T - m + ((j-1) \bmod m) + 1}, \quad j = 1..h

    Parameters
    ----------
    y : array_like, shape (T,)
        Training series.
    horizon : int
        Number of steps ``h`` (>= 1).
    m : int
        Seasonal period. With ``m <= 1`` or ``T < m`` (no full season to repeat) this is `naive`.

    Returns
    -------
    ndarray, shape (h,)
    """
    x = _series(y)
    h = _check_horizon(horizon)
    m = int(m)
    if m <= 1 or x.size < m:
        return np.full(h, x[-1])
    last_season = x[-m:]
    return last_season[np.arange(h) % m].copy()


def seasonal_indices(y, m: int) -> np.ndarray:
    r"""Classical multiplicative seasonal indices (R ``decompose(type = "multiplicative")``).

    1. Trend :math:`\tilde y_t`: centred moving average of order ``m`` (odd ``m``) or 2 x ``m`` (even
       ``m``: weights :math:`\tfrac{1}{2m}, \tfrac1m, \dots, \tfrac1m, \tfrac{1}{2m}`), defined where the
       window fits.
    2. Ratios :math:`y_t / \tilde y_t`; :math:`s_k` = mean of the ratios at positions with
       :math:`t \bmod m = k` (positions counted from 0 at the first observation).
    3. Normalise: :math:`s_k \leftarrow s_k / \bar s`, so the indices have mean 1.

    Parameters
    ----------
    y : array_like, shape (T,)
        Training series.
    m : int
        Seasonal period.

    Returns
    -------
    ndarray, shape (m,) (shape (1,) when ``m <= 1``)
        ``s[k]`` multiplies the positions ``t`` with ``t % m == k`` (so position ``T + j`` uses
        ``s[(T + j) % m]``). All ones when `seasonality_test` fails, or when the multiplicative adjustment
        is not applicable (a moving-average trend value <= 0, which the M4 anchors skip too, or an index
        that is not finite and positive, which only zero/negative data can produce).
    """
    x = _series(y)
    m = int(m)
    ones = np.ones(max(m, 1))
    if not seasonality_test(x, m):
        return ones
    figure = classical_indices(x, m, average="mean-in-order")
    return ones if figure is None else figure


def naive2(y, horizon: int, m: int) -> np.ndarray:
    r"""M4 Naive2: naive forecast of the seasonally adjusted series, re-seasonalised.

    .. math:: \hat y_{T+j} = \frac{y_T}{s_{(T-1) \bmod m}} \, s_{(T+j-1) \bmod m}, \quad j = 1..h

    with 0-based positions and the indices ``s`` of `seasonal_indices` (all ones, hence plain `naive`, when
    the 90% seasonality test fails or ``m <= 1``).

    Parameters
    ----------
    y : array_like, shape (T,)
        Training series.
    horizon : int
        Number of steps ``h`` (>= 1).
    m : int
        Seasonal period.

    Returns
    -------
    ndarray, shape (h,)
    """
    x = _series(y)
    h = _check_horizon(horizon)
    s = seasonal_indices(x, m)
    n = x.size
    k = s.size
    level = x[-1] / s[(n - 1) % k]
    return level * s[(n + np.arange(h)) % k]


def _naive_m(y, horizon: int, m: int) -> np.ndarray:  # m is unused; uniform signature for BASELINES
    return naive(y, horizon)


#: Baseline name -> ``callable(y, horizon, m) -> ndarray of shape (horizon,)``; names as in lstmcli reports.
BASELINES: dict[str, Callable[[np.ndarray, int, int], np.ndarray]] = {
    "Naive": _naive_m,
    "Seasonal naive": seasonal_naive,
    "Naive2": naive2,
}


def baseline_forecasts(y, origins, horizon: int, m: int) -> dict[str, np.ndarray]:
    r"""Forecasts of every baseline from several origins of one series (for backtests).

    For origin ``o`` the forecast is made from ``y[:o]`` only, for positions ``o .. o + h - 1``; row ``i`` of
    each array equals ``BASELINES[name](y[:origins[i]], horizon, m)``. Naive and seasonal naive are
    vectorised over origins; Naive2 re-runs its seasonality test and decomposition per origin.

    Parameters
    ----------
    y : array_like, shape (T,)
        The whole series (values after an origin are never used for that origin's forecast).
    origins : array_like of int, shape (n,)
        Forecast origins, each in ``1 .. T`` (number of observations available).
    horizon : int
        Number of steps ``h`` (>= 1).
    m : int
        Seasonal period.

    Returns
    -------
    dict of str to ndarray
        Same keys as `BASELINES`, each an ``(n, h)`` float64 array.
    """
    x = _series(y)
    h = _check_horizon(horizon)
    o = np.asarray(origins)
    if o.ndim != 1 or (o.size and not np.issubdtype(o.dtype, np.integer)):
        raise ValueError("origins must be a 1-D sequence of integers")
    o = o.astype(np.int64)
    if o.size and (o.min() < 1 or o.max() > x.size):
        raise ValueError(f"origins must lie in 1..{x.size}, got {o.min()}..{o.max()}")
    m = int(m)
    steps = np.arange(h)

    naive_f = np.repeat(x[o - 1][:, None], h, axis=1)

    # Seasonal naive: step j reads y[o - m + j % m]; origins with fewer than m points fall back to naive.
    if m > 1:
        idx = o[:, None] - m + (steps % m)[None, :]
        snaive_f = np.where((o >= m)[:, None], x[np.clip(idx, 0, None)], naive_f)
    else:
        snaive_f = naive_f.copy()

    naive2_f = np.empty((o.size, h))
    for i, oi in enumerate(o):
        naive2_f[i] = naive2(x[:oi], h, m)

    return {"Naive": naive_f, "Seasonal naive": snaive_f, "Naive2": naive2_f}


def compare_with_baselines(
    y: np.ndarray, origins: np.ndarray, actual: np.ndarray, forecasts: np.ndarray, season: int
) -> dict[str, dict[str, float]]:
    """Errors of the LSTM and of Naive, Seasonal naive and Naive2 on the same windows, with OWA.

    ``actual`` may hold NaN where the series ended before a step; those steps are scored for no method.
    """
    horizon = actual.shape[1]
    methods = {"LSTM": forecasts} | baseline_forecasts(y, origins, horizon, season)
    insample = [y[:o] for o in origins]
    table = {}
    ok = np.isfinite(actual)
    for name, f in methods.items():
        rows = [
            evaluate(actual[k][ok[k]], f[k][ok[k]], insample[k], season)
            for k in range(len(origins))
            if ok[k].any()
        ]
        table[name] = {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}
    base = table["Naive2"]
    for row in table.values():
        row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
    return table
