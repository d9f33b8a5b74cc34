"""`backtest --id-col` (issue #19): the full cross-validation table in CSV and JSON, per-series errors,
the worst series in the table view, and `-o FILE`."""

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.errors import ConfigError
from lstmcli.forecasting.crossval import cross_validation_rows, series_times
from tests.test_panel import SERIES, TINY_CLI, panel_frame

runner = CliRunner()
H = 4


@pytest.fixture(scope="module")
def long_csv(tmp_path_factory):
    """The four good series of test_panel's panel (different lengths and date ranges), shuffled rows."""
    frame = panel_frame()
    frame = frame[frame.store.isin([sid for sid, _, _ in SERIES])].sample(frac=1.0, random_state=3)
    path = tmp_path_factory.mktemp("cv") / "shops.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.fixture(scope="module")
def backtest_json(long_csv):
    path, _ = long_csv
    args = ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--level", "80", *TINY_CLI]
    r = runner.invoke(app, [*args, "--format", "json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout), args


def smape(a, f):  # written out here, not taken from lstmcli.forecasting.metrics
    a, f = np.asarray(a), np.asarray(f)
    return float(np.mean(200 * np.abs(a - f) / (np.abs(a) + np.abs(f))))


def test_the_cross_validation_table_has_a_row_per_series_and_step(long_csv, backtest_json):
    _, frame = long_csv
    out, _ = backtest_json
    rows = out["cross_validation"]
    assert out["id_col"] == "store" and len(rows) == 4 * H
    assert list(rows[0]) == [
        "store", "cutoff", "date", "actual", "forecast", "Naive", "Seasonal naive", "Naive2", "Theta", "ES", "ARIMA", "lower_80",
        "upper_80",
    ]  # fmt: skip
    for sid, _, _ in SERIES:
        mine = [r for r in rows if r["store"] == sid]
        series = frame[frame.store == sid].sort_values("date")
        assert [r["date"] for r in mine] == list(series.date[-H:])  # the test rows' own dates
        assert {r["cutoff"] for r in mine} == {series.date.iloc[-H - 1]}
        np.testing.assert_allclose([r["actual"] for r in mine], series.sales[-H:])
        # Naive repeats the last value before the cutoff; the interval holds the forecast (symmetric
        # around it but where a member of the combination lies beyond the calibrated width)
        np.testing.assert_allclose([r["Naive"] for r in mine], series.sales.iloc[-H - 1])
        lo, hi, f = (np.array([r[k] for r in mine]) for k in ("lower_80", "upper_80", "forecast"))
        assert np.all(lo < f) and np.all(f < hi)


def test_per_series_errors_and_coverage_agree_with_the_table(backtest_json):
    out, _ = backtest_json
    rows = out["cross_validation"]
    assert set(out["per_series"]) == {sid for sid, _, _ in SERIES}
    for sid, errors in out["per_series"].items():
        mine = [r for r in rows if r["store"] == sid]
        actual = [r["actual"] for r in mine]
        assert errors["LSTM"]["sMAPE"] == pytest.approx(smape(actual, [r["forecast"] for r in mine]))
        assert errors["Naive2"]["sMAPE"] == pytest.approx(smape(actual, [r["Naive2"] for r in mine]))
    mean = np.mean([e["LSTM"]["sMAPE"] for e in out["per_series"].values()])
    assert out["overall"]["LSTM"]["sMAPE"] == pytest.approx(mean)
    inside = np.mean([r["lower_80"] <= r["actual"] <= r["upper_80"] for r in rows])
    assert out["coverage"]["80"] == pytest.approx(inside)


def test_csv_and_output_file_hold_the_same_table(tmp_path, backtest_json):
    out, args = backtest_json
    r = runner.invoke(app, [*args, "--format", "csv", "-o", str(tmp_path / "cv.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cv.csv").read_text() == r.stdout
    table = list(csv.DictReader(io.StringIO(r.stdout)))
    assert len(table) == 4 * H and table[0]["store"] == out["cross_validation"][0]["store"]
    assert float(table[0]["forecast"]) == out["cross_validation"][0]["forecast"]  # repr: exact
    r = runner.invoke(app, [*args, "-o", str(tmp_path / "all.json")])  # the table view, and a JSON file
    assert r.exit_code == 0, r.output
    assert "Worst series by OWA (4 of 4;" in r.stdout and "written to" in r.stdout  # (it said "5 of 4")
    saved = json.loads((tmp_path / "all.json").read_text())
    assert saved["cross_validation"] == out["cross_validation"]


@pytest.mark.parametrize(
    ("extra", "message", "code"),
    [(["-o", "{data}"], "--output", 1), (["-o", "{tmp}/cv.png"], "write a .csv or a .json file", 2)],
)
def test_output_errors_are_one_line_and_write_nothing(tmp_path, long_csv, extra, message, code):
    path, _ = long_csv
    before = path.read_bytes()
    extra = [e.format(data=path, tmp=tmp_path) for e in extra]
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", "4", *TINY_CLI, *extra])
    assert r.exit_code == code, r.output
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0]
    assert path.read_bytes() == before and not (tmp_path / "cv.png").exists()


def test_every_baseline_given_is_a_column_and_missing_bounds_are_empty():
    times = [series_times(None, 10, 2), series_times(np.array([1.0, 2.0, 3.5, 4.0]), 4, 2)]
    assert times[0] == ("step", 8, [9, 10]) and times[1] == ("step", 2, [3.5, 4])
    actual = np.array([[1.0, 2.0], [3.0, 4.0]])
    lower = np.array([[0.0, 1.0], [np.nan, np.nan]])  # the second series has no residuals
    rows = cross_validation_rows(
        "shop", ["a", "b"], times, actual, actual + 1, {"Naive2": actual - 1, "Theta": actual * 2},
        {80: (lower, lower + 2)},
    )  # fmt: skip
    assert list(rows[0]) == [
        "shop", "cutoff", "step", "actual", "forecast", "Naive2", "Theta", "lower_80", "upper_80"
    ]  # fmt: skip
    assert rows[3] == {
        "shop": "b", "cutoff": 2, "step": 4, "actual": 4.0, "forecast": 5.0, "Naive2": 3.0, "Theta": 8.0,
        "lower_80": None, "upper_80": None,
    }  # fmt: skip
    with pytest.raises(ConfigError, match=r"the id column 'Theta' has the name of a column"):
        cross_validation_rows("Theta", ["a", "b"], times, actual, actual, {"Theta": actual})


@pytest.mark.parametrize("mode", [[], ["--global"]])
def test_series_too_short_to_score_or_to_train_are_named_not_a_traceback(tmp_path, long_csv, mode):
    # a series of 1 row (nothing before its test rows) crashed both modes; one of 6 rows (2 to train on,
    # too few for a model) was an error in local mode: now Naive2 forecasts it, as the global mode does
    _, frame = long_csv
    short = [("tiny", "2020-01-01", 1.0), *[("brief", f"2020-0{k + 1}-01", 5.0 + k % 3) for k in range(6)]]
    path = tmp_path / "short.csv"
    pd.concat([frame, pd.DataFrame(short, columns=["store", "date", "sales"])]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--level", "80",
                            *TINY_CLI, *mode, "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert f"1 of 6 series have fewer than 2 rows before their last {H} (tiny): not scored." in " ".join(
        r.stderr.split()
    )
    assert "(brief)" in r.stderr or "left out of the global model" in r.stderr
    scored = set(json.loads(r.stdout)["per_series"])
    assert scored == {sid for sid, _, _ in SERIES} | {"brief"}


def test_a_series_with_another_number_of_test_rows_is_the_one_named(tmp_path):
    """The first series had 5 test rows, the other two 8: the error named the second series, with 8
    (a walk-through); the odd one is named against the count most series have."""
    rows = [
        (sid, t, float(t + k), "test" if t >= n - test else "train")
        for k, (sid, n, test) in enumerate([("a", 30, 5), ("b", 30, 8), ("c", 30, 8)])
        for t in range(n)
    ]
    path = tmp_path / "split.csv"
    pd.DataFrame(rows, columns=["series_id", "step", "value", "split"]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "series_id", *TINY_CLI])
    assert r.exit_code == 1, r.output
    assert "series a has 5 test rows, the other 2 have 8" in " ".join(r.stderr.split())


def test_a_numbered_step_missing_among_the_scored_rows_is_refused(tmp_path):
    """Steps 1..30 with step 28 missing from one series: its rows were scored as consecutive steps, the
    forecast of step 28 against the row of step 29, without a word (a walk-through); dates were refused."""
    rows = [
        (sid, t, float(t % 5 + k))
        for k, sid in enumerate("abc")
        for t in range(1, 31)
        if (sid, t) != ("b", 28)
    ]
    path = tmp_path / "steps.csv"
    pd.DataFrame(rows, columns=["series_id", "step", "value"]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "series_id", "--horizon", "4", *TINY_CLI])
    assert r.exit_code == 1 and "series 'b' has no row for step 28, among the 4 steps" in r.stderr, r.output
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "series_id", "--horizon", "1", *TINY_CLI])
    assert r.exit_code == 0, r.output  # (a gap before the scored rows and their origin: as before)


