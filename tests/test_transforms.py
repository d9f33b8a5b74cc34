"""Tests for lstmcli.data.transforms: fit on train, exact inverse, serialisation, pipeline specs."""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmcli.data.transforms import (
    TRANSFORM_NAMES,
    Difference,
    DiffStandardScaler,
    Log,
    MinMaxScaler,
    Pipeline,
    StandardScaler,
    make_pipeline,
    transform_from_dict,
)
from lstmcli.errors import ConfigError, DataError, ModelFileError

# Values a real series can take: finite, not absurdly large (the tolerance below is relative).
finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
positive = st.floats(1e-3, 1e6, allow_nan=False, allow_infinity=False)


def series(elements, min_size=3, max_size=40):
    return hnp.arrays(np.float64, st.integers(min_size, max_size), elements=elements)


def close(a, b, scale):
    np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9 * max(1.0, scale))


# ------------------------------------------------------------------------------------------ properties


@settings(max_examples=80, deadline=None)
@given(
    y=series(finite), cls=st.sampled_from([StandardScaler, MinMaxScaler, DiffStandardScaler]), data=st.data()
)
def test_scalers_inverse_is_identity(y, cls, data):
    n_train = data.draw(st.integers(1, len(y)))
    t = cls().fit(y[:n_train])
    z = t.transform(y)
    assert np.all(np.isfinite(z))
    close(t.inverse(z, history=y[:n_train]), y, np.abs(y).max())


@settings(max_examples=60, deadline=None)
@given(y=series(positive))
def test_log_inverse_is_identity(y):
    t = Log().fit(y)
    close(t.inverse(t.transform(y), y), y, 0.0)
    np.testing.assert_allclose(t.inverse(t.transform(y), y), y, rtol=1e-12)


@settings(max_examples=80, deadline=None)
@given(y=series(finite, min_size=2, max_size=50), lag=st.integers(1, 12), data=st.data())
def test_difference_inverse_of_true_future_reproduces_it(y, lag, data):
    if len(y) <= lag:
        with pytest.raises(DataError):
            Difference(lag).fit(y)
        return
    origin = data.draw(st.integers(lag, len(y)))  # history = y[:origin], future = y[origin:]
    d = Difference(lag).fit(y)  # learns nothing; inverse only needs the last `lag` values of history
    z = d.transform(y)
    assert z.shape == (len(y) - lag,)
    z_future = z[origin - lag :]
    close(d.inverse(z_future, history=y[:origin]), y[origin:], np.abs(y).max() * len(y))


spec_strategy = st.lists(
    st.sampled_from(["standard", "dstandard", "minmax", "log", "diff", "sdiff"]), min_size=1, max_size=4
).filter(lambda names: names.count("log") <= 1)  # (a second log is refused)


@settings(max_examples=80, deadline=None)
@given(
    y=series(st.floats(0.5, 1e4), min_size=4, max_size=60),
    names=spec_strategy,
    season=st.integers(1, 6),
    data=st.data(),
)
def test_pipeline_inverse_of_true_future_reproduces_it(y, names, season, data):
    pipe = make_pipeline(",".join(names), season)
    lost = pipe.lost
    if len(y) <= lost + 1:
        return
    n_train = data.draw(st.integers(lost + 1, len(y)))
    try:
        pipe.fit(y[:n_train])
        z = pipe.transform(y)
    except DataError as e:
        # Only a log after another step (which can produce values <= 0) can fail on positive data.
        assert "log transform needs positive values" in str(e)
        assert "log" in names[1:]
        return
    assert z.shape == (len(y) - lost,)
    origin = data.draw(st.integers(n_train, len(y)))
    out = pipe.inverse(z[origin - lost :], history=y[:origin])
    assert out.shape == (len(y) - origin,)
    np.testing.assert_allclose(out, y[origin:], rtol=1e-6, atol=1e-6 * np.abs(y).max())
    # The serialised pipeline inverts the same way.
    again = Pipeline.from_dict(json.loads(json.dumps(pipe.to_dict())))
    np.testing.assert_allclose(again.inverse(z[origin - lost :], y[:origin]), out, rtol=1e-12, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(
    y=series(st.floats(1.0, 100.0), min_size=20, max_size=40),
    n_paths=st.integers(1, 4),
    horizon=st.integers(1, 9),
)
def test_pipeline_inverse_broadcasts_over_sample_paths(y, n_paths, horizon):
    pipe = make_pipeline("log,sdiff,diff,standard", 4).fit(y)
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, n_paths, horizon))
    out = pipe.inverse(z, history=y)
    assert out.shape == (2, n_paths, horizon)
    for i in range(2):
        for j in range(n_paths):
            np.testing.assert_allclose(out[i, j], pipe.inverse(z[i, j], y), rtol=1e-12)


