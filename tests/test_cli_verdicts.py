"""What the user reads about how good the forecast is (issue #21): the verdict and how to act on it,
the horizon steps validation scored, first-epoch networks, --method, --combine and MSIS."""

from __future__ import annotations

import csv
import io
import json
from types import SimpleNamespace

import numpy as np
import pytest

from lstmcli.cli import train as train_cmd
from lstmcli.cli.render import validation_title, verdict
from lstmcli.forecasting.backtest import BacktestResult
from lstmcli.forecasting.baselines import BASELINES
from lstmcli.forecasting.metrics import msis
from lstmcli.npzfile import atomic_write_bytes, npz_bytes, open_archive
from tests.test_cli import FAST, ICE_CREAM, run

FAST2 = [*FAST, "--ensemble", "2"]


def _ice_cream() -> np.ndarray:
    with open(ICE_CREAM, newline="") as fh:
        return np.array([float(row["value"]) for row in csv.DictReader(fh)])


def test_the_verdict_names_the_winner_and_the_predict_command():
    table = {
        "LSTM": {"OWA": 1.05, "sMAPE": 12.5},
        "Naive": {"OWA": 1.4, "sMAPE": 15.0},
        "Naive2": {"OWA": 1.0, "sMAPE": 11.0},
        "Theta": {"OWA": 0.93, "sMAPE": 10.25},
    }
    assert str(verdict(table, "m.npz")) == (
        "The LSTM lost to Theta on validation (OWA 1.05 vs 0.93, sMAPE 12.5 vs 10.25): "
        "`lstmcli predict --model m.npz --method theta` uses Theta."
    )
    assert "does not beat Naive2, Theta here" in str(verdict(table))  # backtests: no model file to name
    assert "(`lstmcli predict --method theta` with a model of this data)" in str(verdict(table))  # the best
    assert "beats every baseline" in str(verdict(table | {"LSTM": {"OWA": 0.9}}, "m.npz"))


def test_validation_title_says_which_steps_were_scored():
    assert validation_title(123, 12, 12) == "Validation: 123 windows × 12 steps, data units"
    assert (
        validation_title(21, 52, 21) == "Validation: 21 windows, horizon steps 1-21 of 52 scored, data units"
    )


def test_train_says_when_the_horizon_goes_beyond_the_validated_steps(runner, cwd):
    result = run(runner, "train", ICE_CREAM, *FAST2, "--horizon", "52", "--val-size", "21")
    assert result.exit_code == 0, result.output
    assert "Validation: 21 windows, horizon steps 1-21 of 52 scored, data units" in result.stdout
    assert "21 windows × 52" not in result.stdout
    warning = [line for line in result.stderr.splitlines() if "horizon steps 1-21 only" in line]
    assert warning == [
        "warning: validation scored horizon steps 1-21 only: steps 22-52 were never checked against held-out "
        "data and their intervals are extrapolated; use a larger --val-size or a shorter --horizon"
    ]
    summary = json.loads(run(runner, "train", ICE_CREAM, *FAST2, "--horizon", "52", "--val-size", "21",
                             "--format", "json", "-m", "j.npz").stdout)  # fmt: skip
    assert summary["validated_steps"] == 21 and summary["horizon"] == 52
    result = run(runner, "train", ICE_CREAM, *FAST2, "-m", "m12.npz")  # 12 steps, all validated
    assert "windows × 12 steps" in result.stdout and "horizon steps" not in result.stderr


def test_first_epoch_networks_are_named_in_train_and_inspect(runner, cwd, capsys):
    model = SimpleNamespace(member_epochs_=[1, 12, 1], config=SimpleNamespace(epochs=300))
    train_cmd._warn_about(model, {"validation": {}, "horizon": 4})
    assert capsys.readouterr().err == (
        "warning: networks 1, 3 of the 3 in the ensemble stopped at their first epoch (no later epoch did "
        "better on validation): barely trained\n"
    )
    assert run(runner, "train", ICE_CREAM, *FAST2).exit_code == 0
    arrays = open_archive(cwd / "model.npz", lambda k: True, {"metadata": 1 << 24})
    meta = json.loads(str(arrays["metadata"]))
    meta["ensemble"]["best_epochs"] = [1, 3]  # as the ice-cream sample's first member has it by default
    atomic_write_bytes(cwd / "model.npz", npz_bytes(arrays | {"metadata": np.array(json.dumps(meta))}))
    result = run(runner, "inspect", "--steps", "2")
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        "warning: member 1 stopped at its first epoch (no later epoch did better on validation): its gates "
        "are those of a barely trained network; --member K shows another"
    ]
    assert run(runner, "inspect", "--member", "2", "--steps", "2").stderr == ""


