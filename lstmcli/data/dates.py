"""Reading text cells as dates, in the many forms CSVs hold them (ISO, quarters, month names, day-first,
mixed, with UTC offsets), without ever raising and without taking words or clock times for dates.

Both the file reader (is the first line a header or data?) and the time column build on this.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcli.data.frequency import NS_MAX, NS_MIN
from lstmcli.data.grid import _infer_offset
from lstmcli.data.wording import show

_QUARTER_RE = re.compile(r"^(\d{4})\s*[-/ ]?\s*[Qq]([1-4])$|^[Qq]([1-4])\s*[-/ ]?\s*(\d{4})$")


_TIME_ONLY_RE = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_CLOCK = r"\d:\d{2}(?::\d{2}(?:\.\d+)?)?"
_OFFSET = r"\s*(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$"
# A clock time followed by a UTC offset or zone: the cells that are time-zone aware.
AWARE_RE = re.compile(_CLOCK + _OFFSET, re.IGNORECASE)
MIXED_OFFSETS_NOTE = "The dates have different UTC offsets; they were converted to UTC."
LOCAL_DATES_NOTE = (
    "The dates have different UTC offsets (daylight saving time) but one local clock time; their local "
    "dates were used."
)
_OFFSET_AFTER_TIME_RE = re.compile(f"({_CLOCK}){_OFFSET}", re.IGNORECASE)  # (AWARE_RE, the clock kept)
# Numeric dates written year first (2020-01-05, 2020/01/05, 2020.01.05), a clock time may follow.
_YEAR_FIRST_RE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
# What the error for a cell that is not a date says was expected, unless the column says better.
EXPECTED_DATE = "e.g. 2024-01-31"


def to_datetime(s: pd.Series, **kw) -> tuple[np.ndarray, str | None]:
    """pd.to_datetime that never raises: returns datetime64[ns]-compatible values (NaT on failure)."""
    tz_note = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            r = pd.to_datetime(s, errors="coerce", **kw)
        except (ValueError, TypeError) as exc:
            if "zone" not in str(exc).lower() and "utc" not in str(exc).lower():
                return np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]"), None
            try:
                r = pd.to_datetime(s, errors="coerce", utc=True, **kw)
            except Exception:
                return np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]"), None
            local = _one_local_clock_time(s, kw)
            if local is not None and local.notna().sum() == r.notna().sum():
                return local.to_numpy(), LOCAL_DATES_NOTE
            tz_note = MIXED_OFFSETS_NOTE
        except Exception:  # OverflowError, OutOfBounds..., whatever a weird cell triggers
            return np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]"), None
        r = pd.Series(r)
        if not pd.api.types.is_datetime64_any_dtype(r.dtype):
            return np.full(len(s), np.datetime64("NaT"), dtype="datetime64[us]"), None
        if getattr(r.dt, "tz", None) is not None:
            if tz_note is None:
                tz_note = f"The dates carry a UTC offset ({r.dt.tz}); the local clock time was used."
                r = r.dt.tz_localize(None)
            else:
                r = r.dt.tz_convert(None)
    return r.to_numpy(), tz_note


def _one_local_clock_time(s: pd.Series, kw: dict) -> pd.Series | None:
    """The cells' local times, their offsets dropped, when every one shows the same clock time (daily or
    coarser data stamped at local midnight, across daylight saving time: in UTC they fall an hour apart
    twice a year and no daily grid holds them); else None: hourly data across daylight saving time is
    regular in UTC only."""
    try:
        local = pd.Series(
            pd.to_datetime(s.str.replace(_OFFSET_AFTER_TIME_RE, r"\1", regex=True), errors="coerce", **kw)
        )
    except Exception:
        return None
    seen = local.notna()
    if (
        not pd.api.types.is_datetime64_any_dtype(local.dtype)
        or getattr(local.dt, "tz", None)
        or not seen.any()
    ):
        return None
    clock = local[seen] - local[seen].dt.normalize()
    return local if clock.nunique() == 1 else None


def _quarters(s: pd.Series) -> np.ndarray | None:
    m = s.str.extract(_QUARTER_RE)
    if m.isna().all(axis=1).any():
        return None
    year = m[0].fillna(m[3]).astype(int).to_numpy()
    q = m[1].fillna(m[2]).astype(int).to_numpy()
    out = np.array(
        [f"{y:04d}-{3 * (qq - 1) + 1:02d}-01" for y, qq in zip(year, q, strict=True)], dtype="datetime64[ns]"
    )
    return out


@dataclass
class Dates:
    """Parsed cells, with the unparsed and the out-of-range ones kept apart so each can be reported."""

    values: np.ndarray  # datetime64[ns], NaT where a cell did not parse
    ok: np.ndarray  # bool
    out_of_range: np.ndarray  # bool: parsed, but outside what datetime64[ns] can hold
    notes: list[str]
    expected: str = EXPECTED_DATE  # what a bad cell's error says was expected, after "(expected "
    # a column whose every date could be month/day or day/month: the values read the other way (a file
    # of the forecast period takes the reading that continues the series: ``data.future``)
    other_reading: np.ndarray | None = None


def _regular(ts: np.ndarray) -> bool:
    """Whether sorted unique timestamps have a frequency pandas can name."""
    u = np.unique(ts[~np.isnat(ts)])
    if len(u) < 3:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pd.infer_freq(pd.DatetimeIndex(u)) is not None
        except Exception:
            return False


def _on_a_grid(ts: np.ndarray) -> bool:
    """Whether timestamps (at least 3 distinct) lie on a regular grid, gaps allowed, as the loader
    will look for one."""
    u = np.unique(ts[~np.isnat(ts)])
    if len(u) < 3:
        return False
    try:
        return _infer_offset(u)[0] is not None
    except Exception:  # a grid that pandas cannot build (overflow, out of bounds) is no grid
        return False


def _year_day_month(s: pd.Series, arr: np.ndarray) -> np.ndarray:
    """The cells written year first that `arr` reads year-day-month (2020-01-05 as 1 May 2020)."""
    out = np.zeros(len(s), dtype=bool)
    read = np.flatnonzero(~np.isnat(arr))
    if not read.size:
        return out
    m = s.iloc[read].str.extract(_YEAR_FIRST_RE)
    yf = m[0].notna().to_numpy()
    if not yf.any():
        return out
    a = m[1].to_numpy()[yf].astype(int)
    b = m[2].to_numpy()[yf].astype(int)
    idx = pd.DatetimeIndex(arr[read[yf]])
    out[read[yf]] = (a != b) & (idx.month.to_numpy() == b) & (idx.day.to_numpy() == a)
    return out


_FOUR_DIGITS_RE = re.compile(r"\d{4}")
_TWO_DIGITS_RE = re.compile(r"(?<!\d)\d{2}(?!\d)")
# Two-digit years as Excel reads them (the program most such files come from): 00-29 in the 2000s,
# 30-99 in the 1900s. dateutil's window moves with today's date (in 2026, "75" was 2075 and "76" 1976),
# which split a column of 1975-1984 across two centuries and sorted it out of order.
EXCEL_PIVOT = 30


def _excel_year(two_digits: np.ndarray) -> np.ndarray:
    """The year Excel reads a two-digit year as."""
    return np.where(two_digits < EXCEL_PIVOT, 2000, 1900) + two_digits


def _two_digit_years(s: pd.Series, arr: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """``arr`` with the cells whose year is written in two digits ("Jan-75", "3/1/75") put in Excel's
    century, and a note saying how they were read (none when no cell has a two-digit year)."""
    parsed = np.flatnonzero(~np.isnat(arr))
    if not parsed.size:
        return arr, []
    cells = s.iloc[parsed]
    years = pd.DatetimeIndex(arr[parsed]).year.to_numpy()
    short = ~cells.str.contains(_FOUR_DIGITS_RE).to_numpy() & np.array(
        [f"{y % 100:02d}" in _TWO_DIGITS_RE.findall(c) for c, y in zip(cells, years, strict=True)], dtype=bool
    )
    if not short.any():
        return arr, []
    wanted = _excel_year(years % 100)
    out = np.array(arr, copy=True)
    for shift in (-100, 100):
        move = parsed[short & (wanted - years == shift)]
        if move.size:
            moved = pd.DatetimeIndex(out[move]) + pd.DateOffset(years=shift)
            out[move] = moved.to_numpy().astype(out.dtype)
    k = int(parsed[np.argmax(short)])
    return out, [_century_note(s.iloc[k], wanted[short])]


def _century_note(example: str, years: np.ndarray) -> str:
    first, last = int(years.min()), int(years.max())
    span = f"{first}" if first == last else f"{first}-{last}"
    return (
        f"Two-digit years such as {show(example)} were read as {span}, as Excel reads them "
        f"(00-{EXCEL_PIVOT - 1} as 20xx, {EXCEL_PIVOT}-99 as 19xx); write four-digit years to say otherwise."
    )


# A month's name and a year, as spreadsheets write months: "Jan-15", "Sep 2021", "March'98"
_MONTH_YEAR_RE = re.compile(r"^([A-Za-z]{3,9})\.?\s*[-/ .']?\s*(\d{2}|\d{4})$")
_MONTH_NAMES = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
    "november", "december",
)  # fmt: skip
_MONTHS = {name[:3]: k + 1 for k, name in enumerate(_MONTH_NAMES)}


def _month_name(token: str) -> bool:
    """ "jan", "Janu", "January", "Sept": a month's name or its start (three letters at least)."""
    t = token.lower()
    return t[:3] in _MONTHS and (_MONTH_NAMES[_MONTHS[t[:3]] - 1].startswith(t) or t == "sept")


