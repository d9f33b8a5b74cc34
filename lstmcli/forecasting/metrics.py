"""Point-forecast accuracy metrics with the M4 competition definitions.

Every metric takes the actuals ``y`` and the forecasts ``f`` as arrays of the same shape, either

* ``(h,)`` - one forecast of ``h`` steps, or
* ``(n, h)`` - ``n`` forecast windows (e.g. backtest origins) of ``h`` steps each.

For a 2-D input the metric is the mean over **all** ``n * h`` elements, i.e. over windows and steps
together (for RMSE: the square root of the mean squared error over all elements, not the mean of the
per-window RMSEs). Because every window has the same length ``h``, this equals the mean of the per-window
values for MAE, MAPE, sMAPE and MASE.

All arithmetic is float64. Group aggregation (the plain mean over series) is left to the caller; `owa`
takes those group means.

References: Makridakis, Spiliotis & Assimakopoulos (2020), "The M4 Competition: 100,000 time series and
61 forecasting methods", International Journal of Forecasting 36(1), section 2 (sMAPE, MASE, OWA).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["mae", "rmse", "mape", "smape", "mase_scale", "mase", "msis", "owa", "evaluate", "mean_defined"]


def mean_defined(values) -> float:
    """The mean over the series of a measure, leaving out those where it is undefined (NaN: MAPE of a
    series with a zero); NaN, quietly, when it is undefined for all (NumPy's nanmean warns)."""
    a = np.asarray(values, dtype=np.float64)
    a = a[~np.isnan(a)]
    return float(a.mean()) if a.size else float("nan")


def _pair(y, f) -> tuple[np.ndarray, np.ndarray]:
    """Return ``y`` and ``f`` as float64 arrays of one common shape ``(h,)`` or ``(n, h)``."""
    y = np.asarray(y, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    if y.shape != f.shape:
        raise ValueError(f"actuals and forecasts differ in shape: {y.shape} vs {f.shape}")
    if y.ndim not in (1, 2) or y.size == 0:
        raise ValueError(f"expected a non-empty array of shape (h,) or (n, h), got shape {y.shape}")
    return y, f


def mae(y, f) -> float:
    r"""Mean absolute error.

    .. math:: \mathrm{MAE} = \frac{1}{N}\sum_i |y_i - f_i|

    Parameters
    ----------
    y, f : array_like, shape (h,) or (n, h)
        Actuals and forecasts. For 2-D input the mean runs over all elements.

    Returns
    -------
    float
    """
    y, f = _pair(y, f)
    return float(np.mean(np.abs(y - f)))


def rmse(y, f) -> float:
    r"""Root mean squared error.

    .. math:: \mathrm{RMSE} = \sqrt{\frac{1}{N}\sum_i (y_i - f_i)^2}

    Parameters
    ----------
    y, f : array_like, shape (h,) or (n, h)
        Actuals and forecasts. For 2-D input the mean of the squared errors runs over all elements
        before the square root is taken.

    Returns
    -------
    float
    """
    y, f = _pair(y, f)
    return float(np.sqrt(np.mean((y - f) ** 2)))


def mape(y, f) -> float:
    r"""Mean absolute percentage error, in percent.

    .. math:: \mathrm{MAPE} = \frac{100}{N}\sum_i \frac{|y_i - f_i|}{|y_i|}

    Parameters
    ----------
    y, f : array_like, shape (h,) or (n, h)
        Actuals and forecasts. For 2-D input the mean runs over all elements.

    Returns
    -------
    float
        MAPE in percent; ``nan`` if any actual is 0 (the metric is undefined there).
    """
    y, f = _pair(y, f)
    if np.any(y == 0.0):
        return float("nan")
    return float(100.0 * np.mean(np.abs(y - f) / np.abs(y)))


def smape(y, f) -> float:
    r"""Symmetric mean absolute percentage error (M4 definition), in percent.

    .. math:: \mathrm{sMAPE} = \frac{1}{N}\sum_i \frac{200\,|y_i - f_i|}{|y_i| + |f_i|}

    A term with :math:`y_i = f_i = 0` is counted as 0 (a perfect forecast of a zero), so the metric is
    defined for all finite inputs and lies in [0, 200]; NaN inputs give NaN.

    Parameters
    ----------
    y, f : array_like, shape (h,) or (n, h)
        Actuals and forecasts. For 2-D input the mean runs over all elements.

    Returns
    -------
    float
    """
    y, f = _pair(y, f)
    num = 200.0 * np.abs(y - f)
    den = np.abs(y) + np.abs(f)
    # den == 0 only when y == f == 0, i.e. num == 0 too: count it as a perfect term. (`!=` rather than
    # `>` so that a NaN forecast still yields NaN instead of being silently counted as perfect.)
    with np.errstate(invalid="ignore"):  # inf / inf from a diverged forecast: NaN, as intended
        terms = np.divide(num, den, out=np.zeros_like(num), where=den != 0.0)
    return float(np.mean(terms))


def mase_scale(insample, m: int) -> float:
    r"""MASE scale: in-sample mean absolute seasonal difference of the training series.

    .. math:: s = \frac{1}{T - m}\sum_{t=m+1}^{T} |y_t - y_{t-m}|

    with ``m`` replaced by 1 when the series is not longer than ``m`` (``T <= m``), as in the M4 code.

    Parameters
    ----------
    insample : array_like, shape (T,)
        Training part of the series (what the model saw).
    m : int
        Seasonal period (1 for non-seasonal data).

    Returns
    -------
    float
        The scale. ``nan`` when it cannot be used: a zero scale (e.g. a constant training series, or one
        that repeats its last season exactly) or fewer than 2 points, because dividing by it would give
        inf/nan MASE values that silently poison a group mean.
    """
    x = np.asarray(insample, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"insample must be 1-D, got shape {x.shape}")
    m = int(m)
    if m < 1:
        raise ValueError(f"seasonal period m must be >= 1, got {m}")
    if x.size <= m:
        m = 1
    if x.size <= m:  # fewer than 2 points: no difference at all
        return float("nan")
    scale = float(np.mean(np.abs(x[m:] - x[:-m])))
    return scale if scale > 0.0 else float("nan")


def _row_scales(insample, n_rows: int | None, m: int) -> float | np.ndarray:
    """Scale(s) for `mase`: one float for a single insample, an (n, 1) array for one per row."""
    per_row = (isinstance(insample, np.ndarray) and insample.ndim == 2) or (
        isinstance(insample, Sequence)
        and not isinstance(insample, (str, bytes))
        and len(insample) > 0
        and np.ndim(insample[0]) == 1
    )
    if not per_row:
        return mase_scale(insample, m)
    if n_rows is None:
        raise ValueError("one insample series per row needs forecasts of shape (n, h)")
    if len(insample) != n_rows:
        raise ValueError(f"got {len(insample)} insample series for {n_rows} forecast rows")
    return np.array([mase_scale(x, m) for x in insample], dtype=np.float64)[:, None]


def mase(y, f, insample, m: int) -> float:
    r"""Mean absolute scaled error (M4 definition).

    .. math:: \mathrm{MASE} = \frac{\frac{1}{h}\sum_{j=1}^{h} |y_{T+j} - f_{T+j}|}
                                  {\frac{1}{T-m}\sum_{t=m+1}^{T} |y_t - y_{t-m}|}

    See `mase_scale` for the denominator (``m = 1`` when ``T <= m``).

    Parameters
    ----------
    y, f : array_like, shape (h,) or (n, h)
        Actuals and forecasts. For 2-D input the mean runs over all elements.
    insample : array_like
        Either one training series of shape (T,), whose scale is used for every element, or (only with
        2-D ``y``) one training series per row: a sequence of ``n`` 1-D arrays (lengths may differ, e.g.
        ``[y[:o] for o in origins]`` in a backtest) or an (n, T) array. With one series per row the result is
        the mean over rows of the per-row MASE.
    m : int
        Seasonal period of the scale.

    Returns
    -------
    float
        ``nan`` when a scale is zero or undefined (see `mase_scale`).
    """
    y, f = _pair(y, f)
    scale = _row_scales(insample, y.shape[0] if y.ndim == 2 else None, m)
    if np.any(np.isnan(scale)):
        return float("nan")
    return float(np.mean(np.abs(y - f) / scale))


def owa(smape_model: float, mase_model: float, smape_naive2: float, mase_naive2: float) -> float:
    r"""Overall weighted average relative to Naive2 (M4 definition).

    .. math:: \mathrm{OWA} = \tfrac12\left(\frac{\mathrm{sMAPE}}{\mathrm{sMAPE}_{\mathrm{Naive2}}}
                                        + \frac{\mathrm{MASE}}{\mathrm{MASE}_{\mathrm{Naive2}}}\right)

    As in M4 it is computed on the **group means** (mean sMAPE and mean MASE over the series of a group),
    not averaged over per-series OWAs, so Naive2 scores exactly 1 and values below 1 beat it.

    Parameters
    ----------
    smape_model, mase_model : float
        Group-mean sMAPE and MASE of the method.
    smape_naive2, mase_naive2 : float
        Group-mean sMAPE and MASE of Naive2 on the same series and horizons.

    Returns
    -------
    float
        ``nan`` if a Naive2 mean is zero or not finite (the ratio is undefined).
    """
    s, ms, s2, m2 = (float(v) for v in (smape_model, mase_model, smape_naive2, mase_naive2))
    if not (np.isfinite(s2) and np.isfinite(m2)) or s2 == 0.0 or m2 == 0.0:
        return float("nan")
    return 0.5 * (s / s2 + ms / m2)


def msis(y, lower, upper, insample, m: int, level: float = 95.0) -> float:
    r"""Mean scaled interval score (M4's MSIS) of one interval forecast.

    .. math:: \frac{1}{h} \sum_{j=1}^{h} \Big[(U_j - L_j) + \tfrac{2}{a}(L_j - Y_j)\,1\{Y_j < L_j\}
              + \tfrac{2}{a}(Y_j - U_j)\,1\{Y_j > U_j\}\Big] \Big/ s

    with :math:`a = 1 - \text{level}/100` (0.05 at M4's 95 %) and :math:`s` the in-sample mean absolute
    seasonal difference (`mase_scale`). Lower is better: narrow intervals that still hold the actuals.

    Parameters
    ----------
    y, lower, upper : array_like, shape (h,)
        Actuals and the interval's bounds.
    insample : array_like
        Training series (the scale).
    m : int
        Seasonal period of the scale.
    level : float
        The interval's level in percent.

    Returns
    -------
    float
        ``nan`` when the scale cannot be used (see `mase_scale`).
    """
    y, lo = _pair(y, lower)
    _, hi = _pair(y, upper)
    a = 1.0 - float(level) / 100.0
    penalty = (hi - lo) + 2.0 / a * (lo - y) * (y < lo) + 2.0 / a * (y - hi) * (y > hi)
    return float(np.mean(penalty) / mase_scale(insample, m))


def evaluate(y, f, insample, m: int) -> dict[str, float]:
    """All point metrics of one forecast (or one set of windows) at once.

    Parameters
    ----------
    y, f : array_like, shape (h,) or (n, h)
        Actuals and forecasts; 2-D input is averaged over all elements (windows and steps).
    insample : array_like
        Training series for the MASE scale; see `mase`.
    m : int
        Seasonal period of the MASE scale.

    Returns
    -------
    dict of str to float
        Keys ``"MAE"``, ``"RMSE"``, ``"MAPE"``, ``"sMAPE"``, ``"MASE"`` (MAPE and sMAPE in percent).
    """
    return {
        "MAE": mae(y, f),
        "RMSE": rmse(y, f),
        "MAPE": mape(y, f),
        "sMAPE": smape(y, f),
        "MASE": mase(y, f, insample, m),
    }
