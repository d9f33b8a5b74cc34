"""Frequencies: pandas offset aliases, season lengths, future time stamps, and inferring the grid a
series' time stamps lie on (or checking an explicit ``--freq`` against them)."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstmcli.data._text import _fmt_ts
from lstmcli.errors import ConfigError, DataError

# datetime64[ns] can only hold these instants; pandas itself parses a wider range at coarser units.
_NS_MIN = np.datetime64("1677-09-22", "ns")
_NS_MAX = np.datetime64("2262-04-11", "ns")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")

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
_LEGACY_ALIASES = {
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


def _parse_offset(freq: str, what: str = "--freq"):
    """Return the pandas offset for an alias, or raise ConfigError naming the option."""
    if not isinstance(freq, str) or not freq.strip():
        raise ConfigError(f"{what} {freq!r} is not a pandas frequency alias ({_FREQ_EXAMPLES})")
    text = freq.strip()
    m = re.fullmatch(r"(\d*)\s*([A-Za-z]+)(-[A-Za-z]+)?", text)
    if m and m.group(2) in _LEGACY_ALIASES:
        text = f"{m.group(1)}{_LEGACY_ALIASES[m.group(2)][0]}{m.group(3) or ''}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            off = to_offset(text)
    except (ValueError, TypeError, KeyError) as exc:
        hint = re.search(r"Did you mean (\S+?)\??['\")]*$", str(exc))
        extra = f"; did you mean {hint.group(1)}?" if hint else ""
        raise ConfigError(
            f"{what} {freq!r} is not a pandas frequency alias ({_FREQ_EXAMPLES}){extra}"
        ) from None
    if off is None or off.n <= 0:
        raise ConfigError(f"{what} {freq!r} must step forward in time ({_FREQ_EXAMPLES})")
    return off


def _base(off) -> str:
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
    off = _parse_offset(freq)
    base = _SEASON_BY_BASE.get(_base(off), 1)
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
    off = _parse_offset(freq)
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
        if out.size and (out[-1] > _NS_MAX.astype(out.dtype) or out[0] < _NS_MIN.astype(out.dtype)):
            raise OverflowError
        return out.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise DataError(
            f"{horizon} steps of {off.freqstr} after {_fmt_ts(start)} run past 2262-04-11, the latest date supported"
        ) from None


def timestamps_ending_at(last, freq: str, n: int) -> np.ndarray:
    """Return the ``n`` timestamps at frequency ``freq`` that end with ``last`` (inclusive).

    The dates of a lookback window whose final step is ``last``.  Returns ``(n,)`` datetime64[ns];
    raises ConfigError for an invalid alias or negative ``n``, DataError before 1677-09-22.
    """
    off = _parse_offset(freq)
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
        if out[0] < _NS_MIN.astype(out.dtype):
            raise OverflowError  # numpy's astype would silently wrap around
        return out.astype("datetime64[ns]")
    except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
        raise DataError(
            f"{n} steps of {off.freqstr} before {_fmt_ts(end)} run past 1677-09-22, the earliest date supported"
        ) from None


def _describe_freq(alias: str) -> str:
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
    name = names.get(_base(off))
    if name is None:
        return alias
    if off.n != 1:
        name = f"every {off.n} steps of {name}"
    return f"{alias} ({name})"


def _normalize_anchor(off):
    """Pick one spelling among equivalent quarterly anchors (QS-APR == QS-JAN for the same months)."""
    name = type(off).__name__
    if name in ("QuarterBegin", "QuarterEnd", "BQuarterBegin", "BQuarterEnd") and off.n % 4 != 0:
        month = off.startingMonth
        residue = month % 3
        if name.endswith("End") and residue == 0:
            new = 12  # calendar quarters: pandas' default QE-DEC
        else:
            new = residue if residue else 3  # earliest month of the cycle: QS-JAN, QE-JAN (fiscal Jan)
        if new != month:
            off = type(off)(n=off.n, startingMonth=new)
    return off


def _grid(ts: np.ndarray, off) -> tuple[np.ndarray, int] | None:
    """Positions of sorted unique timestamps on the grid of `off` starting at ts[0], and its length.

    Returns None when some timestamp is not on that grid.
    """
    ti = ts.astype("datetime64[ns]").astype(np.int64)
    if isinstance(off, pd.offsets.Tick):
        step = int(off.nanos)
        rel = ti - ti[0]
        if (rel % step).any():
            return None
        pos = rel // step
        return pos, int(pos[-1]) + 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            first = pd.Timestamp(ts[0])
            if not off.is_on_offset(first):
                return None
            rng = pd.date_range(first, pd.Timestamp(ts[-1]), freq=off)
    except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
        return None
    grid = rng.to_numpy().astype("datetime64[ns]").astype(np.int64)
    if len(grid) == 0 or grid[0] != ti[0]:
        return None
    pos = np.searchsorted(grid, ti)
    if (pos >= len(grid)).any() or (grid[np.minimum(pos, len(grid) - 1)] != ti).any():
        return None
    return pos.astype(np.int64), len(grid)


def _infer_offset(ts: np.ndarray):
    """Infer the offset of sorted unique timestamps, allowing gaps; None if there is no regular grid.

    pandas.infer_freq handles gap-free data.  Otherwise each plausible alias (calendar ones suggested
    by the dates, plus the most common spacing) is checked, and the coarsest grid that holds every
    timestamp wins: AAPL trading days fit both "B" and "D", and "B" needs far fewer filled days.
    """
    if len(ts) >= 3:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                inferred = pd.infer_freq(pd.DatetimeIndex(ts))
            except (ValueError, TypeError):
                inferred = None
        if inferred is not None:
            try:
                off = _normalize_anchor(to_offset(inferred))
                if _grid(ts, off) is not None:
                    return off, "inferred"
            except ValueError:
                pass

    idx = pd.DatetimeIndex(ts)
    cands = []
    tod = idx - idx.normalize()
    same_time = bool((tod == tod[0]).all())
    if same_time:
        cands.append(to_offset("D"))
        if (idx.day_of_week < 5).all():
            cands.append(to_offset("B"))
        if (idx.day_of_week == idx.day_of_week[0]).all():
            cands.append(to_offset(f"W-{_WEEKDAYS[idx.day_of_week[0]]}"))
    midnight = bool((tod == pd.Timedelta(0)).all())
    if midnight:
        m0 = _MONTHS[idx.month[0] - 1]
        if (idx.day == 1).all():
            cands += [to_offset("MS"), to_offset(f"QS-{m0}"), to_offset(f"YS-{m0}")]
        if idx.is_month_end.all():
            cands += [to_offset("ME"), to_offset(f"QE-{m0}"), to_offset(f"YE-{m0}")]
    if len(ts) >= 2:
        d = np.diff(ts.astype("datetime64[ns]").astype(np.int64))
        vals, counts = np.unique(d, return_counts=True)
        mode = int(vals[np.argmax(counts)])
        if mode > 0:
            cands.append(to_offset(pd.Timedelta(mode, unit="ns")))
    best = None
    for off in cands:
        g = _grid(ts, off)
        if g is not None and (best is None or g[1] < best[1][1]):
            best = (off, g)
    if best is None:
        return None, ""
    off, (_, size) = _normalize_anchor(best[0]), best[1]
    if size > 2 * len(ts):
        # More invented than real values: these dates are irregular, not a regular series with gaps.
        return (
            None,
            f"the closest frequency, {off.freqstr}, would need {size - len(ts)} of {size} values filled",
        )
    return off, "gaps"


def _explicit_offset(freq: str, ts: np.ndarray, path: str, time_name: str, lines_sorted: np.ndarray):
    """The user's --freq, adapted to the data where the alias allows (legacy "M", unanchored "QS")."""
    text = freq.strip()
    off = _parse_offset(text)
    m = re.fullmatch(r"(\d*)\s*([A-Za-z]+)", text)
    variants = [off]
    if m:
        mult, base = m.group(1), m.group(2)
        bases = _LEGACY_ALIASES.get(base, (base,))
        first = pd.Timestamp(ts[0])
        variants = []
        for b in bases:
            spelled = f"{mult}{b}"
            if b in ("QS", "QE", "YS", "YE", "BQS", "BQE", "BYS", "BYE"):
                spelled += f"-{_MONTHS[first.month - 1]}"
            elif b == "W":
                spelled += f"-{_WEEKDAYS[first.dayofweek]}"
            try:
                variants.append(_normalize_anchor(to_offset(spelled)))
            except ValueError:
                continue
        variants.append(off)
    for v in variants:
        g = _grid(ts, v)
        if g is not None:
            return v, g
    # Name the first timestamp that is off the user's grid.
    v = variants[0]
    bad_k = 0
    if isinstance(v, pd.offsets.Tick):
        ti = ts.astype("datetime64[ns]").astype(np.int64)
        offg = ((ti - ti[0]) % int(v.nanos)) != 0
        bad_k = int(np.argmax(offg)) if offg.any() else 0
    else:
        for k, t in enumerate(ts):
            if not v.is_on_offset(pd.Timestamp(t)):
                bad_k = k
                break
    raise DataError(
        f"{path} line {lines_sorted[bad_k]}, column '{time_name}': {_fmt_ts(ts[bad_k])} is not on the "
        f"{_describe_freq(v.freqstr)} grid that starts at {_fmt_ts(ts[0])}; check --freq {freq}"
    )
