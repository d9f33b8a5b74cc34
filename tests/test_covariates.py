"""Inputs known in advance (issue #22): --future-features, --future, trailing empty target rows,
--calendar and --holidays, their alignment, the model file round trip and every error message."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.calendar import calendar_columns, calendar_encodings, holiday_column
from lstmcli.data.loader import load_csv
from lstmcli.data.transforms import make_pipeline
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.ensemble import Ensemble
from lstmcli.forecasting.fitting import forecast_from_origins
from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig
from lstmcli.forecasting.known import KnownInputs
from lstmcli.forecasting.preprocessing import Preprocessing
from tests.test_smoothing import GOLDEN_RTOL

runner = CliRunner()

FAST = ["--epochs", "60", "--ensemble", "1", "--hidden", "16", "--patience", "0", "-q", "--seed", "1"]


def run(*args):
    result = runner.invoke(app, [str(a) for a in args])
    return result


def one_line_error(result, code=1):
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def promo_csv(path, n=240, trailing=0, seed=0, function_only=False):
    """Daily sales that are 50 + 30 * promo (exactly, with function_only) plus a weekly pattern."""
    rng = np.random.default_rng(seed)
    dates = np.arange(np.datetime64("2023-01-01"), np.datetime64("2023-01-01") + n + trailing)
    promo = (rng.random(n + trailing) < 0.3).astype(int)
    sales = 50 + 30 * promo
    if not function_only:
        sales = sales + 5 * np.sin(2 * np.pi * np.arange(n + trailing) / 7)
    rows = ["date,sales,promo"]
    for k, d in enumerate(dates):
        value = "" if k >= n else f"{sales[k]:.4f}"
        rows.append(f"{d},{value},{promo[k]}")
    path.write_text("\n".join(rows) + "\n")
    return dates, promo


# ---------------------------------------------------------------------------------------------- alignment
class LastKnown:
    """A stand-in network whose forecast is the first known input of the window's last step."""

    class config:
        output_size = 3

    def predict(self, x, compiled=True):
        return x[:, -1, 1:2]


def _prep(lead=1):
    return Preprocessing(
        "none", make_pipeline("none", 1), np.ones(1), 1.0, np.zeros(0), np.zeros(0),
        known_mean=np.zeros(1), known_scale=np.ones(1), known_lead=lead,
    )  # fmt: skip


def test_recursive_forecast_feeds_the_known_value_of_each_step_being_forecast():
    # by construction: a network that outputs the known input its last step carries forecasts exactly the
    # future values, step by step, so the input at step t carries the known value of step t+1
    n, h = 10, 4
    known = np.arange(100.0, 100.0 + n + h)[:, None]  # the value of step t is 100 + t
    y = np.linspace(0, 1, n)
    ens = Ensemble([LastKnown()], [3], "recursive")
    f = forecast_from_origins(_prep(), ens, None, y, np.zeros((n, 0)), np.array([n]), h, known=known)
    np.testing.assert_array_equal(f[0], [110, 111, 112, 113])
    # and from a validation origin inside the data, the data's own known values
    f = forecast_from_origins(_prep(), ens, None, y, np.zeros((n, 0)), np.array([6]), 3, known=known)
    np.testing.assert_array_equal(f[0], [106, 107, 108])


def test_direct_windows_carry_the_whole_forecast_period():
    prep = _prep(lead=3)
    known = np.arange(20.0)[:, None]
    block = prep.known_block(known, 5)
    np.testing.assert_array_equal(block[4], [5, 6, 7])  # step 4 carries steps 5, 6, 7
    np.testing.assert_array_equal(prep.known_block(known[:6], 6)[5], [5, 5, 5])  # past the end: last repeats


