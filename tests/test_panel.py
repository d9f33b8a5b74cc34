"""Panels (issue #19): reading a long file of many series, one global model across them, its model
file, and the commands on it."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.loader import load_csv
from lstmcli.data.panel import load_panel, skipped_note
from lstmcli.errors import ConfigError, DataError, ModelFileError
from lstmcli.forecasting.config import METHODS, ForecasterConfig
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.panel import PanelForecaster
from lstmcli.npzfile import npz_bytes

DATA = Path(__file__).parent / "data"
TINY = ForecasterConfig(epochs=4, hidden=6, ensemble=2, patience=0)
TINY_CLI = ["--epochs", "4", "--hidden", "6", "--ensemble", "2", "--threads", "1"]
runner = CliRunner()

# (id, first month, length): different lengths and date ranges
SERIES = [
    ("north", "2015-01-01", 60),
    ("east", "2017-03-01", 40),
    ("west", "2016-06-01", 50),
    ("south", "2018-01-01", 36),
]


def panel_frame(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for k, (sid, start, n) in enumerate(SERIES):
        t = np.arange(n)
        y = 100 + 20 * k + 10 * np.sin(2 * np.pi * t / 12) + 0.3 * t + rng.normal(0, 1, n)
        rows += [
            (sid, d.date().isoformat(), round(v, 3))
            for d, v in zip(pd.date_range(start, periods=n, freq="MS"), y, strict=True)
        ]
    rows += [("flat", f"2019-0{m}-01", 5.0) for m in range(1, 8)]  # constant: skipped
    rows += [("stub", "2019-01-01", 1.0), ("stub", "2019-02-01", 2.0)]  # too short to read
    rows += [("gappy", "2015-01-01", 1.0), ("gappy", "2015-02-01", 2.0), ("gappy", "2016-12-01", 3.0)]
    return pd.DataFrame(rows, columns=["store", "date", "sales"])


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("panel") / "stores.csv"
    panel_frame().to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def fitted(panel_csv) -> PanelForecaster:
    return PanelForecaster(TINY, mode="global").fit(load_panel(panel_csv, id_col="store"))


# ---------------------------------------------------------------------------------------------- reading
def test_the_values_column_taken_by_its_name_among_other_numbers_is_said(tmp_path):
    frame = panel_frame()
    frame["x"] = np.arange(len(frame), dtype=float)  # another numeric column: the choice was by name
    path = tmp_path / "p.csv"
    frame.rename(columns={"sales": "value"}).to_csv(path, index=False)
    notes = load_panel(path, id_col="store").notes
    assert (
        "Forecasting column 'value' (by its name); --target picks another ('x' also holds numbers)." in notes
    )
    assert not [n for n in load_panel(path, id_col="store", target="value").notes if "Forecasting" in n]


def test_panel_keeps_each_series_dates_sorted_by_id_and_skips_the_unusable_in_one_note(panel_csv):
    panel = load_panel(panel_csv, id_col="store")
    assert panel.ids == ("east", "north", "south", "west")
    assert [len(s.values) for s in panel.series] == [40, 60, 36, 50]
    assert panel.freq == "MS" and all(s.freq == "MS" for s in panel.series)
    assert str(panel.series[0].timestamps[0])[:10] == "2017-03-01"
    assert dict(panel.skipped) == {"flat": "constant", "stub": "too short", "gappy": "mostly missing"}
    note = skipped_note(panel.skipped)
    assert note.startswith("Skipped 3 series:") and "\n" not in note
    assert not any("flat" in n or "gappy" in n for n in panel.notes)  # no note per series


def test_a_row_for_every_date_of_every_series_starts_each_series_at_its_first_value(tmp_path):
    """A dense export (a row for every date of every series, empty before a series began): the empty
    rows were back-filled with the first value and called "linear interpolation", and a series with more
    empty rows before it than values after was skipped as mostly missing (a user walk-through)."""
    dates = pd.date_range("2015-01-01", periods=60, freq="MS").strftime("%Y-%m-%d")
    t = np.arange(60.0)
    old, new = 100 + 10 * np.sin(t), 50 + 5 * np.cos(t)
    new[:35] = np.nan  # opened in 2017-12: 35 empty months, 25 values
    rows = [(sid, d, v) for sid, y in (("old", old), ("new", new)) for d, v in zip(dates, y, strict=True)]
    path = tmp_path / "dense.csv"
    pd.DataFrame(rows, columns=["store", "date", "sales"]).to_csv(path, index=False)
    panel = load_panel(path, id_col="store")
    assert panel.ids == ("new", "old") and not panel.skipped
    np.testing.assert_allclose(panel.series[0].values, new[35:])
    assert str(panel.series[0].timestamps[0])[:10] == "2017-12-01"
    assert [n for n in panel.notes if n.startswith(("Started", "Filled"))] == [
        "Started 1 series at their first 'sales' value (new): the 35 rows before it, empty, are not part "
        "of them (a series is never filled before its first value)."
    ]


def test_a_series_of_another_frequency_is_named_so_not_mostly_missing(tmp_path):
    """A weekly store in a daily panel (or daily data read with --freq h) was skipped as "mostly
    missing", and all of them as "no series left to learn from (40 mostly missing)" (a walk-through)."""
    days = pd.date_range("2024-01-01", periods=120, freq="D")
    weeks = pd.date_range("2024-01-07", periods=17, freq="W")
    rows = [
        (sid, d.date().isoformat(), 10.0 + k % 7 + i)
        for i, sid in enumerate("ab")
        for k, d in enumerate(days)
    ]
    rows += [("weekly", d.date().isoformat(), 70.0 + k % 3) for k, d in enumerate(weeks)]
    path = tmp_path / "p.csv"
    pd.DataFrame(rows, columns=["store", "date", "sales"]).to_csv(path, index=False)
    assert load_panel(path, id_col="store").skipped == (
        ("weekly", "with a row only every 7 steps, of another frequency"),
    )
    with pytest.raises(
        DataError, match=r"2 with a row only every 24 steps, of another frequency \(a, b\); 1 "
    ):
        load_panel(path, id_col="store", freq="h")