# ------------------------------------------------------------------------------------------ scalers


def test_standard_scaler_uses_training_part_only():
    y = np.array([1.0, 2.0, 3.0, 100.0])
    t = StandardScaler().fit(y[:3])
    assert t.mean == pytest.approx(2.0)
    assert t.scale == pytest.approx(np.std([1.0, 2.0, 3.0]))


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler, DiffStandardScaler])
@pytest.mark.parametrize("value", [0.0, 5.0, -3e8, 1e-30])
def test_constant_training_part_does_not_divide_by_zero(cls, value):
    y = np.full(10, value)
    t = cls().fit(y)
    assert float(t.scale) == 1.0
    z = t.transform(y)
    assert np.all(np.isfinite(z)) and np.allclose(z, 0.0)
    np.testing.assert_array_equal(t.inverse(np.zeros(3), y), np.full(3, value))


def test_constant_with_rounding_noise_counts_as_constant():
    y = np.array([0.1 + 0.2, 0.3, 0.30000000000000004, 0.3])
    assert float(StandardScaler().fit(y).scale) == 1.0


def test_tiny_but_real_variation_is_scaled():
    y = np.array([1e-20, 2e-20, 3e-20])
    t = StandardScaler().fit(y)
    assert float(t.scale) < 1e-19
    np.testing.assert_allclose(t.inverse(t.transform(y)), y)


def test_minmax_maps_training_range_to_unit_interval():
    y = np.array([3.0, 7.0, 5.0])
    z = MinMaxScaler().fit(y).transform(y)
    np.testing.assert_allclose(z, [0.0, 1.0, 0.5])


@pytest.mark.parametrize("cls", [StandardScaler, MinMaxScaler])
def test_scalers_work_per_column_on_matrices(cls):
    F = np.column_stack([np.arange(10.0), np.full(10, 4.0), np.linspace(-1e3, 1e3, 10)])
    t = cls().fit(F[:6])
    assert np.shape(t.scale) == (3,)
    assert t.scale[1] == 1.0  # the constant column
    z = t.transform(F)
    assert z.shape == F.shape
    np.testing.assert_allclose(t.inverse(z, F), F, atol=1e-9)
    d = json.loads(json.dumps(t.to_dict()))
    assert isinstance(d["scale"], list) and len(d["scale"]) == 3
    np.testing.assert_allclose(transform_from_dict(d).transform(F), z)


# ------------------------------------------------------------------------------------------ log


def test_log_rejects_non_positive_training_values_with_label():
    with pytest.raises(DataError) as e:
        Log().fit(np.array([3.0, 0.0, -2.5, 4.0]), label="column 'sales'")
    assert str(e.value) == "log transform needs positive values; column 'sales' has a minimum of -2.5"


def test_log_default_label():
    with pytest.raises(
        DataError, match="log transform needs positive values; the training data has a minimum of 0"
    ):
        Log().fit(np.array([1.0, 0.0]))


def test_log_rejects_later_non_positive_values():
    t = Log().fit(np.array([1.0, 2.0]))
    with pytest.raises(DataError, match="minimum of -1"):
        t.transform(np.array([1.0, 2.0, -1.0]))


def test_log_inverse_overflow_gives_inf_without_warning():
    with np.errstate(all="raise"):
        assert np.isinf(Log().fit(np.ones(2)).inverse(np.array([1e4]), None)[0])


# ------------------------------------------------------------------------------------------ difference


def test_difference_transform_and_recursive_inverse():
    y = np.array([1.0, 3.0, 6.0, 10.0, 15.0])
    d = Difference(1).fit(y)
    np.testing.assert_array_equal(d.transform(y), [2.0, 3.0, 4.0, 5.0])
    # Forecast differences 6, 7 after history ending in 15: 21, 28.
    np.testing.assert_array_equal(d.inverse(np.array([6.0, 7.0]), y), [21.0, 28.0])


