"""Intervals calibrated over the series of a panel (issue #21): ``intervals.panel_widths`` against a
quantile computed by hand, its fallbacks, and the panel model's predict using it."""

import math

import numpy as np
import pytest

from lstmcli.forecasting.intervals import (
    PANEL_MIN,
    conformal_width,
    panel_widths,
    series_scale,
    series_scales,
)


def _nan_after(a: np.ndarray, steps: int) -> np.ndarray:
    a = a.copy()
    a[:, steps:] = np.nan
    return a


def test_one_step_width_is_the_pooled_quantile_of_scale_free_errors_times_the_scale():
    # 40 series, each with 3 validation errors at step 1 only; scale = the geometric mean of the mean
    # one-step Naive2 error and the mean one-step validation error; each error is calibrated with the
    # scale of the other two (leave one out)
    rng = np.random.default_rng(3)
    scales = rng.uniform(1, 100, 40)
    residuals = [_nan_after(s * rng.normal(size=(3, 2)), 1) for s in scales]
    floors = [s * np.abs(rng.normal(size=(50, 2))) for s in scales]
    widths = panel_widths(residuals, floors, 0.8, 1)
    # by hand: each series weighs 1/40, each of its 3 errors 1/120; the split conformal level for 40
    # units is 0.8 * 41 / 40 = 0.82 of the weight: the ceil(0.82 * 120) = 99th smallest scaled error
    scaled = []
    for r, f in zip(residuals, floors, strict=True):
        e = np.abs(r[:, 0])
        scaled += [e[k] / math.sqrt(f[:, 0].mean() * np.delete(e, k).mean()) for k in range(3)]
    q = np.sort(scaled)[math.ceil(0.8 * 41 / 40 * 120) - 1]
    for w, r, f in zip(widths, residuals, floors, strict=True):
        assert w[0] == pytest.approx(q * math.sqrt(f[:, 0].mean() * np.abs(r[:, 0]).mean()), rel=1e-12)


def test_a_series_scale_takes_its_own_errors_in_when_it_has_two_and_not_its_own_error_to_calibrate():
    floor = np.array([[4.0, 9.0], [4.0, 9.0]])  # mean one-step Naive2 error 4
    fit, by_origin = series_scales(np.array([[1.0, 5.0], [-9.0, np.nan], [np.nan, 2.0]]), floor)
    assert fit == pytest.approx(math.sqrt(4 * 5))  # with its mean one-step validation error, 5
    np.testing.assert_allclose(by_origin, [math.sqrt(4 * 9), math.sqrt(4 * 1), math.sqrt(4 * 5)])
    for alone in (np.array([[3.0, 1.0]]), np.zeros((4, 2)), np.zeros((0, 2))):  # one error, none, no origin
        fit, by_origin = series_scales(alone, floor)
        assert fit == 4.0 and np.all(by_origin == 4.0)


def test_steps_no_series_validated_grow_as_the_pooled_naive2_errors_do():
    rng = np.random.default_rng(4)
    residuals = [_nan_after(rng.normal(size=(3, 4)), 2) for _ in range(30)]  # steps 3-4: no residuals
    floors = [np.abs(rng.normal(size=(60, 4))) * np.array([1.0, 2.0, 3.0, 4.0]) for _ in range(30)]
    w = panel_widths(residuals, floors, 0.8, 4)[0]
    # the Naive2 errors grow 1 : 2 : 3 : 4 (up to sampling); steps 3 and 4 continue step 2 that way
    assert w[2] / w[1] == pytest.approx(1.5, rel=0.05)
    assert w[3] / w[1] == pytest.approx(2.0, rel=0.05)
    assert np.all(np.diff(w) >= 0)


def test_a_panel_of_too_few_series_keeps_each_series_own_width():
    rng = np.random.default_rng(5)
    residuals = [rng.normal(size=(30, 3)) for _ in range(PANEL_MIN - 1)]
    floors = [np.abs(rng.normal(size=(40, 3))) for _ in range(PANEL_MIN - 1)]
    for level in (0.8, 0.95):
        got = panel_widths(residuals, floors, level, 3)
        for g, r, f in zip(got, residuals, floors, strict=True):
            np.testing.assert_array_equal(g, conformal_width(r, level, 3, f))