def test_a_weekday_no_series_has_a_row_on_is_named_in_one_note(tmp_path):
    days = [d for d in pd.date_range("2024-01-01", periods=70, freq="D") if d.day_of_week != 6]
    rows = [(sid, d.date().isoformat(), 10.0 + d.day_of_week + i) for i, sid in enumerate("ab") for d in days]
    path = tmp_path / "shops.csv"
    pd.DataFrame(rows, columns=["store", "date", "sales"]).to_csv(path, index=False)
    assert "No Sunday has a row in 2 series (a, b) (closed then?)" in " ".join(
        load_panel(path, id_col="store").notes
    )


def test_ids_that_differ_only_by_spaces_at_their_ends_are_an_error_not_one_series(tmp_path):
    # stripped, "air " and "air" were one series: two series' rows merged, the gap between them filled
    rows = [("air", f"2020-{m:02d}-01", m) for m in range(1, 13)]
    rows += [("air ", f"2022-{m:02d}-01", 100 + m) for m in range(1, 13)]
    path = tmp_path / "ids.csv"
    pd.DataFrame(rows, columns=["store", "date", "sales"]).to_csv(path, index=False)
    with pytest.raises(
        DataError, match=r"the ids 'air' \(line 2\) and 'air ' \(line 14\) differ only by spaces"
    ):
        load_panel(path, id_col="store")
    # a file padded alike everywhere is read as it is written, stripped
    pd.DataFrame([(f" {s} ", d, v) for s, d, v in rows[:12]], columns=["store", "date", "sales"]).to_csv(
        path, index=False
    )
    assert load_panel(path, id_col="store").ids == ("air",)


def test_a_series_off_the_panels_frequency_is_named_without_blaming_an_option_not_given(tmp_path):
    # it read "1973-01-31 is not on the MS grid that starts at 1973-01-31; check --freq MS"
    rows = [(sid, f"{y}-{m:02d}-01", m) for sid in ("a", "b") for y in (2020, 2021) for m in range(1, 13)]
    rows += [("c", str(d.date()), 1.0) for d in pd.date_range("2020-01-31", periods=24, freq="ME")]
    path = tmp_path / "ends.csv"
    pd.DataFrame(rows, columns=["store", "date", "sales"]).to_csv(path, index=False)
    with pytest.raises(DataError) as e:
        load_panel(path, id_col="store")
    assert str(e.value) == (
        f"{path} line 50, column 'date': 2020-01-31 is not on the MS (monthly, month start) grid; "
        "series 'c' does not follow the frequency of the other series"
    )


