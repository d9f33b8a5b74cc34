"""Inputs known in advance for panels (issue #22): `train --id-col --future-features/--calendar/--holidays`,
global and local, recursive and direct; `predict --future` and `--data` with trailing rows per series;
`backtest --id-col` with them; the panel file (format 1.5) and the older files; holidays counted per
week and month."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmcli.data.calendar import holiday_counts
from lstmcli.data.panel import load_panel
from lstmcli.errors import DataError
from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig
from lstmcli.forecasting.panel import PanelForecaster
from tests.test_covariates import FAST, one_line_error, run  # the single-series part's helpers

FIXTURES = Path(__file__).parent / "fixtures"
START = np.datetime64("2023-01-01")


def panel_csv(path, n=200, trailing=0, ids=("a", "b", "c"), seed=0, exact=False):
    """Daily sales per store, 40 + 20 * store number + 30 * promo (exactly, with ``exact``) plus a weekly
    swing; each store its own promotion days; the last ``trailing`` rows of each store have no sales.
    Returns {store: promo flags (n + trailing,)}."""
    rng = np.random.default_rng(seed)
    days = START + np.arange(n + trailing)
    rows, promos = ["store,date,sales,promo"], {}
    for k, sid in enumerate(ids):
        promo = (rng.random(n + trailing) < 0.3).astype(int)
        sales = 40 + 20 * k + 30 * promo
        if not exact:
            sales = sales + 5 * np.sin(2 * np.pi * np.arange(n + trailing) / 7)
        promos[sid] = promo
        for t, d in enumerate(days):
            rows.append(f"{sid},{d},{'' if t >= n else f'{sales[t]:.4f}'},{promo[t]}")
    path.write_text("\n".join(rows) + "\n")
    return promos


def future_csv(path, promos, start, steps, value=None, skip=()):
    """A --future file: each store's promo flags (or ``value``) for ``steps`` days from ``start``."""
    lines = ["store,date,promo"]
    for sid, promo in promos.items():
        for k in range(steps):
            if (sid, k) in skip:
                continue
            v = value if value is not None else promo[int((start - START).astype(int)) + k]
            lines.append(f"{sid},{start + k},{v}")
    path.write_text("\n".join(lines) + "\n")


def forecasts_of(result):
    assert result.exit_code == 0, result.output
    out: dict[str, list[float]] = {}
    for row in json.loads(result.stdout)["forecast"]:
        out.setdefault(row["store"], []).append(row["forecast"])
    return {k: np.array(v) for k, v in out.items()}


# ---------------------------------------------------------------------------------------------- reading
def test_a_panel_reads_each_series_known_values_and_forecast_period(tmp_path):
    data = tmp_path / "p.csv"
    promos = panel_csv(data, n=30, trailing=4)
    panel = load_panel(data, id_col="store", target="sales", future=("promo",), forecast_rows=True)
    for sid, s in zip(panel.ids, panel.series, strict=True):
        assert len(s.values) == 30 and s.future_feature_names == ("promo",)
        np.testing.assert_array_equal(s.future_features[:, 0], promos[sid][:30])
        np.testing.assert_array_equal(s.ahead[:, 0], promos[sid][30:])
        assert str(s.ahead_timestamps[0])[:10] == str(START + 30)
    assert any("The last rows of 3 series (a, b, c; 'a' from 2023-01-31)" in n for n in panel.notes)


def test_trailing_empty_targets_without_known_inputs_are_an_error_naming_the_series(tmp_path):
    data = tmp_path / "p.csv"
    rows = ["store,date,sales"] + [f"a,{START + k},{k + 1}" for k in range(10)]
    rows += [f"b,{START + k},{'' if k >= 8 else k + 2}" for k in range(10)]
    data.write_text("\n".join(rows) + "\n")
    with pytest.raises(
        DataError, match="series 'b' ends with 2 rows without a 'sales' value \\(from 2023-01-09"
    ):
        load_panel(data, id_col="store", target="sales")
    msg = one_line_error(
        run("train", data, "--id-col", "store", "--target", "sales", "-m", tmp_path / "m.npz")
    )
    assert "series 'b' ends with 2 rows without a 'sales' value (from 2023-01-09, line 20)" in msg
    assert not (tmp_path / "m.npz").exists()


