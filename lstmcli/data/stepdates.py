"""Future dates and window dates for the regular frequencies, in NumPy, without importing pandas.

``predict`` and ``inspect`` of a saved model only need the dates that follow (or end with) the last
one, and importing pandas for them took about 0.2 s of a 0.8 s run. The frequencies a model usually
has are done here in NumPy: fixed steps (``D``, ``h``, ``min``, ``s``, ``ms``, ``us``, ``ns``, with a
multiple) and, for a date at midnight that is on its anchor, ``W-<day>``, ``MS``/``ME``,
``QS``/``QE-<month>`` and ``YS``/``YE-<month>`` (with a multiple). Anything else (an alias pandas
spells another way, a date off its anchor or with a time of day on a calendar frequency, dates near
the limits of datetime64[ns], an invalid alias or count) goes to :mod:`lstmcli.data.frequency`, that
is to pandas, which also raises the errors. tests/test_stepdates.py holds the results equal to
pandas', date for date, over frequencies, multiples and dates.
"""

from __future__ import annotations

import re

import numpy as np

_DAY = 86_400 * 10**9
_TICK_NS = {"D": _DAY, "h": 3_600 * 10**9, "min": 60 * 10**9, "s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
_MONTHS_PER_STEP = {"MS": 1, "ME": 1, "QS": 3, "QE": 3, "YS": 12, "YE": 12}
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
_ALIAS = re.compile(r"([1-9][0-9]{0,3})?(D|h|min|s|ms|us|ns|W|MS|ME|QS|QE|YS|YE)(?:-([A-Z]{3}))?")
# Well inside datetime64[ns] (1677-09-22 .. 2262-04-11): nearer the limits pandas decides (and raises).
_LOW = np.datetime64("1700-01-01", "ns").astype(np.int64)
_HIGH = np.datetime64("2250-01-01", "ns").astype(np.int64)
_SPAN = 2**62  # nanoseconds, 146 years: longer ranges are left to pandas
_LOW_DAY, _HIGH_DAY = np.datetime64("1700-01-01", "D"), np.datetime64("2250-01-01", "D")


def future_timestamps(last, freq: str, horizon: int) -> np.ndarray:
    """The ``horizon`` dates after ``last`` at ``freq``, as ``lstmcli.data.frequency.future_timestamps``."""
    fast = _steps(last, freq, horizon, first=1)
    if fast is not None:
        return fast
    from lstmcli.data import frequency

    return frequency.future_timestamps(last, freq, horizon)


def timestamps_ending_at(last, freq: str, n: int) -> np.ndarray:
    """The ``n`` dates ending with ``last`` at ``freq``, as ``lstmcli.data.frequency.timestamps_ending_at``."""
    fast = _steps(last, freq, n, first=1 - n if _is_count(n) else 0)
    if fast is not None:
        return fast
    from lstmcli.data import frequency

    return frequency.timestamps_ending_at(last, freq, n)


def _is_count(n: object) -> bool:
    return not isinstance(n, bool) and isinstance(n, (int, np.integer)) and 0 < n <= 100_000


def _steps(last, freq: str, count: int, first: int) -> np.ndarray | None:
    """``count`` dates at steps ``first, first+1, ...`` from ``last`` (step 0), datetime64[ns]; None
    where this module does not decide (see the module docstring)."""
    if not _is_count(count) or not isinstance(freq, str) or not isinstance(last, (np.datetime64, str)):
        return None
    m = _ALIAS.fullmatch(freq)
    if m is None:
        return None
    n, base, anchor = int(m.group(1) or 1), m.group(2), m.group(3)
    try:
        start = np.datetime64(last, "ns")
    except ValueError:
        return None
    if np.isnat(start):
        return None
    at = int(start.astype(np.int64))
    step_ns = (
        _TICK_NS[base]
        if base in _TICK_NS
        else 7 * _DAY
        if base == "W"
        else 31 * _DAY * _MONTHS_PER_STEP[base]
    )
    if (
        n * int(count) * step_ns > _SPAN
    ):  # pandas' own sums of nanoseconds overflow and it refuses some such ranges
        return None
    k = np.arange(first, first + int(count), dtype=np.int64)
    if base in _TICK_NS:
        if anchor is not None:
            return None
        step = n * _TICK_NS[base]
        if not (_LOW <= at + step * int(k[0]) and at + step * int(k[-1]) <= _HIGH):
            return None
        return (at + step * k).astype("datetime64[ns]")
    if at % _DAY or not _LOW <= at <= _HIGH:  # calendar steps: only from midnight
        return None
    day = start.astype("datetime64[D]")
    if base == "W":
        if anchor not in _WEEKDAYS or (int(day.astype(np.int64)) + 3) % 7 != _WEEKDAYS.index(anchor):
            return None  # 1970-01-01 was a Thursday (3)
        out = day + 7 * n * k
    else:
        months = _MONTHS_PER_STEP[base]
        if (anchor is not None) != (months > 1) or (anchor is not None and anchor not in _MONTHS):
            return None
        month = day.astype("datetime64[M]")
        month_start = month.astype("datetime64[D]")
        on_start = day == month_start
        on_end = day == (month + 1).astype("datetime64[D]") - 1
        if not (on_start if base.endswith("S") else on_end):
            return None
        if months > 1:
            # QS-JAN anchors on Jan, Apr, Jul, Oct; QE-DEC (pandas' QE) ends Mar, Jun, Sep, Dec.
            if (int(month.astype(np.int64)) % 12 - _MONTHS.index(anchor)) % months:
                return None
        steps = month + months * n * k
        out = steps.astype("datetime64[D]") if base.endswith("S") else (steps + 1).astype("datetime64[D]") - 1
    if not (_LOW_DAY <= out[0] and out[-1] <= _HIGH_DAY):  # in days: nanoseconds could wrap around
        return None
    return out.astype("datetime64[ns]")


def dates_text(timestamps) -> list[str]:
    """Time stamps as text, all written alike: the date alone when every stamp is at midnight a day or
    more apart, else each with its clock (an hourly series' midnight reads 2012-05-30 00:00:00 beside
    2012-05-30 01:00:00, not 2012-05-30: a column of one format for whatever reads it next)."""
    t = np.asarray(timestamps).astype("datetime64[s]")
    text = [str(x).replace("T", " ") for x in t]
    sub_daily = t.size > 1 and bool((np.diff(t) < np.timedelta64(1, "D")).any())
    if sub_daily or not all(s.endswith("00:00:00") for s in text):
        return text
    return [s[:10] for s in text]
