"""`backtest --id-col --windows N --step S`: a panel cross-validated over several origins per series,
each window's models trained anew on the rows before it (``forecasting.backtest_windows``)."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.series import LongSeries
from lstmcli.forecasting.backtest import backtest_long
from lstmcli.forecasting.backtest_windows import backtest_windows, hold_back_series
from tests.test_panel import SERIES, TINY, TINY_CLI, panel_frame

runner = CliRunner()
H, STEP, WINDOWS = 4, 3, 3


def steps_panel(n: int = 40, count: int = 4, seed: int = 0) -> list[LongSeries]:
    rng = np.random.default_rng(seed)
    t = np.arange(n, dtype=np.float64)
    return [
        LongSeries(f"s{k}", 50 + 5 * k + 4 * np.sin(2 * np.pi * t / 4) + 0.2 * t + rng.normal(0, 0.5, n), 0)
        for k in range(count)
    ]


def run_windows(series, windows=WINDOWS, step=STEP):
    return backtest_windows(
        lambda _, held_back: backtest_long(
            hold_back_series(series, held_back), TINY, horizon=H, season=4, levels=(80,)
        ),
        windows=windows,
        step=step,
    )


def test_each_window_is_the_backtest_of_the_series_cut_at_its_origin():
    series = steps_panel()
    result = run_windows(series)
    assert result.windows == WINDOWS and len(result.labels) == WINDOWS * len(series)
    for w in range(1, WINDOWS + 1):
        rows = np.flatnonzero(result.window == w)
        held = (WINDOWS - w) * STEP
        assert set(result.held_back[rows]) == {held}
        alone = backtest_long(hold_back_series(series, held), TINY, horizon=H, season=4, levels=(80,))
        np.testing.assert_array_equal(result.forecasts["LSTM"][rows], alone.forecasts["LSTM"])
        np.testing.assert_array_equal(result.intervals[80][0][rows], alone.intervals[80][0])
        for k, s in zip(rows, series, strict=True):  # the actuals: the H rows before the held-back ones
            end = len(s.values) - held
            np.testing.assert_array_equal(result.actual[k], s.values[end - H : end])
            np.testing.assert_array_equal(result.insample[k], s.values[: end - H])


def test_a_window_never_sees_the_rows_after_its_origin():
    series = steps_panel()
    first = run_windows(series)
    # the rows after window 1's origin changed beyond recognition: window 1's forecasts do not move
    origin = len(series[0].values) - (WINDOWS - 1) * STEP - H
    changed = [LongSeries(s.series_id, np.r_[s.values[:origin], s.values[origin:] * 50], 0) for s in series]
    again = run_windows(changed)
    rows = np.flatnonzero(first.window == 1)
    np.testing.assert_array_equal(again.forecasts["LSTM"][rows], first.forecasts["LSTM"][rows])
    later = np.flatnonzero(first.window == WINDOWS)
    assert not np.allclose(again.forecasts["LSTM"][later], first.forecasts["LSTM"][later])


def test_measures_over_the_windows_are_means_over_their_rows():
    result = run_windows(steps_panel())
    ids, per_series = result.per_series()
    assert ids == ["s0", "s1", "s2", "s3"]
    rows = result.per_row()
    for sid, errors in zip(ids, per_series, strict=True):
        mine = [r for r, label in zip(rows, result.labels, strict=True) if label == sid]
        assert len(mine) == WINDOWS
        assert errors["LSTM"]["sMAPE"] == pytest.approx(np.mean([r["LSTM"]["sMAPE"] for r in mine]))
        assert errors["Theta"]["MASE"] == pytest.approx(np.mean([r["Theta"]["MASE"] for r in mine]))
    lo, hi = result.intervals[80]
    assert result.coverage[80] == pytest.approx(np.mean((lo <= result.actual) & (result.actual <= hi)))
    parts = result.per_window()
    assert [len(p.labels) for p in parts] == [4, 4, 4]
    assert np.mean([p.overall()["LSTM"]["sMAPE"] for p in parts]) == pytest.approx(
        result.overall()["LSTM"]["sMAPE"]
    )


@pytest.fixture(scope="module")
def shops(tmp_path_factory):
    frame = panel_frame()
    frame = frame[frame.store.isin([sid for sid, _, _ in SERIES])]
    path = tmp_path_factory.mktemp("windows") / "shops.csv"
    frame.to_csv(path, index=False)
    return path, frame


@pytest.mark.parametrize("mode", [[], ["--global"]])
def test_the_cross_validation_table_has_a_cutoff_per_window(shops, mode):
    path, frame = shops
    args = ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--windows", str(WINDOWS),
            "--step", str(STEP), "--level", "80", *TINY_CLI, *mode, "--format", "json"]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    rows = out["cross_validation"]
    assert len(rows) == len(SERIES) * WINDOWS * H
    for sid, _, _ in SERIES:
        series = frame[frame.store == sid].sort_values("date")
        mine = [row for row in rows if row["store"] == sid]
        cutoffs = sorted({row["cutoff"] for row in mine})
        # window w's origin: (WINDOWS - w) * STEP + H rows before the end, the cutoff the row before it
        assert cutoffs == [series.date.iloc[-(WINDOWS - w) * STEP - H - 1] for w in range(1, WINDOWS + 1)]
        assert all(cutoffs[row["window"] - 1] == row["cutoff"] for row in mine)  # (the window column)
        for row in mine:
            at = list(series.date).index(row["date"])
            assert row["actual"] == pytest.approx(series.sales.iloc[at])
    windows = out["windows"]
    assert [w["held_back"] for w in windows] == [(WINDOWS - w) * STEP for w in range(1, WINDOWS + 1)]
    for w in windows:  # each window's sMAPE: the mean over its series of theirs, from the table
        cutoff_rows = [
            row for row in rows
            if row["cutoff"] == frame[frame.store == row["store"]].sort_values("date").date.iloc[
                -w["held_back"] - H - 1]
        ]  # fmt: skip
        by_series = {}
        for row in cutoff_rows:
            a, f = row["actual"], row["forecast"]
            by_series.setdefault(row["store"], []).append(200 * abs(a - f) / (abs(a) + abs(f)))
        assert w["series"] == len(by_series) == len(SERIES)
        assert w["overall"]["LSTM"]["sMAPE"] == pytest.approx(
            np.mean([np.mean(v) for v in by_series.values()])
        )
    inside = np.mean([row["lower_80"] <= row["actual"] <= row["upper_80"] for row in rows])
    assert out["coverage"]["80"] == pytest.approx(inside)
    assert set(out["per_series"]) == {sid for sid, _, _ in SERIES}


def test_the_table_view_shows_each_window(shops):
    path, _ = shops
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--windows", "2",
                            *TINY_CLI])  # fmt: skip
    assert r.exit_code == 0, r.output
    text = " ".join(r.stdout.split())
    assert f"{len(SERIES)} series, up to 2 origins each ({H} steps apart), {H} steps" in text
    assert "OWA per window" in text and "means over its windows (up to 2)" in text


def test_a_series_too_short_for_the_early_windows_is_scored_in_the_others(tmp_path, shops):
    _, frame = shops
    short = [("brief", d.date().isoformat(), 10.0 + k % 4 + 0.1 * k)
             for k, d in enumerate(pd.date_range("2019-01-01", periods=H + 4, freq="MS"))]  # fmt: skip
    path = tmp_path / "short.csv"
    pd.concat([frame, pd.DataFrame(short, columns=["store", "date", "sales"])]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--windows", "3",
                            "--step", "2", *TINY_CLI, "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    notes = " ".join(r.stderr.split())
    # an earlier window scores a series with --horizon rows before its origin (window 2 gave "brief" 2,
    # its forecast Naive2's, counted as the LSTM's; a walk-through), the latest with 2 as M3/M4 do
    lost = f"1 of {len(SERIES) + 1} series have fewer than {H} rows before their last {H} (brief): not scored"
    assert f"windows 1, 2 of 3: {lost}" in notes
    out = json.loads(r.stdout)
    assert [w["series"] for w in out["windows"]] == [len(SERIES), len(SERIES), len(SERIES) + 1]
    brief = {row["cutoff"] for row in out["cross_validation"] if row["store"] == "brief"}
    assert len(brief) == 1


def test_the_dates_of_each_series_stay_its_own_when_one_is_not_scored(tmp_path, shops):
    """A series too short to score, ahead of the others in the file: every later series was written with
    the dates of the series before it in the cross-validation table."""
    _, frame = shops
    tiny = pd.DataFrame([("aaa", "2020-01-01", 1.0)], columns=["store", "date", "sales"])
    path = tmp_path / "first_short.csv"
    pd.concat([tiny, frame]).to_csv(path, index=False)
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), *TINY_CLI,
                            "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    for row in json.loads(r.stdout)["cross_validation"]:
        series = frame[frame.store == row["store"]]
        assert row["actual"] == pytest.approx(series.sales[series.date == row["date"]].item())


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--step", "2"], 2, "--step sets the steps between a panel's windows: give --windows too"),
        (["--windows", "30"], 1, "30 windows of 4 steps, 4 apart, need a series of at least 124 rows (the "
         "earliest scores a series with 4 rows before its origin); the longest of shops.csv has 60: use fewer "
         "--windows or a smaller --step"),
        (["--windows", "2", "--lookback", "200"], 1, "window 1 of 2 (the last 4 rows held back): shops.csv: no "
         "series is long enough for a model of these settings"),
        (["--windows", "2", "-o", "nowhere/cv.csv"], 1, "nowhere/cv.csv: folder nowhere does not exist"),
    ],
)  # fmt: skip
def test_windows_that_cannot_be_run_are_one_line(shops, extra, code, message):
    path, _ = shops
    r = runner.invoke(
        app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), *extra, *TINY_CLI]
    )
    assert r.exit_code == code, r.output
    assert message in " ".join(r.stderr.split()) and "Traceback" not in r.output
    assert "OWA" not in r.stdout  # (-o's missing folder was found after the windows' trainings)


def test_no_refit_is_said_not_to_apply_to_a_panel(shops):
    path, _ = shops
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--horizon", str(H), "--no-refit",
                            *TINY_CLI])  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "--no-refit is for a single series: each window of a panel trains its models anew" in " ".join(
        r.stderr.split()
    )


def test_known_inputs_are_cross_validated_with_each_window_own_known_values(tmp_path):
    """With --future-features each window forecasts its horizon with the actual flags of those days; a
    filled value is refused in whichever window would score it, the window named."""
    from tests.test_covariates import FAST
    from tests.test_panel_known import panel_csv

    data = tmp_path / "p.csv"
    panel_csv(data, n=80, exact=True)
    args = ["backtest", str(data), "--id-col", "store", "--target", "sales", "--future-features", "promo",
            "--horizon", "5", "--windows", "3", "--step", "7", "--format", "json", *FAST[:-3]]  # fmt: skip
    r = runner.invoke(app, args)
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    frame = pd.read_csv(data)
    rows = out["cross_validation"]
    assert len(rows) == 3 * 3 * 5 and [w["held_back"] for w in out["windows"]] == [14, 7, 0]
    for row in rows:
        own = frame[(frame.store == row["store"]) & (frame.date == row["date"])]
        assert row["actual"] == pytest.approx(own.sales.item())
    # +30 on promotion days, known in advance: every window forecasts them (the flags of its own days)
    assert all(w["overall"]["LSTM"]["MAE"] < 0.5 * w["overall"]["Naive"]["MAE"] for w in out["windows"])
    lines = data.read_text().splitlines()
    # (window 1 scores rows -19..-15 of each series, window 2 -12..-8: refused before any training)
    gone = [k for k, line in enumerate(lines) if line.startswith("b,")][-16]  # scored in window 1 only
    data.write_text("\n".join(line for k, line in enumerate(lines) if k != gone) + "\n")
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    text = " ".join(r.stderr.split())
    assert "window 1 of 3 (the last 14 rows held back)" in text
    assert f"series 'b' has no 'sales' value for {lines[gone].split(',')[1]}, among the 5 steps" in text
    # an empty known input among the steps a window forecasts: refused, not interpolated (a 0/1 flag
    # became 0.5; a walk-through), as predict refuses it in a forecast period
    data.write_text("\n".join(lines) + "\n")
    frame = pd.read_csv(data)
    at = frame.index[frame.store == "c"][-17]
    frame.loc[at, "promo"] = None
    frame.to_csv(data, index=False)
    r = runner.invoke(app, args)
    assert r.exit_code == 1, r.output
    text = " ".join(r.stderr.split())
    assert (
        f"series 'c' has no value of its known inputs ('promo') for {frame.date[at]}, among the 5 steps"
        in text
    )


def test_the_python_api_gives_the_command_line_table_as_a_dataframe(shops):
    """``crossval.cross_validation`` (statsforecast's call, a DataFrame of its column names) and
    `backtest --id-col --windows --format json`: the same rows, the same forecasts."""
    from lstmcli.forecasting.crossval import cross_validation

    path, frame = shops
    df = frame.rename(columns={"store": "unique_id", "date": "ds", "sales": "y"})
    cv, scores = cross_validation(
        df, h=H, n_windows=2, step_size=STEP, config=TINY, mode="global", levels=(80,)
    )
    r = runner.invoke(app, ["backtest", str(path), "--id-col", "store", "--global", "--horizon", str(H),
                            "--windows", "2", "--step", str(STEP), "--level", "80", "--epochs", "4", "--hidden",
                            "6", "--ensemble", "2", "--patience", "0", "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    table = pd.DataFrame(json.loads(r.stdout)["cross_validation"]).rename(columns={"store": "unique_id"})
    assert list(cv.columns) == list(table.columns) and len(cv) == len(SERIES) * 2 * H
    pd.testing.assert_frame_equal(cv.reset_index(drop=True), table, check_exact=True)
    assert scores.windows == 2 and scores.coverage[80] == pytest.approx(
        np.mean([lo <= a <= hi for lo, a, hi in zip(cv.lower_80, cv.actual, cv.upper_80, strict=True)])
    )


def test_the_python_api_refuses_what_the_command_line_refuses(shops, tmp_path):
    """A date missing among the scored rows was scored against the next month's actual from Python,
    which the command line refused; a daily series in a monthly panel was scored with season 12 by
    both; arguments were checked late or not at all (a walk-through)."""
    from lstmcli.errors import ConfigError, DataError
    from lstmcli.forecasting.crossval import cross_validation

    _, frame = shops
    df = frame.rename(columns={"store": "unique_id", "date": "ds", "sales": "y"})
    gone = df.drop(df.index[(df.unique_id == "north") & (df.ds == df[df.unique_id == "north"].ds.iloc[-3])])
    with pytest.raises(
        DataError, match="series 'north' has no row for .*, among the 8 steps backtest scores"
    ):
        cross_validation(gone, h=H, n_windows=2, config=TINY)
    daily = pd.DataFrame({"unique_id": "d", "ds": pd.date_range("2020-01-01", periods=40, freq="D").strftime("%Y-%m-%d"),
                          "y": np.arange(40.0) % 7 + 10})  # fmt: skip
    mixed = pd.concat([df, daily])
    with pytest.raises(DataError, match="series 'd' does not follow the frequency of the other series"):
        cross_validation(mixed, h=H, config=TINY)
    mixed.rename(columns={"unique_id": "store"}).to_csv(tmp_path / "mixed.csv", index=False)
    r = runner.invoke(
        app, ["backtest", str(tmp_path / "mixed.csv"), "--id-col", "store", "--horizon", str(H), *TINY_CLI]
    )
    assert r.exit_code == 1 and "series 'd' does not follow the frequency" in r.stderr, r.output
    for kwargs, said in [
        ({"h": 2.5}, "h must be a whole number of at least 1, got 2.5"),
        ({"h": H, "step_size": 0}, "step_size must be a whole number of at least 1, got 0"),
        ({"h": H, "levels": (0.8,)}, "--level must be a percentage from 1 to below 100"),
    ]:
        with pytest.raises(ConfigError, match=said):
            cross_validation(df, config=TINY, **kwargs)
    with pytest.raises(ConfigError, match="takes a long pandas DataFrame, got Series"):
        cross_validation(df.y, h=H)
    steps = df.assign(ds=df.groupby("unique_id").cumcount() + 1)  # numbered steps: no season, said
    cv, scores = cross_validation(steps, h=H, n_windows=2.0, config=TINY, levels=(80.0,))
    assert "no dates with a regular frequency, so no season" in " ".join(scores.notes)
    assert {"lower_80", "upper_80"} <= set(cv.columns) and "BacktestResult(" in repr(scores)