# ---------------------------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("mode", ["global", "local"])
@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_panel_forecasts_follow_each_series_future_values(tmp_path, mode, strategy):
    data = tmp_path / "p.csv"
    promos = panel_csv(data, n=240, exact=True)
    model = tmp_path / "m.npz"
    r = run("train", data, "--id-col", "store", "--target", "sales", "--future-features", "promo", f"--{mode}",
            "--strategy", strategy, "--horizon", "5", "-m", model, *FAST)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"lstmcli predict --model {model} --future FUTURE.csv" in " ".join(r.stdout.split())  # (left out)
    start = START + 240
    got = {}
    for flag in (0, 1):
        future = tmp_path / f"f{flag}.csv"
        future_csv(future, promos, start, 5, value=flag)
        got[flag] = forecasts_of(run("predict", "-m", model, "--future", future, "--format", "json"))
    for sid in promos:  # each series is 40 + 20 k + 30 * promo: the promotion lifts every step
        assert np.all(got[1][sid] - got[0][sid] > 15), (sid, got)


def test_local_series_are_the_single_series_models(tmp_path):
    """A local panel's series is fitted exactly as the series alone: the same forecast, bit for bit."""
    data = tmp_path / "p.csv"
    promos = panel_csv(data, n=120, trailing=5)
    cfg = ForecasterConfig(epochs=5, ensemble=1, hidden=8, seed=3, horizon=5, calendar=True)
    panel = load_panel(data, id_col="store", target="sales", future=("promo",), forecast_rows=True)
    local = PanelForecaster(cfg, mode="local").fit(panel)
    got, _ = local.predict_data(panel, 5)  # each series' trailing rows are its forecast period
    alone = tmp_path / "b.csv"
    alone.write_text(
        "date,sales,promo\n"
        + "".join(
            line.split(",", 1)[1] + "\n" for line in data.read_text().splitlines() if line.startswith("b,")
        )
    )
    from lstmcli.data.loader import load_csv

    series = load_csv(alone, target="sales", future_features=["promo"], forecast_rows=True)
    np.testing.assert_array_equal(series.ahead[:, 0], promos["b"][120:])
    single = Forecaster(cfg).fit(series)
    single.compiled_forecasts = True  # as a panel's series runs (a lone model's predict runs NumPy)
    np.testing.assert_array_equal(got["b"].values, single.predict(5, data=series).values)


def test_global_model_sees_each_series_known_inputs_with_one_scaling(tmp_path):
    data = tmp_path / "p.csv"
    promos = panel_csv(data, n=100, trailing=3, ids=("a", "b"))
    cfg = ForecasterConfig(epochs=3, ensemble=1, hidden=8, seed=0, horizon=3)
    panel = load_panel(data, id_col="store", target="sales", future=("promo",), forecast_rows=True)
    model = PanelForecaster(cfg, mode="global").fit(panel)
    states = [model.forecaster(sid).state_ for sid in ("a", "b")]
    # one mean and spread, over the rows of both series (retrained on all the data)
    rows = np.concatenate([promos["a"][:100], promos["b"][:100]])
    for st in states:
        assert st.known.names == ["promo"]
        np.testing.assert_allclose(st.preprocessing.known_mean, [rows.mean()], rtol=1e-12)
        np.testing.assert_allclose(st.preprocessing.known_scale, [rows.std()], rtol=1e-12)
    # the window's last step carries series b's own promo flag of the step it forecasts (its t + 1)
    trace = model.forecaster("b").trace(data=panel.series[1])
    assert trace.input_names[-1] == "promo@t+1"
    prep = states[1].preprocessing
    expected = (promos["b"][99] - prep.known_mean[0]) / prep.known_scale[0]
    assert trace.inputs[-2, -1] == pytest.approx(expected)