# ---------------------------------------------------------------------------------------------- end to end
@pytest.mark.parametrize("strategy", ["recursive", "direct"])
def test_forecast_follows_the_given_future_values(tmp_path, strategy):
    data = tmp_path / "sales.csv"
    promo_csv(data, n=300, function_only=True)
    model = tmp_path / "m.npz"
    # the networks' own forecast: with the default --combine theta, half of it is Theta's, which sees
    # the target only, so the promotion's lift is halved (README "Known future inputs")
    r = run("train", data, "--target", "sales", "--future-features", "promo", "-m", model,
            "--strategy", strategy, "--horizon", "5", "--combine", "none", *FAST)  # fmt: skip
    assert r.exit_code == 0, r.output
    start = np.datetime64("2023-01-01") + 300
    forecasts = {}
    for flag in (0, 1):
        future = tmp_path / f"future{flag}.csv"
        future.write_text("date,promo\n" + "".join(f"{start + k},{flag}\n" for k in range(8)))
        r = run("predict", "-m", model, "--future", future, "--format", "json")
        assert r.exit_code == 0, r.output
        rows = json.loads(r.stdout)["forecast"]
        assert rows[0]["date"] == str(start)
        forecasts[flag] = np.array([row["forecast"] for row in rows])
    # the series is 50 + 30 * promo: the promotion lifts every step of the forecast
    assert np.all(forecasts[1] - forecasts[0] > 15), forecasts


def test_trailing_rows_of_data_are_the_forecast_period(tmp_path):
    data = tmp_path / "sales.csv"
    dates, promo = promo_csv(data, n=200, trailing=7)
    model = tmp_path / "m.npz"
    r = run("train", data, "--future-features", "promo", "--target", "sales", "-m", model, *FAST)
    assert r.exit_code == 0, r.output
    assert "The last 7 rows (from 2023-07-20) have no 'sales' value" in r.stderr
    assert "known ahead" in r.stdout and "promo" in r.stdout.split("known ahead")[1].splitlines()[0]
    nxt = " ".join(r.stdout.split("Next: ")[1].split())  # inspect needs the inputs known ahead too
    assert nxt.endswith(f"lstmcli inspect --model {model} --future FUTURE.csv")
    r = run("predict", "-m", model, "--data", data, "--format", "json")
    assert r.exit_code == 0, r.output
    rows = json.loads(r.stdout)["forecast"]
    assert rows[0]["date"] == "2023-07-20"  # the first empty row, not 7 days later
    # the same values given as a --future file forecast the same
    future = tmp_path / "future.csv"
    future.write_text("date,promo\n" + "".join(f"{dates[200 + k]},{promo[200 + k]}\n" for k in range(7)))
    r2 = run("predict", "-m", model, "--future", future, "--format", "json")
    assert json.loads(r2.stdout)["forecast"] == rows
    # a file of the history's values too (darts takes future covariates so): its earlier rows are not
    # needed, not refused as "not one of the steps after the last observation" (a walk-through)
    future.write_text("date,promo\n" + "".join(f"{dates[k]},{promo[k]}\n" for k in range(150, 207)))
    r3 = run("predict", "-m", model, "--future", future, "--format", "json")
    assert r3.exit_code == 0 and json.loads(r3.stdout)["forecast"] == rows, r3.output


