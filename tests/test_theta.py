"""The theta method (forecasting/theta.py): statsforecast's ``Theta`` as the reference, the anchors of
ACCURACY_ANCHORS.md, a hand-checkable drift, golden values, and the fits a model file keeps."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.forecasting.baselines import BASELINES, baseline_forecasts, fit_baselines
from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.metrics import mape, mase, smape
from lstmcli.forecasting.theta import HISTORY, fit_theta, theta, theta_from_origins
from lstmcli.forecasting.theta_loops import profile
from tests.test_baselines import _long_format, _values

M3 = [("m3_quarterly_dev.csv", 4), ("m3_yearly_dev.csv", 1)]  # 25 + 25 series


def _m3_series():
    for name, m in M3:
        for sid, (train, test) in _long_format(name).items():
            yield sid, train, test, m


def test_theta_matches_statsforecast_on_m3_series():
    """Each forecast within 1e-3 of the series' mean absolute value of statsforecast's, unless lstmcli
    found a strictly lower minimum of the same objective (statsforecast's Nelder-Mead starts at alpha
    0.5 and can stop in a local one). 1e-3: statsforecast stops when the simplex's objective values
    agree to 1e-4, which moves alpha by up to about 1e-3 on these series (5e-5 at most observed)."""
    models = pytest.importorskip("statsforecast.models")
    from statsforecast.theta import auto_theta

    close = 0
    for sid, train, test, m in _m3_series():
        h = test.size
        ours = theta(train, h, m)
        ref = models.Theta(season_length=m).forecast(train, h)["mean"]
        scale = float(np.mean(np.abs(train)))
        if np.max(np.abs(ours - ref)) <= 1e-3 * scale:
            close += 1
            continue
        # not close: lstmcli's optimum must be the better one of the same objective
        fit = fit_theta(train, m)
        assert m == 1, sid  # (the quarterly series all agree)
        sf = auto_theta(train, m, model="STM")
        x = train
        ours_sse = profile(x, fit.alpha, fit.intercept, fit.slope)[0]
        theirs_sse = profile(x, float(sf["par"]["alpha"]), fit.intercept, fit.slope)[0]
        assert ours_sse < theirs_sse * (1 - 1e-6), sid
    assert close >= 49  # of 50 (N0127: two minima, statsforecast stops in the worse one)


def test_theta_m3_quarterly_group_anchor():
    # ACCURACY_ANCHORS.md, "M3 Q (n=25)": Theta (statsforecast 2.1.1) sMAPE 6.61, MASE 1.069
    scores = [
        (smape(test, f), mase(test, f, train, 4))
        for train, test in _long_format("m3_quarterly_dev.csv").values()
        for f in [theta(train, test.size, 4)]
    ]
    s, ms = np.mean(scores, axis=0)
    assert abs(s - 6.61) <= 0.005 and abs(ms - 1.069) <= 0.0005
    assert (s, ms) == pytest.approx((6.608268478, 1.068939062), rel=1e-8)  # golden, this implementation


def test_theta_single_series_anchor_and_golden_values():
    y = _values("airpassengers.csv")
    train, test = y[:-12], y[-12:]
    f = theta(train, 12, 12)
    assert abs(mape(test, f) - 5.32) <= 0.005  # ACCURACY_ANCHORS.md, single series, Theta MAPE
    fit = fit_theta(train, 12)
    assert fit.alpha == pytest.approx(0.8385687925863585, rel=1e-9)
    assert f[:3] == pytest.approx([411.3703221250281, 402.27474383665145, 462.88287956082934], rel=1e-9)
    shampoo = theta(_values("shampoo_sales.csv")[:-12], 3, 12)  # not seasonal: SES with drift only
    assert shampoo == pytest.approx([306.6608397121237, 309.9283179729932, 313.19579623386284], rel=1e-9)


def test_theta_drift_is_half_the_slope_by_hand():
    """On a straight line y = 5 + 2t the fitted slope is 2 and, far from the start, each forecast step
    adds half of it; a series of 3 values (statsforecast refuses it) is the naive forecast, a
    constant is itself."""
    y = 5.0 + 2.0 * np.arange(300)
    fit = fit_theta(y, 1)
    assert fit.slope == pytest.approx(2.0, rel=1e-12) and fit.intercept == pytest.approx(3.0, rel=1e-9)
    assert np.diff(theta(y, 10, 1)) == pytest.approx(np.ones(9), rel=1e-9)
    assert theta([1.0, 5.0, 2.0], 4, 1).tolist() == [2.0] * 4
    assert theta(np.full(30, 7.5), 5, 4).tolist() == [7.5] * 5


def test_forecast_of_given_parameters_by_hand():
    # level 10, alpha 0.5, slope 2 at position 10: d_k = 0.5 * 2 * (1 - 0.5 * 0.5**k) / 0.5
    fit = BaselineFit(10.0, alpha=0.5, intercept=0.0, slope=2.0, n=10, seasonal=np.array([1.0, 2.0]))
    d10, d11 = 2 * (1 - 0.5**11), 2 * (1 - 0.5**12)
    expected = [(10 + d10) * 1.0, (10 + 0.5 * d10 + d11) * 2.0]  # positions 10 and 11: phases 0 and 1
    assert fit.forecast(2) == pytest.approx(expected, rel=1e-14)


def test_theta_from_origins_is_theta_of_each_prefix_bit_for_bit():
    y = _values("uk_gas_quarterly.csv")
    origins = np.array([20, 57, 90, 100])
    rows = theta_from_origins(y, origins, 6, 4)
    for row, o in zip(rows, origins, strict=True):
        assert np.array_equal(row, theta(y[:o], 6, 4))
    assert np.array_equal(baseline_forecasts(y, origins, 6, 4)["Theta"], rows)


def test_theta_fits_only_the_last_history_values():
    rng = np.random.default_rng(3)
    y = np.cumsum(rng.normal(size=HISTORY + 50)) + 100.0
    assert np.array_equal(theta(y, 5, 1), theta(y[-HISTORY:], 5, 1))


@pytest.mark.parametrize("m", [1, 4, 12])
@pytest.mark.parametrize("n", [1, 3, 5, 13, 40, 100])
def test_fitted_baselines_forecast_as_the_baselines_bit_for_bit(n, m):
    rng = np.random.default_rng(n * 100 + m)
    y = 20.0 + np.abs(rng.normal(10, 2, n)) + 3 * np.sin(np.arange(n))
    fits = fit_baselines(y, m)
    assert list(fits) == list(BASELINES)
    for name, fc in BASELINES.items():
        assert np.array_equal(fits[name].forecast(30), fc(y, 30, m)), name
        again = BaselineFit.from_dict(fits[name].to_dict())  # as a model file keeps it
        assert np.array_equal(again.forecast(30), fc(y, 30, m)), name


def test_a_damaged_fit_is_refused():
    good = fit_baselines(_values("uk_gas_quarterly.csv"), 4)["Theta"].to_dict()
    for key, value in [("alpha", 0.0), ("alpha", 1.5), ("level", float("nan")), ("seasonal", [1.0, -1.0]),
                       ("n", 0), ("seasonal", [])]:  # fmt: skip
        with pytest.raises(ValueError):
            BaselineFit.from_dict(good | {key: value})
