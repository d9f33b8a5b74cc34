"""Finding and parsing the time column: dates in the many forms CSVs hold them (quarters, month names,
day-first, time-only, ...), or integer steps, and ordering the rows by it."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstmcli.data._text import _fmt_lines, _fmt_ts, _missing_col_error, _plural, _show
from lstmcli.data.csvfile import _missing_mask, _Table, _to_numbers
from lstmcli.data.frequency import _NS_MAX, _NS_MIN
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


_QUARTER_RE = re.compile(r"^(\d{4})\s*[-/ ]?\s*[Qq]([1-4])$|^[Qq]([1-4])\s*[-/ ]?\s*(\d{4})$")


_TIME_ONLY_RE = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")


def _to_datetime(s: pd.Series, **kw) -> tuple[np.ndarray, str | None]:
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
            tz_note = "The dates have different UTC offsets; they were converted to UTC."
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
class _Dates:
    values: np.ndarray  # datetime64[ns], NaT where a cell did not parse
    ok: np.ndarray  # bool
    out_of_range: np.ndarray  # bool: parsed, but outside what datetime64[ns] can hold
    notes: list[str]


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


def _parse_dates(s: pd.Series) -> _Dates:
    """Parse stripped, non-missing strings as dates, trying ISO first, then common formats.

    Cells without any digit ("now", "today", "May") and bare clock times ("10:30") are never dates:
    pandas would happily turn them into today's date.
    """
    n = len(s)
    plausible = s.str.contains(r"\d", regex=True).to_numpy() & ~s.str.match(_TIME_ONLY_RE).to_numpy()
    notes: list[str] = []

    def finish(arr: np.ndarray, extra: list[str]) -> _Dates:
        arr = np.asarray(arr)
        if arr.dtype.kind != "M":
            arr = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        parsed = ~np.isnat(arr) & plausible
        lo, hi = _NS_MIN.astype(arr.dtype), _NS_MAX.astype(arr.dtype)
        oor = parsed & ((arr < lo) | (arr > hi))
        ok = parsed & ~oor
        out = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
        out[ok] = arr[ok].astype("datetime64[ns]")
        return _Dates(out, ok, oor, notes + extra)

    q = _quarters(s) if n else None
    if q is not None:
        return finish(q, ["The time column uses quarters like '2020Q1'; each was read as its first day."])

    attempts: list[tuple[str, np.ndarray, list[str]]] = []
    for label, kw in (("iso", {"format": "ISO8601"}), ("mdy", {}), ("dmy", {"dayfirst": True})):
        arr, tz = _to_datetime(s, **kw)
        attempts.append((label, arr, [tz] if tz else []))
        if label == "iso" and (~np.isnat(arr) | ~plausible).all():
            return finish(arr, attempts[0][2])

    def score(arr):
        return int((~np.isnat(arr) & plausible).sum())

    best = max(attempts, key=lambda a: score(a[1]))  # max() keeps the first of equals: iso, then m/d
    if score(best[1]) < n and n:
        # Last resort: let dateutil read each cell on its own (slow, so only when most cells look like dates).
        sample = s.iloc[: min(n, 50)]
        arr_s, _ = _to_datetime(sample, format="mixed")
        if score(arr_s) >= 0.9 * len(sample):
            arr, tz = _to_datetime(s, format="mixed")
            if score(arr) > score(best[1]):
                best = ("mixed", arr, [tz] if tz else [])

    mdy, dmy = attempts[1][1], attempts[2][1]
    if best[0] in ("mdy", "dmy") and score(mdy) == score(dmy) == n:
        same = np.array_equal(mdy, dmy)
        if not same:
            # Both readings work (every day <= 12): prefer the one with regular spacing.
            if best[0] == "mdy" and not _regular(mdy) and _regular(dmy):
                best = attempts[2]
            k = int(np.argmax(mdy != dmy))
            order = "day/month" if best[0] == "dmy" else "month/day"
            best = (
                best[0],
                best[1],
                best[2]
                + [
                    f"Dates such as {_show(s.iloc[k])} could be month/day or day/month; they were read as {order}."
                ],
            )
    elif best[0] == "dmy" and score(dmy) > score(mdy):
        best = (best[0], best[1], best[2] + ["The dates were read as day/month/year."])
    return finish(best[1], best[2])


@dataclass
class _Time:
    name: str
    kind: str  # "dates" or "steps"
    keys: np.ndarray  # datetime64[ns] (kind dates) or float64 (kind steps), one per row
    notes: list[str]


def _looks_numeric(table: _Table, name: str) -> bool:
    s = table.df[name]
    present = ~_missing_mask(s)
    if not present.any():
        return False
    vals = _to_numbers(s[present])
    return bool(np.isfinite(vals).all())


def _integer_column(table: _Table, name: str) -> np.ndarray | None:
    """The column as int64 if every present cell is a whole number, else None."""
    s = table.df[name]
    present = ~_missing_mask(s)
    if not present.all():
        return None
    vals = _to_numbers(s)
    if not np.isfinite(vals).all() or (vals != np.round(vals)).any() or (np.abs(vals) > 2**53).any():
        return None
    return vals.astype(np.int64)


def _numeric_time(table: _Table, name: str, explicit: bool) -> _Time | None:
    """A numeric time column: calendar years, YYYYMMDD dates or plain integer steps."""
    ints = _integer_column(table, name)
    lname = name.lower()
    # Only a column *named* like a year is read as years: a step counter may well run from 1000 to 2000.
    if ints is not None and "year" in lname and ((ints >= 1000) & (ints <= 2999)).all():
        keys = np.array([f"{y:04d}-01-01" for y in ints], dtype="datetime64[ns]")
        return _Time(
            name,
            "dates",
            keys,
            [f"Column '{name}' holds whole years; each was read as 1 January of that year."],
        )
    if ints is not None and explicit and ((ints >= 16780101) & (ints <= 22620410)).all():
        s = table.df[name]
        arr, _ = _to_datetime(s, format="%Y%m%d")
        if not np.isnat(arr).any():
            return _Time(
                name, "dates", arr.astype("datetime64[ns]"), [f"Column '{name}' was read as YYYYMMDD dates."]
            )
    if explicit or lname == "step":
        _require_numeric_time(table, name)
        keys = _to_numbers(table.df[name])
        return _Time(
            name, "steps", keys, [f"Column '{name}' is a number, not a date; it only orders the rows."]
        )
    return None


def _require_numeric_time(table: _Table, name: str) -> None:
    s = table.df[name]
    missing = _missing_mask(s)
    if missing.any():
        k = int(np.argmax(missing))
        raise DataError(f"{table.path} line {table.lines[k]}, column '{name}': the time is missing")
    vals = _to_numbers(s)
    bad = ~np.isfinite(vals)
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{name}': {_show(s.iloc[k])} is not a date or a number"
        )


def _date_time(table: _Table, name: str, dates: _Dates) -> _Time:
    """Turn parsed dates into a time column, raising for missing or unparsable cells."""
    s = table.df[name]
    missing = _missing_mask(s)
    if missing.any():
        k = int(np.argmax(missing))
        raise DataError(f"{table.path} line {table.lines[k]}, column '{name}': the date is missing")
    if dates.out_of_range.any():
        k = int(np.argmax(dates.out_of_range))
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{name}': {_show(s.iloc[k])} is outside the supported "
            "date range 1677-09-22 .. 2262-04-11"
        )
    if not dates.ok.all():
        bad = ~dates.ok
        k = int(np.argmax(bad))
        more = int(bad.sum()) - 1
        tail = f" (and {_plural(more, 'more bad cell')})" if more else ""
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{name}': {_show(s.iloc[k])} is not a date "
            f"(expected e.g. 2024-01-31){tail}"
        )
    return _Time(name, "dates", dates.values, list(dates.notes))


def _find_time(table: _Table, time_col: str | None) -> _Time | None:
    if time_col is not None:
        if not isinstance(time_col, str):
            raise ConfigError(f"--time-col must be a column name, got {time_col!r}")
        if time_col not in table.columns:
            raise _missing_col_error(table.path, time_col, table.columns, "time column")
        if _looks_numeric(table, time_col):
            t = _numeric_time(table, time_col, explicit=True)
            assert t is not None
            return t
        s = table.df[time_col]
        present = ~_missing_mask(s)
        dates = _parse_dates(s.where(present, "x"))
        return _date_time(table, time_col, dates)

    # Named candidates first, then the first column.
    lowered = {c: c.lower() for c in table.columns}
    candidates = [c for name in _TIME_NAMES for c in table.columns if lowered[c] == name]
    if table.columns[0] not in candidates:
        candidates.append(table.columns[0])
    for c in candidates:
        s = table.df[c]
        present = ~_missing_mask(s)
        if not present.any():
            continue
        if _looks_numeric(table, c):
            t = _numeric_time(table, c, explicit=False)
            if t is not None:
                return t
            continue  # a plain number column is never a date
        sub = s[present]
        quick = _parse_dates(sub.iloc[:50])
        if quick.ok.mean() < 0.5:
            continue
        dates = _parse_dates(s.where(present, "x"))
        frac = dates.ok[present].mean()
        if frac >= 0.9:
            # Mostly dates: this is the time column, and the few bad cells are the user's to fix.
            t = _date_time(table, c, dates)
            t.notes.insert(0, f"Used column '{c}' as the time column.")
            return t
    return None


def _sort_rows(table: _Table, time: _Time, notes: list[str]) -> np.ndarray:
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
            notes.append(f"Sorted the rows by time: {_plural(out_of_order, 'row')} {was} out of order.")
    ks = k[order]
    dup = np.flatnonzero(ks[1:] == ks[:-1])
    if dup.size:
        first = order[dup[0]]
        where = np.sort(table.lines[k == ks[dup[0]]])
        shown = _fmt_ts(keys[first]) if time.kind == "dates" else f"{keys[first]:g}"
        ids = [c for c in table.columns if c.lower() in _ID_NAMES and table.df[c].nunique() > 1]
        hint = (
            f" (column '{ids[0]}' suggests several series in long format; give one series per file)"
            if ids
            else ""
        )
        raise DataError(
            f"{table.path}: column '{time.name}': {shown} appears on {_fmt_lines(where)}; "
            f"each time must appear only once{hint}"
        )
    return order