def test_errors_are_one_line(tmp_path):
    data = tmp_path / "sales.csv"
    dates, promo = promo_csv(data, n=120, trailing=3)
    plain = tmp_path / "plain.npz"
    # trailing empty target rows without known inputs: an error naming the first date
    msg = one_line_error(run("train", data, "--target", "sales", "-m", plain, *FAST))
    assert "the last 3 rows (from 2023-05-01, line 122) have no 'sales' value" in msg
    model = tmp_path / "m.npz"
    assert (
        run("train", data, "--target", "sales", "--future-features", "promo", "-m", model, *FAST).exit_code
        == 0
    )
    # no future values at all
    msg = one_line_error(run("predict", "-m", model))
    assert "give their values for the 7 steps after 2023-04-30 with --future FILE" in msg
    # a missing row, a missing value, a date off the series' steps, too few rows
    future = tmp_path / "future.csv"
    future.write_text("date,promo\n2023-05-01,1\n2023-05-03,0\n")
    assert "no row for 2023-05-02" in one_line_error(run("predict", "-m", model, "--future", future))
    future.write_text("date,promo\n" + "".join(f"2023-05-0{d},{'' if d == 4 else 1}\n" for d in range(1, 8)))
    msg = one_line_error(run("predict", "-m", model, "--future", future))
    assert "column 'promo' has no value for 2023-05-04 (line 5), in the forecast period" in msg
    future.write_text("date,promo\n2023-05-01 12:00,1\n")
    assert "is not one of the steps after the last observation" in one_line_error(
        run("predict", "-m", model, "--future", future)
    )
    future.write_text("date,other\n2023-05-01,1\n")
    assert "promo" in one_line_error(run("predict", "-m", model, "--future", future))
    # both kinds of feature at once, 'all', panels, --future for a model without such inputs
    msg = one_line_error(run("train", data, "--features", "promo", "--future-features", "promo", "-m", model))
    assert "column 'promo' is in --features" in msg
    assert "not 'all'" in one_line_error(run("train", data, "--future-features", "all", "-m", model))
    msg = one_line_error(run("train", data, "--future-features", "promo", "--id-col", "x", "-m", model))
    assert "id column 'x' not found" in msg  # (panels take known inputs: tests/test_panel_known.py)
    ok = tmp_path / "ok.csv"
    ok.write_text("".join(data.read_text().splitlines(keepends=True)[:-3]))
    assert run("train", ok, "--target", "sales", "-m", plain, *FAST).exit_code == 0
    assert "needs no --future file" in one_line_error(run("predict", "-m", plain, "--future", future))


# ---------------------------------------------------------------------------------------------- model file
def test_a_future_file_of_ambiguous_day_first_dates_is_read_the_way_that_continues_the_series(tmp_path):
    # 01/01/2024 ... 07/01/2024 read month/day (1 January ... 1 July, monthly and regular) gave
    # "no row for 2024-01-02" although line 3 says 02/01/2024
    data = tmp_path / "sales.csv"
    dates, promo = promo_csv(data, n=365)
    model = tmp_path / "m.npz"
    r = run("train", data, "--target", "sales", "--future-features", "promo", "-m", model, *FAST)
    assert r.exit_code == 0, r.output
    future = tmp_path / "future.csv"
    steps = [np.datetime64("2024-01-01") + k for k in range(7)]
    future.write_text("date,promo\n" + "".join(f"{d.item():%d/%m/%Y},{k % 2}\n" for k, d in enumerate(steps)))
    day_first = run("predict", "-m", model, "--future", future, "--format", "json")
    assert day_first.exit_code == 0, day_first.output
    future.write_text("date,promo\n" + "".join(f"{d},{k % 2}\n" for k, d in enumerate(steps)))
    iso = run("predict", "-m", model, "--future", future, "--format", "json")
    assert json.loads(day_first.stdout) == json.loads(iso.stdout)


def test_errors_name_the_option_the_user_gave(tmp_path):
    # they named --features for --future-features, --horizon for a --season it defaulted to, and
    # --freq for new data that predict has no --freq for
    data = tmp_path / "sales.csv"
    promo_csv(data, n=60)
    for column, what in (("sales", "is the target"), ("date", "is the time column")):
        msg = one_line_error(run("train", data, "--target", "sales", "--future-features", column, *FAST))
        assert msg.startswith(f"error: --future-features: column '{column}' {what}")
    msg = one_line_error(run("train", data, "--target", "sales", "--season", "100", *FAST))
    assert "give a --horizon shorter than the 100 steps it defaults to (one --season)" in msg
    model = tmp_path / "m.npz"
    assert run("train", data, "--target", "sales", "-m", model, *FAST).exit_code == 0
    later = tmp_path / "later.csv"
    later.write_text(
        "date,sales\n" + "".join(f"2023-03-{d:02d}T{6 * (d % 2):02d}:00,{d}\n" for d in range(1, 20))
    )
    msg = one_line_error(run("predict", "-m", model, "--data", later))
    assert msg.endswith("new data must follow the frequency of the model (D)") and "--freq" not in msg


