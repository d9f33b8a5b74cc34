"""`lstmcli train` on every kind of real file, and the loader's rules as a user meets them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from lstmcli.cli import app

DATA = Path(__file__).resolve().parent / "data"
FAST = ["--epochs", "2", "--hidden", "4", "--format", "json"]


@pytest.fixture
def runner(monkeypatch, tmp_path) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


@pytest.mark.parametrize(
    ("file", "extra", "freq", "season"),
    [
        ("uk_gas_quarterly.csv", [], "QS-OCT", 4),
        ("walmart_quarterly_revenue.csv", [], "QE-JAN", 4),
        ("melbourne_daily_min_temperature_slice.csv", [], "D", 7),
        ("aapl_daily_close_slice.csv", [], "B", 5),
        ("victoria_electricity_demand_hourly_slice.csv", ["--lookback", "24", "--horizon", "24"], "h", 24),
        ("shampoo_sales.csv", ["--lookback", "6", "--horizon", "3"], "MS", 12),
        (
            "uk_seatbelts_monthly_multivariate.csv",
            ["--target", "DriversKilled", "--features", "all"],
            "MS",
            12,
        ),
    ],
)
def test_train_on_each_kind_of_file(runner, file, extra, freq, season):
    result = runner.invoke(app, ["train", str(DATA / file), *FAST, *extra])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["frequency"].split("-")[0] == freq.split("-")[0], summary["frequency"]
    assert summary["season"] == season
    predicted = runner.invoke(app, ["predict", "--horizon", "2", "--format", "json"])
    assert predicted.exit_code == 0, predicted.output
    assert len(json.loads(predicted.stdout)["forecast"]) == 2


def test_multivariate_records_its_features(runner):
    result = runner.invoke(
        app, ["train", str(DATA / "uk_seatbelts_monthly_multivariate.csv"), "--target", "DriversKilled",
              "--features", "front,rear", *FAST],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["features"] == ["front", "rear"] and summary["strategy"] == "direct"


def test_missing_days_are_filled_and_reported(runner):
    result = runner.invoke(app, ["train", str(DATA / "melbourne_daily_min_temperature_slice.csv"), *FAST])
    assert result.exit_code == 0, result.output
    assert "fill" in result.stderr.lower() and "note:" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,value\n2020-01-01,1\n2020-02-01,2\n2020-02-01,3\n", "2020-02-01"),
        ("date,value\n2020-01-01,1\n2020-02-01,abc\n", "line 3"),
        ("date,value\n2020-01-01,1\n2020-02-01,inf\n", "line 3"),
        ("", "empty"),
        ("date,value\n", "no data rows"),
        ("date,value\n" + "".join(f"2020-{m:02d}-01,{m}\n" for m in range(1, 7)), "at least"),
    ],
    ids=["duplicate", "text-cell", "infinite", "empty", "header-only", "too-short"],
)
def test_bad_csvs_are_one_line_errors(runner, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = runner.invoke(app, ["train", str(path)])
    assert result.exit_code == 1, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.csv" in lines[0] and message in lines[0], lines


def test_binary_file_is_refused(runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(bytes(range(256)) * 4)
    result = runner.invoke(app, ["train", str(path)])
    assert result.exit_code == 1 and "bad.csv" in result.stderr and "Traceback" not in result.output


def test_constant_series_forecasts_the_constant(runner, tmp_path):
    path = tmp_path / "flat.csv"
    path.write_text(
        "date,value\n" + "".join(f"20{y:02d}-{m:02d}-01,5\n" for y in range(10, 16) for m in range(1, 13))
    )
    assert runner.invoke(app, ["train", str(path), *FAST]).exit_code == 0
    result = runner.invoke(app, ["predict", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert all(abs(r["forecast"] - 5) < 1e-6 for r in json.loads(result.stdout)["forecast"])


def test_rows_without_dates_are_steps(runner, tmp_path):
    path = tmp_path / "steps.csv"
    path.write_text("value\n" + "".join(f"{(k % 7) + k / 10}\n" for k in range(80)))
    assert runner.invoke(app, ["train", str(path), *FAST, "--season", "7"]).exit_code == 0
    result = runner.invoke(app, ["predict", "--horizon", "3", "--format", "json"])
    assert [r["step"] for r in json.loads(result.stdout)["forecast"]] == [81, 82, 83]