def test_a_dense_file_backtests_each_series_from_its_first_value(tmp_path):
    """Empty rows before a series began (a row for every date of every series): train starts the series
    at its first value, backtest refused the file ("long-format series must be complete"; a
    walk-through). It reads them as train does, and says so; an empty value after the first is still
    refused, naming its line."""
    dates = pd.date_range("2015-01-01", periods=60, freq="MS").strftime("%Y-%m-%d")
    values = {sid: 100.0 + k + np.sin(np.arange(60.0)) for k, sid in enumerate("abc")}
    values["c"][:20] = np.nan
    frame = pd.DataFrame([(sid, d, v) for sid, y in values.items() for d, v in zip(dates, y, strict=True)],
                         columns=["store", "date", "sales"])  # fmt: skip
    frame.to_csv(tmp_path / "dense.csv", index=False)
    r = runner.invoke(app, ["backtest", str(tmp_path / "dense.csv"), "--id-col", "store", "--format", "json",
                            *TINY_CLI])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "Started 1 series at their first 'sales' value (c): the 20 rows before it" in " ".join(
        r.stderr.split()
    )
    frame.loc[(frame.store == "c") & (frame.date == "2018-01-01"), "sales"] = np.nan
    frame.to_csv(tmp_path / "gap.csv", index=False)
    r = runner.invoke(app, ["backtest", str(tmp_path / "gap.csv"), "--id-col", "store", *TINY_CLI])
    assert r.exit_code == 1 and "line 158, column 'sales': the value is missing" in r.stderr, r.output