def test_a_series_of_one_row_is_too_short_and_train_json_names_what_it_left_out(tmp_path, panel_csv):
    # a series of one value was skipped as "mostly missing"; --format json gave only a count
    one = tmp_path / "one.csv"
    one.write_text(Path(panel_csv).read_text() + "single,2019-05-01,4.0\n")
    assert dict(load_panel(one, id_col="store").skipped)["single"] == "too short"
    r = runner.invoke(app, ["train", str(one), "--id-col", "store", *TINY_CLI, "--format", "json",
                            "-m", str(tmp_path / "m.npz")])  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["skipped_series"]["single"] == "too short"
    assert summary["skipped"] == len(summary["skipped_series"])


def test_a_panel_train_warns_of_horizon_steps_validation_did_not_score(tmp_path, panel_csv):
    # a single series' train warned; a panel's said nothing, and predict then flagged every series
    r = runner.invoke(app, ["train", str(panel_csv), "--id-col", "store", *TINY_CLI, "--horizon", "20",
                            "-m", str(tmp_path / "m.npz")])  # fmt: skip
    assert r.exit_code == 0, r.output
    said = " ".join(r.stderr.split())
    assert "warning: validation scored fewer than the 20 horizon steps for " in said
    assert "their later steps were never checked against held-out data" in said
    r = runner.invoke(app, ["train", str(panel_csv), "--id-col", "store", *TINY_CLI, "--horizon", "3",
                            "-m", str(tmp_path / "m3.npz")])  # fmt: skip
    assert r.exit_code == 0 and "horizon steps" not in r.stderr, r.output


def test_a_given_frequency_is_used_and_said(panel_csv):
    panel = load_panel(panel_csv, id_col="store", freq="MS")
    assert "Frequency MS (monthly, month start), as given by --freq." in panel.notes
    with pytest.raises(DataError, match=r"2017-04-01 is not on the W-WED \(weekly\) grid"):
        load_panel(panel_csv, id_col="store", freq="W")


def test_columns_a_panel_does_not_read_are_named_in_one_note(tmp_path, panel_csv):
    assert not any(n.startswith("Ignored") for n in load_panel(panel_csv, id_col="store").notes)
    frame = panel_frame()
    frame["split"] = "train"  # as the M3/M4 files: the test rows are part of the series all the same
    frame["promo"] = 0.5
    path = tmp_path / "extra.csv"
    frame.to_csv(path, index=False)
    panel = load_panel(path, id_col="store", target="sales")
    assert "Ignored columns 'split', 'promo'." in panel.notes
    assert (
        "Ignored column 'split'." in load_panel(path, id_col="store", target="sales", static=("promo",)).notes
    )
    assert (
        "Ignored column 'split'." in load_panel(path, id_col="store", target="sales", future=("promo",)).notes
    )


def test_a_repeated_time_within_a_series_is_one_line(tmp_path):
    path = tmp_path / "dup.csv"
    path.write_text("id,date,y\na,2020-01-01,1\na,2020-01-01,2\na,2020-02-01,3\n")
    with pytest.raises(DataError, match=r"series 'a' has the same date on lines 2, 3"):
        load_panel(path, id_col="id")


def test_a_long_file_read_as_one_series_suggests_the_id_column(panel_csv):
    with pytest.raises(DataError, match=r"did you mean --id-col store\?"):
        load_csv(panel_csv)


# ---------------------------------------------------------------------------------------------- model
def test_forecast_dates_continue_each_series(fitted):
    forecasts = fitted.predict(3)
    assert str(forecasts["east"].timestamps[0])[:10] == "2020-07-01"  # 40 months from 2017-03
    assert str(forecasts["south"].timestamps[0])[:10] == "2021-01-01"
    assert all(np.isfinite(f.values).all() and len(f.values) == 3 for f in forecasts.values())
    assert dict(fitted.skipped_)["flat"] == "constant"


