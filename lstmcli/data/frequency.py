"""Frequencies: pandas offset aliases (legacy spellings too), season lengths, future time stamps and
the dates a lookback window ends with.

Kept apart from the grid so that the forecaster can date its forecasts without the file reader.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstmcli.data.wording import fmt_ts
from lstmcli.errors import ConfigError, DataError, OptionError

# datetime64[ns] can only hold these instants; pandas itself parses a wider range at coarser units.
NS_MIN = np.datetime64("1677-09-22", "ns")
NS_MAX = np.datetime64("2262-04-11", "ns")
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

# Seasonal period for the base of each pandas alias (the part before "-").
_SEASON_BY_BASE = {
    "ns": 1,
    "us": 1,
    "ms": 1,
    "s": 60,
    "min": 60,
    "h": 24,
    "bh": 8,
    "cbh": 8,
    "D": 7,
    "B": 5,
    "C": 5,
    "W": 52,
    "SMS": 24,
    "SME": 24,
    "MS": 12,
    "ME": 12,
    "BMS": 12,
    "BME": 12,
    "CBMS": 12,
    "CBME": 12,
    "QS": 4,
    "QE": 4,
    "BQS": 4,
    "BQE": 4,
    "YS": 1,
    "YE": 1,
    "BYS": 1,
    "BYE": 1,
}


# Aliases pandas 3 no longer accepts, mapped to the current spelling(s).  "M"/"Q"/"Y" meant period
# ends in old pandas, but users mostly mean "monthly"; the start/end variant that fits the data wins.
LEGACY_ALIASES = {
    "M": ("MS", "ME"),
    "Q": ("QS", "QE"),
    "A": ("YS", "YE"),
    "Y": ("YS", "YE"),
    "H": ("h",),
    "T": ("min",),
    "S": ("s",),
    "L": ("ms",),
    "U": ("us",),
    "N": ("ns",),
    "BM": ("BME",),
    "BQ": ("BQE",),
    "BA": ("BYE",),
    "BY": ("BYE",),
}


_FREQ_EXAMPLES = "e.g. D, B, h, W-SUN, MS, ME, QS-JAN, QE-DEC, YS-JAN"


def parse_offset(freq: str, what: str = "--freq"):
    """Return the pandas offset for an alias, or raise ConfigError naming the option (an OptionError,
    a usage error, when ``what`` is an option; else, say, a model file's frequency)."""
    error = OptionError if what.startswith("--") else ConfigError
    if not isinstance(freq, str) or not freq.strip():
        raise error(f"{what} {freq!r} is not a pandas frequency alias ({_FREQ_EXAMPLES})")
    text = freq.strip()
    m = re.fullmatch(r"(\d*)\s*([A-Za-z]+)(-[A-Za-z]+)?", text)
    if m and m.group(2) in LEGACY_ALIASES:
        text = f"{m.group(1)}{LEGACY_ALIASES[m.group(2)][0]}{m.group(3) or ''}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            off = to_offset(text)
    except (ValueError, TypeError, KeyError) as exc:
        hint = re.search(r"Did you mean (\S+?)\??['\")]*$", str(exc))
        extra = f"; did you mean {hint.group(1)}?" if hint else ""
        raise error(f"{what} {freq!r} is not a pandas frequency alias ({_FREQ_EXAMPLES}){extra}") from None
    if off is None or off.n <= 0:
        raise error(f"{what} {freq!r} must step forward in time ({_FREQ_EXAMPLES})")
    return off


def offset_base(off) -> str:
    """The alias without multiple or anchor ("QS" of "2QS-JAN"): what seasons and names go by."""
    return off.rule_code.split("-")[0]


def season_length(freq: str | None) -> int:
    """Return the usual seasonal period for a pandas frequency alias.

    Parameters
    ----------
    freq : str or None
        A pandas offset alias such as "MS", "QS-JAN", "D", "h"; None for undated series.

    Returns
    -------
    int
        Monthly 12, quarterly 4, yearly 1, weekly 52, daily 7, business days 5, hourly 24,
        minutely/secondly 60, unknown or None 1.  A multiple divides the period when it can
        ("2h" -> 12, "15min" -> 4, "3MS" -> 4) and gives 1 otherwise.

    Raises
    ------
    ConfigError
        If ``freq`` is not a valid alias.
    """
    if freq is None:
        return 1
    off = parse_offset(freq)
    base = _SEASON_BY_BASE.get(offset_base(off), 1)
    n = abs(int(off.n))
    if n <= 1:
        return base
    # e.g. 15-minute data: an hour has 4 steps; a period the multiple does not divide has no clear season.
    return base // n if base % n == 0 and base // n >= 2 else 1


def future_timestamps(last, freq: str, horizon: int) -> np.ndarray:
    """Return the ``horizon`` timestamps that follow ``last`` at frequency ``freq``.

    Parameters
    ----------
    last : numpy.datetime64 or str or pandas.Timestamp
        The last observed timestamp.
    freq : str
        pandas offset alias, e.g. :attr:`SeriesData.freq`.
    horizon : int
        How many future timestamps (0 gives an empty array).

    Returns
    -------
    numpy.ndarray
        ``(horizon,)`` datetime64[ns].  For anchored aliases the dates stay on the anchor
        (after 2023-02-01 with "MS": 2023-03-01, 2023-04-01, ...).

    Raises
    ------
    ConfigError
        Invalid alias or negative horizon.
    DataError
        If the dates would run past what datetime64[ns] can hold (year 2262).
    """
    off = parse_offset(freq)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 0:
        raise ConfigError(f"--horizon must be a whole number >= 0, got {horizon!r}")
    if horizon == 0:
        return np.empty(0, dtype="datetime64[ns]")
    try:
        start = pd.Timestamp(last)
    except (ValueError, TypeError) as exc:
        raise DataError(f"last timestamp {last!r} is not a date ({exc})") from None
    if start is pd.NaT:
        raise DataError("last timestamp is missing (NaT); cannot continue the dates")
    try:
        # Adding the offset moves to the next date on the offset, so the result never repeats `last`.
        rng = pd.date_range(start + off, periods=int(horizon), freq=off)
        out = rng.to_numpy()
        if out.size and (out[-1] > NS_MAX.astype(out.dtype) or out[0] < NS_MIN.astype(out.dtype)):
            raise OverflowError
        return out.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise DataError(
            f"{horizon} steps of {off.freqstr} after {fmt_ts(start)} run past 2262-04-11, the latest date supported"
        ) from None


def timestamps_ending_at(last, freq: str, n: int) -> np.ndarray:
    """Return the ``n`` timestamps at frequency ``freq`` that end with ``last`` (inclusive).

    The dates of a lookback window whose final step is ``last``.  Returns ``(n,)`` datetime64[ns];
    raises ConfigError for an invalid alias or negative ``n``, DataError before 1677-09-22.
    """
    off = parse_offset(freq)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ConfigError(f"the number of timestamps must be a whole number >= 0, got {n!r}")
    if n == 0:
        return np.empty(0, dtype="datetime64[ns]")
    end = pd.Timestamp(last)
    if end is pd.NaT:
        raise DataError("last timestamp is missing (NaT); cannot date the window")
    try:
        # Step back from `last` itself so it is the final element even when it is off the anchor.
        start = end - off * (int(n) - 1) if off.is_on_offset(end) else end - off * int(n)
        out = pd.date_range(start, periods=int(n), freq=off).to_numpy()
        if not off.is_on_offset(end):
            out = np.append(out[1:], end.to_datetime64().astype(out.dtype))
        if out[0] < NS_MIN.astype(out.dtype):
            raise OverflowError  # numpy's astype would silently wrap around
        return out.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise DataError(
            f"{n} steps of {off.freqstr} before {fmt_ts(end)} run past 1677-09-22, the earliest date supported"
        ) from None


def describe_freq(alias: str) -> str:
    """The alias with its meaning in words for notes, e.g. "MS (monthly, month start)"."""
    names = {
        "D": "daily",
        "B": "business days",
        "C": "custom business days",
        "h": "hourly",
        "min": "minutely",
        "s": "secondly",
        "W": "weekly",
        "MS": "monthly, month start",
        "ME": "monthly, month end",
        "BMS": "monthly, first business day",
        "BME": "monthly, last business day",
        "QS": "quarterly, quarter start",
        "QE": "quarterly, quarter end",
        "BQS": "quarterly, business start",
        "BQE": "quarterly, business end",
        "YS": "yearly, year start",
        "YE": "yearly, year end",
        "SMS": "semi-monthly",
        "SME": "semi-monthly",
    }
    try:
        off = to_offset(alias)
    except ValueError:
        return alias
    name = names.get(offset_base(off))
    if name is None:
        return alias
    if off.n != 1:
        name = f"every {off.n} steps of {name}"
    return f"{alias} ({name})"
