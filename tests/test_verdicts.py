"""Honest verdicts (issue #21): the combinations with Theta and ES, ``predict --method``, the validated
horizon steps, the first-epoch warning, and the model file keeping all of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from lstmcli.errors import ConfigError
from lstmcli.forecasting.baselines import BASELINES
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.fitting import NETWORKS_ROW
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.verdicts import best_method, first_epoch_members, validated_steps, winner
from lstmcli.npzfile import open_archive
from tests.test_forecaster import seasonal_series, series

TINY = ForecasterConfig(hidden=6, epochs=8, patience=4, ensemble=2)


@pytest.fixture(scope="module")
def pair(tmp_path_factory):
    """The same data and seed with and without combine, both saved and read back."""
    y = seasonal_series(96)
    folder = tmp_path_factory.mktemp("combine")
    out = {}
    for combine in ("none", "theta", "theta+es"):
        model = Forecaster(ForecasterConfig(**{**TINY.to_dict(), "combine": combine})).fit(series(y))
        model.save(folder / f"{combine}.npz")
        out[combine] = (model, Forecaster.load(folder / f"{combine}.npz"), folder / f"{combine}.npz")
    return y, out


def test_combine_is_the_mean_of_the_networks_and_theta(pair):
    y, out = pair
    plain, combined = out["none"][0], out["theta"][0]
    theta = BASELINES["Theta"](y, 12, 12)
    # combining changes no training: the networks are the same, the forecast the mean with Theta
    assert combined.predict(12).values == pytest.approx((plain.predict(12).values + theta) / 2, rel=1e-12)
    table = combined.validation_
    assert list(table)[:2] == ["LSTM", NETWORKS_ROW] and "Theta" in table
    assert table[NETWORKS_ROW] == pytest.approx(plain.validation_["LSTM"], rel=1e-12)
    # the intervals are conformal on the combination's own validation errors
    assert not np.allclose(combined.residuals_, plain.residuals_)
    assert "Theta" in plain.validation_ and NETWORKS_ROW not in plain.validation_


def test_combine_theta_es_is_the_mean_of_the_networks_theta_and_es(pair):
    y, out = pair
    plain, combined = out["none"][0], out["theta+es"][0]
    members = BASELINES["Theta"](y, 12, 12) + BASELINES["ES"](y, 12, 12)
    assert combined.predict(12).values == pytest.approx((plain.predict(12).values + members) / 3, rel=1e-12)
    assert list(combined.validation_)[:2] == ["LSTM", NETWORKS_ROW] and "ES" in combined.validation_
    assert combined.validation_[NETWORKS_ROW] == pytest.approx(plain.validation_["LSTM"], rel=1e-12)
    loaded = out["theta+es"][1]
    assert loaded.config.combine == "theta+es"
    assert np.array_equal(loaded.predict(12, levels=(80,)).values, combined.predict(12, levels=(80,)).values)


def test_combine_round_trips_through_the_model_file(pair):
    _, out = pair
    fitted, loaded, path = out["theta"]
    assert loaded.config.combine == "theta"
    meta = json.loads(str(open_archive(path, lambda k: True, {"metadata": 1 << 24})["metadata"]))
    assert meta["settings"]["combine"] == "theta" and meta["format_version"] == "4.0"
    assert sorted(meta["baselines"]) == sorted(BASELINES)
    a, b = fitted.predict(20, levels=(80, 99.5)), loaded.predict(20, levels=(80, 99.5))
    assert np.array_equal(a.values, b.values)
    assert all(np.array_equal(a.intervals[k][j], b.intervals[k][j]) for k in a.intervals for j in (0, 1))


@pytest.mark.parametrize("method", ["naive", "snaive", "naive2", "theta", "es", "arima"])
def test_predict_method_gives_that_baseline_of_the_whole_series(pair, method):
    y, out = pair
    name = {
        "naive": "Naive", "snaive": "Seasonal naive", "naive2": "Naive2", "theta": "Theta", "es": "ES", "arima": "ARIMA",
    }[method]  # fmt: skip
    _, loaded, _ = out["none"]
    assert np.array_equal(loaded.predict(15, method=method).values, BASELINES[name](y, 15, 12))
    newer = series(y[:80])  # with newer data: fitted to that
    assert np.array_equal(loaded.predict(4, data=newer, method=method).values, BASELINES[name](y[:80], 4, 12))
    with pytest.raises(ConfigError, match="--level"):
        loaded.predict(4, method=method, levels=(80,))


def test_predict_method_best_follows_the_validation():
    table = {
        "LSTM": {"OWA": 1.1, "sMAPE": 12.0},
        "Naive": {"OWA": 2.0},
        "Seasonal naive": {"OWA": None},
        "Naive2": {"OWA": 1.0},
        "Theta": {"OWA": 0.9},
    }
    assert winner(table) == "Theta" and best_method(table) == "theta"
    assert (
        winner(table | {"LSTM": {"OWA": 0.8}}) is None
        and best_method(table | {"LSTM": {"OWA": 0.8}}) == "lstm"
    )
    assert winner(table | {"LSTM": {"OWA": 0.9}}) == "Theta"  # a tie goes to the simpler forecast
    assert winner({}) is None and best_method({}) == "lstm"


def test_validated_steps_counts_the_steps_with_an_actual():
    res = np.full((5, 8), np.nan)
    for k in range(5):  # origin k has 5 - k actuals after it, as the last origins of a series do
        res[k, : 5 - k] = 1.0
    assert validated_steps(res) == 5
    assert validated_steps(np.zeros((3, 4))) == 4 and validated_steps(np.zeros((0, 4))) == 0


def test_first_epoch_members():
    assert first_epoch_members([1, 12, 0, 1]) == [0, 3]
    assert first_epoch_members([3, 4]) == []
    assert first_epoch_members([1, 1], max_epochs=1) == []  # one epoch was all it was allowed


def test_panel_predict_method_per_series(tmp_path):
    """A panel model (global and local) forecasts each series with the baseline asked for, fitted to
    that series, also after a round trip through its file; ``best`` picks each series' own winner."""
    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting.panel import PanelForecaster
    from tests.test_panel import TINY, panel_frame

    path = tmp_path / "panel.csv"
    panel_frame().to_csv(path, index=False)
    data = load_panel(path, id_col="store")
    for mode in ("global", "local"):
        model = PanelForecaster(TINY, mode=mode).fit(data, threads=1)
        model.save(tmp_path / f"{mode}.npz")
        loaded = PanelForecaster.load(tmp_path / f"{mode}.npz")
        by_id = {
            sid: np.asarray(s.values, dtype=np.float64) for sid, s in zip(data.ids, data.series, strict=True)
        }
        for sid, forecast in loaded.predict(5, method="naive2").items():
            assert np.array_equal(forecast.values, BASELINES["Naive2"](by_id[sid], 5, 12)), (mode, sid)
        best = loaded.predict(3, method="best")
        for sid, forecast in best.items():
            st = loaded.forecaster(sid).state_
            expected = loaded.forecaster(sid).predict(3, method=best_method(st.validation)).values
            assert np.array_equal(forecast.values, expected)
            assert forecast.method == best_method(st.validation)  # what made it, for the user to see


