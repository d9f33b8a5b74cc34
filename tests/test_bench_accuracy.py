"""The accuracy benchmark's own arithmetic (issue #21): MSIS, the combinations, the Naive2 written from
M4's definition, and the interval bounds the checkpoint keeps. statsforecast is not needed here."""

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import accuracy_m1m3  # noqa: E402
import anchors  # noqa: E402
import panel_accuracy  # noqa: E402

from lstmcli.data.series import LongSeries  # noqa: E402
from lstmcli.forecasting.backtest import backtest_long  # noqa: E402
from lstmcli.forecasting.baselines import naive2  # noqa: E402
from lstmcli.forecasting.config import ForecasterConfig  # noqa: E402
from lstmcli.forecasting.intervals import panel_intervals  # noqa: E402


def test_msis_is_m4s_interval_score_by_hand():
    y = np.array([10.0, 12.0, 20.0])
    lo = np.array([9.0, 13.0, 14.0])  # step 2 below the interval by 1, step 3 above by 2
    hi = np.array([11.0, 15.0, 18.0])
    # widths 2 + 2 + 4, penalties (2 / 0.05) * (1 + 2) = 120, over 3 steps, scale 2
    assert accuracy_m1m3.msis(y, lo, hi, scale=2.0) == pytest.approx((8.0 + 120.0) / 3 / 2.0)


def test_combinations_are_stepwise_means_and_medians():
    a, b, c = np.array([1.0, 10.0]), np.array([2.0, 0.0]), np.array([9.0, 4.0])
    np.testing.assert_array_equal(accuracy_m1m3._combine([a, b, c], "median"), [2.0, 4.0])
    np.testing.assert_array_equal(accuracy_m1m3._combine([a, b], "mean"), [1.5, 5.0])


def test_scores_pool_points_and_owa_is_against_naive2_means():
    actual, insample = [np.array([2.0, 2.0]), np.array([4.0])], [np.arange(1.0, 5.0), np.arange(1.0, 5.0)]
    f = [np.array([2.0, 4.0]), np.array([4.0])]
    bounds = {95: [np.array([1.0, 1.0]), np.array([5.0])]}, {95: [np.array([3.0, 1.5]), np.array([6.0])]}
    s = accuracy_m1m3.score(actual, insample, 1, f, *bounds)
    assert s["inside"][95] == 1 and s["points"] == 3  # only the first point of series 1 is inside
    both = accuracy_m1m3.summary([s], [s])
    assert both["OWA"] == pytest.approx(1.0) and both["cov95"] == pytest.approx(100 / 3)


@pytest.mark.parametrize("m", [1, 4, 12])
def test_naive2_from_m4s_definition_agrees_with_lstmclis(m):
    rng = np.random.default_rng(m)
    for n in (7, 30, 80):
        t = np.arange(n)
        y = 50 + 0.3 * t + (8 * np.sin(2 * np.pi * t / m) if m > 1 else 0) + rng.normal(0, 1, n)
        mine, _ = anchors.naive2(y, 6, m)
        np.testing.assert_allclose(mine, naive2(y, 6, m), rtol=1e-12)


def test_checkpoint_keeps_the_intervals_the_backtest_scored():
    rng = np.random.default_rng(0)
    series = [
        LongSeries(series_id=f"s{k}", values=10 + np.cumsum(rng.normal(0, 1, 40)), n_test=4) for k in range(3)
    ]
    config = ForecasterConfig(epochs=3, hidden=4, ensemble=1, patience=0)
    record: list = []
    with panel_accuracy._recording_widths(record):
        result = backtest_long(series, replace(config, seed=0), season=1, levels=(80, 95), threads=1)
    assert len(record) == 3 and all({80, 95} <= set(r) for r in record)
    for level in (80, 95):  # what the widths were computed from is kept: the same widths again from it
        again = panel_intervals(
            [r["residuals"] for r in record], [r["floor"] for r in record], level / 100, 4
        )
        for k in range(3):
            np.testing.assert_array_equal(again[k], record[k][level])
    for level in (80, 95):
        lstm = result.forecasts["LSTM"]
        lo = np.stack([lstm[k] - record[k][level] for k in range(3)])
        hi = np.stack([lstm[k] + record[k][level] for k in range(3)])
        inside = (result.actual >= lo) & (result.actual <= hi)
        assert inside.mean() == pytest.approx(result.coverage[level])