def test_a_higher_level_never_gives_a_narrower_interval():
    rng = np.random.default_rng(7)
    residuals = [_nan_after(rng.normal(size=(3, 6)) * rng.uniform(1, 9), 3) for _ in range(25)]
    floors = [np.abs(rng.normal(size=(20, 6))) * np.arange(1, 7) for _ in range(25)]
    levels = [panel_widths(residuals, floors, c, 8) for c in (0.5, 0.8, 0.9, 0.95, 0.99)]
    for lower, higher in zip(levels, levels[1:], strict=False):
        for a, b in zip(lower, higher, strict=True):
            assert np.all(b >= a)


def test_a_single_series_higher_level_is_never_narrower_with_too_few_errors_for_it():
    # 30 validation errors a step: enough for 90 % and 95 %, not for 97.5 % (39) or 99 % (99), whose
    # pooled fallback gave 97.5 % a narrower step 1 than 90 % (air passengers: 51 against 67)
    rng = np.random.default_rng(8)
    residuals = rng.standard_t(3, size=(30, 4)) * np.array([3.0, 1.0, 1.0, 1.0])
    floor = np.abs(rng.normal(size=(100, 4)))
    widths = [conformal_width(residuals, c, 4, floor) for c in (0.8, 0.9, 0.95, 0.975, 0.99)]
    for lower, higher in zip(widths, widths[1:], strict=False):
        assert np.all(higher >= lower)
    assert widths[3][0] >= np.abs(residuals[:, 0]).max()


def test_the_scale_is_the_mean_one_step_naive2_error_else_the_residuals():
    assert series_scale(np.ones((2, 2)), np.array([[2.0, 9.0], [4.0, 9.0]])) == 3.0
    assert series_scale(np.array([[1.0, -3.0]]), None) == 2.0
    assert series_scale(np.zeros((1, 2)), np.zeros((3, 2))) == 1.0


def test_many_similar_series_get_intervals_that_cover_new_errors_at_the_level():
    # independent check of calibration: new errors drawn like the validation ones are covered at ~80 %
    # (with 2 validation errors a series, leaving one out calibrates on noisier scales than a new error
    # meets: more than 80 %, never less)
    for origins, low, high in ((4, 0.76, 0.84), (2, 0.78, 0.92)):
        rng = np.random.default_rng(6)
        n, h = 400, 3
        scales = rng.uniform(0.5, 50, n)
        growth = np.sqrt(np.arange(1, h + 1))
        residuals = [s * growth * rng.standard_t(5, size=(origins, h)) for s in scales]
        floors = [s * np.abs(rng.normal(size=(30, h))) * 1.25 for s in scales]
        widths = np.array(panel_widths(residuals, floors, 0.8, h))
        new = np.array([s * growth * rng.standard_t(5, size=h) for s in scales])
        assert low <= np.mean(np.abs(new) <= widths) <= high


def _panel_states(seed: int, n: int) -> dict:
    """Fitted states of ``n`` series as ``recalibrate`` reads them: validation residuals and Naive2 errors."""
    from types import SimpleNamespace

    rng = np.random.default_rng(seed)
    return {
        f"s{k}": SimpleNamespace(
            residuals=rng.normal(size=(4, 3)), naive2_errors=np.abs(rng.normal(size=(9, 3)))
        )
        for k in range(n)
    }


def test_a_panel_models_forecasts_get_the_pooled_widths_around_their_own_values():
    from lstmcli.forecasting.forecaster import Forecast
    from lstmcli.forecasting.intervals import recalibrate

    states = _panel_states(8, PANEL_MIN + 5)
    forecasts = {}
    for sid in ("s1", "s7"):  # predict --id: a few series, calibrated over all of the model's
        f = Forecast(values=np.array([10.0, 11.0, 12.0]), timestamps=None, start_step=1)
        f.intervals[80] = (f.values - 1, f.values + 1)
        forecasts[sid] = f
    recalibrate(forecasts, states, (80,))
    ids = list(states)
    widths = panel_widths([states[i].residuals for i in ids], [states[i].naive2_errors for i in ids], 0.8, 3)
    for sid in ("s1", "s7"):
        w = widths[ids.index(sid)]
        np.testing.assert_allclose(forecasts[sid].intervals[80][0], forecasts[sid].values - w)
        np.testing.assert_allclose(forecasts[sid].intervals[80][1], forecasts[sid].values + w)


