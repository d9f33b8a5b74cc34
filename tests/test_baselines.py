"""Tests for lstmcli.forecasting.baselines: Naive, Seasonal naive and M4 Naive2.

Golden values: the accuracy anchors of ACCURACY_ANCHORS.md (statsforecast 2.1.1 Naive / SeasonalNaive and the
M4 Naive2 definition), reproduced on fixture copies of the same data (tests/data/baselines/SOURCES.md) to the
printed precision, plus full-precision values from this code as regression guards.
"""

import csv
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lstmcli.forecasting.baselines import (
    BASELINES,
    baseline_forecasts,
    naive,
    naive2,
    seasonal_indices,
    seasonal_naive,
    seasonality_test,
)
from lstmcli.forecasting.metrics import mape, mase, owa, smape

DATA = Path(__file__).parent / "data" / "baselines"


def _values(name: str) -> np.ndarray:
    with open(DATA / name, newline="") as fh:
        return np.array([float(row["value"]) for row in csv.DictReader(fh)])


def _long_format(name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    parts: dict[str, dict[str, list[float]]] = {}
    with open(DATA / name, newline="") as fh:
        for row in csv.DictReader(fh):
            part = parts.setdefault(row["series_id"], {"train": [], "test": []})
            part[row["split"]].append(float(row["value"]))
    return {sid: (np.array(p["train"]), np.array(p["test"])) for sid, p in parts.items()}


# ---------------------------------------------------------------- anchors: single series

# (file, h, m, method) -> (anchor MAPE, sMAPE, MASE as printed in ACCURACY_ANCHORS.md "Single series",
#                          full-precision MAPE, sMAPE, MASE of this implementation)
SINGLE = {
    ("airpassengers.csv", 12, 12, "Naive"): (
        (14.25, 16.12, 2.496),
        (14.251338486772209, 16.120844670628973, 2.495894909688013),
    ),
    ("airpassengers.csv", 12, 12, "Seasonal naive"): (
        (9.99, 10.57, 1.571),
        (9.987532920823485, 10.571808257497901, 1.5708812260536398),
    ),
    ("airpassengers.csv", 12, 12, "Naive2"): (
        (6.82, 7.03, 1.108),
        (6.821409505708069, 7.029592259723775, 1.107733462641796),
    ),
    ("us_accidental_deaths.csv", 12, 12, "Naive"): (
        (9.18, 8.96, 1.617),
        (9.180471943534629, 8.963232808579242, 1.6165390770295403),
    ),
    ("us_accidental_deaths.csv", 12, 12, "Seasonal naive"): (
        (2.85, 2.92, 0.539),
        (2.8505545700432124, 2.9193098165165368, 0.5387310237446478),
    ),
    ("us_accidental_deaths.csv", 12, 12, "Naive2"): (
        (2.84, 2.81, 0.491),
        (2.840896024551269, 2.80852906656731, 0.4913246821179464),
    ),
    ("uk_gas_quarterly.csv", 8, 4, "Naive"): (
        (51.12, 38.45, 10.049),
        (51.119308752428275, 38.44967543289657, 10.04858067423094),
    ),
    ("uk_gas_quarterly.csv", 8, 4, "Seasonal naive"): (
        (15.10, 16.79, 3.627),
        (15.097793304162973, 16.788663380415244, 3.627083930692664),
    ),
    ("uk_gas_quarterly.csv", 8, 4, "Naive2"): (
        (16.91, 15.34, 3.580),
        (16.909907074762465, 15.339118426321107, 3.580281622567754),
    ),
    # shampoo fails the seasonality test, so Naive2 == Naive there
    ("shampoo_sales.csv", 12, 12, "Naive"): (
        (26.04, 31.61, 1.546),
        (26.03808539887312, 31.614122022703285, 1.546118721461187),
    ),
    ("shampoo_sales.csv", 12, 12, "Seasonal naive"): (
        (43.62, 58.16, 2.364),
        (43.62045997672935, 58.155874774453274, 2.3644748858447486),
    ),
    ("shampoo_sales.csv", 12, 12, "Naive2"): (
        (26.04, 31.61, 1.546),
        (26.03808539887312, 31.614122022703285, 1.546118721461187),
    ),
}


@pytest.mark.parametrize("key", list(SINGLE), ids=lambda k: f"{k[0].split('.')[0]}-{k[3]}")
def test_single_series_anchors(key):
    name, h, m, method = key
    anchor, golden = SINGLE[key]
    y = _values(name)
    train, test = y[:-h], y[-h:]
    f = BASELINES[method](train, h, m)
    got = (mape(test, f), smape(test, f), mase(test, f, train, m))
    # anchor to its printed precision (half a unit of the last printed digit)
    for value, ref, tol in zip(got, anchor, (0.005, 0.005, 0.0005), strict=True):
        assert abs(value - ref) <= tol + 1e-12, (key, got, anchor)
    assert got == pytest.approx(golden, rel=1e-10)


def test_seasonality_test_on_fixtures():
    assert seasonality_test(_values("airpassengers.csv")[:-12], 12)
    assert seasonality_test(_values("uk_gas_quarterly.csv")[:-8], 4)
    assert not seasonality_test(_values("shampoo_sales.csv")[:-12], 12)


# ---------------------------------------------------------------- anchors: M3 quarterly group


def test_m3_quarterly_group_anchor():
    series = _long_format("m3_quarterly_dev.csv")
    assert len(series) == 25
    means = {}
    for method, fc in BASELINES.items():
        scores = []
        for train, test in series.values():
            f = fc(train, test.size, 4)
            scores.append((smape(test, f), mase(test, f, train, 4)))
        means[method] = np.mean(scores, axis=0)
    s2, m2 = means["Naive2"]
    # ACCURACY_ANCHORS.md, "M3 Q (n=25)" column: sMAPE, MASE, OWA
    anchors = {
        "Naive": (9.41, 1.604, 1.295),
        "Seasonal naive": (9.61, 1.555, 1.289),
        "Naive2": (7.19, 1.252, 1.000),
    }
    for method, (a_s, a_m, a_owa) in anchors.items():
        s, ms = means[method]
        assert abs(s - a_s) <= 0.005 and abs(ms - a_m) <= 0.0005, (method, s, ms)
        assert abs(owa(s, ms, s2, m2) - a_owa) <= 0.0005
    assert (s2, m2) == pytest.approx((7.191209741604615, 1.2524064492726696), rel=1e-10)
    assert sum(seasonality_test(train, 4) for train, _ in series.values()) == 20


# ---------------------------------------------------------------- decomposition


def test_seasonal_indices_match_r_decompose_airpassengers():
    # R: decompose(AirPassengers, type = "multiplicative")$figure, as printed by R (7 significant digits)
    r_figure = [
        0.9102304,
        0.8836253,
        1.0073663,
        0.9759060,
        0.9813780,
        1.1127758,
        1.2265555,
        1.2199110,
        1.0604919,
        0.9217572,
        0.8011781,
        0.8988244,
    ]
    s = seasonal_indices(_values("airpassengers.csv"), 12)
    assert s == pytest.approx(r_figure, abs=6e-8)


def test_one_decomposition_serves_naive2_and_the_forecaster():
    from lstmcli.forecasting.seasonal import classical_indices

    y = _values("airpassengers.csv")
    # Naive2's indices are the shared decomposition's, bit for bit
    np.testing.assert_array_equal(seasonal_indices(y, 12), classical_indices(y, 12, average="mean-in-order"))
    # the forecaster's pairwise mean differs only in the order it adds: exactly equal below 8 ratios per
    # phase (the last 8 years give 7), within rounding above
    recent = y[-96:]
    np.testing.assert_array_equal(
        classical_indices(recent, 12), classical_indices(recent, 12, average="mean-in-order")
    )
    np.testing.assert_allclose(classical_indices(y, 12), seasonal_indices(y, 12), rtol=1e-14)


def test_seasonal_indices_odd_period_hand():
    # m = 3, constant level 10 times indices (0.5, 1, 1.5): plain 3-term MA is exactly 10
    pattern = np.array([0.5, 1.0, 1.5])
    y = 10.0 * np.tile(pattern, 8)
    assert seasonality_test(y, 3)
    assert seasonal_indices(y, 3) == pytest.approx(pattern, rel=1e-12)
    # forecasts continue the phase: y has 24 points, so the next position has phase 0
    assert naive2(y, 4, 3) == pytest.approx(10.0 * pattern[[0, 1, 2, 0]], rel=1e-12)


def test_nonpositive_trend_skips_adjustment():
    # Strongly seasonal but the 2x4 moving average is exactly 0: a ratio to it is meaningless, so the
    # adjustment is skipped (as for the sunspots anchor) and Naive2 is Naive.
    y = np.tile([4.0, -2.0, 1.0, -3.0], 6)
    assert seasonality_test(y, 4)
    assert np.array_equal(seasonal_indices(y, 4), np.ones(4))
    assert np.array_equal(naive2(y, 5, 4), naive(y, 5))


def test_seasonality_test_guards():
    rng = np.random.default_rng(0)
    y = 100 + 10 * np.sin(2 * np.pi * np.arange(60) / 12) + rng.normal(0, 1, 60)
    assert seasonality_test(y, 12)
    assert not seasonality_test(y[:35], 12)  # shorter than 3m
    assert not seasonality_test(y, 1)
    assert not seasonality_test(np.full(40, 3.0), 4)  # constant: autocorrelation undefined
    assert np.array_equal(seasonal_indices(y[:35], 12), np.ones(12))


# ---------------------------------------------------------------- simple forecasts by hand


def test_naive_and_seasonal_naive_hand():
    y = np.arange(1.0, 8.0)  # 1..7
    assert np.array_equal(naive(y, 3), [7.0, 7.0, 7.0])
    assert np.array_equal(seasonal_naive(y, 5, 3), [5.0, 6.0, 7.0, 5.0, 6.0])
    assert np.array_equal(seasonal_naive(y, 2, 1), [7.0, 7.0])  # m = 1 -> naive
    assert np.array_equal(seasonal_naive(y, 2, 12), [7.0, 7.0])  # shorter than a season -> naive
    assert np.array_equal(seasonal_naive(y, 2, 7), [1.0, 2.0])  # exactly one season
    assert np.array_equal(naive2(y, 2, 1), [7.0, 7.0])


def test_input_errors():
    with pytest.raises(ValueError):
        naive([], 3)
    with pytest.raises(ValueError):
        naive2([1.0, 2.0], 0, 1)
    with pytest.raises(ValueError):
        seasonal_naive(np.ones((3, 2)), 2, 2)
    with pytest.raises(ValueError):
        baseline_forecasts([1.0, 2.0, 3.0], [0, 2], 2, 1)
    with pytest.raises(ValueError):
        baseline_forecasts([1.0, 2.0, 3.0], [4], 2, 1)


def test_baselines_registry():
    assert list(BASELINES) == ["Naive", "Seasonal naive", "Naive2", "Theta", "ES", "ARIMA"]
    y = _values("us_accidental_deaths.csv")
    for fc in BASELINES.values():
        out = fc(y, 7, 12)
        assert out.shape == (7,) and out.dtype == np.float64


# ---------------------------------------------------------------- batched (backtest) forecasts


def test_baseline_forecasts_match_single_calls_on_real_series():
    y = _values("airpassengers.csv")
    origins = [5, 12, 13, 35, 36, 37, 100, 132, 144]
    out = baseline_forecasts(y, origins, 12, 12)
    assert set(out) == set(BASELINES)
    for name, fc in BASELINES.items():
        assert out[name].shape == (len(origins), 12)
        for i, o in enumerate(origins):
            assert np.array_equal(out[name][i], fc(y[:o], 12, 12)), (name, o)


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.float64, st.integers(1, 60), elements=st.floats(0.5, 1e4)),
    st.integers(1, 15),
    st.integers(1, 13),
    st.data(),
)
def test_baseline_forecasts_match_single_calls(y, horizon, m, data):
    origins = data.draw(st.lists(st.integers(1, y.size), min_size=1, max_size=6))
    out = baseline_forecasts(y, origins, horizon, m)
    for name, fc in BASELINES.items():
        for i, o in enumerate(origins):
            assert np.array_equal(out[name][i], fc(y[:o], horizon, m))