def test_the_unit_summary_and_its_words_say_what_the_half_life_is_computed_from():
    import math
    from types import SimpleNamespace

    from lstmcli.cli.render import explain_gates
    from lstmcli.data.transforms import make_pipeline
    from lstmcli.forecasting.explain import input_description, unit_summary

    f = np.array([[0.9], [0.5], [0.9], [0.5]])  # arithmetic mean 0.7, geometric 0.671
    layer = {k: np.full((4, 1), 0.5) for k in "igoch"} | {"f": f}
    (row,) = unit_summary(layer, season=12)
    assert row["mean_forget"] == pytest.approx(math.sqrt(0.45))  # (it showed 0.70 beside this half-life)
    assert row["half_life"] == pytest.approx(math.log(0.5) / math.log(row["mean_forget"]))
    assert "reaches a season" not in explain_gates(1).plain  # (it read "a season (1 steps)")
    assert "reaches a season (12 steps)" in explain_gates(12).plain
    assert "reaches a season" not in explain_gates(12, adjusted=True).plain
    prep = SimpleNamespace(
        seasonal=np.array([0.9, 1.1]),
        pipeline=make_pipeline("log,dstandard", 2).fit(np.arange(1.0, 9.0)),
        normalize="window",
    )
    assert input_description(prep) == (
        "The network sees the series divided by its seasonal indices (the season is taken out before the "
        "network and put back after, so no unit needs to carry it), then its logarithm, then scaled by its "
        "typical one-step change; each window minus its last value, so an output of 0 forecasts no change."
    )
    plain = SimpleNamespace(seasonal=np.ones(1), pipeline=make_pipeline("none", 1), normalize="none")
    assert input_description(plain) == "The network sees the series as it is."


def test_a_forecast_of_a_positive_series_that_reaches_zero_says_so():
    # a 3,000-step forecast of a Box-Cox model was exactly 0 from step 566 on, with no warning
    from lstmcli.forecasting.verdicts import forecast_warnings

    history = 50 + 10 * np.sin(np.arange(48) / 3)
    falling = np.maximum(60 - np.arange(30.0) * 3, 0.0)
    (said,) = [w for w in forecast_warnings(history, falling) if "ran down to zero" in w]
    assert said.startswith("from step 21 the forecast is 0 or less although every observed value is positive")
    assert not [w for w in forecast_warnings(history, 60 - np.arange(10.0)) if "ran down to zero" in w]
    assert not [w for w in forecast_warnings(history - 55, falling - 30) if "ran down to zero" in w]