def test_the_order_of_the_rows_never_changes_the_model(tmp_path, fitted):
    shuffled = tmp_path / "stores.csv"  # the same name: a model file records its data file's name
    panel_frame().sample(frac=1.0, random_state=7).to_csv(shuffled, index=False)
    other = PanelForecaster(TINY, mode="global").fit(load_panel(shuffled, id_col="store"))
    a, b = fitted.predict(), other.predict()
    assert all(np.array_equal(a[k].values, b[k].values) for k in a)
    fitted.save(tmp_path / "a.npz")
    other.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_model_file_round_trip_gives_the_same_forecasts_and_bytes(tmp_path, fitted):
    fitted.save(tmp_path / "m.npz")
    loaded = PanelForecaster.load(tmp_path / "m.npz")
    assert loaded.ids_ == fitted.ids_ and loaded.state_.format_version == "4.0"
    a, b = fitted.predict(5, levels=(80,)), loaded.predict(5, levels=(80,))
    for k in a:
        np.testing.assert_array_equal(a[k].values, b[k].values)
        np.testing.assert_array_equal(a[k].intervals[80][0], b[k].intervals[80][0])
    loaded.save(tmp_path / "again.npz")
    assert (tmp_path / "m.npz").read_bytes() == (tmp_path / "again.npz").read_bytes()
    with zipfile.ZipFile(tmp_path / "m.npz") as z:  # the shared weights keep PyTorch's names
        names = set(z.namelist())
    assert {"lstm.weight_ih_l0.npy", "head.weight.npy", "ensemble.1.lstm.weight_hh_l0.npy"} <= names
    assert {"panel.tail_values.npy", "panel.tail_values_offsets.npy"} <= names


def test_one_series_is_a_forecaster_and_an_unknown_id_names_a_few(fitted):
    one = fitted.forecaster("west")
    np.testing.assert_array_equal(one.predict(4).values, fitted.predict(4, ids=["west"])["west"].values)
    assert one.trace().inputs.shape[0] == one.lookback_
    with pytest.raises(
        ConfigError, match=r"no series 'nowhere' in this model; its store values are: east, north"
    ):
        fitted.forecaster("nowhere")


@pytest.mark.parametrize("mode", ["global", "local"])
def test_a_series_built_by_hand_with_a_missing_value_is_named(panel_csv, mode):
    # global: the shared network diverged for every series; local: the series was dropped as "diverged"
    from dataclasses import replace

    panel = load_panel(panel_csv, id_col="store")
    series = list(panel.series)
    values = series[1].values.copy()
    values[5] = np.nan
    series[1] = replace(series[1], values=values)
    with pytest.raises(DataError, match=rf"series '{panel.ids[1]}' has nan at row 6; fill or drop it first"):
        PanelForecaster(TINY, mode=mode).fit(series, ids=list(panel.ids), id_col="store")


def test_an_id_typed_in_another_unicode_form_finds_its_series():
    # 'école' typed composed did not find the id stored decomposed, and the error listed it, looking alike
    import unicodedata

    from lstmcli.forecasting.panel import _unicode_match

    stored = {unicodedata.normalize("NFD", "école"): 0, "north": 1}
    assert _unicode_match(unicodedata.normalize("NFC", "école"), stored) == 0
    assert _unicode_match("nowhere", stored) is None


def test_panel_and_single_files_are_each_refused_by_the_other_loader(tmp_path, fitted):
    fitted.save(tmp_path / "panel.npz")
    with pytest.raises(ModelFileError, match=r"^panel.npz: holds a model of many series"):
        Forecaster.load(tmp_path / "panel.npz")
    Forecaster(TINY).fit(one_series()).save(tmp_path / "single.npz")
    with pytest.raises(ModelFileError, match=r"^single.npz: holds a model of one series"):
        PanelForecaster.load(tmp_path / "single.npz")


def one_series():
    from lstmcli.data.series import SeriesData

    y = np.sin(np.arange(60) / 3.0) + 5
    return SeriesData("s.csv", "y", y, np.zeros((60, 0)), (), None, None, None, ())