def test_settings_that_do_nothing_are_named_before_training(runner, cwd):
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.verdicts import setting_warnings

    assert setting_warnings(ForecasterConfig()) == []
    assert setting_warnings(ForecasterConfig(dropout=0.2, layers=2, lookback=1, normalize="ses")) == []
    result = run(runner, "train", ICE_CREAM, *FAST2, "--dropout", "0.2", "--lookback", "1")
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if line.startswith("warning: --")]
    assert [line.split(" has ")[0].split(" with ")[0] for line in warned] == [
        "warning: --dropout 0.2",
        "warning: --lookback 1",
    ]
    result = run(runner, "backtest", ICE_CREAM, *FAST2, "--normalize", "none", "--transform", "None",
                  "--windows", "1")  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "--normalize none with --transform none feeds the network the raw values" in result.stderr


def test_the_summary_shows_every_lookback_and_why_one_was_shortened(runner, cwd):
    from lstmcli.cli.render import lookback_text

    assert lookback_text({"lookback": 24, "lookbacks": [24, 12, 24], "default_lookback": 24}) == (
        "lookbacks 12, 24 (one per network)"
    )
    assert lookback_text({"lookback": 8, "lookbacks": [8, 8], "default_lookback": None}) == "lookback 8"
    short = cwd / "short.csv"
    short.write_text("\n".join(ICE_CREAM.read_text().splitlines()[:30]) + "\n")
    result = run(runner, "train", short, *FAST2, "--format", "json")
    summary = json.loads(result.stdout)
    assert summary["default_lookback"] == 24 and max(summary["lookbacks"]) < 24
    assert lookback_text(summary).endswith("shortened from 24 to leave training windows")
    result = run(runner, "train", ICE_CREAM, *FAST2, "--val-size", "612", "-m", "v.npz")  # of 614 rows
    assert result.exit_code == 0, result.output
    assert "--val-size 612: the series leaves room for " in " ".join(result.stderr.split())  # (quietly fewer)
    result = run(runner, "train", short, *FAST2, "--lookback", "4", "--horizon", "40", "-m", "h.npz")
    assert result.exit_code == 1 and "forecasting 40 steps needs at least 40" in result.stderr


def test_an_interrupted_ensemble_says_how_many_networks_it_kept():
    # it said "interrupted by Ctrl-C after 300 epochs" at 23 % of the training, with 3 of 5 networks kept
    kept = train_cmd._networks_kept
    assert kept(SimpleNamespace(networks_=[1, 2, 3], config=SimpleNamespace(ensemble=5))) == (
        "3 of the 5 networks trained, the others had not finished"
    )
    assert (
        kept(SimpleNamespace(networks_=[1] * 5, config=SimpleNamespace(ensemble=5))) == "all 5 networks kept"
    )


def test_an_epoch_chosen_by_the_forecasts_is_not_called_the_best_loss(runner, cwd):
    result = run(runner, "train", ICE_CREAM, *FAST2, "--monitor", "forecast", "--patience", "0")
    assert result.exit_code == 0, result.output
    assert "by the validation forecasts' error (validation loss " in result.stdout
    assert "best validation loss" not in result.stdout
    assert "best validation loss" in run(runner, "train", ICE_CREAM, *FAST2, "-m", "l.npz").stdout


def test_predict_method_and_combine_on_the_command_line(runner, cwd):
    y = _ice_cream()
    assert run(runner, "train", ICE_CREAM, *FAST2, "--combine", "theta").exit_code == 0
    plain = run(runner, "predict", "--format", "json")
    theta = run(runner, "predict", "--format", "json", "--method", "theta")
    assert plain.exit_code == 0 and theta.exit_code == 0, theta.output
    values = [row["forecast"] for row in json.loads(theta.stdout)["forecast"]]
    assert values == pytest.approx(BASELINES["Theta"](y, 12, 12), rel=1e-12)
    assert json.loads(theta.stdout)["method"] == "theta" and "method" not in json.loads(plain.stdout)
    table = run(runner, "predict", "--method", "snaive")  # (a table said "Forecast" whatever made it)
    assert table.exit_code == 0 and "Forecast by Seasonal naive\n" in table.stdout, table.output
    best = run(runner, "predict", "--method", "best", "--format", "json")
    assert best.exit_code == 0, best.output
    # the validation's winner, named in the document and in a note
    from lstmcli.forecasting.config import METHODS
    from lstmcli.forecasting.forecaster import Forecaster
    from lstmcli.forecasting.verdicts import best_method

    chosen = best_method(Forecaster.load(cwd / "model.npz").validation_)
    assert json.loads(best.stdout)["method"] == chosen
    assert f"so this is the {METHODS[chosen]} forecast." in " ".join(best.stderr.split())
    if chosen != "lstm":  # a baseline won: no intervals, and the error names what was asked and chosen
        refused = run(runner, "predict", "--method", "best", "--level", "80")
        assert refused.exit_code == 1
        assert f"--method best (here {METHODS[chosen]}, the validation's winner) has none" in refused.stderr
    bad = run(runner, "predict", "--method", "sarima")  # a usage error: exit code 2, the values listed
    shown = " ".join(bad.stderr.replace("│", " ").split())  # the message as words, out of its box
    assert bad.exit_code == 2 and "'sarima' is not one of 'lstm', 'naive', 'snaive', 'naive2'" in shown
    with_level = run(runner, "predict", "--method", "naive2", "--level", "80")
    assert (
        with_level.exit_code == 1 and "--level" in with_level.stderr and "Traceback" not in with_level.output
    )
    bad = run(runner, "train", ICE_CREAM, *FAST2, "--combine", "ets", "-m", "x.npz")
    shown = " ".join(bad.stderr.replace("│", " ").split())
    assert bad.exit_code == 2 and "'ets' is not one of 'auto', 'none', 'theta'" in shown


