"""The ES baseline (forecasting/smoothing.py): its fit against a plain-Python search of the same grid,
exact cases, the damped trend a model file keeps, and the seasonal adjustment it shares with Theta."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.smoothing import ALPHAS, BETA_SHARES, PHIS, es, fit_es
from lstmcli.forecasting.theta import fit_theta
from tests.test_baselines import _long_format, _values


def _errors(x, alpha, beta, phi, level, trend):
    """One-step errors and the final states, in plain Python (the model as the docstring writes it)."""
    errors = []
    for v in x:
        f = level + phi * trend
        e = v - f
        errors.append(e)
        level, trend = f + alpha * e, phi * trend + beta * e
    return np.array(errors), level, trend


def _best(x, with_trend):
    """(SSE, forecast parameters and final states) of the best grid point, initial states by lstsq."""
    best = None
    grid = [(a, a * s, p) for a in ALPHAS for s in BETA_SHARES for p in PHIS] if with_trend else [
        (a, 0.0, 0.0) for a in ALPHAS
    ]  # fmt: skip
    for a, b, p in grid:
        c = _errors(x, a, b, p, 0.0, 0.0)[0]
        columns = [_errors(np.zeros_like(x), a, b, p, 1.0, 0.0)[0]]
        if with_trend:
            columns.append(_errors(np.zeros_like(x), a, b, p, 0.0, 1.0)[0])
        start = np.linalg.lstsq(np.stack(columns, axis=1), -c, rcond=None)[0]
        l0, b0 = float(start[0]), float(start[1]) if with_trend else 0.0
        e, level, trend = _errors(x, a, b, p, l0, b0)
        sse = float(e @ e)
        if best is None or sse < best[0]:
            best = (sse, a, p, level, trend)
    return best


def _trending(n: int = 30) -> np.ndarray:
    """A noisy line: the best fit smooths slowly, so the initial states matter."""
    return 50.0 + 3.0 * np.arange(n) + np.random.default_rng(5).normal(0, 2, n)


@pytest.mark.parametrize("name", ["us_accidental_deaths.csv", "airpassengers.csv", "trending"])
def test_the_fit_is_the_best_grid_point_of_the_model_aicc_chooses(name):
    y = _trending() if name == "trending" else _values(name)[:40]
    m = 1 if name == "trending" else 12
    s = fit_theta(y, m).seasonal  # the same seasonal adjustment as Theta's
    x = y / s[np.arange(y.size) % s.size]
    n = x.size
    fits = {}
    for with_trend, k in ((False, 2), (True, 5)):
        sse, a, p, level, trend = _best(x, with_trend)
        aicc = n * math.log(sse / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
        h = np.arange(1, 13)
        damped = np.cumsum(p**h) if with_trend else np.zeros(12)
        fits[with_trend] = (aicc, (level + damped * trend) * s[(n + h - 1) % s.size])
    expected = min(fits.values(), key=lambda v: v[0])[1]
    np.testing.assert_allclose(es(y, 12, m), expected, rtol=1e-7)
    np.testing.assert_array_equal(fit_es(y, m).seasonal, s)


def test_the_initial_states_are_the_least_squares_ones():
    """Where the initial states matter (small alpha and beta, a short trending series), each parameter
    set's level and trend solve the least-squares problem the plain-Python model poses."""
    from lstmcli.forecasting.smoothing_loops import grid_fits

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
        e, last_level, last_trend = _errors(x, a, b, p, *start)
        assert sse[g] == pytest.approx(float(e @ e), rel=1e-9)
        assert (level[g], slope[g]) == pytest.approx((last_level, last_trend), rel=1e-9)
    assert level0[1] + trend0[1] == pytest.approx(20.0, abs=3.0) and trend0[1] == pytest.approx(
        3.0, abs=0.5
    )  # Holt


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


def test_a_format_1_3_file_without_es_forecasts_as_it_did(tmp_path):
    """tests/fixtures/model_v1_3_theta.npz was written by commit d9d0de2 (before ES; the default then
    combined the networks with Theta alone), with the forecasts below."""
    from pathlib import Path

    from lstmcli.errors import ConfigError
    from lstmcli.forecasting.forecaster import Forecaster

    fixture = Path(__file__).resolve().parent / "fixtures" / "model_v1_3_theta.npz"
    model = Forecaster.load(fixture)
    assert model.format_version_ == "1.3" and model.config.combine == "theta"
    assert "ES" not in model.state_.baselines
    f = model.predict(6, levels=(80,))
    np.testing.assert_allclose(
        f.values, [286.7171811173734, 307.60237700479524, 309.56850766920206, 302.39354537978204,
                   307.118510402503, 317.62604511189187], rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(
        f.intervals[80][0], [278.02558091085973, 295.3879749326838, 296.5293714558707, 288.8739117717406,
                             290.3503645573626, 300.8578992667515], rtol=1e-12)  # fmt: skip
    with pytest.raises(ConfigError, match="before lstmcli kept the ES baseline"):
        model.predict(6, method="es")
    model.save(tmp_path / "again.npz")
    again = Forecaster.load(tmp_path / "again.npz")
    assert again.format_version_ == "2.0"
    np.testing.assert_array_equal(again.predict(6).values, model.predict(6).values)
