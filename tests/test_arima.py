"""The ARIMA baseline (forecasting/arima.py): its choice and forecast against a plain least-squares
search written independently, exact cases, what a model file keeps, and its place in the default mean
for series without a season."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lstmcli.forecasting.arima import MAX_PHI, arima, arima_from_origins, fit_arima
from lstmcli.forecasting.baselines import BASELINES, seasonal_indices
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.forecaster import Forecaster
from tests.test_baselines import _values
from tests.test_forecaster import series


def _reference(x: np.ndarray, h: int, m: int) -> np.ndarray:
    """The module docstring step by step: np.linalg.lstsq for each model, AICc, then the differences
    forecast one after the other and summed (no closed form)."""
    s = np.resize(seasonal_indices(x, m), x.size + h)
    adjusted = x / s[: x.size]
    log = bool(np.all(adjusted > 0))
    data = np.log(adjusted) if log else adjusted
    d = np.diff(data)
    y, z = d[1:], d[:-1]
    best = None
    for constant in (False, True):
        for ar in (False, True):
            columns = ([np.ones_like(y)] if constant else []) + ([z] if ar else [])
            if columns:
                design = np.stack(columns, axis=1)
                beta = np.linalg.lstsq(design, y, rcond=None)[0]
                r = y - design @ beta
            else:
                beta, r = np.zeros(0), y
            c = float(beta[0]) if constant else 0.0
            phi = float(beta[-1]) if ar else 0.0
            if ar and not 0 <= phi <= MAX_PHI:
                continue
            n, k = y.size, len(columns) + 1
            aicc = n * math.log(float(r @ r) / n) + 2 * k + 2 * k * (k + 1) / (n - k - 1)
            if best is None or aicc < best[0]:
                best = (aicc, c, phi)
    _, c, phi = best
    path, change = [], d[-1]
    level = data[-1]
    for _ in range(h):
        change = c + phi * change
        level = level + change
        path.append(level)
    path = np.array(path)
    return (np.exp(path) if log else path) * s[x.size :]


def _noisy_growth(n: int = 40, seed: int = 3) -> np.ndarray:
    """Log-growth whose changes follow an AR(1) around a drift: the autoregressive model should win."""
    rng = np.random.default_rng(seed)
    change, out = 0.0, [0.0]
    for _ in range(n - 1):
        change = 0.02 + 0.7 * (change - 0.02) + rng.normal(0, 0.01)
        out.append(out[-1] + change)
    return 100.0 * np.exp(np.array(out))


@pytest.mark.parametrize(
    "name, m",
    [("growth", 1), ("accidental", 12), ("shampoo", 12), ("negative", 1), ("walk", 1), ("airpassengers", 12)],
)
def test_the_fit_equals_a_plain_least_squares_search(name, m):
    rng = np.random.default_rng(0)
    x = {
        "growth": _noisy_growth(),
        "accidental": _values("us_accidental_deaths.csv"),
        "shampoo": _values("shampoo_sales.csv"),
        "negative": np.cumsum(rng.normal(0.3, 1.0, 50)) - 5.0,  # crosses zero: fitted on its values
        "walk": 50.0 + np.cumsum(rng.normal(0, 1.0, 60)),
        "airpassengers": _values("airpassengers.csv"),
    }[name]
    np.testing.assert_allclose(arima(x, 9, m), _reference(x, 9, m), rtol=1e-10)


def test_the_autoregressive_model_is_chosen_when_changes_persist_and_fades_into_the_drift():
    fit = fit_arima(_noisy_growth(200), 1)
    assert fit.log and 0.4 < fit.damping < 0.9 and fit.trend != 0.0  # the AR(1) on the changes
    f = np.log(fit.forecast(60))
    steps = np.diff(f)
    drift = fit.slope / 2.0
    assert drift == pytest.approx(0.02, abs=0.01)
    # each step's change minus the drift shrinks by phi: the last change fades into the drift (the first
    # steps, while the difference is far above rounding)
    np.testing.assert_allclose((steps[1:8] - drift) / (steps[:7] - drift), fit.damping, rtol=1e-6)


def test_exact_cases():
    growth = 10.0 * 1.1 ** np.arange(12)  # constant growth: the random walk with drift on the logarithms
    np.testing.assert_allclose(arima(growth, 5, 1), 10.0 * 1.1 ** np.arange(12, 17), rtol=1e-12)
    line = 3.0 - 2.0 * np.arange(10.0)  # negative values: the drift on the values
    np.testing.assert_allclose(arima(line, 4, 1), 3.0 - 2.0 * np.arange(10.0, 14.0), rtol=1e-12)
    assert np.array_equal(arima(np.full(20, 7.0), 3, 1), np.full(3, 7.0))  # constant: naive
    assert np.array_equal(arima([1.0, 4.0, 2.0], 3, 1), np.full(3, 2.0))  # too short: naive


def test_a_negative_autoregression_is_never_chosen():
    """Changes that alternate (a phi below 0) would forecast an oscillation: that model is left out, so
    the damping a model file keeps stays in [0, 1]."""
    x = 100.0 + np.cumsum(np.tile([4.0, -3.0], 20) + np.random.default_rng(1).normal(0, 0.2, 40))
    fit = fit_arima(x, 1)
    assert 0.0 <= fit.damping <= 1.0
    assert fit.trend == 0.0  # a random walk, with or without drift


def test_the_fit_round_trips_through_its_numbers_and_forecasts_the_same():
    for x, m in ((_noisy_growth(), 1), (_values("airpassengers.csv"), 12), (np.cumsum(np.ones(30)) - 10, 1)):
        fit = fit_arima(x, m)
        back = BaselineFit.from_dict(fit.to_dict())
        assert np.array_equal(back.forecast(30), fit.forecast(30))
        assert np.array_equal(fit.forecast(30), arima(x, 30, m))


@pytest.mark.parametrize("m", [1, 4, 12])
def test_from_origins_equals_one_fit_per_origin_bit_for_bit(m):
    y = _values("airpassengers.csv")
    origins = np.array([3, 4, 11, 36, 37, 90, 144])
    out = arima_from_origins(y, origins, 7, m)
    for row, o in zip(out, origins, strict=True):
        assert np.array_equal(row, arima(y[:o], 7, m))


def test_a_series_without_a_season_forecasts_the_mean_of_networks_theta_es_and_arima(tmp_path):
    y = _noisy_growth(48)
    tiny = ForecasterConfig(hidden=6, epochs=6, patience=3, ensemble=2, season=1, horizon=4)
    plain = Forecaster(replace(tiny, combine="none")).fit(series(y))
    model = Forecaster(tiny).fit(series(y))
    assert model.state_.config.combine == "theta+es+arima"  # what "auto" resolved to
    members = sum(BASELINES[name](y, 6, 1) for name in ("Theta", "ES", "ARIMA"))
    assert model.predict(6).values == pytest.approx((plain.predict(6).values + members) / 4, rel=1e-12)
    model.save(tmp_path / "yearly.npz")
    back = Forecaster.load(tmp_path / "yearly.npz")
    assert back.state_.config.combine == "theta+es+arima"
    assert np.array_equal(back.predict(6).values, model.predict(6).values)
    assert np.array_equal(back.predict(6, method="arima").values, arima(y, 6, 1))


def test_an_older_file_has_no_arima_and_says_so_in_one_line():
    from pathlib import Path

    from lstmcli.errors import ConfigError

    old = Forecaster.load(Path(__file__).parent / "fixtures" / "model_v2_0.npz")
    with pytest.raises(
        ConfigError, match=r"format 2\.0\) was written before lstmcli kept the ARIMA baseline"
    ):
        old.predict(3, method="arima")
    y = _values("airpassengers.csv")  # with the data given, it is fitted to that
    assert np.array_equal(old.predict(3, data=series(y), method="arima").values, arima(y, 3, 12))


@pytest.mark.parametrize("mode", ["global", "local"])
def test_a_panel_of_yearly_series_keeps_arima_in_its_file_and_its_mean(tmp_path, mode):
    import pandas as pd

    from lstmcli.forecasting.panel import PanelForecaster

    rows, values = [], {}
    for k, sid in enumerate(["a", "b", "c"]):
        y = _noisy_growth(30, seed=k)
        values[sid] = y
        rows += [(sid, f"{1990 + t}-01-01", v) for t, v in enumerate(y)]
    frame = pd.DataFrame(rows, columns=["id", "date", "value"])
    tiny = ForecasterConfig(hidden=6, epochs=3, patience=0, ensemble=2, horizon=4)
    model = PanelForecaster(tiny, mode=mode).fit_frame(frame, id_col="id", time_col="date", target="value")
    assert all(model.forecaster(sid).state_.config.combine == "theta+es+arima" for sid in values)
    model.save(tmp_path / "panel.npz")
    back = PanelForecaster.load(tmp_path / "panel.npz")
    assert back.state_.format_version == "4.0"
    a, b = model.predict(6), back.predict(6)
    for sid, y in values.items():
        assert np.array_equal(a[sid].values, b[sid].values)
        assert np.array_equal(back.predict(6, method="arima")[sid].values, arima(y, 6, 1))
