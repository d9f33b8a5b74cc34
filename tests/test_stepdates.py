"""lstmcli.data.stepdates (dates without pandas) gives pandas' dates, date for date."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lstmcli.data import frequency, stepdates

BASES = ["D", "h", "min", "s", "ms", "us", "ns", "W", "MS", "ME", "QS", "QE", "YS", "YE"]
ANCHORED = {"W": frequency.WEEKDAYS, "QS": frequency.MONTHS, "QE": frequency.MONTHS}
ANCHORED |= {"YS": frequency.MONTHS, "YE": frequency.MONTHS}


@st.composite
def aliases(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from(BASES))
    n = draw(st.sampled_from(["", "1", "2", "3", "4", "7", "12", "15", "9999"]))
    anchor = f"-{draw(st.sampled_from(ANCHORED[base]))}" if base in ANCHORED else ""
    if draw(st.integers(0, 19)) == 0:  # now and then an alias the fast path leaves to pandas
        anchor = draw(st.sampled_from(["", "-JAN", "-SUN", "-XYZ"]))
    return f"{n}{base}{anchor}"


@st.composite
def dates(draw: st.DrawFn, freq: str) -> np.datetime64:
    day = np.datetime64("1680-01-01", "D") + draw(st.integers(0, 212_000))  # 1680 .. 2260
    when = day.astype("datetime64[ns]")
    if draw(st.booleans()):
        when += np.timedelta64(draw(st.integers(0, 86_400 * 10**9 - 1)), "ns")
    if draw(st.booleans()):  # on the anchor, as a model's last date is
        try:
            off = frequency.parse_offset(freq)
            when = pd.Timestamp(when).normalize()
            when = off.rollforward(when).to_datetime64()
        except Exception:  # noqa: BLE001  (an invalid alias, out of bounds: kept as drawn)
            pass
    return np.datetime64(when, "ns")


def outcome(function, *args):  # noqa: ANN001, ANN201
    try:
        out = function(*args)
    except Exception as e:  # noqa: BLE001  (the same error either way)
        return type(e), str(e)
    assert out.dtype == np.dtype("datetime64[ns]")
    return out.tolist()


@settings(max_examples=3000, deadline=None)
@given(data=st.data(), count=st.integers(1, 300))
def test_dates_equal_pandas_dates(data: st.DataObject, count: int) -> None:
    freq = data.draw(aliases())
    last = data.draw(dates(freq))
    for ours, theirs in (
        (stepdates.future_timestamps, frequency.future_timestamps),
        (stepdates.timestamps_ending_at, frequency.timestamps_ending_at),
    ):
        assert outcome(ours, last, freq, count) == outcome(theirs, last, freq, count), (freq, last, count)


@pytest.mark.parametrize(
    ("last", "freq"),
    [
        ("2023-01-01", "MS"), ("2023-01-31", "ME"), ("2023-04-01", "QS-JAN"), ("2023-12-31", "QE-DEC"),
        ("2023-01-01", "YS-JAN"), ("2023-01-01", "W-SUN"), ("2023-01-01 13:00", "h"), ("2023-01-01", "D"),
        ("2023-01-01 00:00:01", "15min"), ("2023-03-01", "3MS"), ("2023-02-28", "2QE-NOV"),
    ],
)  # fmt: skip
def test_the_usual_frequencies_take_the_numpy_path(last: str, freq: str) -> None:
    got = stepdates._steps(np.datetime64(last, "ns"), freq, 5, first=1)
    assert got is not None
    assert got.tolist() == frequency.future_timestamps(np.datetime64(last, "ns"), freq, 5).tolist()


@pytest.mark.parametrize(
    ("last", "freq"),
    [("2023-01-15", "MS"), ("2023-01-01 10:00", "MS"), ("2023-01-01", "M"), ("2023-01-01", "B"),
     ("2023-01-02", "W-SUN"), ("2262-01-01", "D"), ("2023-01-01", "MS-JAN"), ("NaT", "D"),
     ("2193-05-22", "9999W-WED")],  # the last: a range longer than 146 years (pandas refuses some)
)  # fmt: skip
def test_everything_else_is_left_to_pandas(last: str, freq: str) -> None:
    assert stepdates._steps(np.datetime64(last, "ns"), freq, 5, first=1) is None


def test_the_numpy_path_does_not_import_pandas() -> None:
    code = (
        "import sys, numpy as np; from lstmcli.data import stepdates; "
        "stepdates.future_timestamps(np.datetime64('2023-01-01', 'ns'), 'MS', 12); "
        "stepdates.timestamps_ending_at(np.datetime64('2023-01-01', 'ns'), 'QS-JAN', 12); "
        "print('pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_time_stamps_are_written_alike_within_a_column():
    """An hourly series' midnight was written as a date alone among times (2012-05-30 beside
    2012-05-30 01:00:00): one column, two formats, for whatever reads it next."""
    from lstmcli.data.stepdates import dates_text

    hourly = np.arange("2012-05-29T22", "2012-05-30T02", dtype="datetime64[h]")
    assert dates_text(hourly) == [
        "2012-05-29 22:00:00", "2012-05-29 23:00:00", "2012-05-30 00:00:00", "2012-05-30 01:00:00"
    ]  # fmt: skip
    assert dates_text(np.array(["2012-05-30T00", "2012-05-30T01"], dtype="datetime64[h]"))[0].endswith(
        "00:00:00"
    )
    monthly = np.array(["2020-01-01", "2020-02-01", "2020-03-01"], dtype="datetime64[D]")
    assert dates_text(monthly) == ["2020-01-01", "2020-02-01", "2020-03-01"]
    assert dates_text(np.array(["2020-01-01T12:30"], dtype="datetime64[m]")) == ["2020-01-01 12:30:00"]
