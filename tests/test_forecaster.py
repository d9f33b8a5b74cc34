"""The Forecaster's accuracy levers: seasonal adjustment, ensembles, refit, short series, intervals,
warnings. Small networks and few epochs: these check behaviour, not benchmark accuracy."""

from __future__ import annotations

import json
import math
import re
from dataclasses import replace

import numpy as np
import pytest

from lstmcli.data.series import SeriesData
from lstmcli.engine.training import EpochReport
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.baselines import seasonal_naive
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.intervals import conformal_width
from lstmcli.forecasting.metrics import mase, smape
from lstmcli.forecasting.verdicts import forecast_warnings

FAST = ForecasterConfig(hidden=8, epochs=40, patience=10, ensemble=3)


def series(values, freq: str | None = "MS", start: str = "2000-01-01") -> SeriesData:
    values = np.asarray(values, dtype=np.float64)
    timestamps = None
    if freq is not None:
        import pandas as pd

        timestamps = pd.date_range(start, periods=len(values), freq=freq).to_numpy()
    return SeriesData(
        path="test.csv", target="value", values=values, features=np.zeros((len(values), 0)), feature_names=(),
        time_col="date" if freq else None, timestamps=timestamps, freq=freq, notes=(),
    )  # fmt: skip


def seasonal_series(n: int = 120, seed: int = 0) -> np.ndarray:
    """Trend times a multiplicative monthly season, with 2 % noise (AirPassengers-like)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    season = 1 + 0.25 * np.sin(2 * np.pi * t / 12) + 0.1 * np.cos(4 * np.pi * t / 12)
    return 100 * np.exp(0.01 * t) * season * np.exp(rng.normal(0, 0.02, n))


# ------------------------------------------------------------------------------------------ accuracy
def test_clean_seasonal_series_beats_seasonal_naive():
    y = seasonal_series(132)
    train, test = y[:-12], y[-12:]
    model = Forecaster(FAST).fit(series(train))
    f = model.predict(12).values
    snaive = seasonal_naive(train, 12, 12)
    assert model.seasonal_.shape == (12,) and not np.allclose(model.seasonal_, 1.0)
    # seasonal naive misses the year's growth (about 12 %); the model must not
    assert smape(test, f) < 0.6 * smape(test, snaive)
    assert mase(test, f, train, 12) < 0.6 * mase(test, snaive, train, 12)


def test_trend_without_season_is_followed():
    y = 50 + 2.0 * np.arange(60) + np.random.default_rng(1).normal(0, 0.5, 60)
    model = Forecaster(replace(FAST, season=1, horizon=6)).fit(series(y[:-6], freq=None))
    f = model.predict(6).values
    naive = np.full(6, y[-7])
    assert np.mean(np.abs(f - y[-6:])) < 0.5 * np.mean(np.abs(naive - y[-6:]))


# ------------------------------------------------------------------------------------------ ensemble
def test_ensemble_is_deterministic_with_the_seed_and_is_the_median_of_its_members():
    y = seasonal_series(96)
    a = Forecaster(FAST).fit(series(y))
    b = Forecaster(FAST).fit(series(y))
    c = Forecaster(replace(FAST, seed=1)).fit(series(y))
    fa, fb, fc = (m.predict(12).values for m in (a, b, c))
    np.testing.assert_array_equal(fa, fb)
    assert not np.allclose(fa, fc)
    assert len(a.networks_) == 3 and a.network_ is a.networks_[0]
    assert a.lookbacks_ == [24, 12, 18]  # lookback diversity: 2, 1 and 1.5 seasons

    # the forecast is the per-step median of the members' own forecasts
    members = []
    for net, lookback in zip(a.networks_, a.lookbacks_, strict=True):
        one = Forecaster(a.config)
        one.state_ = replace(
            a.state_, ensemble=replace(a.state_.ensemble, networks=[net], lookbacks=[lookback])
        )
        members.append(one.predict(12).values)
    np.testing.assert_allclose(fa, np.median(np.stack(members), axis=0), rtol=1e-10)


def test_refit_trains_on_all_data_but_residuals_stay_out_of_sample():
    y = seasonal_series(96)
    with_refit = Forecaster(FAST).fit(series(y))
    without = Forecaster(replace(FAST, refit=False)).fit(series(y))
    # the same stage-1 networks validated both, so the residuals agree exactly
    np.testing.assert_array_equal(with_refit.residuals_, without.residuals_)
    assert not np.allclose(with_refit.predict(12).values, without.predict(12).values)
    assert with_refit.member_epochs_ == without.member_epochs_


def test_interruption_keeps_a_usable_model():
    calls = {"n": 0}

    def stop() -> bool:
        calls["n"] += 1
        return calls["n"] > 3

    model = Forecaster(FAST).fit(series(seasonal_series(96)), should_stop=stop)
    assert model.train_result_.stop_reason == "interrupted"
    assert np.all(np.isfinite(model.predict(12).values))


def test_progress_reports_never_go_backwards():
    seen = []
    Forecaster(FAST).fit(series(seasonal_series(96)), on_epoch=lambda r: seen.append((r.epoch, r.epochs)))
    epochs = [e for e, _ in seen]
    assert epochs == sorted(epochs) and 1 <= epochs[0] and epochs[-1] <= FAST.epochs
    assert all(total == FAST.epochs for _, total in seen)


def test_progress_of_runs_side_by_side_shows_the_first_run_still_training():
    from lstmcli.forecasting.ensemble import Progress

    seen: list[EpochReport] = []
    progress = Progress(seen.append, epochs=10, runs=2)
    first, second = progress.start(10), progress.start(10)
    report_first, report_second = progress.reporter(first), progress.reporter(second)

    def report(reporter, epoch: int, loss: float) -> None:
        reporter(EpochReport(epoch, 10, loss, loss, epoch, loss, 0.1 * epoch))

    report(report_first, 1, 1.0)
    report(report_second, 1, 5.0)  # the second run's numbers do not replace the first's
    report(report_second, 2, 4.0)
    assert [(r.epoch, r.train_loss) for r in seen] == [(1, 1.0), (1, 1.0), (2, 1.0)]
    progress.finish(first)
    report(report_second, 4, 3.0)  # the first run is done: now the second's
    assert (seen[-1].epoch, seen[-1].train_loss) == (7, 3.0)


# ------------------------------------------------------------------------------------------ seasonal phase
def test_seasonal_phase_is_the_same_from_the_tail_the_file_and_the_full_series():
    y = seasonal_series(100)  # 100 % 12 = 4: the forecast starts mid-season
    # the networks' forecast: with --combine theta, Theta's half is fitted to the data given (by design)
    model = Forecaster(replace(FAST, combine="none")).fit(series(y))
    from_tail = model.predict(12).values
    # compared with the same engine as predict's (NumPy): the phase is what this test is about
    from_full = model.forecast_from_origins(y, np.zeros((len(y), 0)), np.array([len(y)]), 12, compiled=False)
    from_full = from_full[0]
    np.testing.assert_allclose(from_tail, from_full, rtol=1e-9)
    # newer data with dates: the phase comes from the dates, not from where the file starts
    newer = series(y[30:], start="2002-07-01")
    np.testing.assert_allclose(model.predict(12, data=newer).values, from_full, rtol=1e-9)


def test_non_seasonal_or_non_positive_series_are_not_adjusted():
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, 80)
    assert Forecaster(FAST).fit(series(noise)).seasonal_.shape == (1,)  # not positive
    walk = 100 + np.cumsum(rng.normal(0, 1, 80))
    model = Forecaster(replace(FAST, deseasonalize="none")).fit(series(seasonal_series(80)))
    assert model.seasonal_.shape == (1,)
    assert Forecaster(replace(FAST, season=1)).fit(series(walk)).seasonal_.shape == (1,)


def test_auto_transform_is_box_cox_only_for_positive_seasonal_series():
    pos = Forecaster(FAST).fit(series(seasonal_series(60)))
    assert [s.name for s in pos.pipeline_.steps] == ["power", "dstandard"]
    yearly = Forecaster(replace(FAST, season=1, horizon=4)).fit(series(seasonal_series(60), freq=None))
    assert [s.name for s in yearly.pipeline_.steps] == ["dstandard"]
    neg = Forecaster(FAST).fit(series(np.sin(np.arange(60.0))))
    assert [s.name for s in neg.pipeline_.steps] == ["dstandard"]
    explicit = Forecaster(replace(FAST, transform="standard")).fit(series(seasonal_series(60)))
    assert [s.name for s in explicit.pipeline_.steps] == ["standard"]


def test_recent_seasonal_indices_follow_a_changing_season():
    from lstmcli.forecasting.baselines import seasonal_indices
    from lstmcli.forecasting.seasonal import classical_indices

    def recent_seasonal_indices(y, m, span):  # what the forecaster's seasonal adjustment computes
        return classical_indices(y, m, span=span)

    t = np.arange(240)
    amplitude = np.where(t < 144, 0.05, 0.3)  # the season grows six-fold after 12 years
    y = 100 * (1 + amplitude * np.sin(2 * np.pi * t / 12))
    recent = recent_seasonal_indices(y, 12, 8)
    assert recent is not None and np.ptp(recent) > 0.5  # the last 8 years: the strong season
    assert np.ptp(seasonal_indices(y, 12)) < np.ptp(recent)  # all 20 years: diluted
    full = recent_seasonal_indices(y, 12, None)
    np.testing.assert_allclose(full, seasonal_indices(y, 12))  # span None: M4's classical indices
    # phases count from the start of the whole series, whatever the span
    shifted = recent_seasonal_indices(y[5:], 12, 8)
    np.testing.assert_allclose(np.roll(shifted, 5), recent, rtol=1e-9)


def test_blown_up_weights_count_as_diverged_even_with_a_bounded_loss():
    model = Forecaster(replace(FAST, epochs=3, lr=1e30)).fit(series(seasonal_series(80)))
    assert model.train_result_.stop_reason == "diverged"


# ------------------------------------------------------------------------------------------ short series
@pytest.mark.parametrize(("n", "h", "m"), [(13, 6, 1), (16, 8, 4), (43, 18, 12)])
def test_short_series_like_m4_yearly_quarterly_monthly_train(n, h, m):
    y = 100 + np.cumsum(np.random.default_rng(n).normal(1, 2, n))
    model = Forecaster(replace(FAST, season=m, horizon=h)).fit(series(y, freq=None))
    f = model.predict(h, levels=(80, 95))
    assert f.values.shape == (h,) and np.all(np.isfinite(f.values))
    lo80, hi80 = f.intervals[80]
    lo95, hi95 = f.intervals[95]
    assert (
        np.all(lo95 <= lo80)
        and np.all(lo80 <= f.values)
        and np.all(f.values <= hi80)
        and np.all(hi80 <= hi95)
    )


def test_too_short_for_the_horizon_is_a_clear_error():
    with pytest.raises(ConfigError, match="at least"):
        Forecaster(FAST).fit(series(np.arange(1.0, 7.0)))  # monthly: horizon 12 from 6 rows


def test_constant_series_is_forecast_as_the_constant():
    model = Forecaster(FAST).fit(series(np.full(40, 7.5)))
    np.testing.assert_array_equal(model.predict(12).values, np.full(12, 7.5))


# ------------------------------------------------------------------------------------------ intervals
def test_conformal_width_pools_scaled_residuals_when_a_step_has_too_few():
    res = np.array([[1.0, 2.0, np.nan], [-3.0, np.nan, np.nan], [0.5, 1.0, np.nan]])
    w = conformal_width(res, 0.8, 5)
    # |e| / step = 1, 1, 3, 0.5, 0.5: the 5th smallest (rank ceil(6 * 0.8)) is 3, times the step number
    np.testing.assert_allclose(w[:3], [3.0, 6.0, 9.0])
    np.testing.assert_allclose(w[3:], 9.0 * np.sqrt(np.arange(4, 6) / 3))  # beyond: random-walk widening
    assert np.all(conformal_width(res, 0.5, 5) <= w)


def test_conformal_width_is_per_step_with_enough_residuals():
    rng = np.random.default_rng(0)
    res = np.column_stack([rng.normal(0, 1, 99), rng.normal(0, 5, 99)])
    w = conformal_width(res, 0.9, 2)
    for j in range(2):
        a = np.sort(np.abs(res[:, j]))
        assert w[j] == a[89]  # rank ceil(100 * 0.9) = 90
    res[::2, 1] = np.nan  # 49 left at step 2: still enough for 90 % (needs 9)
    assert conformal_width(res, 0.9, 2)[1] == np.sort(np.abs(res[1::2, 1]))[math.ceil(50 * 0.9) - 1]


def test_intervals_cover_a_noisy_random_walk_reasonably():
    rng = np.random.default_rng(7)
    inside = []
    for _ in range(6):
        y = 200 + np.cumsum(rng.normal(0, 1, 90))
        model = Forecaster(replace(FAST, season=1, horizon=6, ensemble=1, epochs=20)).fit(
            series(y[:-6], freq=None)
        )
        lo, hi = model.predict(6, levels=(95,)).intervals[95]
        inside.append((y[-6:] >= lo) & (y[-6:] <= hi))
    assert np.mean(inside) > 0.6


# ------------------------------------------------------------------------------------------ warnings
def test_warnings_for_flat_and_shifted_forecasts():
    history = np.sin(np.arange(48) * 2 * np.pi / 12) * 10 + 50
    assert any("flat" in w for w in forecast_warnings(history, np.full(12, 50.0)))
    flat = np.full(48, 7.0)  # a flat forecast of a flat series also repeats it: one warning, not three
    assert forecast_warnings(flat, np.full(12, 7.0), season=12) == [
        "the forecast is flat: the network found no pattern beyond the current level"
    ]
    assert any("repeats the last" in w for w in forecast_warnings(history, history[-12:] + 1e-3))
    assert forecast_warnings(history, history[-12:] * 1.2) == []
    # a 24-step forecast that is the last season twice: warned with the season, not without it
    repeated = np.tile(history[-12:], 2)
    assert any("last season" in w for w in forecast_warnings(history, repeated, season=12))
    assert not any("last season" in w for w in forecast_warnings(history, repeated * 1.2, season=12))
    assert not any("last season" in w for w in forecast_warnings(history, repeated, season=1))


def test_predict_attaches_the_warnings():
    model = Forecaster(FAST).fit(series(np.full(40, 7.5)))
    assert any("flat" in w for w in model.predict(12).warnings)


# ------------------------------------------------------------------------------------------ model file
def test_model_file_keeps_the_ensemble_and_the_season(tmp_path):
    model = Forecaster(FAST).fit(series(seasonal_series(100)))
    path = tmp_path / "m.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as z:
        names = set(z.files)
        meta = json.loads(str(z["metadata"]))
    assert {
        "lstm.weight_ih_l0",
        "head.weight",
        "ensemble.1.lstm.weight_ih_l0",
        "ensemble.2.head.bias",
        "calibration.naive2_errors",
    } <= names
    assert "ensemble.0.lstm.weight_ih_l0" not in names and meta["ensemble"]["members"] == 3
    assert meta["format_version"] == "4.0"
    again = Forecaster.load(path)
    np.testing.assert_array_equal(again.seasonal_, model.seasonal_)
    np.testing.assert_array_equal(again.naive2_errors_, model.naive2_errors_)
    np.testing.assert_array_equal(again.predict(12, levels=(80,)).values, model.predict(12).values)
    np.testing.assert_array_equal(
        again.predict(12, levels=(80,)).intervals[80][0], model.predict(12, levels=(80,)).intervals[80][0]
    )


# ------------------------------------------------------------------------------------------ parallel members
def _seasonal(n: int = 96) -> SeriesData:
    t = np.arange(n)
    return series(100 + 0.5 * t + 10 * np.sin(2 * np.pi * t / 12) + np.random.default_rng(5).normal(0, 1, n))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_members_trained_in_worker_processes_are_the_same_bit_for_bit(monkeypatch, dtype):
    from lstmcli.forecasting import members

    monkeypatch.setattr(members, "MIN_PARALLEL_SECONDS", 0.0)  # small job, processes anyway
    calls = []
    real = members.train_in_processes
    monkeypatch.setattr(
        "lstmcli.forecasting.ensemble.train_in_processes",
        lambda *a, **k: calls.append(1) or real(*a, **k),
    )
    one = Forecaster(replace(FAST, dtype=dtype)).fit(_seasonal(), threads=1)
    assert not calls
    epochs = []
    two = Forecaster(replace(FAST, dtype=dtype)).fit(
        _seasonal(), threads=2, on_epoch=lambda r: epochs.append(r.epoch)
    )
    assert len(calls) == 2  # the members, then their retraining on all data
    assert len(two.networks_) == len(one.networks_) == 3
    for a, b in zip(one.networks_, two.networks_, strict=True):
        np.testing.assert_array_equal(a.flat_params, b.flat_params)
    np.testing.assert_array_equal(one.predict(12).values, two.predict(12).values)
    assert one.member_epochs_ == two.member_epochs_
    assert epochs and epochs == sorted(epochs)  # progress relayed from the workers, never backwards


def test_stopping_members_in_worker_processes_keeps_a_usable_model(monkeypatch):
    from lstmcli.forecasting import members

    monkeypatch.setattr(members, "MIN_PARALLEL_SECONDS", 0.0)
    seen = []
    model = Forecaster(replace(FAST, epochs=100000, patience=0, ensemble=4)).fit(
        _seasonal(), threads=2, on_epoch=seen.append, should_stop=lambda: len(seen) >= 20
    )
    assert model.train_result_.stop_reason == "interrupted"
    assert 1 <= len(model.networks_) <= 4
    assert np.all(np.isfinite(model.predict(12).values))


def test_naive2_errors_are_the_in_sample_errors_of_naive2():
    from lstmcli.forecasting.intervals import naive2_errors

    y = np.array([10.0, 20.0, 12.0, 22.0, 14.0, 24.0])
    s = np.array([0.5, 1.5])  # position t uses s[t % 2]
    e = naive2_errors(y, s, 2, max_origins=10)
    # origins 0..3; step 1 from origin 0: adjusted 10/0.5 = 20, re-seasoned at position 1: 20*1.5 = 30
    assert e.shape == (4, 2)
    assert e[0, 0] == pytest.approx(abs(20.0 - 30.0)) and e[0, 1] == pytest.approx(abs(12.0 - 10.0))
    assert naive2_errors(y, s, 2, max_origins=3).shape == (3, 2)  # the most recent origins
    np.testing.assert_allclose(naive2_errors(y, np.ones(1), 1)[:, 0], np.abs(np.diff(y)))  # plain naive
    assert naive2_errors(y[:2], s, 2).shape == (0, 2)


def test_the_floor_widens_only_steps_with_too_few_residuals():
    few = np.array([[1.0, 2.0], [1.0, 2.0], [1.0, np.nan]])  # 3 residuals at step 1, 2 at step 2
    floor = np.full((50, 2), 10.0)
    plain = conformal_width(few, 0.8, 2)
    floored = conformal_width(few, 0.8, 2, floor)
    assert (
        np.all(floored >= plain) and floored[0] == pytest.approx(10.0) and floored[1] == pytest.approx(10.0)
    )
    many = np.tile([[1.0, 2.0]], (30, 1))  # enough residuals at both steps: the floor is not used
    np.testing.assert_array_equal(conformal_width(many, 0.8, 2, floor), conformal_width(many, 0.8, 2))


# ------------------------------------------------------------------------------------------ trace
def test_trace_shows_the_member_asked_for():
    model = Forecaster(replace(FAST, epochs=3)).fit(series(seasonal_series(96)))
    first, default = model.trace(member=0), model.trace()
    np.testing.assert_array_equal(first.layers[0]["h"], default.layers[0]["h"])  # 0 is the default
    for k, lookback in enumerate(model.lookbacks_):
        trace = model.trace(member=k)
        assert trace.inputs.shape[0] == lookback and trace.layers[0]["f"].shape == (lookback, 8)
        assert len(trace.timestamps) == lookback and trace.timestamps[-1] == model.last_timestamp_
    assert not np.allclose(model.trace(member=1).output, first.output)  # another network
    with pytest.raises(ConfigError, match="member 3 out of range"):
        model.trace(member=3)


def test_combine_auto_is_theta_and_es_unless_other_inputs_move_the_forecast_or_the_season_is_long():
    from lstmcli.forecasting.config import resolve_combine

    assert ForecasterConfig().combine == "auto"
    for season in (2, 4, 7, 12):
        assert resolve_combine(ForecasterConfig(), has_inputs=False, season=season).combine == "theta+es"
    # without a season ARIMA joins the mean
    assert resolve_combine(ForecasterConfig(), has_inputs=False, season=1).combine == "theta+es+arima"
    assert resolve_combine(ForecasterConfig(), has_inputs=True, season=1).combine == "none"
    assert resolve_combine(ForecasterConfig(), has_inputs=True, season=12).combine == "none"
    assert resolve_combine(ForecasterConfig(), has_inputs=False, season=24).combine == "none"  # hourly
    for chosen in ("theta", "theta+es", "theta+es+arima", "none"):  # a value the user gave stays
        assert resolve_combine(ForecasterConfig(combine=chosen), has_inputs=True, season=24).combine == chosen


def test_a_combinations_forecast_is_the_mean_of_its_members_and_its_intervals_hold_them():
    y = seasonal_series(72)
    model = Forecaster(replace(FAST, combine="theta+es")).fit(series(y))
    f = model.predict(12, levels=(80, 95))
    assert f.members.shape == (3, 12)  # the networks', Theta's, ES's
    np.testing.assert_allclose(f.members.mean(axis=0), f.values, rtol=1e-12)
    np.testing.assert_allclose(f.members[1], model.baseline_forecast("Theta", 12), rtol=0)
    width = conformal_width(model.residuals_, 0.8, 12, model.naive2_errors_)
    lo, hi = f.intervals[80]
    assert np.all(lo <= f.members.min(axis=0)) and np.all(hi >= f.members.max(axis=0))
    np.testing.assert_allclose(np.minimum(f.values - width, f.members.min(axis=0)), lo, rtol=1e-12)
    np.testing.assert_allclose(np.maximum(f.values + width, f.members.max(axis=0)), hi, rtol=1e-12)
    assert model.predict(12, method="theta").members is None
    alone = Forecaster(replace(FAST, combine="none")).fit(series(y)).predict(12, levels=(80,))
    assert alone.members is None


def test_a_forecast_beyond_the_steps_validation_scored_says_so():
    model = Forecaster(replace(FAST, horizon=6)).fit(series(seasonal_series(96)))
    assert np.isfinite(model.residuals_).any(axis=0).sum() == 6
    assert not [w for w in model.predict(6, levels=(80,)).warnings if "go beyond" in w]
    (beyond,) = [w for w in model.predict(9, levels=(80,)).warnings if "go beyond" in w]
    assert (
        beyond.startswith("steps 7-9 go beyond the 6 the model's validation scored")
        and "--horizon 9" in beyond
    )
    # a model trained for the horizon whose validation fell short (short series): more validation, not
    # the horizon it already has
    short = np.where(np.arange(18) < 10, 1.0, np.nan) * np.ones((3, 18))
    (fell_short,) = forecast_warnings(seasonal_series(48), np.arange(1.0, 19.0), 12, short)
    assert fell_short.startswith("steps 11-18 go beyond the 10")
    assert fell_short.endswith("train with a larger --val-size")


def test_python_api_settings_of_the_wrong_type_fail_in_one_line():
    wrong = {
        "hidden": "32", "lr": None, "epochs": 2.5, "seed": 1.5, "patience": float("nan"), "refit": "no",
        "holidays": 1, "lookback": True, "strategy": 3,
    }  # fmt: skip
    for name, value in wrong.items():
        with pytest.raises(ConfigError, match=f"--{name} must be .*got {re.escape(repr(value))}"):
            ForecasterConfig(**{name: value})
    for name in ("clip_norm", "weight_decay"):
        with pytest.raises(ConfigError, match=f"{name} must be 0 \\(off\\) or a positive number"):
            ForecasterConfig(**{name: -1.0})
    # NumPy's numbers are taken, as Python's (the model file's JSON holds those); a count stays a count
    config = ForecasterConfig(hidden=np.int64(8), lr=np.float32(0.5), val_size=10)
    assert (type(config.hidden), type(config.lr), config.val_size) == (int, float, 10)
    assert json.loads(json.dumps(config.to_dict()))["hidden"] == 8


def test_data_built_by_hand_with_a_missing_value_is_an_error_not_nan_forecasts():
    # the CSV loader fills or refuses them; a SeriesData with a NaN trained ("diverged") and forecast NaN
    y = seasonal_series(48)
    y[20] = np.nan
    with pytest.raises(
        DataError, match=r"column 'value' has nan at row 21 \(of 48\); the values must be finite"
    ):
        Forecaster(FAST).fit(series(y))
    model = Forecaster(replace(FAST, epochs=2, ensemble=1)).fit(series(seasonal_series(48)))
    newer = seasonal_series(48)
    newer[-1] = np.inf
    with pytest.raises(DataError, match="has inf at row 48"):
        model.predict(3, data=series(newer))


def test_newer_data_of_another_frequency_or_target_is_refused_by_the_python_api_too():
    # a daily series given to a monthly model got monthly dates and the monthly season, without a word
    model = Forecaster(replace(FAST, epochs=2, ensemble=1)).fit(series(seasonal_series(48)))
    with pytest.raises(
        DataError, match="the data's frequency is D, the model's MS; newer data must continue"
    ):
        model.predict(3, data=series(seasonal_series(48), freq="D"))
    with pytest.raises(DataError, match="the model forecasts 'value', this data's target is 'y'"):
        model.predict(3, data=replace(series(seasonal_series(48)), target="y"))
    assert len(model.predict(3, data=series(seasonal_series(60))).values) == 3


def test_predict_arguments_of_the_python_api_are_checked_and_a_fraction_level_explained():
    # predict("12") and threads=None were raw TypeErrors; threads=-1 and levels=[0.8] (a 0.8 % interval,
    # where darts and sktime mean 80 %) were taken
    from lstmcli.forecasting.backtest import backtest_series

    model = Forecaster(replace(FAST, epochs=2, ensemble=1)).fit(series(seasonal_series(48)))
    with pytest.raises(ConfigError, match="--horizon must be a whole number from 1 to 100000, got '12'"):
        model.predict("12")
    with pytest.raises(
        ConfigError, match=r"--level must be a percentage from 1 to below 100 \(80 for an 80 % "
    ):
        model.predict(3, levels=[0.8])
    assert list(model.predict(3, levels=80).intervals) == [80]  # one level, not in a list
    for threads in (None, -1, 1.5):
        with pytest.raises(ConfigError, match="--threads must be a whole number, 0 for every core"):
            Forecaster(replace(FAST, epochs=1, ensemble=1)).fit(series(seasonal_series(48)), threads=threads)
    with pytest.raises(ConfigError, match="got 150"):
        backtest_series(
            series(seasonal_series(48)),
            replace(FAST, epochs=1, ensemble=1),
            horizon=3,
            windows=1,
            step=3,
            levels=(150,),
        )


def test_settings_a_user_got_wrong_fail_at_once_in_one_line():
    for bad in (float("nan"), float("inf")):  # a traceback at save (nan), an OverflowError (inf)
        with pytest.raises(ConfigError, match="--val-size must be a fraction"):
            ForecasterConfig(val_size=bad)
    model = Forecaster(replace(FAST, epochs=2, ensemble=1)).fit(series(seasonal_series(72)))
    with pytest.raises(ConfigError, match="--horizon must be a whole number from 1"):
        model.predict(0)  # (it gave the default horizon)


def test_a_validation_count_beyond_the_series_is_cut_at_once():
    """It was cut one step at a time: --val-size 1e20 planned for hours."""
    plan = Forecaster(replace(FAST, val_size=1e6)).plan(series(seasonal_series(72)))
    assert plan.n_val == Forecaster(replace(FAST, val_size=1000)).plan(series(seasonal_series(72))).n_val > 0


def test_a_forecast_far_beyond_the_data_says_training_may_have_diverged():
    history = 400 + 100 * np.sin(np.arange(48) * 2 * np.pi / 12)
    (far,) = forecast_warnings(history, np.array([500.0, 5.6e12, 450.0]), 12)
    assert far.startswith("the forecast leaves the data's range by far (up to 5.6e+12;")
    assert far.endswith("training may have diverged; try a smaller --lr")
    assert forecast_warnings(history, history[-12:] * 1.3, 12) == []  # growth is not divergence
