"""The ES baseline (forecasting/smoothing.py): its fits (the damped trend on the adjusted series, and
Holt-Winters on the logarithms of seasonal data) against a plain-Python search of the same grids, exact
cases, what a model file keeps, and the seasonal figure it shares with Theta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmcli.forecasting import smoothing
from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.smoothing import ALPHAS, BETA_SHARES, PHIS, es, fit_es
from lstmcli.forecasting.theta import fit_theta
from tests.test_baselines import _long_format, _values


def _errors(x, alpha, beta, phi, level, trend, gamma=0.0, seasons=(0.0,)):
    """One-step errors and the final states, in plain Python (the models as the docstring writes them;
    observation i uses seasonal state i % m)."""
    errors, seasons = [], list(seasons)
    for i, v in enumerate(x):
        j = i % len(seasons)
        f = level + phi * trend
        e = v - (f + seasons[j])
        errors.append(e)
        level, trend = f + alpha * e, phi * trend + beta * e
        seasons[j] += gamma * e
    return np.array(errors), level, trend, np.array(seasons)


def _best(x, grid, with_trend, start=(0.0,)):
    """(SSE, forecast parameters and final states) of the best point of ``grid`` (alpha, beta, phi,
    gamma), the initial level and trend by lstsq, the seasonal states from ``start``."""
    best = None
    for a, b, p, g in grid:
        c = _errors(x, a, b, p, 0.0, 0.0, g, start)[0]
        zero = np.zeros_like(x)
        columns = [_errors(zero, a, b, p, 1.0, 0.0, g, np.zeros(len(start)))[0]]
        if with_trend:
            columns.append(_errors(zero, a, b, p, 0.0, 1.0, g, np.zeros(len(start)))[0])
        initial = np.linalg.lstsq(np.stack(columns, axis=1), -c, rcond=None)[0]
        l0, b0 = float(initial[0]), float(initial[1]) if with_trend else 0.0
        e, level, trend, seasons = _errors(x, a, b, p, l0, b0, g, start)
        sse = float(e @ e)
        if best is None or sse < best[0]:
            best = (sse, a, p, level, trend, seasons)
    return best


def _aicc(sse, n, k):
    return n * math.log(sse / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)


def _trending(n: int = 30) -> np.ndarray:
    """A noisy line: the best fit smooths slowly, so the initial states matter."""
    return 50.0 + 3.0 * np.arange(n) + np.random.default_rng(5).normal(0, 2, n)


@pytest.mark.parametrize("name", ["us_accidental_deaths.csv", "airpassengers.csv", "trending"])
def test_the_fit_is_the_best_grid_point_of_the_model_aicc_chooses(name):
    """Without a season (m = 1, or data not all positive): the damped trend or SES on the series divided
    by Theta's indices."""
    y = _trending() if name == "trending" else _values(name)[:40]
    m = 12 if name == "us_accidental_deaths.csv" else 1
    if name == "us_accidental_deaths.csv":
        y = y - 8_000.0  # below zero in places: no logarithms, the adjusted model
    s = fit_theta(y, m).seasonal  # the same seasonal adjustment as Theta's
    x = y / s[np.arange(y.size) % s.size]
    n = x.size
    fits = {}
    level_grid = [(a, 0.0, 0.0, 0.0) for a in ALPHAS]
    trend_grid = [(a, a * b, p, 0.0) for a in ALPHAS for b in BETA_SHARES for p in PHIS]
    for with_trend, k, grid in ((False, 2, level_grid), (True, 5, trend_grid)):
        sse, a, p, level, trend, _ = _best(x, grid, with_trend)
        h = np.arange(1, 13)
        damped = np.cumsum(p**h) if with_trend else np.zeros(12)
        fits[with_trend] = (_aicc(sse, n, k), (level + damped * trend) * s[(n + h - 1) % s.size])
    expected = min(fits.values(), key=lambda v: v[0])[1]
    np.testing.assert_allclose(es(y, 12, m), expected, rtol=1e-7)
    assert not fit_es(y, m).log
    np.testing.assert_array_equal(fit_es(y, m).seasonal, s)


