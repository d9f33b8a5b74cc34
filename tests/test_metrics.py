"""Tests for lstmcli.forecasting.metrics (M4 metric definitions).

Golden values on real data (checked against ACCURACY_ANCHORS.md) live in test_baselines.py, where the
forecasts are produced; here: hand-computed cases, conventions and properties.
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lstmcli.forecasting.metrics import evaluate, mae, mape, mase, mase_scale, owa, rmse, smape

# ---------------------------------------------------------------- hand-computed cases


def test_mae_rmse_hand():
    y = [1.0, 2.0, 3.0, 4.0]
    f = [2.0, 2.0, 1.0, 4.0]  # errors 1, 0, 2, 0
    assert mae(y, f) == pytest.approx(0.75)
    assert rmse(y, f) == pytest.approx(math.sqrt(5.0 / 4.0))


def test_mape_hand_and_zero_actual():
    assert mape([100.0, 200.0], [110.0, 150.0]) == pytest.approx(0.5 * (10.0 + 25.0))
    assert mape([-100.0], [-90.0]) == pytest.approx(10.0)  # |y| in the denominator
    assert math.isnan(mape([1.0, 0.0], [1.0, 0.0]))  # undefined as soon as one actual is 0


def test_smape_hand():
    # 200*|1-3|/(1+3) = 100
    assert smape([1.0], [3.0]) == pytest.approx(100.0)
    # 0/0 counted as 0: mean of (100, 0)
    assert smape([1.0, 0.0], [3.0, 0.0]) == pytest.approx(50.0)
    assert smape([0.0, 0.0], [0.0, 0.0]) == 0.0
    # opposite signs hit the upper bound 200
    assert smape([1.0], [-1.0]) == pytest.approx(200.0)
    assert smape([0.0], [5.0]) == pytest.approx(200.0)


def test_smape_nan_forecast_is_not_perfect():
    assert math.isnan(smape([1.0, 2.0], [np.nan, 2.0]))


def test_mase_scale_hand():
    # m = 1: diffs 1, 2, 3 -> 2
    assert mase_scale([1.0, 2.0, 4.0, 7.0], 1) == pytest.approx(2.0)
    # m = 2: |2-1|, |7-5|, |4-2| -> 5/3
    assert mase_scale([1.0, 5.0, 2.0, 7.0, 4.0], 2) == pytest.approx(5.0 / 3.0)


@pytest.mark.parametrize("m", [3, 12])
def test_mase_scale_falls_back_to_lag_one_when_not_longer_than_m(m):
    # len 3 <= m: lag-1 differences 2, 3 -> 2.5
    assert mase_scale([1.0, 3.0, 6.0], m) == pytest.approx(2.5)


def test_mase_scale_zero_or_undefined_is_nan():
    assert math.isnan(mase_scale([5.0, 5.0, 5.0], 1))  # constant
    assert math.isnan(mase_scale([1.0, 2.0, 1.0, 2.0], 2))  # repeats its season exactly
    assert math.isnan(mase_scale([4.0], 1))  # a single point has no difference
    with pytest.raises(ValueError):
        mase_scale([1.0, 2.0], 0)


def test_mase_hand():
    insample = [1.0, 2.0, 4.0, 7.0]  # scale 2 (m=1)
    assert mase([8.0, 9.0], [7.0, 11.0], insample, 1) == pytest.approx(0.75)
    # MASE with m > len(insample): scale from lag 1
    assert mase([8.0], [5.5], [1.0, 3.0, 6.0], 12) == pytest.approx(1.0)
    assert math.isnan(mase([1.0], [2.0], [3.0, 3.0, 3.0], 1))


# ---------------------------------------------------------------- 2-D input (windows x steps)


def test_2d_is_mean_over_all_elements():
    y = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    f = np.array([[1.0, 2.0, 4.0], [4.0, 8.0, 6.0]])  # errors: 0 0 1 / 0 3 0
    assert mae(y, f) == pytest.approx(4.0 / 6.0)
    assert rmse(y, f) == pytest.approx(math.sqrt(10.0 / 6.0))  # not the mean of per-row RMSEs
    assert mape(y, f) == pytest.approx(np.mean([mape(y[0], f[0]), mape(y[1], f[1])]))
    assert smape(y, f) == pytest.approx(np.mean([smape(y[0], f[0]), smape(y[1], f[1])]))
    insample = [1.0, 2.0, 4.0, 7.0]
    assert mase(y, f, insample, 1) == pytest.approx(mae(y, f) / 2.0)


def test_mase_one_insample_per_row():
    y = np.array([[8.0, 9.0], [10.0, 10.0]])
    f = np.array([[7.0, 11.0], [10.0, 13.0]])
    ins = [np.array([1.0, 2.0, 4.0, 7.0]), np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])]  # scales 2 and 1
    assert mase(y, f, ins, 1) == pytest.approx(0.5 * (1.5 / 2.0 + 1.5 / 1.0))
    # an (n, T) array means one row per window as well
    ins2 = np.array([[1.0, 2.0, 4.0, 7.0], [0.0, 1.0, 2.0, 3.0]])
    assert mase(y, f, ins2, 1) == pytest.approx(0.5 * (1.5 / 2.0 + 1.5 / 1.0))
    with pytest.raises(ValueError):
        mase(y, f, ins[:1], 1)
    with pytest.raises(ValueError):
        mase(y[0], f[0], ins, 1)


def test_shape_errors():
    with pytest.raises(ValueError):
        mae([1.0, 2.0], [1.0])
    with pytest.raises(ValueError):
        smape([], [])
    with pytest.raises(ValueError):
        rmse(np.zeros((2, 2, 2)), np.zeros((2, 2, 2)))


# ---------------------------------------------------------------- OWA and evaluate


def test_owa():
    assert owa(7.19, 1.252, 7.19, 1.252) == pytest.approx(1.0)
    assert owa(5.0, 2.0, 10.0, 1.0) == pytest.approx(0.5 * (0.5 + 2.0))
    assert math.isnan(owa(1.0, 1.0, 0.0, 1.0))
    assert math.isnan(owa(1.0, 1.0, 1.0, float("nan")))


def test_owa_reproduces_anchor_from_group_means():
    # ACCURACY_ANCHORS.md, M3 Q: Naive 9.41/1.604, Naive2 7.19/1.252 -> OWA 1.295 (rounded inputs, so 2e-3)
    assert owa(9.41, 1.604, 7.19, 1.252) == pytest.approx(1.295, abs=2e-3)


def test_evaluate_keys_and_values():
    y, f, ins = [8.0, 9.0], [7.0, 11.0], [1.0, 2.0, 4.0, 7.0]
    out = evaluate(y, f, ins, 1)
    assert list(out) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE"]
    assert all(isinstance(v, float) for v in out.values())
    assert out["MAE"] == mae(y, f) and out["MASE"] == mase(y, f, ins, 1)


# ---------------------------------------------------------------- properties

_finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
_positive = st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False)
_shapes = st.one_of(st.tuples(st.integers(1, 12)), st.tuples(st.integers(1, 4), st.integers(1, 6)))


@st.composite
def _pairs(draw, elements=_finite):
    shape = draw(_shapes)
    y = draw(arrays(np.float64, shape, elements=elements))
    return y, draw(arrays(np.float64, shape, elements=elements))


@settings(max_examples=60, deadline=None)
@given(_pairs(), arrays(np.float64, st.integers(2, 20), elements=_finite), st.integers(1, 6))
def test_perfect_forecast_scores_zero(pair, insample, m):
    y, _ = pair
    assert mae(y, y) == 0.0 and rmse(y, y) == 0.0 and smape(y, y) == 0.0
    if np.all(y != 0.0):
        assert mape(y, y) == 0.0
    scale = mase_scale(insample, m)
    assert math.isnan(scale) or mase(y, y, insample, m) == 0.0


@settings(max_examples=60, deadline=None)
@given(_pairs())
def test_symmetric_metrics(pair):
    y, f = pair
    assert mae(y, f) == mae(f, y)
    assert rmse(y, f) == rmse(f, y)
    assert smape(y, f) == pytest.approx(smape(f, y), rel=1e-12, abs=1e-12)
    s = smape(y, f)
    assert 0.0 <= s <= 200.0 + 1e-9
    # abs slack: squaring errors below ~1e-154 underflows to 0 (float64 limit, not a metric bug)
    assert rmse(y, f) >= mae(y, f) * (1 - 1e-12) - 1e-150


@settings(max_examples=60, deadline=None)
@given(
    _pairs(_positive),
    arrays(np.float64, st.integers(2, 20), elements=_positive),
    st.integers(1, 6),
    st.floats(1e-3, 1e3),
)
def test_scale_free_metrics_ignore_units(pair, insample, m, c):
    y, f = pair
    assert smape(c * y, c * f) == pytest.approx(smape(y, f), rel=1e-9, abs=1e-9)
    assert mape(c * y, c * f) == pytest.approx(mape(y, f), rel=1e-9, abs=1e-9)
    a, b = mase(y, f, insample, m), mase(c * y, c * f, c * insample, m)
    assert (math.isnan(a) and math.isnan(b)) or b == pytest.approx(a, rel=1e-9, abs=1e-12)


def test_a_measure_undefined_for_every_series_averages_to_nan_without_a_warning():
    """MAPE of series with zeros is undefined (NaN) for each: NumPy's nanmean printed "RuntimeWarning:
    Mean of empty slice" and a source line to a user's terminal (a walk-through of intermittent sales)."""
    import warnings

    from lstmcli.forecasting.metrics import mean_defined
    from lstmcli.forecasting.panel_parts import mean_table

    row = {"sMAPE": 80.0, "MASE": 0.9, "MAPE": float("nan"), "OWA": 1.0}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = mean_table([{"Naive2": dict(row), "LSTM": dict(row, sMAPE=40.0)} for _ in range(3)])
        assert np.isnan(table["LSTM"]["MAPE"]) and table["LSTM"]["sMAPE"] == 40.0
        assert mean_defined([1.0, np.nan, 3.0]) == 2.0 and np.isnan(mean_defined([]))
