"""Finding the time column (named candidates first, then the first column), reading it as dates or
as numeric steps, and ordering the rows by it.

A time column is chosen only when its cells really are times; a wrong guess would silently reorder
the series, so doubtful columns are left alone and the rows stay in file order.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcli.data.cells import Table, integer_column, looks_numeric, missing_mask, to_numbers
from lstmcli.data.dates import AWARE_RE, LOCAL_DATES_NOTE, MIXED_OFFSETS_NOTE, Dates, parse_dates, to_datetime
from lstmcli.data.wording import fmt_lines, fmt_ts, missing_col_error, plural, show
from lstmcli.errors import ConfigError, DataError

# Text columns whose repeated values mean "several series in one file" (long format).
_ID_NAMES = ("series_id", "unique_id", "id", "series", "item_id", "ts_id", "key")

# Column names that are tried first when looking for the time column (lower-case).
_TIME_NAMES = (
    "date",
    "datetime",
    "timestamp",
    "time",
    "ds",
    "period",
    "month",
    "week",
    "day",
    "dt",
    "quarter",
    "year",
    "step",  # never a date, but orders the rows (as in the M3/M4 long files)
)


# A column name that says it holds times ("Order Date", "WEEK_END_DT", "timestamp_utc").
_TIME_HINT = re.compile(r"date|time|(^|[^a-z])dt($|[^a-z])|period")


@dataclass
class Time:
    """The time column as sort keys, with the notes on how its cells were read."""

    name: str
    kind: str  # "dates" or "steps"
    keys: np.ndarray  # datetime64[ns] (kind dates) or float64 (kind steps), one per row
    notes: list[str]
    other_keys: np.ndarray | None = None  # dates that could be day/month or month/day, read the other way


def _numeric_time(table: Table, name: str, explicit: bool) -> Time | None:
    """A numeric time column: calendar years, YYYYMMDD dates or plain integer steps."""
    ints = integer_column(table, name)
    lname = name.lower()
    # Only a column *named* like a year is read as years: a step counter may well run from 1000 to 2000.
    if ints is not None and "year" in lname and ((ints >= 1000) & (ints <= 2999)).all():
        keys = np.array([f"{y:04d}-01-01" for y in ints], dtype="datetime64[ns]")
        return Time(
            name,
            "dates",
            keys,
            [f"Column '{name}' holds whole years; each was read as 1 January of that year."],
        )
    if ints is not None and explicit and ((ints >= 16780101) & (ints <= 22620410)).all():
        s = table.df[name]
        arr, _ = to_datetime(s, format="%Y%m%d")
        if not np.isnat(arr).any():
            return Time(
                name, "dates", arr.astype("datetime64[ns]"), [f"Column '{name}' was read as YYYYMMDD dates."]
            )
    if explicit or lname == "step":
        _require_numeric_time(table, name)
        keys = to_numbers(table.df[name])
        return Time(name, "steps", keys, [f"Column '{name}' is a number, not a date; it numbers the steps."])
    return None


def _require_numeric_time(table: Table, name: str) -> None:
    s = table.df[name]
    missing = missing_mask(s)
    if missing.any():
        k = int(np.argmax(missing))
        raise DataError(f"{table.path} line {table.lines[k]}, column '{name}': the time is missing")
    vals = to_numbers(s)
    bad = ~np.isfinite(vals)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{name}': {show(s.iloc[k])} is not a date or a number"
        )


def _date_time(table: Table, name: str, dates: Dates) -> Time:
    """Turn parsed dates into a time column, raising for missing or unparsable cells."""
    s = table.df[name]
    missing = missing_mask(s)
    if missing.any():
        k = int(np.argmax(missing))
        raise DataError(f"{table.path} line {table.lines[k]}, column '{name}': the date is missing")
    if dates.out_of_range.any():
        k = int(np.argmax(dates.out_of_range))
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{name}': {show(s.iloc[k])} is outside the supported "
            "date range 1677-09-22 .. 2262-04-11"
        )
    if not dates.ok.all():
        bad = ~dates.ok
        k = int(np.argmax(bad))
        more = int(bad.sum()) - 1
        tail = f" (and {plural(more, 'more bad cell')})" if more else ""
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{name}': {show(s.iloc[k])} is not a date "
            f"(expected {dates.expected}){tail}"
        )
    if MIXED_OFFSETS_NOTE in dates.notes or LOCAL_DATES_NOTE in dates.notes:  # (else no mix: no cost)
        aware = s.str.contains(AWARE_RE).to_numpy()
        if aware.any() and not aware.all():
            a, b = int(np.argmax(aware)), int(np.argmax(~aware))
            raise DataError(
                f"{table.path}: column '{name}' mixes times with a UTC offset (line {table.lines[a]}: "
                f"{show(s.iloc[a])}) and times without one (line {table.lines[b]}: {show(s.iloc[b])}); "
                "give every time an offset, or none"
            )
    return Time(name, "dates", dates.values, list(dates.notes), dates.other_reading)


def find_time(table: Table, time_col: str | None) -> Time | None:
    """The named time column (raising if it is not one), or the first candidate that is; None if none is."""
    if time_col is not None:
        if not isinstance(time_col, str):
            raise ConfigError(f"--time-col must be a column name, got {time_col!r}")
        if time_col not in table.columns:
            raise missing_col_error(table.path, time_col, table.columns, "time column")
        if looks_numeric(table, time_col):
            t = _numeric_time(table, time_col, explicit=True)
            assert t is not None
            return t
        s = table.df[time_col]
        present = ~missing_mask(s)
        dates = parse_dates(s.where(present, "x"))
        return _date_time(table, time_col, dates)

    # Named candidates first, then the first column; then any other column whose cells are all dates
    # (names that say date or time first: 'Order Date', 'WEEK_END_DT'), in file order.
    lowered = {c: c.lower() for c in table.columns}
    candidates = [c for name in _TIME_NAMES for c in table.columns if lowered[c] == name]
    if table.columns[0] not in candidates:
        candidates.append(table.columns[0])
    others = [c for c in table.columns if c not in candidates]
    hinted = [c for c in others if _TIME_HINT.search(lowered[c])]
    for c in [*candidates, *hinted, *(c for c in others if c not in hinted)]:
        s = table.df[c]
        present = ~missing_mask(s)
        if not present.any():
            continue
        if looks_numeric(table, c):
            if c not in candidates:
                continue  # (a number is a time only under a time's name, or first)
            t = _numeric_time(table, c, explicit=False)
            if t is not None:
                return t
            continue  # a plain number column is never a date
        sub = s[present]
        quick = parse_dates(sub.iloc[:50])
        if quick.ok.mean() < (0.5 if c in candidates else 1.0):
            continue
        dates = parse_dates(s.where(present, "x"))
        frac = dates.ok[present].mean()
        # Mostly dates under a time's name (or first): this is the time column, and the few bad cells
        # are the user's to fix; elsewhere only a column of nothing but dates, of more than one
        enough = frac >= 0.9 if c in candidates else (frac == 1.0 and sub.nunique() > 1)
        if enough:
            t = _date_time(table, c, dates)
            t.notes.insert(0, f"Used column '{c}' as the time column.")
            return t
    return None


def separating_column(table: Table, time: Time, keys: np.ndarray) -> str | None:
    """A column that tells the series of a long file apart: with it, every time appears once per value
    (id-like names first, then text columns in file order, then columns of whole numbers that repeat);
    None when no column does."""
    named = [c for c in table.columns if c.lower() in _ID_NAMES]
    others = [c for c in table.columns if c not in named]
    numbers = [c for c in others if c != time.name and looks_numeric(table, c)]
    for c in named + [c for c in others if c not in numbers] + numbers:
        if c == time.name:
            continue
        ids = table.df[c]
        if ids.nunique() < 2:
            continue
        if c in numbers and (integer_column(table, c) is None or ids.nunique() * 2 > len(ids)):
            continue  # (a number column is an id when whole and repeated: 007, 010, 2 for stores)
        pairs = pd.DataFrame({"id": ids.to_numpy(), "t": keys})
        if not pairs.duplicated().any():
            return c
    return None


def sort_rows(table: Table, time: Time, notes: list[str]) -> np.ndarray:
    """Stable time order of the rows; notes re-ordering and rejects duplicate times."""
    keys = time.keys
    k = keys.astype(np.int64) if time.kind == "dates" else keys
    n = len(k)
    order = np.argsort(k, kind="stable")
    out_of_order = int((k[1:] < np.maximum.accumulate(k)[:-1]).sum())
    if out_of_order:
        if out_of_order == n - 1 and (np.diff(k) < 0).all():
            notes.append("The rows were in reverse time order (newest first); they were sorted oldest first.")
        else:
            was = "was" if out_of_order == 1 else "were"
            notes.append(f"Sorted the rows by time: {plural(out_of_order, 'row')} {was} out of order.")
    ks = k[order]
    dup = np.flatnonzero(ks[1:] == ks[:-1])
    if dup.size:
        first = order[dup[0]]
        where = np.sort(table.lines[k == ks[dup[0]]])
        shown = fmt_ts(keys[first]) if time.kind == "dates" else f"{keys[first]:g}"
        id_col = separating_column(table, time, k)
        hint = (
            f" (several series in long format? did you mean --id-col {shlex.quote(id_col)}?)"
            if id_col
            else ""
        )
        raise DataError(
            f"{table.path}: column '{time.name}': {shown} appears on {fmt_lines(where)}; "
            f"each time must appear only once{hint}"
        )
    return order