@pytest.mark.parametrize("name", ["airpassengers.csv", "us_accidental_deaths.csv"])
def test_seasonal_data_get_holt_winters_on_the_logarithms(name):
    """Positive data with a season of 12 or more: the additive seasonal model on log(y), its seasonal
    states starting at the logarithms of Theta's indices, the grid point and family AICc chooses, the
    forecast exp(...)."""
    y = _values(name)[:30]
    m, n = 12, 30
    s = fit_theta(y, m).seasonal
    x = np.log(y)
    start = np.log(s)
    fits = {}
    alphas, gammas = smoothing.SEASONAL_ALPHAS, smoothing.GAMMA_SHARES
    level_grid = [(a, 0.0, 0.0, g * (1 - a)) for a in alphas for g in gammas]
    trend_grid = [
        (a, a * b, p, g * (1 - a)) for a in alphas for g in gammas for b in smoothing.SEASONAL_BETA_SHARES
        for p in smoothing.SEASONAL_PHIS
    ]  # fmt: skip
    for with_trend, k, grid in (
        (False, smoothing.SEASONAL_LEVEL_PARAMETERS, level_grid),
        (True, smoothing.SEASONAL_TREND_PARAMETERS, trend_grid),
    ):
        sse, a, p, level, trend, seasons = _best(x, grid, with_trend, start)
        h = np.arange(1, 13)
        damped = np.cumsum(p**h) if with_trend else np.zeros(12)
        fits[with_trend] = (_aicc(sse, n, k), np.exp(level + damped * trend + seasons[(n + h - 1) % m]))
    expected = min(fits.values(), key=lambda v: v[0])[1]
    fit = fit_es(y, m)
    assert fit.log and fit.additive
    np.testing.assert_allclose(fit.forecast(12), expected, rtol=1e-7)
    np.testing.assert_allclose(es(y, 12, m), expected, rtol=1e-7)


def test_a_long_series_fits_its_last_observations_in_their_phase():
    """Beyond ``HISTORY`` observations only the last are fitted; their seasonal states start in the
    phase of the whole series, so fitting just those last observations (with the indices in their phase)
    gives the same forecasts, bit for bit, whichever phase the cut falls on."""
    rng = np.random.default_rng(11)
    t = np.arange(smoothing.HISTORY + 101)
    y = np.exp(3.0 + 0.001 * t + 0.3 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.05, t.size))
    s = fit_theta(y, 12).seasonal
    whole = fit_es(y, 12, s)
    cut = y.size - smoothing.HISTORY  # 101: not a multiple of 12
    last = fit_es(y[cut:], 12, s[(cut + np.arange(12)) % 12])
    assert whole.log and last.log
    np.testing.assert_array_equal(whole.forecast(24), last.forecast(24))


def test_data_with_a_zero_or_without_a_season_keep_the_adjusted_model():
    y = _values("airpassengers.csv")[:40]
    assert fit_es(y, 12).log
    assert not fit_es(y, 1).log  # no season: the damped trend on the values
    assert not fit_es(y, 4).log  # a shorter season: on the adjusted series
    with_zero = y.copy()
    with_zero[5] = 0.0
    assert not fit_es(with_zero, 12).log and np.all(np.isfinite(es(with_zero, 12, 12)))


def test_the_initial_states_are_the_least_squares_ones():
    """Where the initial states matter (small alpha and beta, a short trending series), each parameter
    set's level and trend solve the least-squares problem the plain-Python model poses."""
    from lstmcli.forecasting.smoothing_loops import grid_fits, seasonal_grid_fits

    rng = np.random.default_rng(3)
    x = 20.0 + 3.0 * np.arange(20) + rng.normal(0, 2, 20)
    alphas, betas, phis = np.array([0.02, 0.1, 0.5]), np.array([0.0, 0.01, 0.2]), np.array([0.9, 1.0, 0.8])
    sse, level0, trend0, level, slope = (np.empty(3) for _ in range(5))
    grid_fits(x, alphas, betas, phis, True, sse, level0, trend0, level, slope)
    for g in range(3):
        a, b, p = alphas[g], betas[g], phis[g]
        c = _errors(x, a, b, p, 0.0, 0.0)[0]
        design = np.stack(
            [_errors(np.zeros(20), a, b, p, *unit)[0] for unit in ((1.0, 0.0), (0.0, 1.0))], axis=1
        )
        start = np.linalg.lstsq(design, -c, rcond=None)[0]
        np.testing.assert_allclose([level0[g], trend0[g]], start, rtol=1e-8)
        e, last_level, last_trend, _ = _errors(x, a, b, p, *start)
        assert sse[g] == pytest.approx(float(e @ e), rel=1e-9)
        assert (level[g], slope[g]) == pytest.approx((last_level, last_trend), rel=1e-9)
    assert level0[1] + trend0[1] == pytest.approx(20.0, abs=3.0) and trend0[1] == pytest.approx(
        3.0, abs=0.5
    )  # Holt
    # Holt-Winters, seasonal states that evolve (gamma > 0): the level and trend still solve least
    # squares, and the final seasonal states are the plain model's
    season0 = np.array([0.5, -1.0, 0.25, 0.25])
    x = x + np.tile([4.0, -6.0, 1.0, 1.0], 5)
    gammas = np.array([0.0, 0.3, 0.1])
    states = np.empty((4, 3))
    seasonal_grid_fits(
        x, season0, alphas, betas, phis, gammas, True, sse, level0, trend0, level, slope, states
    )
    for g in range(3):
        a, b, p, gam = alphas[g], betas[g], phis[g], gammas[g]
        c = _errors(x, a, b, p, 0.0, 0.0, gam, season0)[0]
        design = np.stack(
            [_errors(np.zeros(20), a, b, p, *unit, gam, np.zeros(4))[0] for unit in ((1.0, 0.0), (0.0, 1.0))],
            axis=1,
        )
        start = np.linalg.lstsq(design, -c, rcond=None)[0]
        np.testing.assert_allclose([level0[g], trend0[g]], start, rtol=1e-8)
        e, last_level, last_trend, last_seasons = _errors(x, a, b, p, *start, gam, season0)
        assert sse[g] == pytest.approx(float(e @ e), rel=1e-9)
        np.testing.assert_allclose(states[:, g], last_seasons, rtol=1e-9, atol=1e-12)