def _month_years(s: pd.Series) -> tuple[np.ndarray, list[str]] | None:
    """Cells that are all a month's name and a year, as their months' first days; None otherwise.
    pandas reads "Jan-15" as 15 January of this year, or nothing at all."""
    m = s.str.extract(_MONTH_YEAR_RE)
    if m.isna().any(axis=None) or not m[0].map(_month_name).all():
        return None
    names = m[0].str.lower()
    month = names.str[:3].map(_MONTHS).to_numpy(dtype=int)
    year = m[1].astype(int).to_numpy()
    short = m[1].str.len().to_numpy() == 2
    year = np.where(short, _excel_year(year % 100), year)
    out = np.array(
        [f"{y:04d}-{mm:02d}-01" for y, mm in zip(year, month, strict=True)], dtype="datetime64[ns]"
    )
    return out, [_century_note(s.iloc[int(np.argmax(short))], year[short])] if short.any() else []


def parse_dates(s: pd.Series) -> Dates:
    """Parse stripped, non-missing strings as dates, trying ISO first, then common formats.

    Cells without any digit ("now", "today", "May") and bare clock times ("10:30") are never dates:
    pandas would happily turn them into today's date.
    """
    n = len(s)
    plausible = s.str.contains(r"\d", regex=True).to_numpy() & ~s.str.match(_TIME_ONLY_RE).to_numpy()
    notes: list[str] = []

    def finish(
        arr: np.ndarray, extra: list[str], expected: str = EXPECTED_DATE, other: np.ndarray | None = None
    ) -> Dates:
        arr = np.asarray(arr)
        if arr.dtype.kind != "M":
            arr = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        parsed = ~np.isnat(arr) & plausible
        lo, hi = NS_MIN.astype(arr.dtype), NS_MAX.astype(arr.dtype)
        oor = parsed & ((arr < lo) | (arr > hi))
        ok = parsed & ~oor
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        out[ok] = arr[ok].astype("datetime64[ns]")
        other = None if other is None else np.asarray(other, dtype="datetime64[ns]")
        return Dates(out, ok, oor, notes + extra, expected, other)

    q = _quarters(s) if n else None
    if q is not None:
        return finish(q, ["The time column uses quarters like '2020Q1'; each was read as its first day."])
    months = _month_years(s) if n else None
    if months is not None:
        return finish(*months)

    attempts: list[tuple[str, np.ndarray, list[str]]] = []
    for label, kw in (("iso", {"format": "ISO8601"}), ("mdy", {}), ("dmy", {"dayfirst": True})):
        arr, tz = to_datetime(s, **kw)
        if label == "dmy":
            # dayfirst=True reads year-first cells year-day-month (2020-01-05 as 1 May), a convention
            # no one writes: with it, one impossible ISO date (1955-13-01) turned a whole ISO column
            # day-first.  Year-first cells are read year-month-day or not at all.
            arr = np.array(arr, copy=True)
            arr[_year_day_month(s, arr)] = np.datetime64("NaT")
        arr, century = _two_digit_years(s, arr)  # (before the readings are compared for regularity)
        attempts.append((label, arr, ([tz] if tz else []) + century))
        if label == "iso" and (~np.isnat(arr) | ~plausible).all():
            return finish(arr, attempts[0][2])

    def score(arr):
        return int((~np.isnat(arr) & plausible[: len(arr)]).sum())  # the mixed-format trial scores a sample

    best = max(attempts, key=lambda a: score(a[1]))  # max() keeps the first of equals: iso, then m/d
    if score(best[1]) < n and n:
        # Last resort: let dateutil read each cell on its own (slow, so only when most cells look like dates).
        sample = s.iloc[: min(n, 50)]
        arr_s, _ = to_datetime(sample, format="mixed")
        if score(arr_s) >= 0.9 * len(sample):
            arr, tz = to_datetime(s, format="mixed")
            if score(arr) > score(best[1]):
                arr, century = _two_digit_years(s, arr)
                best = ("mixed", arr, ([tz] if tz else []) + century)

    mdy, dmy = attempts[1][1], attempts[2][1]
    other = None
    if best[0] in ("mdy", "dmy") and score(mdy) == score(dmy) == n:
        same = np.array_equal(mdy, dmy)
        if not same:
            # Both readings work (every day <= 12): prefer the one with regular spacing.
            if best[0] == "mdy" and not _regular(mdy) and _regular(dmy):
                best = attempts[2]
            other = mdy if best[0] == "dmy" else dmy
            k = int(np.argmax(mdy != dmy))
            order = "day/month" if best[0] == "dmy" else "month/day"
            best = (
                best[0],
                best[1],
                best[2]
                + [
                    f"Dates such as {show(s.iloc[k])} could be month/day or day/month; they were read as {order}."
                ],
            )
    elif best[0] == "dmy" and score(dmy) > score(mdy):
        # Day-first reads more cells than month-first.  That settles it when many cells have a day
        # after the 12th (13/01/1955, 31.12.2020: real day-first dates, about 19 days in 31).  But when
        # month-first reads all the cells but a few (at most 1 in 20: 1 cell needs 20 dates), puts
        # them on a regular grid, and day-first would move some of them, those few are typos in a
        # month-first column (13/01/2020 among 01/01/2020, 02/01/2020, ...): reading the whole column
        # day-first for their sake would silently move every other date, so they are reported.  A
        # short column holds too little evidence either way and stays day-first, with its note; so
        # does one where the readings agree on every other cell (day-first moves nothing there).
        alt = max(attempts[:2], key=lambda a: score(a[1]))
        read_alt = plausible & ~np.isnat(alt[1])
        only_dmy = int((plausible & ~np.isnat(dmy) & ~read_alt).sum())
        differ = read_alt & ~np.isnat(dmy) & (alt[1] != dmy)  # cells that show month-first's order
        if 20 * only_dmy <= int(plausible.sum()) and differ.any() and _on_a_grid(alt[1][read_alt]):
            k = int(np.argmax(differ))
            expected = (
                f"month/day/year like the other dates of the column, e.g. {show(s.iloc[k])}; "
                "if they are day/month/year, write them year first: YYYY-MM-DD"
            )
            return finish(alt[1], alt[2], expected)
        best = (best[0], best[1], best[2] + ["The dates were read as day/month/year."])
    return finish(best[1], best[2], other=other)