def test_a_constant_series_is_left_out_of_mase_and_owa_not_the_whole_panel(tmp_path, long_csv):
    """One constant series (no MASE scale) made the panel's MASE and OWA undefined for every method
    ("–", the verdict gone, the json null) and led the worst series; a walk-through."""
    _, frame = long_csv
    flat = pd.DataFrame([("const", d.date().isoformat(), 7.0) for d in pd.date_range("2018-01-01", periods=30, freq="MS")],
                        columns=["store", "date", "sales"])  # fmt: skip
    flat.loc[flat.index[-H:], "sales"] = [7.0, 8.0, 7.5, 7.0]  # (constant over its training rows)
    path = tmp_path / "const.csv"
    pd.concat([frame, flat]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), *TINY_CLI,
                            "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert "MASE and OWA leave out 1 of 5 forecasts whose training rows have no scale" in " ".join(
        r.stderr.split()
    )
    good = [e for sid, e in out["per_series"].items() if sid != "const"]
    for name in ("LSTM", "Naive2", "Theta"):
        assert out["overall"][name]["MASE"] == pytest.approx(np.mean([e[name]["MASE"] for e in good]))
    assert out["overall"]["Naive2"]["OWA"] == pytest.approx(1.0)
    table = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), *TINY_CLI])
    assert "The LSTM" in table.stdout  # the verdict
    worst = table.stdout[table.stdout.index("Worst series") :]
    assert worst.index("const") > max(worst.index(sid) for sid, _, _ in SERIES)  # (undefined: last)


def test_coverage_is_over_the_forecasts_that_have_an_interval(tmp_path, long_csv):
    """A series too short for a model (forecast by Naive2, no interval) removed the coverage of the
    whole panel while MSIS stayed; a walk-through."""
    _, frame = long_csv
    short = [("brief", f"2020-0{k + 1}-01", 5.0 + k % 3) for k in range(6)]
    path = tmp_path / "short.csv"
    pd.concat([frame, pd.DataFrame(short, columns=["store", "date", "sales"])]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--level", "80",
                            *TINY_CLI, "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    rows = [row for row in out["cross_validation"] if row["lower_80"] is not None]
    assert len(rows) == 4 * H and {row["store"] for row in rows} == {sid for sid, _, _ in SERIES}
    inside = np.mean([row["lower_80"] <= row["actual"] <= row["upper_80"] for row in rows])
    assert out["coverage"]["80"] == pytest.approx(inside)
    assert out["intervals_per_row"]["brief"]["80"]["coverage"] is None
    assert "1 of 5 forecasts have no interval (no validation residuals: brief)" in " ".join(r.stderr.split())


def test_features_are_refused_with_an_id_column_not_ignored(long_csv):
    path, _ = long_csv
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--features", "sales", *TINY_CLI])
    assert r.exit_code == 2 and "--features is not supported with --id-col yet" in r.stderr, r.output