# ---------------------------------------------------------------------------------------------- predict
@pytest.mark.parametrize("mode", ["global", "local"])
def test_predict_future_file_and_trailing_rows_agree_and_errors_are_one_line(tmp_path, mode):
    data = tmp_path / "p.csv"
    promos = panel_csv(data, n=120, trailing=6)
    model = tmp_path / "m.npz"
    r = run("train", data, "--id-col", "store", "--target", "sales", "--future-features", "promo", f"--{mode}",
            "--horizon", "4", "-m", model, "--epochs", "3", "--ensemble", "1", "--hidden", "8", "-q")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "have no 'sales' value: they are the forecast period" in " ".join(r.stderr.split())
    r = run("train", data, "--id-col", "store", "--target", "sales", "--future-features", "promo", f"--{mode}",
            "--horizon", "4", "-m", model, "--epochs", "3", "--ensemble", "1", "--hidden", "8", "-q",
            "--format", "json")  # fmt: skip
    summary = json.loads(r.stdout)
    assert summary["future_features"] == ["promo"] and summary["known_inputs"] == ["promo"]
    from_data = forecasts_of(run("predict", "-m", model, "--data", data, "--format", "json"))
    future = tmp_path / "f.csv"
    future_csv(future, promos, START + 120, 6)  # more days than the horizon: fine
    from_file = forecasts_of(run("predict", "-m", model, "--future", future, "--format", "json"))
    assert set(from_file) == {"a", "b", "c"}
    for sid in from_file:
        np.testing.assert_array_equal(from_file[sid], from_data[sid])
    rows = json.loads(run("predict", "-m", model, "--future", future, "--format", "json").stdout)["forecast"]
    assert rows[0]["date"] == str(START + 120)

    # a missing value names the series, the date and the column
    text = future.read_text().replace(f"b,{START + 122},{promos['b'][122]}", f"b,{START + 122},")
    future.write_text(text)
    msg = one_line_error(run("predict", "-m", model, "--future", future))
    assert f"series 'b': column 'promo' has no value for {START + 122}" in msg
    # a missing row
    future_csv(future, promos, START + 120, 4, skip={("c", 1)})
    msg = one_line_error(run("predict", "-m", model, "--future", future))
    assert f"series 'c': no row for {START + 121}" in msg
    # a series of the model absent from the file
    future_csv(future, {"a": promos["a"], "c": promos["c"]}, START + 120, 4)
    msg = one_line_error(run("predict", "-m", model, "--future", future))
    assert "no rows for series 'b' (column 'store')" in msg
    # a date twice in a series
    future.write_text(f"store,date,promo\na,{START + 120},1\na,{START + 120},0\n")
    assert "series 'a' has 2023-05-01 twice (lines 2 and 3)" in one_line_error(
        run("predict", "-m", model, "--future", future)
    )
    # no id column, no known-future column
    future.write_text(f"date,promo\n{START + 120},1\n")
    assert "id column 'store' not found" in one_line_error(run("predict", "-m", model, "--future", future))
    future.write_text(f"store,date,other\na,{START + 120},1\n")
    assert "promo" in one_line_error(run("predict", "-m", model, "--future", future))
    # nothing at all: the error names the series
    msg = one_line_error(run("predict", "-m", model))
    assert "series 'a': the model takes inputs known in advance (promo)" in msg
    # newer data without trailing rows for its series: the same, from --data
    hist = tmp_path / "hist.csv"
    hist.write_text("".join(line for line in data.read_text().splitlines(keepends=True) if ",," not in line))
    msg = one_line_error(run("predict", "-m", model, "--data", hist))
    assert "series 'a': the model takes inputs known in advance (promo)" in msg


def test_panel_without_known_inputs_refuses_a_future_file(tmp_path):
    data = tmp_path / "p.csv"
    panel_csv(data, n=60)
    model = tmp_path / "m.npz"
    lines = [",".join(line.split(",")[:3]) for line in data.read_text().splitlines()]
    data.write_text("\n".join(lines) + "\n")
    r = run("train", data, "--id-col", "store", "--target", "sales", "--global", "-m", model, "--epochs", "2",
            "--ensemble", "1", "--hidden", "4", "-q")  # fmt: skip
    assert r.exit_code == 0, r.output
    future = tmp_path / "f.csv"
    future.write_text(f"store,date,promo\na,{START + 60},1\n")
    assert "needs no --future file" in one_line_error(run("predict", "-m", model, "--future", future))


def test_train_errors_for_panel_known_inputs_are_one_line(tmp_path):
    data = tmp_path / "p.csv"
    panel_csv(data, n=40)
    model = tmp_path / "m.npz"
    base = ("train", data, "--id-col", "store", "--target", "sales", "-m", model)
    assert "known-future column 'nope' not found" in one_line_error(run(*base, "--future-features", "nope"))
    assert "column 'store' is the id column" in one_line_error(run(*base, "--future-features", "store"))
    assert "is the target" in one_line_error(run(*base, "--future-features", "sales"))
    assert not model.exists()