def test_baseline_forecasts_no_origins():
    out = baseline_forecasts([1.0, 2.0], [], 3, 1)
    assert all(v.shape == (0, 3) for v in out.values())


# ---------------------------------------------------------------- properties

_levels = st.floats(0.5, 1e4, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.data())
def test_seasonal_naive_exact_on_periodic_series(m, data):
    pattern = data.draw(arrays(np.float64, m, elements=st.floats(-1e4, 1e4)))
    reps = data.draw(st.integers(1, 5))
    extra = data.draw(st.integers(0, m - 1))
    horizon = data.draw(st.integers(1, 30))
    full = np.tile(pattern, reps + 2 + horizon // m + 1)
    n = reps * m + extra
    assert np.array_equal(seasonal_naive(full[:n], horizon, m), full[n : n + horizon])


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 12), st.data())
def test_naive2_of_multiplicative_periodic_series(m, data):
    # y_t = level * s[t % m] with constant level: the centred MA is the level, so the indices are s and, when
    # the test calls the series seasonal, Naive2 continues the pattern exactly (otherwise it is Naive).
    raw = data.draw(arrays(np.float64, m, elements=st.floats(0.2, 5.0)))
    s = raw / raw.mean()
    level = data.draw(_levels)
    n = data.draw(st.integers(3 * m, 8 * m))
    horizon = data.draw(st.integers(1, 2 * m))
    full = level * s[np.arange(n + horizon) % m]
    y = full[:n]
    if seasonality_test(y, m):
        assert seasonal_indices(y, m) == pytest.approx(s, rel=1e-9)
        assert naive2(y, horizon, m) == pytest.approx(full[n:], rel=1e-9)
    else:
        assert np.array_equal(naive2(y, horizon, m), naive(y, horizon))


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.integers(1, 80), elements=_levels), st.integers(0, 12), st.integers(1, 20))
def test_naive2_without_seasonality_is_naive(y, m, horizon):
    if m <= 1 or y.size < 3 * m or not seasonality_test(y, m):
        assert np.array_equal(seasonal_indices(y, m), np.ones(max(m, 1)))
        assert np.array_equal(naive2(y, horizon, m), naive(y, horizon))


@settings(max_examples=60, deadline=None)
@given(
    arrays(np.float64, st.integers(6, 80), elements=_levels),
    st.integers(2, 12),
    st.integers(1, 20),
    st.floats(1e-2, 1e2),
)
def test_naive2_indices_and_scale_equivariance(y, m, horizon, c):
    s = seasonal_indices(y, m)
    assert s.shape == (m,) and np.all(s > 0) and s.mean() == pytest.approx(1.0, rel=1e-12)
    assume(seasonality_test(c * y, m) == seasonality_test(y, m))  # rounding can flip a borderline test
    assert naive2(c * y, horizon, m) == pytest.approx(c * naive2(y, horizon, m), rel=1e-9)