def test_seasonal_difference_inverse_uses_last_season():
    y = np.array([10.0, 20.0, 30.0, 11.0, 21.0, 31.0])
    d = Difference(3).fit(y)
    np.testing.assert_array_equal(d.transform(y), [1.0, 1.0, 1.0])
    out = d.inverse(np.array([1.0, 2.0, 3.0, 1.0, 1.0]), y)
    np.testing.assert_array_equal(out, [12.0, 23.0, 34.0, 13.0, 24.0])


def test_difference_inverse_batches_of_histories():
    d = Difference(2).fit(np.arange(5.0))
    hist = np.array([[1.0, 2.0, 3.0], [10.0, 20.0, 30.0]])
    out = d.inverse(np.ones((2, 3)), hist)
    np.testing.assert_array_equal(out, [[3.0, 4.0, 4.0], [21.0, 31.0, 22.0]])


def test_difference_needs_enough_training_values():
    with pytest.raises(
        DataError,
        match="seasonal differencing with lag 12 needs at least 13 training values; the training data has 12",
    ):
        Difference(12).fit(np.arange(12.0))
    with pytest.raises(DataError, match="needs the last 3 observed values"):
        Difference(3).inverse(np.zeros(2), np.zeros(2))


def test_difference_rejects_bad_lag():
    with pytest.raises(ConfigError):
        Difference(0)


def test_difference_horizon_zero():
    assert Difference(1).inverse(np.zeros((4, 0)), np.arange(3.0)).shape == (4, 0)


# ------------------------------------------------------------------------------------------ pipeline / specs


def test_make_pipeline_spec():
    pipe = make_pipeline(" Log , SDIFF,standard ", season=12)
    assert [type(s) for s in pipe.steps] == [Log, Difference, StandardScaler]
    assert pipe.steps[1].lag == 12 and pipe.lost == 12
    assert make_pipeline("diff,sdiff", 4).lost == 5


@pytest.mark.parametrize("spec", ["none", "", "NONE"])
def test_make_pipeline_none_is_empty(spec):
    pipe = make_pipeline(spec, 7)
    assert len(pipe) == 0
    y = np.arange(5.0)
    pipe.fit(y)
    np.testing.assert_array_equal(pipe.transform(y), y)
    np.testing.assert_array_equal(pipe.inverse(np.array([9.0]), y), [9.0])


def test_make_pipeline_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as e:
        make_pipeline("log,boxcox", 12)
    msg = str(e.value)
    assert "'boxcox'" in msg and all(n in msg for n in TRANSFORM_NAMES)


def test_make_pipeline_none_mixed_with_others():
    with pytest.raises(ConfigError, match="'none' cannot be combined"):
        make_pipeline("none,standard", 1)


def test_make_pipeline_auto_in_a_list_and_a_name_twice_say_so():
    with pytest.raises(ConfigError, match="'auto' stands alone"):  # (it said "unknown transform 'auto'")
        make_pipeline("auto,log", 12)
    with pytest.raises(ConfigError, match="'log' is given twice"):
        make_pipeline("log, LOG,standard", 12)
    assert len(make_pipeline("diff,diff", 1)) == 2  # the second difference is a transform of its own


def test_pipeline_fits_each_step_on_previous_output():
    y = np.array([1.0, 2.0, 4.0, 8.0, 16.0])
    pipe = make_pipeline("log,diff,standard", 1).fit(y)
    # After log and diff the series is constant log(2): the scaler's mean is log 2, its scale 1.
    assert float(pipe.steps[2].mean) == pytest.approx(np.log(2))
    assert float(pipe.steps[2].scale) == 1.0


def test_pipeline_passes_label_to_log():
    with pytest.raises(DataError, match="column 'v' has a minimum of -1"):
        make_pipeline("log", 1).fit(np.array([2.0, -1.0]), label="column 'v'")


