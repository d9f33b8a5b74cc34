"""Baselines shown next to every lstmcli forecast: Naive, Seasonal naive, M4's Naive2, Theta, ES and ARIMA.

They follow statsforecast 2.1.1 (``Naive``, ``SeasonalNaive``) and the M4 competition's R benchmark code
(Naive2), so lstmcli's numbers can be compared with published anchors. Only the training part ``y`` (the
history before the forecast origin) is ever used.

Naive2 (M4): if the series passes a 90% autocorrelation test for seasonality at lag ``m``, divide it by
classical multiplicative seasonal indices (R ``decompose``), repeat the last seasonally adjusted value and
multiply the forecasts back by the indices; otherwise it is plain Naive. The test and the indices live in
``seasonal``, shared with the forecaster's own seasonal adjustment.

Theta (``theta``): the standard theta method, SES with drift on the same seasonally adjusted series; the
yardstick the M3 and M4 competitions measured methods against.

ES (``smoothing``): exponential smoothing with a damped trend or none (chosen by AICc): Holt-Winters on
the logarithms of a positive series with a season of 12 or more, otherwise on the same seasonally
adjusted series (M4's *SES* and *Damped* benchmarks in one).

ARIMA (``arima``): ARIMA(p, 1, 0) with p <= 1, with or without drift (chosen by AICc), on the logarithms
of the same seasonally adjusted series.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstmcli.forecasting.arima import arima, fit_arima
from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.metrics import evaluate, mase_scale, owa
from lstmcli.forecasting.seasonal import (
    adjustment_indices,
    prefix_indices,
    prefix_seasonality,
    seasonality_test,
)
from lstmcli.forecasting.smoothing import es, fit_es
from lstmcli.forecasting.theta import HISTORY, fit_theta, forecasts_from_origins, origin_figures, theta

__all__ = [
    "naive",
    "seasonal_naive",
    "seasonality_test",
    "seasonal_indices",
    "naive2",
    "theta",
    "es",
    "arima",
    "BASELINES",
    "baseline_forecasts",
    "fit_baselines",
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
    return adjustment_indices(_series(y), int(m))


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
    "Theta": theta,
    "ES": es,
    "ARIMA": arima,
}


def fit_baselines(y, m: int) -> dict[str, BaselineFit]:
    """Every baseline fitted to the whole series ``y``, as `BASELINES` names them: ``fits[name].forecast(h)``
    equals ``BASELINES[name](y, h, m)`` (what a model file keeps for ``predict --method``)."""
    x = _series(y)
    m = int(m)
    n = x.size
    if m > 1 and n >= m:  # position n + j repeats y[n - m + j % m]: the figure by phase
        phases = np.arange(m)
        snaive = BaselineFit(0.0, n=n, seasonal=x[n - m + (phases - n) % m].copy(), additive=True)
    else:
        snaive = BaselineFit(float(x[-1]), n=n)
    s = seasonal_indices(x, m)
    figure = s if n <= HISTORY else None  # the indices Theta, ES and ARIMA adjust by: those of their part
    return {
        "Naive": BaselineFit(float(x[-1]), n=n),
        "Seasonal naive": snaive,
        "Naive2": BaselineFit(float(x[-1] / s[(n - 1) % s.size]), n=n, seasonal=s),
        "Theta": fit_theta(x, m, figure),
        "ES": fit_es(x, m, figure),
        "ARIMA": fit_arima(x, m, figure),
    }


def baseline_forecasts(y, origins, horizon: int, m: int) -> dict[str, np.ndarray]:
    r"""Forecasts of every baseline from several origins of one series (for backtests).

    For origin ``o`` the forecast is made from ``y[:o]`` only, for positions ``o .. o + h - 1``; row ``i`` of
    each array equals ``BASELINES[name](y[:origins[i]], horizon, m)``, bit for bit. Naive, Seasonal
    naive and Naive2 are vectorised over origins (Theta, ES and ARIMA are fitted from each origin); Naive2's test and indices of every prefix come from one pass over the
    series (``seasonal.prefix_seasonality`` and ``prefix_indices``), so many origins cost O(T m), not
    O(T^2 m).

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

    naive2_f = _naive2_from_origins(x, o, h, m)

    figures = origin_figures(x, m, o)  # each origin's seasonal indices, for Theta, ES and ARIMA alike
    theta_f, es_f, arima_f = (
        forecasts_from_origins(fit, x, o, h, m, figures) for fit in (fit_theta, fit_es, fit_arima)
    )
    return {
        "Naive": naive_f, "Seasonal naive": snaive_f, "Naive2": naive2_f, "Theta": theta_f, "ES": es_f, "ARIMA": arima_f,
    }  # fmt: skip