# ---------------------------------------------------------------------------------------------- model file
@pytest.mark.parametrize("mode", ["global", "local"])
def test_panel_file_with_known_inputs_round_trips(tmp_path, mode):
    data = tmp_path / "p.csv"
    promos = panel_csv(data, n=100)
    cfg = ForecasterConfig(epochs=3, ensemble=1, hidden=8, seed=0, horizon=3, calendar=True)
    panel = load_panel(data, id_col="store", target="sales", future=("promo",))
    model = PanelForecaster(cfg, mode=mode).fit(panel)
    model.save(tmp_path / "m.npz")
    again = PanelForecaster.load(tmp_path / "m.npz")
    assert again.state_.format_version == "4.0"
    future = tmp_path / "f.csv"
    future_csv(future, promos, START + 100, 3, value=1)
    from lstmcli.data.future import load_panel_future

    ahead = load_panel_future(future, "store", ("promo",))
    a, b = model.predict(3, future=ahead), again.predict(3, future=ahead)
    for sid in model.ids_:
        np.testing.assert_array_equal(a[sid].values, b[sid].values)
        st, st2 = model.forecaster(sid).state_, again.forecaster(sid).state_
        assert st2.known == st.known
        np.testing.assert_array_equal(st2.tail_known, st.tail_known)
        np.testing.assert_array_equal(st2.preprocessing.known_scale, st.preprocessing.known_scale)
    again.save(tmp_path / "again.npz")
    assert (tmp_path / "m.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()


@pytest.mark.parametrize("mode", ["global", "local"])
def test_a_format_1_4_panel_file_loads_and_saves_with_the_same_forecasts(tmp_path, mode):
    """tests/fixtures/panel_v1_4_*.npz were written by commit 9865c7f (before panels took known inputs)
    from the 1.3 fixtures; their forecasts are tests/test_panel_file.py's V13_FORECASTS. Saved again
    they are format 2.0, which reads back byte for byte."""
    from tests.test_panel_file import V13_FORECASTS

    fixture = FIXTURES / f"panel_v1_4_{mode}.npz"
    model = PanelForecaster.load(fixture)
    assert model.state_.format_version == "1.4" and model.state_.first.known.width == 0
    got = model.predict(3)
    np.testing.assert_allclose([got[k].values for k in model.ids_], V13_FORECASTS[mode], atol=1e-4)
    assert model.state_.first.baselines is None  # (these fixtures kept none)
    model.save(tmp_path / "m.npz")
    again = PanelForecaster.load(tmp_path / "m.npz")
    assert again.state_.format_version == "4.0"
    np.testing.assert_array_equal(
        [v.values for v in again.predict(3).values()], [v.values for v in got.values()]
    )
    again.save(tmp_path / "again.npz")
    assert (tmp_path / "again.npz").read_bytes() == (tmp_path / "m.npz").read_bytes()


# ---------------------------------------------------------------------------------------------- backtest
@pytest.mark.parametrize("mode", ["global", "local"])
def test_backtest_uses_the_actual_known_values_at_each_origin(tmp_path, mode):
    data = tmp_path / "p.csv"
    panel_csv(data, n=150, exact=True)
    args = ("backtest", data, "--id-col", "store", "--target", "sales", f"--{mode}", "--horizon", "5",
            "--format", "csv", *FAST[:-3])  # fmt: skip
    with_known = run(*args, "--future-features", "promo", "--seed", "1")
    without = run(*args, "--seed", "1")
    errors = {}
    for name, r in (("with", with_known), ("without", without)):
        assert r.exit_code == 0, r.output
        table = pd.read_csv(__import__("io").StringIO(r.stdout))
        assert sorted(table["store"].unique()) == ["a", "b", "c"] and len(table) == 15
        errors[name] = float(np.mean(np.abs(table["actual"] - table["forecast"])))
    # the promotions (+30, 30 % of days) are unpredictable without the flags, known with them
    assert errors["with"] < 0.5 * errors["without"], errors


def test_backtest_never_scores_a_forecast_against_a_filled_value(tmp_path):
    """With known inputs the panel is read on its grid and gaps are filled: a missing date among the
    scored rows was scored against its interpolation (a walk-through); refused, as the reader without
    known inputs refuses it. A gap before the scored rows is filled and said, as train fills it."""
    data = tmp_path / "p.csv"
    panel_csv(data, n=60, exact=True)
    lines = data.read_text().splitlines()
    b = [k for k, line in enumerate(lines) if line.startswith("b,")]
    args = ("backtest", data, "--id-col", "store", "--target", "sales", "--future-features", "promo",
            "--horizon", "5", *FAST[:-3])  # fmt: skip
    for gone, refused in ((b[-3], True), (b[10], False)):
        data.write_text("\n".join(line for k, line in enumerate(lines) if k != gone) + "\n")
        r = run(*args)
        date = lines[gone].split(",")[1]
        if refused:
            assert (
                r.exit_code == 1
                and f"series 'b' has no 'sales' value for {date}, among the 5 steps" in r.stderr
            )
        else:
            assert r.exit_code == 0 and "Filled 1 missing value in 1 series (b)" in " ".join(r.stderr.split())


# ---------------------------------------------------------------------------------------------- holidays
def test_holiday_counts_per_week_and_month_across_a_year_boundary():
    pytest.importorskip("holidays")
    # US: Christmas 2023-12-25 (Mon), New Year 2024-01-01 (Mon), MLK day 2024-01-15 (Mon)
    weeks = pd.date_range("2023-12-17", periods=6, freq="W-SUN").values  # weeks ending on Sundays
    np.testing.assert_array_equal(holiday_counts(weeks, "US", "W-SUN"), [0, 0, 1, 1, 0, 1])
    months = pd.date_range("2023-12-01", periods=2, freq="MS").values  # the month starting on the date
    np.testing.assert_array_equal(holiday_counts(months, "US", "MS"), [1, 2])
    ends = pd.date_range("2023-12-31", periods=2, freq="ME").values  # the month ending on the date
    np.testing.assert_array_equal(holiday_counts(ends, "US", "ME"), [1, 2])


@pytest.mark.parametrize(("freq", "step"), [("W-SUN", "W"), ("MS", "MS")])
def test_holidays_for_weekly_and_monthly_series_are_recorded_and_rebuilt(tmp_path, freq, step):
    pytest.importorskip("holidays")
    dates = pd.date_range("2019-01-06" if step == "W" else "2019-01-01", periods=100 if step == "W" else 59,
                          freq=freq)  # fmt: skip
    rng = np.random.default_rng(0)
    data = tmp_path / "s.csv"
    data.write_text("date,v\n" + "".join(f"{d.date()},{100 + rng.normal():.3f}\n" for d in dates))
    model = tmp_path / "m.npz"
    r = run("train", data, "--holidays", "US", "-m", model, "--epochs", "2", "--ensemble", "1", "--hidden", "4",
            "-q")  # fmt: skip
    assert r.exit_code == 0, r.output
    loaded = Forecaster.load(model)
    assert loaded.state_.known.holiday_period == freq and loaded.state_.known.names == ["holidays_US"]
    with np.load(model) as z:  # under keys of their own: a reader from before them refuses the file
        known = json.loads(str(z["metadata"]))["known"]
    assert known["holidays"] is None and known["holiday_counts"] == "US" and known["holiday_period"] == freq
    f = loaded.predict(6)
    assert np.isfinite(f.values).all()
    after = pd.date_range(dates[-1], periods=7, freq=freq)[1:].values  # across the new year of 2020/2021
    expected = holiday_counts(after, "US", freq)
    np.testing.assert_array_equal(loaded.state_.known.matrix(None, after, 6)[:, 0], expected)
    assert expected.sum() >= 1


def test_calendar_and_holidays_are_rebuilt_for_each_series_own_dates_with_static_features(tmp_path):
    """Series ending on different days: each forecast's calendar and holiday inputs are those of its own
    next dates (2023-12-31 for one, 2024-01-01, a US holiday, for the other); static features too."""
    pytest.importorskip("holidays")
    rng = np.random.default_rng(0)
    rows = ["store,date,sales,region"]
    ends = {"a": np.datetime64("2023-12-30"), "b": np.datetime64("2023-12-31")}
    for sid, end in ends.items():
        for d in np.arange(end - 119, end + 1):
            rows.append(
                f"{sid},{d},{50 + 5 * np.sin(int(d.astype(int)) / 7 * 2 * np.pi) + rng.normal():.3f},{sid}"
            )
    data = tmp_path / "p.csv"
    data.write_text("\n".join(rows) + "\n")
    cfg = ForecasterConfig(epochs=3, ensemble=1, hidden=8, seed=0, horizon=3, calendar=True, holidays="US")
    panel = load_panel(data, id_col="store", target="sales", static=("region",))
    model = PanelForecaster(cfg, mode="global").fit(panel)
    model.save(tmp_path / "m.npz")
    loaded = PanelForecaster.load(tmp_path / "m.npz")
    got = loaded.predict(3)
    for sid, end in ends.items():
        f = got[sid]
        assert str(f.timestamps[0])[:10] == str(end + 1) and np.isfinite(f.values).all()
        st = loaded.forecaster(sid).state_
        assert st.known.names[-1] == "holiday_US"
        trace = loaded.forecaster(sid).trace()
        prep = st.preprocessing
        flag = (
            1.0 if end + 1 == np.datetime64("2024-01-01") else 0.0
        )  # the holiday of its first forecast date
        assert trace.inputs[-1, -1] == pytest.approx((flag - prep.known_mean[-1]) / prep.known_scale[-1])