def test_to_dict_is_plain_json():
    pipe = make_pipeline("log,sdiff,minmax,standard", 4).fit(np.linspace(1, 50, 30))
    items = pipe.to_dict()
    assert json.loads(json.dumps(items)) == items
    assert [d["name"] for d in items] == ["log", "diff", "minmax", "standard"]
    assert items[1] == {"name": "diff", "lag": 4}
    assert all(type(v) in (str, int, float) for d in items for v in d.values())


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "boxcox"},
        {"nom": "log"},
        "log",
        {"name": "standard", "mean": 1.0},
        {"name": "standard", "mean": 1.0, "scale": 0.0},
        {"name": "diff", "lag": 0},
        {"name": "minmax", "low": "x", "scale": 1.0},
    ],
)
def test_transform_from_dict_rejects_damaged_entries(bad):
    with pytest.raises(ModelFileError):
        transform_from_dict(bad)


def test_pipeline_from_dict_rejects_non_list():
    with pytest.raises(ModelFileError):
        Pipeline.from_dict({"name": "log"})


def test_unfitted_scaler_is_a_programming_error():
    with pytest.raises(RuntimeError):
        StandardScaler().transform(np.zeros(3))


# ------------------------------------------------------------------------------------------ dstandard / power
@settings(max_examples=60, deadline=None)
@given(y=series(finite, min_size=2), data=st.data())
def test_diff_scaler_inverse_is_identity(y, data):
    from lstmcli.data.transforms import DiffStandardScaler

    n_train = data.draw(st.integers(1, len(y)))
    t = DiffStandardScaler().fit(y[:n_train])
    z = t.transform(y)
    assert np.all(np.isfinite(z))
    close(t.inverse(z), y, np.abs(y).max())
    again = transform_from_dict(json.loads(json.dumps(t.to_dict())))
    close(again.inverse(z), y, np.abs(y).max())


def test_diff_scaler_scales_by_the_typical_step_not_the_trend():
    from lstmcli.data.transforms import DiffStandardScaler

    y = 10.0 * np.arange(50) + np.tile([0.0, 1.0], 25)  # a steep trend, steps of 9 or 11
    t = DiffStandardScaler().fit(y)
    # the std of the differences, not of the levels (about 144)
    assert float(t.scale) == pytest.approx(1.0, rel=1e-3)
    assert float(DiffStandardScaler().fit(np.full(5, 3.0)).scale) == 1.0  # constant: no division by 0
    assert float(DiffStandardScaler().fit(np.arange(5.0)).scale) == pytest.approx(np.std(np.arange(5.0)))


@settings(max_examples=60, deadline=None)
@given(y=series(positive, min_size=4, max_size=60), season=st.integers(1, 6))
def test_power_transform_inverse_is_identity(y, season):
    from lstmcli.data.transforms import PowerTransform

    t = make_pipeline("power", season).fit(y)
    assert isinstance(t.steps[0], PowerTransform) and 0.0 <= t.steps[0].lam <= 1.0
    np.testing.assert_allclose(t.inverse(t.transform(y), y), y, rtol=1e-8)
    again = Pipeline.from_dict(json.loads(json.dumps(t.to_dict())))
    np.testing.assert_allclose(again.inverse(t.transform(y), y), y, rtol=1e-8)


def test_power_transform_chooses_log_for_multiplicative_and_none_for_additive_spread():
    from lstmcli.data.transforms import guerrero_lambda

    rng = np.random.default_rng(0)
    level = np.repeat(np.geomspace(100, 10000, 20), 12)  # one level per block of a season, 100-fold range
    multiplicative = level * np.exp(rng.normal(0, 0.1, level.size))  # spread proportional to the level
    additive = level + rng.normal(0, 5, level.size)  # spread independent of the level
    assert guerrero_lambda(multiplicative, 12) <= 0.1
    assert guerrero_lambda(additive, 12) >= 0.9


def test_power_transform_never_forecasts_below_zero_and_rejects_non_positive_data():
    from lstmcli.data.transforms import PowerTransform

    t = PowerTransform(lam=0.5)
    assert t.inverse(np.array([-10.0, -2.0, 0.0]))[0] == 0.0  # (0.5 * -10 + 1) < 0 -> floored at 0
    with pytest.raises(DataError, match="positive values"):
        PowerTransform().fit(np.array([1.0, 0.0, 2.0]))
    with pytest.raises(ModelFileError):
        transform_from_dict({"name": "power", "lam": 3.0})