def test_model_file_round_trip_and_old_files_unchanged(tmp_path):
    data = tmp_path / "sales.csv"
    promo_csv(data, n=150, trailing=7)
    series = load_csv(data, target="sales", future_features=["promo"], forecast_rows=True)
    cfg = ForecasterConfig(epochs=5, ensemble=2, hidden=8, calendar=True)
    model = Forecaster(cfg).fit(series)
    path = tmp_path / "m.npz"
    model.save(path)
    back = Forecaster.load(path)
    assert back.format_version_ == "4.0"
    assert back.state_.known == model.state_.known
    assert back.state_.known.names[:3] == ["promo", "day_of_week_sin", "day_of_week_cos"]
    np.testing.assert_array_equal(back.state_.tail_known, model.state_.tail_known)
    a = model.predict(7, data=series).values
    np.testing.assert_array_equal(back.predict(7, data=series).values, a)
    # saved again: the same bytes
    again = tmp_path / "again.npz"
    back.save(again)
    assert again.read_bytes() == path.read_bytes()


def test_a_model_without_known_inputs_keeps_no_known_entries(tmp_path):
    data = tmp_path / "sales.csv"
    promo_csv(data, n=100)
    series = load_csv(data, target="sales", features=["promo"])
    path = tmp_path / "m.npz"
    Forecaster(ForecasterConfig(epochs=2, ensemble=1, hidden=4)).fit(series).save(path)
    back = Forecaster.load(path)
    assert back.format_version_ == "4.0" and back.state_.known.width == 0
    meta = json.loads(str(np.load(path)["metadata"]))
    assert "known" not in meta and "calendar" not in meta["settings"]


# ---------------------------------------------------------------------------------------------- calendar
def test_calendar_encodings_follow_the_frequency():
    assert calendar_encodings("D") == ("day_of_week", "day_of_month", "day_of_year")
    assert calendar_encodings("h") == ("hour_of_day", "day_of_week")
    assert calendar_encodings("MS") == ("month_of_year",)
    assert calendar_encodings("QS-JAN") == ("quarter_of_year",)
    with pytest.raises(ConfigError, match="no calendar cycle"):
        calendar_encodings("YS-JAN")
    with pytest.raises(ConfigError, match="needs dates"):
        calendar_encodings(None)


def test_calendar_is_continuous_across_a_year_boundary():
    days = np.arange(np.datetime64("2023-12-29"), np.datetime64("2024-01-04")).astype("datetime64[ns]")
    c = calendar_columns(days, ("day_of_year", "day_of_week", "month_of_year"))
    # day of year: 2024-01-01 is phase 0 (sin 0, cos 1) and 2023-12-31 one day before it (of 365)
    np.testing.assert_allclose(c[3, :2], [0.0, 1.0], atol=1e-12)
    np.testing.assert_allclose(c[2, :2], [np.sin(2 * np.pi * 364 / 365), np.cos(2 * np.pi * 364 / 365)])
    assert np.max(np.abs(np.diff(c[:, 0]))) < 2 * np.pi / 365 + 1e-9  # no jump at new year
    # day of week: Monday 2024-01-01 is phase 0
    np.testing.assert_allclose(c[3, 2:4], [0.0, 1.0], atol=1e-12)
    # month of year: December is 11/12 of the way round, January 0
    np.testing.assert_allclose(c[0, 4], np.sin(2 * np.pi * 11 / 12))
    np.testing.assert_allclose(c[3, 4:6], [0.0, 1.0], atol=1e-12)


def test_holidays_across_a_year_boundary():
    pytest.importorskip("holidays")
    days = np.arange(np.datetime64("2023-12-24"), np.datetime64("2024-01-03"))
    flags = holiday_column(days, "US")
    assert [str(d) for d in days[flags == 1]] == ["2023-12-25", "2024-01-01"]