def test_a_straight_line_is_continued():
    y = 50.0 + 2.5 * np.arange(30)
    np.testing.assert_allclose(es(y, 6, 1), 50.0 + 2.5 * np.arange(30, 36), rtol=1e-9)
    fit = fit_es(y, 1)
    assert fit.trend == pytest.approx(2.5) and fit.damping == 1.0  # Holt's linear trend wins


def test_short_and_flat_series():
    assert np.array_equal(es([3.0, 5.0, 4.0], 3, 1), [4.0, 4.0, 4.0])  # below 4 observations: naive
    assert np.array_equal(es(np.full(20, 7.0), 4, 1), np.full(4, 7.0))  # constant: naive
    fit = fit_es([3.0, 5.0, 4.0, 6.0, 5.0, 7.0], 1)  # six: AICc has no room for a trend's 5 numbers
    assert fit.trend == 0.0 and np.ptp(fit.forecast(5)) == 0.0


def test_the_damped_trend_forecast_and_its_file_form():
    fit = BaselineFit(100.0, 0.3, n=10, seasonal=np.array([0.5, 1.5]), trend=4.0, damping=0.9)
    expected, level, trend = [], 100.0, 4.0
    for j in range(6):  # step by step: the trend damps, the level carries it
        trend *= 0.9
        level += trend
        expected.append(level * (0.5, 1.5)[(10 + j) % 2])
    np.testing.assert_allclose(fit.forecast(6), expected, rtol=1e-12)
    back = BaselineFit.from_dict(fit.to_dict())
    np.testing.assert_array_equal(back.forecast(6), fit.forecast(6))
    old = {k: v for k, v in fit.to_dict().items() if k not in ("trend", "damping")}  # a file before 1.5
    assert BaselineFit.from_dict(old).trend == 0.0
    with pytest.raises(ValueError, match="damping"):
        BaselineFit.from_dict(fit.to_dict() | {"damping": 1.5})


def test_the_log_scale_forecast_and_its_file_form():
    figure = np.array([-0.2, 0.2])
    fit = BaselineFit(5.0, 0.3, n=10, seasonal=figure, additive=True, trend=0.01, damping=0.9, log=True)
    expected, level, trend = [], 5.0, 0.01
    for j in range(6):
        trend *= 0.9
        level += trend
        expected.append(math.exp(level + figure[(10 + j) % 2]))
    np.testing.assert_allclose(fit.forecast(6), expected, rtol=1e-12)
    back = BaselineFit.from_dict(fit.to_dict())
    assert back.log
    np.testing.assert_array_equal(back.forecast(6), fit.forecast(6))
    old = {k: v for k, v in fit.to_dict().items() if k != "log"}  # a file before 3.0
    assert not BaselineFit.from_dict(old).log
    with pytest.raises(ValueError, match="additive"):
        BaselineFit.from_dict(fit.to_dict() | {"additive": False, "seasonal": [0.5, 1.5]})


def test_es_beats_naive2_on_m3_yearly_series():
    """Golden-free sanity on real data: on the 25 M3 yearly development series (trending, short) ES's
    mean sMAPE is below Naive2's (there Naive2 is the naive forecast), as M4's Damped benchmark is."""
    from lstmcli.forecasting.baselines import naive2
    from lstmcli.forecasting.metrics import smape

    ours, naive = [], []
    for train, test in _long_format("m3_yearly_dev.csv").values():
        ours.append(smape(test, es(train, test.size, 1)))
        naive.append(smape(test, naive2(train, test.size, 1)))
    assert np.mean(ours) < np.mean(naive)


# Forecasts recorded when a fixture was written, on another machine: compared to this, not to the bit.
GOLDEN_RTOL = 1e-7