def test_damaged_panel_offsets_are_one_line(tmp_path, fitted):
    fitted.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz", allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["panel.residuals_offsets"] = arrays["panel.residuals_offsets"][::-1].copy()
    (tmp_path / "bad.npz").write_bytes(npz_bytes(arrays))
    with pytest.raises(ModelFileError, match=r"^bad.npz: panel.residuals_offsets must be") as e:
        PanelForecaster.load(tmp_path / "bad.npz")
    assert "\n" not in str(e.value)


def test_fit_a_long_dataframe_with_the_callers_column_names():
    df = panel_frame().rename(columns={"store": "shop", "date": "ds", "sales": "y"})
    model = PanelForecaster(TINY, mode="global").fit_frame(df, id_col="shop")
    assert model.ids_ == ["east", "north", "south", "west"] and model.id_col_ == "shop"
    # what reading decided is kept (it was thrown away), and an error names the DataFrame, not a temporary file
    assert "Frequency MS (monthly, month start), inferred from the dates." in model.read_notes_
    df["y"] = df["y"].astype(object)
    df.loc[3, "y"] = "x"
    with pytest.raises(DataError, match=r"^the DataFrame \(as CSV\) line 5, column 'y': 'x' is not a number"):
        PanelForecaster(TINY, mode="global").fit_frame(df, id_col="shop")