def test_predict_rebuilds_calendar_and_holidays_for_future_dates_across_new_year(tmp_path):
    pytest.importorskip("holidays")
    data = tmp_path / "load.csv"
    days = np.arange(np.datetime64("2023-06-01"), np.datetime64("2023-12-29"))
    rng = np.random.default_rng(0)
    data.write_text("date,load\n" + "".join(f"{d},{100 + rng.normal():.3f}\n" for d in days))
    series = load_csv(data)
    model = Forecaster(ForecasterConfig(epochs=2, ensemble=1, hidden=4, holidays="US", calendar=True)).fit(
        series
    )
    assert model.state_.known.names[-1] == "holiday_US"
    st = model.state_
    known = st.known.matrix(None, np.arange(np.datetime64("2023-12-29"), np.datetime64("2024-01-02")), 4)
    np.testing.assert_array_equal(known[:, -1], [0, 0, 0, 1])  # 2024-01-01 is a holiday
    f = model.predict(7)
    assert str(f.timestamps[0])[:10] == "2023-12-29" and np.isfinite(f.values).all()
    trace = model.trace()
    assert trace.input_names[-1] == "holiday_US@t+1" and trace.inputs.shape[1] == len(trace.input_names)
    # the window's last step carries the first forecast date's inputs: 2023-12-29 is no holiday
    assert trace.inputs[-1, -1] == (0 - st.preprocessing.known_mean[-1]) / st.preprocessing.known_scale[-1]


def test_holiday_errors(tmp_path, monkeypatch):
    data = tmp_path / "m.csv"
    data.write_text("date,v\n" + "".join(f"2020-{m:02d}-01,{m}\n" for m in range(1, 13)))
    pytest.importorskip("holidays")
    steps = tmp_path / "steps.csv"  # (weekly and monthly data count the holidays: test_panel_known.py)
    steps.write_text("v\n" + "".join(f"{m}\n" for m in range(1, 13)))
    msg = one_line_error(run("train", steps, "--holidays", "US", "-m", tmp_path / "m.npz"))
    assert "--holidays needs dates on a regular frequency" in msg
    msg = one_line_error(run("train", data, "--holidays", "XX", "-m", tmp_path / "m.npz"), code=2)  # (usage)
    assert "--holidays 'XX' is not a country" in msg
    import sys

    monkeypatch.setitem(sys.modules, "holidays", None)
    msg = one_line_error(run("train", data, "--holidays", "US", "-m", tmp_path / "m.npz"))
    assert "pip install 'lstmcli[holidays]'" in msg


def test_known_inputs_from_dict_refuses_unknown_encodings():
    with pytest.raises(ValueError, match="unknown calendar encoding"):
        KnownInputs.from_dict({"calendar": ["phase_of_moon"]})


def test_a_format_1_2_file_written_before_known_inputs_predicts_the_same(tmp_path):
    """The fixture was written by commit 6c98be7, before issue #22 (train sample_data/air_passengers.csv
    --epochs 3 --hidden 4 --ensemble 2); its forecasts then (to 1e-7: the machine that wrote it is not this one), and to the bit again
    after saving it anew
    (as format 1.3: a file read from 1.2 has no fitted baselines, so it is written without them)."""
    from pathlib import Path

    fixture = Path(__file__).resolve().parent / "fixtures" / "model_v1_2.npz"
    model = Forecaster.load(fixture)
    assert model.format_version_ == "1.2" and model.state_.known.width == 0
    f = model.predict(3, levels=(80,))
    # Recorded on the machine that wrote the fixture: another CPU's vector width and BLAS kernels change
    # the last bits (4e-10 relative seen on an AMD EPYC without AVX-512), a misread file far more.
    np.testing.assert_allclose(
        f.values, [441.39167595949635, 413.5326568627839, 473.80520303890125], rtol=GOLDEN_RTOL
    )
    np.testing.assert_allclose(
        f.intervals[80][0], [413.7640613251645, 380.6019681857304, 432.213904496336], rtol=GOLDEN_RTOL
    )
    model.save(tmp_path / "again.npz")
    again = Forecaster.load(tmp_path / "again.npz")
    assert again.format_version_ == "4.0" and again.state_.baselines is None
    np.testing.assert_array_equal(again.predict(3).values, f.values)