def _an_older_file_forecasts_as_it_did(tmp_path, name, version, combine, values, lower_80):
    """The fixture ``name`` loads as ``version`` with ``combine``, forecasts 6 steps with the 80 %
    interval it gave when written, and saved again is a current file that forecasts the same."""
    from pathlib import Path

    from lstmcli.forecasting.forecaster import Forecaster
    from lstmcli.modelfile import FORMAT_VERSION

    model = Forecaster.load(Path(__file__).resolve().parent / "fixtures" / name)
    assert model.format_version_ == version and model.config.combine == combine
    f = model.predict(6, levels=(80,))
    # Recorded on the machine that wrote the fixture; another CPU's vector width and BLAS kernels change
    # the last bits (3e-10 relative seen), a misread file far more. Bit for bit: the saved copy below.
    np.testing.assert_allclose(f.values, values, rtol=GOLDEN_RTOL)
    np.testing.assert_allclose(f.intervals[80][0], lower_80, rtol=GOLDEN_RTOL)
    model.save(tmp_path / "again.npz")
    again = Forecaster.load(tmp_path / "again.npz")
    assert again.format_version_ == FORMAT_VERSION == "4.0"
    np.testing.assert_array_equal(again.predict(6).values, f.values)
    return model, again


def test_a_format_1_3_file_without_es_forecasts_as_it_did(tmp_path):
    """tests/fixtures/model_v1_3_theta.npz was written by commit d9d0de2 (before ES; the default then
    combined the networks with Theta alone), with the forecasts below."""
    from lstmcli.errors import ConfigError

    model, _ = _an_older_file_forecasts_as_it_did(
        tmp_path, "model_v1_3_theta.npz", "1.3", "theta",
        [286.7171811173734, 307.60237700479524, 309.56850766920206, 302.39354537978204, 307.118510402503,
         317.62604511189187],
        [278.02558091085973, 295.3879749326838, 296.5293714558707, 288.8739117717406, 290.3503645573626,
         300.8578992667515],
    )  # fmt: skip
    assert "ES" not in model.state_.baselines
    with pytest.raises(ConfigError, match="before lstmcli kept the ES baseline"):
        model.predict(6, method="es")


def test_a_format_3_0_file_with_holt_winters_forecasts_as_it_did(tmp_path):
    """tests/fixtures/model_v3_0.npz was written by commit 7dac1f8 (ES's Holt-Winters on the logarithms,
    before ARIMA: ``train sample_data/air_passengers.csv --epochs 3 --hidden 4 --ensemble 1 --seed 0``),
    with the forecasts below; saved again it is a 4.0 file that forecasts the same, and has no ARIMA to
    forecast with unless given the data."""
    from lstmcli.errors import ConfigError

    model, again = _an_older_file_forecasts_as_it_did(
        tmp_path, "model_v3_0.npz", "3.0", "theta+es",
        [444.0521320211394, 429.345520944743, 494.1371782905992, 485.0244439844721, 493.5190670644888,
         566.1825658290117],
        [418.93871373376567, 396.6882761085334, 460.58682671762335, 435.33481318380524, 443.82943626382195,
         516.4929350283448],
    )  # fmt: skip
    assert model.state_.baselines["ES"].log and again.state_.baselines["ES"].log
    np.testing.assert_allclose(
        again.predict(6, method="es").values, [445.137379405795, 436.2373059757836, 502.05808962519285,
                                               491.0056123020925, 498.45585179550307, 570.5713459340853],
        rtol=1e-12)  # fmt: skip
    assert "ARIMA" not in again.state_.baselines
    with pytest.raises(ConfigError, match="before lstmcli kept the ARIMA baseline"):
        again.predict(6, method="arima")


def test_a_format_2_0_file_forecasts_as_it_did(tmp_path):
    """tests/fixtures/model_v2_0.npz was written by commit cf83edf (ES on the adjusted series for every
    season: ``train sample_data/air_passengers.csv --epochs 3 --hidden 4 --ensemble 1 --seed 0``), with
    the forecasts below; saved again it is a current file that forecasts the same."""
    model, again = _an_older_file_forecasts_as_it_did(
        tmp_path, "model_v2_0.npz", "2.0", "theta+es",
        [443.20227554554526, 427.8897331863954, 491.7435608381683, 481.98000363227555, 489.71315753247035,
         561.006123035169],
        [417.2410190602717, 395.69656536132266, 456.65481889342647, 431.3073813236935, 439.0405352238883,
         510.333500726587],
    )  # fmt: skip
    assert not model.state_.baselines["ES"].log and not again.state_.baselines["ES"].log
    np.testing.assert_allclose(
        model.predict(6, method="es").values, [442.5878099790125, 431.8699427007407, 494.8772372679003,
                                               481.87229124550265, 487.0381231994476, 555.0420175525577],
        rtol=1e-12)  # fmt: skip