def test_msis_by_hand():
    # insample 1, 3, 2, 6 with m = 1: scale = (2 + 1 + 4) / 3; a = 0.05 at 95 %
    insample = np.array([1.0, 3.0, 2.0, 6.0])
    y = np.array([5.0, 10.0, 7.0])
    lo, hi = np.array([4.0, 6.0, 7.5]), np.array([6.0, 8.0, 9.0])
    # step 1 inside: width 2; step 2 above by 2: 2 + 40 * 2; step 3 below by 0.5: 1.5 + 40 * 0.5
    expected = ((2.0) + (2.0 + 80.0) + (1.5 + 20.0)) / 3 / (7.0 / 3)
    assert msis(y, lo, hi, insample, 1) == pytest.approx(expected, rel=1e-14)
    # at 80 %, a = 0.2: the penalty is 2 / 0.2 = 10 per unit outside
    assert msis(y, lo, hi, insample, 1, 80) == pytest.approx((2 + 2 + 20 + 1.5 + 5) / 3 / (7 / 3), rel=1e-14)


def test_backtest_result_reports_coverage_and_msis_per_row():
    actual = np.array([[5.0, 10.0, 7.0], [1.0, 1.0, 1.0]])
    f = np.array([[5.0, 7.0, 8.25], [1.0, 1.0, 1.0]])
    result = BacktestResult(
        3, 1, actual, {"LSTM": f, "Naive2": f}, [np.array([1.0, 3, 2, 6])] * 2, ["a", "b"]
    )
    result.set_intervals({95.0: np.array([[1.0, 1.0, 0.75], [0.5, 0.5, 0.5]])})
    rows = result.interval_rows()
    assert rows[0][95.0]["coverage"] == pytest.approx(1 / 3) and rows[1][95.0]["coverage"] == 1.0
    assert rows[0][95.0]["MSIS"] == pytest.approx((2 + 82 + 21.5) / 3 / (7 / 3), rel=1e-14)
    assert rows[1][95.0]["MSIS"] == pytest.approx(1.0 / (7 / 3), rel=1e-14)
    assert result.msis()[95.0] == pytest.approx((rows[0][95.0]["MSIS"] + rows[1][95.0]["MSIS"]) / 2)
    assert result.coverage[95.0] == pytest.approx(4 / 6)


def test_backtest_shows_theta_and_msis_in_every_format(runner, cwd):
    args = [
        "backtest",
        ICE_CREAM,
        *FAST,
        "--ensemble",
        "1",
        "--windows",
        "2",
        "--level",
        "95",
        "--level",
        "99.5",
    ]
    table = run(runner, *args)
    assert table.exit_code == 0, table.output
    assert "Theta" in table.stdout and "95% intervals covered" in table.stdout and "MSIS" in table.stdout
    doc = json.loads(run(runner, *args, "--format", "json").stdout)
    assert "Theta" in doc["overall"] and set(doc["msis"]) == {"95", "99.5"}
    assert set(doc["intervals_per_row"]) == set(doc["origins"])
    first = doc["intervals_per_row"][doc["origins"][0]]["95"]
    assert set(first) == {"coverage", "MSIS"}
    rows = list(csv.reader(io.StringIO(run(runner, *args, "--format", "csv").stdout)))
    assert rows[0][-4:] == ["coverage_95", "MSIS_95", "coverage_99.5", "MSIS_99.5"]
    lstm_all = next(r for r in rows if r[:2] == ["all", "LSTM"])
    assert float(lstm_all[-3]) == pytest.approx(doc["msis"]["95"])
    assert next(r for r in rows if r[:2] == ["all", "Theta"])[-4:] == [""] * 4


def test_a_backtest_too_long_for_the_series_says_how_many_observations_it_needs():
    from lstmcli.errors import ConfigError
    from lstmcli.forecasting.backtest import rolling_origins

    # 5 windows of 12 steps, 12 apart: the first origin is 48 + 12 = 60 steps before the end, after 2
    np.testing.assert_array_equal(rolling_origins(62, 12, 5, 12), [2, 14, 26, 38, 50])
    with pytest.raises(ConfigError, match="need at least 62 observations, the series has 61"):
        rolling_origins(61, 12, 5, 12)


def test_a_mape_left_empty_says_why():
    from lstmcli.cli.render import comparison_table

    row = {"MAE": 1.0, "RMSE": 1.0, "MAPE": float("nan"), "sMAPE": 10.0, "MASE": 1.0, "OWA": 1.0}
    table = comparison_table({"LSTM": row, "Naive2": row}, "Validation")
    assert table.caption == "MAPE –: an actual value is 0, where a percentage error has no value"
    assert comparison_table({"LSTM": row | {"MAPE": 5.0}}, "Validation").caption is None