def test_a_missing_step_in_the_forecast_period_is_not_filled_nor_noted_as_filled(tmp_path):
    data = tmp_path / "sales.csv"
    promo_csv(data, n=100, trailing=5)
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:103] + lines[104:]) + "\n")  # drop the third forecast row
    series = load_csv(data, target="sales", future_features=["promo"], forecast_rows=True)
    assert not any("Added" in n for n in series.notes)
    assert np.isnan(series.ahead[2, 0]) and series.ahead_lines[2] == 0
    model = Forecaster(ForecasterConfig(epochs=2, ensemble=1, hidden=4)).fit(series)
    with pytest.raises(
        DataError, match=r"column 'promo' has no value for 2023-04-13 \(a missing time step\)"
    ):
        model.predict(5, data=series)


def test_a_forecast_period_of_one_step_is_counted_as_one():
    """'give their values for the 1 steps after ...' (a second walk-through's inspect of a one-step need)."""
    from lstmcli.forecasting.known import _steps

    assert f"for the {_steps(1)} after" == "for the step after" and _steps(7) == "7 steps"


def test_a_backtest_leaves_out_the_forecast_rows_of_a_file_made_for_predict(tmp_path):
    """promo_sales.csv ends with 14 days of promo plans and no sales: backtest --future-features refused it
    ('train with --future-features ... to make them the forecast period', which was given)."""
    from pathlib import Path

    promo = Path(__file__).resolve().parent.parent / "sample_data" / "promo_sales.csv"
    quick = ["--epochs", "2", "--ensemble", "1", "--hidden", "4"]
    r = run("backtest", promo, "--target", "sales", "--future-features", "promo", "--horizon", "7",
            "--windows", "2", "--format", "json", *quick)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["origins"][-1] == "2022-12-25"  # the last 7 days with sales: 12-25 .. 12-31
    assert "have no 'sales' value: they are the forecast period" in " ".join(r.stderr.split())
    rows = ["store,date,sales,promo"] + [
        f"{s},{line}" for s in "ab" for line in promo.read_text().splitlines()[1:]
    ]
    (tmp_path / "stores.csv").write_text("\n".join(rows) + "\n")
    r = run("backtest", tmp_path / "stores.csv", "--id-col", "store", "--target", "sales",
            "--future-features", "promo", "--horizon", "7", "--format", "csv", *quick)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[-1].startswith("b,2022-12-24,2022-12-31,")


def test_a_promotion_flag_written_true_false_is_read_as_1_0_where_it_is_an_input(tmp_path):
    """A Parquet bool column (or pandas' to_csv of one) was refused: "'False' is not a number" (a
    walk-through); darts and statsforecast take it as 1 / 0. Read so only where a column is named as an
    input: the choice of the target among the numeric columns is unchanged."""
    numbers = tmp_path / "numbers.csv"
    promo_csv(numbers, n=60, trailing=5)
    flags = tmp_path / "flags.csv"
    lines = numbers.read_text().splitlines()
    flags.write_text(  # (True and false, and a 0 among them: pandas writes a bool column with NaN so)
        "\n".join([lines[0]] + [r[:-1] + ("True" if r.endswith("1") else "false" if k else "0")
                                 for k, r in enumerate(lines[1:])]) + "\n"
    )  # fmt: skip
    a = load_csv(numbers, future_features=["promo"], forecast_rows=True)
    b = load_csv(flags, future_features=["promo"], forecast_rows=True)
    np.testing.assert_array_equal(a.future_features, b.future_features)
    np.testing.assert_array_equal(a.ahead, b.ahead)
    assert "Read column 'promo' of True / False as 1 / 0." in b.notes
    history = tmp_path / "history.csv"
    history.write_text("\n".join(flags.read_text().splitlines()[:61]) + "\n")
    plain = load_csv(history)  # not named: a text column, and 'sales' the only numeric one, as before
    assert plain.target == "sales" and "Ignored text column 'promo'." in plain.notes