# ------------------------------------------------------------------------------ holding the members
def test_an_interval_stretches_only_where_a_member_of_the_combination_lies_beyond_it():
    from lstmcli.forecasting.intervals import holding_members

    lower, upper = np.array([9.0, 8.0, 7.0]), np.array([11.0, 12.0, 13.0])
    members = np.array([[10.0, 12.5, 6.0], [10.5, 11.0, 7.5], [9.5, 11.5, 8.0]])  # networks, Theta, ES
    lo, hi = holding_members(lower, upper, members)
    np.testing.assert_array_equal(lo, [9.0, 8.0, 6.0])
    np.testing.assert_array_equal(hi, [11.0, 12.5, 13.0])
    same = holding_members(lower, upper, None)  # the networks' forecast alone: nothing to hold
    assert same[0] is lower and same[1] is upper


def test_a_recalibrated_panel_interval_still_holds_its_members():
    from lstmcli.forecasting.forecaster import Forecast
    from lstmcli.forecasting.intervals import recalibrate

    states = _panel_states(9, PANEL_MIN + 2)
    values = np.array([10.0, 11.0, 12.0])
    far = np.array([[10.0, 11.0, 40.0], values, values])  # the networks far above at step 3
    f = Forecast(values=values, timestamps=None, start_step=1, members=far)
    f.intervals[80] = (values - 1, values + 1)
    recalibrate({"s0": f}, states, (80,))
    ids = list(states)
    w = panel_widths([states[i].residuals for i in ids], [states[i].naive2_errors for i in ids], 0.8, 3)[0]
    assert w[2] < 30  # so that the member is beyond the calibrated width
    np.testing.assert_allclose(f.intervals[80][0], values - w)
    np.testing.assert_allclose(f.intervals[80][1], [10.0 + w[0], 11.0 + w[1], 40.0])


def test_a_backtest_counts_a_value_inside_the_members_range_as_covered():
    from lstmcli.forecasting.backtest import BacktestResult

    actual = np.array([[10.0, 14.0], [10.0, 14.0]])
    f = np.array([[10.0, 10.0], [10.0, 10.0]])
    result = BacktestResult(
        2, 1, actual, {"LSTM": f, "Naive2": f}, [np.array([1.0, 2.0, 4.0])] * 2, ["a", "b"]
    )
    members = [np.array([[10.0, 15.0], [10.0, 5.0]]), None]  # row a's networks said 15 at step 2
    result.set_intervals({80.0: np.ones((2, 2))}, members)
    lo, hi = result.intervals[80.0]
    np.testing.assert_array_equal(lo, [[9.0, 5.0], [9.0, 9.0]])
    np.testing.assert_array_equal(hi, [[11.0, 15.0], [11.0, 11.0]])
    assert result.coverage[80.0] == pytest.approx(3 / 4)  # 14 is inside row a's stretched interval only
    assert [r[80.0]["coverage"] for r in result.interval_rows()] == [1.0, 0.5]


def test_a_level_beyond_what_the_errors_can_calibrate_is_named():
    from lstmcli.forecasting.intervals import level_warning

    residuals = np.where(np.arange(3) < 2, 1.0, np.nan) * np.ones((10, 3))  # 20 errors: step 3 unreached
    floor = np.ones((50, 3))
    assert level_warning(95, residuals, floor) is None  # 19 needed
    assert level_warning(98, residuals, floor) is None  # 49 needed: the floor's 50 do
    message = level_warning(99.5, residuals, floor)  # 199 needed
    assert message == (
        "--level 99.5 needs 199 errors to calibrate, this model has 50: its bounds are the largest errors "
        "it saw, likely too narrow"
    )
    assert level_warning(99.5, residuals, None).endswith(
        "this model has 20: its bounds are the largest errors it saw, likely too narrow"
    )


def test_a_panels_level_beyond_what_its_series_can_calibrate_is_named():
    from lstmcli.forecasting.intervals import panel_level_warning

    rng = np.random.default_rng(9)
    many = [rng.normal(size=(5, 2)) for _ in range(30)]  # calibrated together over 30 series
    assert panel_level_warning(95, many, [None] * 30) is None  # (19 series needed)
    assert panel_level_warning(99.9, many, [None] * 30) == (
        "--level 99.9 needs 999 series to calibrate over, this model has 30: its bounds are the largest "
        "scaled errors it saw, likely too narrow"
    )
    few = many[:3]  # each series on its own: 5 errors each
    assert panel_level_warning(80, few, [None] * 3) is None
    assert panel_level_warning(95, few, [None] * 3).startswith("--level 95 needs 19 errors to calibrate")