def _naive2_from_origins(x: np.ndarray, o: np.ndarray, h: int, m: int) -> np.ndarray:
    """Row i: ``naive2(x[:o[i]], h, m)``."""
    k = max(m, 1)
    s = np.ones((o.size, k))
    seasonal = prefix_seasonality(x, m, o)
    if seasonal.any():
        figure = prefix_indices(x, m, o[seasonal])
        usable = ~np.isnan(figure).any(axis=1)
        s[np.flatnonzero(seasonal)[usable]] = figure[usable]
    rows = np.arange(o.size)
    level = x[o - 1] / s[rows, (o - 1) % k]
    return level[:, None] * s[rows[:, None], (o[:, None] + np.arange(h)[None, :]) % k]


def compare_with_baselines(
    y: np.ndarray, origins: np.ndarray, actual: np.ndarray, forecasts: np.ndarray, season: int,
    *, extra: dict[str, np.ndarray] | None = None, baselines: dict[str, np.ndarray] | None = None,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Errors of the LSTM and of Naive, Seasonal naive, Naive2, Theta, ES and ARIMA on the same windows, with OWA.

    ``actual`` may hold NaN where the series ended before a step; those steps are scored for no method.
    Each origin is scored as ``evaluate(actual, forecast, y[:origin], season)`` would score it, and the
    table is the mean over origins; windows with every step inside the series are scored together
    (``_window_metrics``), the last few one by one. ``extra`` rows (name -> forecasts) follow the
    LSTM's; ``baselines`` are ``baseline_forecasts`` of these origins when already computed.
    """
    y = np.asarray(y, dtype=np.float64)
    origins = np.asarray(origins, dtype=np.int64)
    horizon = actual.shape[1]
    if baselines is None:
        baselines = baseline_forecasts(y, origins, horizon, season)
    methods = {"LSTM": forecasts} | (extra or {}) | baselines
    ok = np.isfinite(actual)
    scored = ok.any(axis=1)
    full = ok.all(axis=1)
    scales = _mase_scales(y, origins[full], season)
    table = {}
    for name, f in methods.items():
        rows: dict[str, np.ndarray] = {}
        for metric, values in _window_metrics(actual[full], f[full], scales).items():
            rows[metric] = np.full(len(origins), np.nan)
            rows[metric][full] = values
        for k in np.flatnonzero(scored & ~full):
            for metric, value in evaluate(actual[k][ok[k]], f[k][ok[k]], y[: origins[k]], season).items():
                rows[metric][k] = value
        table[name] = {metric: float(np.mean(v[scored])) for metric, v in rows.items()}
    base = table["Naive2"]
    for row in table.values():
        row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
    return table


# Beyond this many values summed, the MASE scales of many origins come from running sums (linear in the
# series) instead of one mean per origin (quadratic); the two differ by rounding only (about 1e-15
# relative). With at most 2,000 validation origins (planning.VALIDATION_ORIGINS) series of up to some
# 100,000 rows keep the exact means; only backtests or scripts scoring more origins get running sums.
_EXACT_SCALE_BUDGET = 200_000_000


def _mase_scales(y: np.ndarray, origins: np.ndarray, m: int) -> np.ndarray:
    """``mase_scale(y[:o], m)`` for every origin ``o``."""
    m = int(m)
    if origins.size == 0:
        return np.zeros(0)
    if origins.min() <= m or int(origins.sum()) <= _EXACT_SCALE_BUDGET:
        return np.array([mase_scale(y[:o], m) for o in origins])
    diffs = np.abs(y[m : int(origins.max())] - y[: int(origins.max()) - m])
    with np.errstate(all="ignore"):
        scale = np.cumsum(diffs)[origins - m - 1] / (origins - m)
    return np.where(scale > 0.0, scale, np.nan)


def _window_metrics(y: np.ndarray, f: np.ndarray, scales: np.ndarray) -> dict[str, np.ndarray]:
    """``evaluate`` of every row of (n, h) ``y`` and ``f`` (the MASE of row i scaled by ``scales[i]``), with
    the very same arithmetic per row (a row's mean along axis 1 is its 1-D mean)."""
    with np.errstate(all="ignore"):
        err = np.abs(y - f)
        mape = 100.0 * np.mean(err / np.abs(y), axis=1)
        num = 200.0 * np.abs(y - f)
        den = np.abs(y) + np.abs(f)
        terms = np.divide(num, den, out=np.zeros_like(num), where=den != 0.0)
        mase = np.mean(err / scales[:, None], axis=1)
        return {
            "MAE": np.mean(err, axis=1),
            "RMSE": np.sqrt(np.mean((y - f) ** 2, axis=1)),
            "MAPE": np.where(np.any(y == 0.0, axis=1), np.nan, mape),
            "sMAPE": np.mean(terms, axis=1),
            "MASE": np.where(np.isnan(scales), np.nan, mase),
        }
