"""`predict --data` on a panel model (issue #19): each series of a newer long file forecast from the end
of its own rows; unknown ids and series too short are summarised, or errors when asked for by --id."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.panel import load_panel
from lstmcli.errors import ConfigError, DataError
from tests.test_panel import fitted, panel_csv, panel_frame  # noqa: F401  (fixtures)

runner = CliRunner()


def test_the_training_file_as_data_gives_the_models_own_forecasts(panel_csv, fitted):  # noqa: F811
    forecasts, left_out = fitted.predict_data(load_panel(panel_csv, id_col="store"), 5, levels=(80,))
    own = fitted.predict(5, levels=(80,))
    assert list(forecasts) == fitted.ids_ and left_out == [
        ("flat", "constant"), ("gappy", "mostly missing"), ("stub", "too short")
    ]  # fmt: skip
    # (a global model's predict runs every series' window through the networks in one batch, --data one
    # window at a time: the same arithmetic in float32 up to the rounding a batch's size brings)
    for sid, f in forecasts.items():
        np.testing.assert_allclose(f.values, own[sid].values, rtol=1e-7)
        np.testing.assert_array_equal(f.timestamps, own[sid].timestamps)
        np.testing.assert_allclose(f.intervals[80][0], own[sid].intervals[80][0], rtol=1e-7)


def test_each_series_is_forecast_from_the_end_of_its_own_rows(tmp_path, fitted):  # noqa: F811
    frame = panel_frame()
    cut = {"east": 3, "north": 7}  # rows dropped at the end of each series
    keep = frame.groupby("store").cumcount(ascending=False) >= frame.store.map(cut).fillna(0)
    newer = frame[keep & frame.store.isin(["east", "north"])]
    newer = pd.concat([newer, pd.DataFrame({"store": ["mall"] * 4, "date": pd.date_range("2020-01-01", periods=4,
                                            freq="MS").strftime("%Y-%m-%d"), "sales": [1.0, 2.0, 3.0, 5.0]})])  # fmt: skip
    newer.to_csv(tmp_path / "newer.csv", index=False)
    forecasts, left_out = fitted.predict_data(load_panel(tmp_path / "newer.csv", id_col="store"), 3)
    # a series the global model was not trained on is forecast by its network, if long enough
    assert set(forecasts) == {"east", "north"} and left_out == [
        ("mall", "too short for the model's lookback")
    ]
    full = load_panel(panel_csv_path(tmp_path), id_col="store")
    for sid, drop in cut.items():
        series = full.series[full.ids.index(sid)]
        y = series.values
        model = fitted.forecaster(sid)
        expected = model.forecast_from_origins(y, np.zeros((len(y), 0)), np.array([len(y) - drop]), 3)[0]
        np.testing.assert_allclose(forecasts[sid].values, expected, rtol=1e-10)
        assert (
            forecasts[sid].timestamps[0] == series.timestamps[len(y) - drop]
        )  # the next date after its rows


def panel_csv_path(tmp_path):
    path = tmp_path / "full.csv"
    panel_frame().to_csv(path, index=False)
    return path


def test_api_errors_name_the_series(tmp_path, fitted):  # noqa: F811
    frame = panel_frame()
    short = frame[frame.store.eq("west")].head(5)
    short.to_csv(tmp_path / "short.csv", index=False)
    panel = load_panel(tmp_path / "short.csv", id_col="store")
    with pytest.raises(
        DataError, match=r"short.csv: no series to forecast from \(Skipped 1 series: 1 too short"
    ):
        fitted.predict_data(panel, 3)
    with pytest.raises(DataError, match=r"series 'west' has 5 rows, but the model needs its last \d+"):
        fitted.predict_data(panel, 3, ids=["west"])
    with pytest.raises(
        DataError, match=r"series 'east' cannot be forecast from it: not in its column 'store'"
    ):
        fitted.predict_data(panel, 3, ids=["east"])
    with pytest.raises(ConfigError, match=r"no series 'mall' in this model"):
        fitted.predict_data(panel, 3, ids=["mall"])


def _newcomer_file(tmp_path, frame):
    """The panel's file with a fifth store, 'mall': north's pattern at another level, 48 months."""
    north = frame[frame.store.eq("north")].tail(48).copy()
    mall = north.assign(store="mall", sales=north.sales * 1.5 + 20)
    path = tmp_path / "with_mall.csv"
    pd.concat([frame, mall]).to_csv(path, index=False)
    return path


def test_a_global_model_forecasts_a_series_it_was_not_trained_on(tmp_path, fitted):  # noqa: F811
    path = _newcomer_file(tmp_path, panel_frame())
    forecasts, left_out = fitted.predict_data(load_panel(path, id_col="store"), 4, levels=(80, 95))
    assert "mall" not in fitted.ids_ and list(forecasts) == ["east", "mall", "north", "south", "west"]
    assert "mall" not in dict(left_out)
    mall = forecasts["mall"]
    assert np.isfinite(mall.values).all() and str(mall.timestamps[0])[:10] == "2020-01-01"
    lo80, hi80 = mall.intervals[80]
    lo95, hi95 = mall.intervals[95]
    assert np.all(lo95 <= lo80) and np.all(lo80 < mall.values) and np.all(mall.values < hi80)
    assert np.all(hi80 <= hi95)
    # the model's own series keep the forecasts and intervals the model gives them
    alone, _ = fitted.predict_data(load_panel(panel_csv_path(tmp_path), id_col="store"), 4, levels=(80, 95))
    for sid, f in alone.items():
        np.testing.assert_array_equal(forecasts[sid].values, f.values)
        np.testing.assert_array_equal(forecasts[sid].intervals[95][0], f.intervals[95][0])
    only, _ = fitted.predict_data(load_panel(path, id_col="store"), 4, ids=["mall"])
    np.testing.assert_array_equal(only["mall"].values, mall.values)
    frame = panel_frame()
    stub = frame[frame.store.eq("north")].tail(5).assign(store="kiosk")
    pd.concat([frame, stub]).to_csv(tmp_path / "kiosk.csv", index=False)
    with pytest.raises(
        DataError, match=r"series 'kiosk' cannot be forecast from it: too short for the model's"
    ):
        fitted.predict_data(load_panel(tmp_path / "kiosk.csv", id_col="store"), 4, ids=["kiosk"])


def test_a_newcomer_with_the_data_trained_on_forecasts_as_the_model_does(panel_csv, fitted):  # noqa: F811
    """adopt gives a series the plan and final preprocessing that fit gives it: the same forecast."""
    from lstmcli.forecasting.forecaster import Forecaster
    from lstmcli.forecasting.panel_global import adopt

    panel = load_panel(panel_csv, id_col="store")
    ids, states, short = adopt(fitted.state_, list(panel.ids), list(panel.series))
    assert ids == fitted.ids_ and not short
    for sid, state in zip(ids, states, strict=True):
        model = Forecaster(state.config)
        model.state_, model.compiled_forecasts = state, True
        np.testing.assert_array_equal(model.predict(6).values, fitted.forecaster(sid).predict(6).values)
        own = fitted.forecaster(sid).state_
        assert state.residuals.shape == own.residuals.shape  # validated from the same origins
    from lstmcli.forecasting.backtest import _series_from_values

    flat, stub = (
        _series_from_values(np.full(40, 3.0), "sales", "x.csv"),
        _series_from_values(np.arange(4.0), "sales", "x.csv"),
    )
    assert adopt(fitted.state_, ["flat", "stub"], [flat, stub]) == (
        [],
        [],
        [("flat", "constant"), ("stub", "too short for the model's lookback")],
    )


def test_a_local_model_or_one_with_static_features_leaves_newcomers_out(tmp_path, panel_csv):  # noqa: F811
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.panel import PanelForecaster

    tiny = ForecasterConfig(epochs=2, hidden=4, ensemble=1, patience=0)
    path = _newcomer_file(tmp_path, panel_frame())
    local = PanelForecaster(tiny, mode="local").fit(load_panel(panel_csv, id_col="store"))
    _, left_out = local.predict_data(load_panel(path, id_col="store"), 3)
    assert ("mall", "not in the model") in left_out
    frame = panel_frame().assign(region=lambda d: d.store.map({"north": "n", "south": "s"}).fillna("o"))
    frame.to_csv(tmp_path / "regions.csv", index=False)
    static = PanelForecaster(tiny, mode="global").fit(load_panel(tmp_path / "regions.csv", id_col="store",
                                                                 static=("region",)))  # fmt: skip
    _, left_out = static.predict_data(load_panel(path, id_col="store"), 3)
    assert ("mall", "not in the model") in left_out
    with pytest.raises(ConfigError, match=r"no series 'mall' in this model"):
        static.predict_data(load_panel(path, id_col="store"), 3, ids=["mall"])


def test_cli_predict_data_says_which_series_the_model_was_not_trained_on(tmp_path, fitted):  # noqa: F811
    fitted.save(tmp_path / "m.npz")
    path = _newcomer_file(tmp_path, panel_frame())
    r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(path), "--format", "json",
                            "--horizon", "2", "--level", "80"])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = [row for row in json.loads(r.stdout)["forecast"] if row["store"] == "mall"]
    assert [row["date"] for row in rows] == ["2020-01-01", "2020-02-01"]
    assert "1 series the model was not trained on (mall): forecast by its network" in " ".join(
        r.stderr.split()
    )
    assert json.loads(r.stdout)["skipped_series"] == {"gappy": "mostly missing", "flat": "constant",
                                                      "stub": "too short"}  # fmt: skip
    r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(path), "--method", "theta",
                            "--horizon", "2"])  # fmt: skip
    said = " ".join(
        r.stderr.split()
    )  # (it said "forecast by its network" of Theta's forecast: a walk-through)
    assert "(mall): forecast by --method theta, each from its own rows." in said and "network" not in said


def test_cli_plot_of_a_series_the_model_was_not_trained_on(tmp_path, fitted):  # noqa: F811
    pytest.importorskip("matplotlib")
    fitted.save(tmp_path / "m.npz")
    path = _newcomer_file(tmp_path, panel_frame())
    for extra in (["--id", "mall"], []):  # the one series, and the grid that holds it
        png = tmp_path / f"mall{len(extra)}.png"
        r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(path), "--horizon", "3",
                                "--plot", str(png), *extra])  # fmt: skip
        assert r.exit_code == 0, r.output
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_cli_predict_data_summarises_what_it_leaves_out(tmp_path, panel_csv, fitted):  # noqa: F811
    fitted.save(tmp_path / "m.npz")
    frame = panel_frame(seed=1)
    frame = frame[frame.store.isin(["north", "east", "stub"])]
    frame.to_csv(tmp_path / "newer.csv", index=False)
    r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(tmp_path / "newer.csv"),
                            "--format", "json", "--horizon", "2"])  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["forecast"]
    assert [(row["store"], row["date"]) for row in rows] == [
        ("east", "2020-07-01"), ("east", "2020-08-01"), ("north", "2020-01-01"), ("north", "2020-02-01")
    ]  # fmt: skip
    assert "Skipped 1 series: 1 too short (stub)." in " ".join(r.stderr.split())
    assert "2 of the model's 4 series are not in newer.csv, so not forecast (south, west)." in " ".join(
        r.stderr.split()
    )
    r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(tmp_path / "newer.csv"),
                            "--id", "south"])  # fmt: skip
    assert r.exit_code == 1
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "series 'south' cannot be forecast from it" in errors[0]


def test_a_global_models_intervals_hold_each_series_combination_members(fitted):  # noqa: F811
    forecasts = fitted.predict(5, levels=(80,))
    for f in forecasts.values():
        assert f.members.shape == (3, 5)  # combine auto, monthly: the networks', Theta's and ES's
        np.testing.assert_allclose(f.members.mean(axis=0), f.values, rtol=1e-12)
        lo, hi = f.intervals[80]
        assert np.all(lo <= f.members.min(axis=0)) and np.all(hi >= f.members.max(axis=0))


def test_cli_inspect_data_reads_a_panel_file_and_shows_the_series_asked_for(tmp_path, fitted):  # noqa: F811
    """It read a panel file as one series: with series that do not overlap in time it showed the rows of
    another series under the name asked for, without a word."""
    fitted.save(tmp_path / "m.npz")
    frame = panel_frame()
    newer = frame[frame.store.isin(["north", "south"])]  # north: 2015-2019, south: 2017-2019 ...
    newer = newer[~((newer.store == "north") & (newer.date == "2018-06-01"))]  # ... with a month missing
    newer.to_csv(tmp_path / "newer.csv", index=False)
    last = {sid: rows.date.iloc[-1] for sid, rows in newer.groupby("store")}
    args = [
        "inspect",
        "-m",
        str(tmp_path / "m.npz"),
        "--data",
        str(tmp_path / "newer.csv"),
        "--format",
        "json",
    ]
    for sid in ("north", "south"):
        r = runner.invoke(app, [*args, "--id", sid])
        assert r.exit_code == 0, r.output
        assert json.loads(r.stdout)["steps"][-1] == last[sid]  # the window ends where that series' rows do
    assert "Filled 1 missing value in 1 series (north)" in " ".join(r.stderr.split())  # the reading is said
    gone = runner.invoke(app, [*args, "--id", "east"])
    assert gone.exit_code == 1 and "newer.csv: series 'east' is not in the file" in gone.stderr


def test_a_series_left_out_at_training_is_said_to_be(fitted):  # noqa: F811
    """'no series flat in this model' read as a typo; the series was in the file, left out as constant."""
    with pytest.raises(
        ConfigError, match=r"^series 'flat' was left out of this model when it was trained \(constant\)$"
    ):
        fitted.forecaster("flat")
    with pytest.raises(ConfigError, match=r"^no series 'mall' in this model"):
        fitted.forecaster("mall")


def test_one_series_its_model_cannot_take_is_left_out_not_the_panel(tmp_path):
    """A store closed for its last days (zeros) in the newer file: its model's log transform needs
    positive values, and the error ended `predict --data` for every series (a walk-through)."""
    from dataclasses import replace

    from lstmcli.forecasting.panel import PanelForecaster
    from tests.test_panel import TINY

    frame = panel_frame()
    frame = frame[frame.store.isin(["north", "east", "west", "south"])]
    frame.to_csv(tmp_path / "p.csv", index=False)
    model = PanelForecaster(replace(TINY, transform="log"), mode="local").fit(
        load_panel(tmp_path / "p.csv", id_col="store")
    )
    model.save(tmp_path / "m.npz")
    closed = frame.copy()
    closed.loc[closed.index[closed.store == "east"][-3:], "sales"] = 0.0
    closed.to_csv(tmp_path / "closed.csv", index=False)
    r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(tmp_path / "closed.csv"),
                            "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {row["store"] for row in out["forecast"]} == {"north", "west", "south"}
    assert "its model cannot forecast from these values" in out["skipped_series"]["east"]
    assert "(east)" in " ".join(r.stderr.split())
    # asked for by --id, it is the error it was
    r = runner.invoke(app, ["predict", "-m", str(tmp_path / "m.npz"), "--data", str(tmp_path / "closed.csv"),
                            "--id", "east"])  # fmt: skip
    assert r.exit_code == 1 and "series 'east'" in r.stderr, r.output


def test_the_api_takes_one_id_one_level_and_names_the_dataframe(fitted):  # noqa: F811
    """predict(ids="east") iterated the string's letters, predict(levels=80) failed in the intervals, a
    fit_frame error named its temporary file, load_panel(DataFrame) printed the whole frame (a walk-through)."""
    from lstmcli.forecasting.panel import PanelForecaster
    from tests.test_panel import TINY

    one = fitted.predict(3, ids="east", levels=80)
    assert list(one) == ["east"] and list(one["east"].intervals) == [80]
    frame = panel_frame()
    with pytest.raises(DataError) as e:
        PanelForecaster(TINY).fit_frame(
            frame[frame.store == "east"].head(5), id_col="store", time_col="date", target="sales"
        )
    assert str(e.value).startswith("the DataFrame") and "frame.csv" not in str(e.value)
    with pytest.raises(
        DataError, match="^a DataFrame is not a file name: give the path of a CSV or Parquet file$"
    ):
        load_panel(frame, id_col="store")