# ---------------------------------------------------------------------------------------------- commands
def test_cli_train_predict_inspect_backtest(tmp_path, panel_csv):
    model = tmp_path / "m.npz"
    r = runner.invoke(
        app, ["train", str(panel_csv), "--id-col", "store", "--global", "-m", str(model), *TINY_CLI, "-q"]
    )
    assert r.exit_code == 0, r.output
    assert "Skipped 3 series" in r.output and "one model across the series" in r.output
    # the shared lookbacks, capped for the shorter series (10th percentile of 36-60 months: 37), say so
    said = " ".join(r.output.replace("│", " ").split())
    assert "lookbacks 15, 12 (not 24, 12: capped for the shorter series; --lookback sets them)" in said
    r = runner.invoke(app, ["train", str(panel_csv), "--id-col", "store", "--global", "-m",
                            str(tmp_path / "j.npz"), *TINY_CLI, "-q", "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout)
    assert summary["lookbacks"] == [15, 12] and summary["lookbacks_default"] == [24, 12]

    r = runner.invoke(
        app, ["predict", "-m", str(model), "--format", "csv", "--level", "80", "--horizon", "3"]
    )
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert lines[0] == "store,date,forecast,lower_80,upper_80" and len(lines) == 1 + 4 * 3
    assert lines[1].startswith("east,2020-07-01,")
    # the series left out at training are said, not silently missing from the output (a walk-through)
    assert "No forecast (left out at training) for 3 series: 1 constant (flat)" in " ".join(r.stderr.split())
    # --method best: each row names the method that made it, and a note counts them
    r = runner.invoke(
        app, ["predict", "-m", str(model), "--format", "csv", "--method", "best", "--horizon", "2"]
    )
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    methods = [line.split(",")[1] for line in lines[1:]]
    assert lines[0] == "store,method,date,forecast" and len(methods) == 8 and set(methods) <= set(METHODS)
    note = " ".join(r.stderr.split())
    assert note.startswith("note: --method best: each series' validation winner (")

    r = runner.invoke(app, ["predict", "-m", str(model), "--format", "json", "--id", "north"])
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["forecast"]
    assert {row["store"] for row in rows} == {"north"} and rows[0]["date"] == "2020-01-01"
    assert json.loads(r.stdout)["skipped_series"] == {} and "left out" not in r.stderr  # (one asked for)
    r = runner.invoke(app, ["predict", "-m", str(model), "--format", "json", "--horizon", "2"])
    assert json.loads(r.stdout)["skipped_series"] == {"flat": "constant", "gappy": "mostly missing",
                                                      "stub": "too short"}  # fmt: skip

    r = runner.invoke(app, ["predict", "-m", str(model)])
    assert r.exit_code == 0, r.output
    assert "Forecasts of 4 series" in r.stdout and "--id east" in r.stdout

    r = runner.invoke(app, ["inspect", "-m", str(model), "--id", "west", "--format", "json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["steps"][-1] == "2020-07-01"  # west: 50 months from 2016-06

    long_file = DATA / "m3_quarterly_first3.csv"
    r = runner.invoke(
        app, ["backtest", str(long_file), "--id-col", "series_id", "--global", *TINY_CLI, "--format", "json"]
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out["per_series"]) == {"N0647", "N0702", "N0762"} and "LSTM" in out["overall"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "{csv}", "--global"], "--global and --local are for many series"),
        (["predict", "-m", "{model}", "--id", "nowhere"], "no series 'nowhere' in this model"),
        (["inspect", "-m", "{model}"], "holds 4 series; choose one with --id (east, north, south, west)"),
        (["predict", "-m", "{single}", "--id", "x"], "--id is for models of many series"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, panel_csv, fitted, args, message):
    fitted.save(tmp_path / "m.npz")
    Forecaster(TINY).fit(one_series()).save(tmp_path / "single.npz")
    args = [a.format(csv=panel_csv, model=tmp_path / "m.npz", single=tmp_path / "single.npz") for a in args]
    if args[0] == "train":
        args += ["-m", str(tmp_path / "new.npz"), *TINY_CLI]
    r = runner.invoke(app, args)
    assert r.exit_code == (2 if "--global" in args else 1), r.output  # (an option alone: a usage error)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], r.stderr


def test_shared_lookbacks_are_capped_as_the_short_series_would_cap_its_own():
    """The global network's lookbacks: the single-series defaults (8, 4, 6, 12, 16 quarters), capped at
    the panel's 10th percentile of lengths (13 values here) as the single-series planner caps a series
    of 13 (recursive: the horizon is not inside a training window), not by the horizon as well."""
    from lstmcli.forecasting.backtest import _series_from_values
    from lstmcli.forecasting.panel_global import panel_lookbacks
    from lstmcli.forecasting.planning import make_plan

    cfg = ForecasterConfig(season=4, horizon=8)
    lengths = [13] * 30 + [40] * 170
    alone = make_plan(cfg, _series_from_values(np.arange(1.0, 14.0), "short", "panel.csv"))
    assert panel_lookbacks(cfg, 4, 8, lengths) == list(alone.lookbacks) == [4, 4, 4, 4, 4]
    assert panel_lookbacks(cfg, 4, 8, [40] * 200) == [8, 4, 6, 12, 16]  # long series: not capped
    # direct forecasts hold the horizon inside each window: the short series keeps half its values
    assert panel_lookbacks(cfg, 4, 8, lengths, direct=True) == [2, 2, 2, 2, 2]


def test_a_panels_values_written_a_locales_way_are_found_without_target(tmp_path):
    """A single series' value column is found when written 1006,91 in a ';' file or 1,006.91; a panel's
    said "numeric columns: none; name it with --target" (a walk-through). And a known-future column is
    never taken for the values."""
    dates = pd.date_range("2023-01-02", periods=30, freq="D").strftime("%Y-%m-%d")
    rows = [
        (sid, d, 1000.5 + 10 * k + j % 7, j % 2)
        for k, sid in enumerate(["a", "b"])
        for j, d in enumerate(dates)
    ]
    euro = "Store;Date;Sales (EUR)\n" + "".join(
        f"{s};{d};{str(v).replace('.', ',')}\n" for s, d, v, _ in rows
    )
    (tmp_path / "euro.csv").write_text(euro)
    grouped = "Store,Date,Sales (EUR)\n" + "".join(f'{s},{d},"{v:,.2f}"\n' for s, d, v, _ in rows)
    (tmp_path / "grouped.csv").write_text(grouped)
    for name in ("euro.csv", "grouped.csv"):
        panel = load_panel(tmp_path / name, id_col="Store")
        assert panel.target == "Sales (EUR)" and panel.series[0].values[0] == pytest.approx(1000.5)
    promo = "Store,Date,Sales,promo\n" + "".join(f"{s},{d},{v},{p}\n" for s, d, v, p in rows)
    (tmp_path / "promo.csv").write_text(promo)
    assert load_panel(tmp_path / "promo.csv", id_col="Store", future=("promo",)).target == "Sales"
