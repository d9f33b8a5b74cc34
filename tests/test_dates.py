"""Day-first or month-first: one impossible date is reported, it does not turn the whole column around.

A day-first reading is chosen for a column only when it is the column's consistent reading (many days
after the 12th); an ISO column is never read year-day-month, and a few cells that only day-first can
read, among month-first dates on a regular grid, are errors naming their line and column.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from lstmcli.cli import app
from lstmcli.data.dates import parse_dates
from lstmcli.data.loader import load_csv
from lstmcli.errors import DataError

AIR = Path(__file__).resolve().parent.parent / "sample_data" / "air_passengers.csv"


def with_line(src: Path, dst: Path, line: int, text: str) -> Path:
    """A copy of src with its `line`-th line (1-based, the header is line 1) replaced."""
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[line - 1] = text
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return dst


def written(tmp_path: Path, stamps, fmt: str, name: str = "data.csv") -> Path:
    p = tmp_path / name
    p.write_text("date,value\n" + "".join(f"{t.strftime(fmt)},{k}\n" for k, t in enumerate(stamps)))
    return p


def error(fn, *args, **kwargs) -> str:
    with pytest.raises(DataError) as e:
        fn(*args, **kwargs)
    msg = str(e.value)
    assert "\n" not in msg and msg
    return msg


# --- year-first dates are never read year-day-month -------------------------------------------------


@pytest.mark.parametrize("bad", ["1955-13-01", "1955-02-30", "oops"])
def test_one_impossible_iso_date_is_an_error_naming_its_line(tmp_path, bad):
    p = with_line(AIR, tmp_path / "baddate.csv", 80, f"{bad},200")
    msg = error(load_csv, p)
    assert msg.startswith(str(p)) and f"line 80, column 'date': '{bad}' is not a date" in msg
    assert "(expected e.g. 2024-01-31)" in msg


def test_the_cli_refuses_the_file_in_one_line_with_exit_code_1(tmp_path, monkeypatch):
    # The user's report: training "succeeded" on the column read day/month, 5 rows sorted, no frequency.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NO_COLOR", "1")
    p = with_line(AIR, tmp_path / "baddate.csv", 80, "1955-13-01,200")
    r = CliRunner().invoke(app, ["train", str(p), "--epochs", "1", "--ensemble", "1", "-m", "m.npz", "-q"])
    assert r.exit_code == 1, r.output
    errors = [x for x in r.stderr.strip().splitlines() if x.startswith("error: ")]
    assert len(errors) == 1 and "line 80, column 'date': '1955-13-01' is not a date" in errors[0]
    assert "day/month" not in r.output and "Traceback" not in r.output and not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize("fmt", ["%Y/%m/%d", "%Y.%m.%d", "%Y-%m-%d %H:%M"])
def test_year_first_in_other_spellings(tmp_path, fmt):
    stamps = pd.date_range("2001-01-01", periods=30, freq="MS")
    cells = [t.strftime(fmt) for t in stamps]
    cells[9] = cells[9][:5] + "13" + cells[9][7:]  # 2001-10-01 becomes month 13 of 2001
    s = pd.Series(cells)
    d = parse_dates(s)
    assert np.flatnonzero(~d.ok).tolist() == [9] and d.notes == []
    np.testing.assert_array_equal(d.values[d.ok], stamps.delete(9).to_numpy())


def test_short_iso_column_with_a_bad_date_is_not_read_day_first():
    # too short for any grid to tell: the year-first rule alone decides
    d = parse_dates(pd.Series(["2020-01-01", "2020-13-01", "2020-03-01"]))
    assert d.ok.tolist() == [True, False, True] and d.notes == []
    assert d.values[2] == np.datetime64("2020-03-01")


def test_year_first_dates_are_not_called_ambiguous():
    # A year-first column that ISO parsing cannot take whole (a garbled first cell): its dates were said
    # to be "month/day or day/month"; year-first dates are only ever year-month-day.
    cells = ["10/10/0202"] + [f"2020/01/{d:02d}" for d in range(2, 14)]
    d = parse_dates(pd.Series(cells))
    assert not any("day/month" in n for n in d.notes)
    assert d.values[1] == np.datetime64("2020-01-02") and d.ok.tolist() == [False] + [True] * 12


# --- a few day-first-only cells among regular month-first dates are typos -------------------------------


def test_month_first_column_with_one_day_first_typo_is_an_error(tmp_path):
    stamps = pd.date_range("2019-01-01", periods=36, freq="MS")  # 01/01/2019, 02/01/2019, ... every day <= 12
    p = written(tmp_path, stamps, "%m/%d/%Y")
    lines = p.read_text().splitlines()
    lines[25] = "13/01/2021,24"  # line 26: month 13 (only day/month could read it)
    p.write_text("\n".join(lines) + "\n")
    msg = error(load_csv, p)
    assert msg.startswith(str(p)) and "line 26, column 'date': '13/01/2021' is not a date" in msg
    assert "expected month/day/year like the other dates of the column, e.g. '02/01/2019'" in msg
    assert "YYYY-MM-DD" in msg


def test_the_same_column_without_the_typo_reads_month_first(tmp_path):
    stamps = pd.date_range("2019-01-01", periods=36, freq="MS")
    d = load_csv(written(tmp_path, stamps, "%m/%d/%Y"))
    assert d.freq == "MS" and d.timestamps[1] == np.datetime64("2019-02-01")


# --- genuine day-first columns stay day-first, with their note ---------------------------------------


@pytest.mark.parametrize(
    "freq,fmt,periods,gap",
    [
        ("D", "%d/%m/%Y", 90, None),  # 13/01/1955 style
        ("D", "%d/%m/%Y", 90, 40),  # with a missing day
        ("W-SUN", "%d/%m/%Y", 40, None),
        ("ME", "%d.%m.%Y", 24, None),  # 31.12.2020 style
        ("D", "%d-%m-%Y", 13, None),  # 1-13 January: 12 days read month-first as the 1st of each month
        ("D", "%d/%m/%Y", 30, 19),  # January with a gap: month-first reads 1-12 as a monthly series
    ],
)
def test_genuine_day_first_files_are_read_day_first(tmp_path, freq, fmt, periods, gap):
    stamps = pd.date_range("1955-01-01", periods=periods, freq=freq)
    if gap is not None:
        stamps = stamps.delete(gap)
    d = load_csv(written(tmp_path, stamps, fmt))
    np.testing.assert_array_equal(d.timestamps[[0, -1]], stamps[[0, -1]].to_numpy())
    assert d.freq is not None and d.freq[0] == freq[0]
    if fmt.startswith("%d/") or fmt.startswith("%d-"):
        assert "The dates were read as day/month/year." in d.notes


def test_day_first_file_with_a_bad_cell_names_it_without_a_month_first_hint(tmp_path):
    stamps = pd.date_range("1955-01-01", periods=60, freq="D")
    p = written(tmp_path, stamps, "%d/%m/%Y")
    lines = p.read_text().splitlines()
    lines[30] = "32/01/1955,29"  # line 31
    p.write_text("\n".join(lines) + "\n")
    msg = error(load_csv, p)
    assert "line 31, column 'date': '32/01/1955' is not a date (expected e.g. 2024-01-31)" in msg


@pytest.mark.parametrize("fmt", ["%b-%y", "%d/%m/%y", "%m/%d/%y"])
def test_two_digit_years_are_read_as_excel_reads_them_and_said(tmp_path, fmt):
    # 1975-1984 as "Jan-75": dateutil's window (in 2026: 1976-2075) put 1975 in 2075 and the sort that
    # followed moved those rows to the end, silently
    dates = pd.date_range("1975-01-01", periods=120, freq="MS")
    path = tmp_path / "yy.csv"
    pd.DataFrame({"Month": dates.strftime(fmt), "v": np.arange(120.0)}).to_csv(path, index=False)
    s = load_csv(path)
    assert s.freq == "MS" and np.array_equal(s.values, np.arange(120.0))
    assert pd.Timestamp(s.timestamps[0]) == dates[0] and pd.Timestamp(s.timestamps[-1]) == dates[-1]
    (note,) = [n for n in s.notes if n.startswith("Two-digit years")]
    assert "were read as 1975-1984, as Excel reads them (00-29 as 20xx, 30-99 as 19xx)" in note


def test_the_excel_pivot_month_names_and_four_digit_years():
    got = parse_dates(pd.Series(["Nov-29", "Dec-29", "Jan-30", "Feb-30"]))  # (pandas read none of them)
    assert [str(t)[:7] for t in got.values] == ["2029-11", "2029-12", "1930-01", "1930-02"]
    assert any("Two-digit years such as 'Nov-29' were read as 1930-2029" in n for n in got.notes)
    spelled = parse_dates(pd.Series(["Sept 2021", "October 2021", "Nov'21", "dec. 21"]))
    assert [str(t)[:10] for t in spelled.values] == ["2021-09-01", "2021-10-01", "2021-11-01", "2021-12-01"]
    assert np.isnat(parse_dates(pd.Series(["Jan-15", "Foo-15"])).values).all()  # not a month: not dates
    four = parse_dates(pd.Series(["Jan-1975", "1975-02-01", "03/01/1975"]))
    assert [pd.Timestamp(t).year for t in four.values] == [1975] * 3
    assert not any("Two-digit" in n for n in four.notes)
