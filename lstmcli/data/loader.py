"""Read a time series from a CSV file into clean NumPy arrays.

This is the only module of lstmcli that imports pandas; everything else imports it lazily so that
``lstmcli --help`` stays fast.  The loader never guesses silently: every decision it makes (which column
is the time, which frequency, how many rows were re-ordered or filled, ...) is recorded as one plain
sentence in :attr:`SeriesData.notes`, and every problem a user can fix is raised as a one-line
:class:`~lstmcli.errors.DataError` or :class:`~lstmcli.errors.ConfigError` that names the file, the line
(the header is line 1), the column or the option, and what was expected.

Public API
----------
SeriesData, load_csv
    One (possibly multivariate) series from a "wide" CSV such as ``date,value`` or ``date,y,x1,x2``.
LongSeries, load_long_csv
    Many series from a "long" CSV such as ``series_id,step,value,split`` (the M3/M4 files).
season_length, future_timestamps, timestamps_ending_at
    Helpers built on the pandas frequency alias stored in :attr:`SeriesData.freq`.
"""

from __future__ import annotations

import difflib
import io
import os
import re
import stat
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstmcli.errors import ConfigError, DataError, LstmcliError

__all__ = [
    "FILL_METHODS",
    "LongSeries",
    "SeriesData",
    "future_timestamps",
    "load_csv",
    "load_long_csv",
    "season_length",
    "timestamps_ending_at",
]

#: Valid values of the ``fill`` argument (``--fill``).
FILL_METHODS = ("linear", "ffill", "zero")

# Cells that mean "no value": pandas' default NA strings, compared case-insensitively after stripping.
_NA_STRINGS = frozenset(
    s.lower()
    for s in (
        "",
        "#N/A",
        "#N/A N/A",
        "#NA",
        "-1.#IND",
        "-1.#QNAN",
        "-NaN",
        "-nan",
        "1.#IND",
        "1.#QNAN",
        "<NA>",
        "N/A",
        "NA",
        "NULL",
        "NaN",
        "None",
        "n/a",
        "nan",
        "null",
    )
)

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

# Text columns whose repeated values mean "several series in one file" (long format).
_ID_NAMES = ("series_id", "unique_id", "id", "series", "item_id", "ts_id", "key")

# datetime64[ns] can only hold these instants; pandas itself parses a wider range at coarser units.
_NS_MIN = np.datetime64("1677-09-22", "ns")
_NS_MAX = np.datetime64("2262-04-11", "ns")

# Turned off by the tests so that the fuzz test sees internal bugs instead of the safety net.
_CATCH_UNEXPECTED = True

_QUARTER_RE = re.compile(r"^(\d{4})\s*[-/ ]?\s*[Qq]([1-4])$|^[Qq]([1-4])\s*[-/ ]?\s*(\d{4})$")
_TIME_ONLY_RE = re.compile(r"^\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$")
_DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


# --------------------------------------------------------------------------------------------------
# Public data classes
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SeriesData:
    """One cleaned series and its extra input columns, as read by :func:`load_csv`.

    Attributes
    ----------
    path : str
        The file as given by the user (used in messages).
    target : str
        Name of the column to forecast.
    values : numpy.ndarray
        ``(T,)`` float64, the cleaned target: sorted by time, gaps and empty cells filled, all finite.
    features : numpy.ndarray
        ``(T, F)`` float64 extra input columns, cleaned like ``values``; ``F`` may be 0.
    feature_names : tuple of str
        Names of the ``F`` feature columns, in the order of ``features``.
    time_col : str or None
        Name of the time column; None when the file has none (rows are consecutive steps).
    timestamps : numpy.ndarray or None
        ``(T,)`` datetime64[ns] after sorting and gap filling.  None without a date column (also when the
        time column is a plain integer ``step`` column, which only orders the rows).
    freq : str or None
        pandas offset alias ("MS", "QS-JAN", "QE-JAN", "D", "B", "h", "W-SUN", "YS-JAN", ...).  None without
        dates, or when the dates have no regular spacing (then rows are used as consecutive steps).
    notes : tuple of str
        Every decision the loader made, one plain sentence each.
    """

    path: str
    target: str
    values: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    time_col: str | None
    timestamps: np.ndarray | None
    freq: str | None
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class LongSeries:
    """One series of a long-format file, as read by :func:`load_long_csv`.

    Attributes
    ----------
    series_id : str
        The value of the id column.
    values : numpy.ndarray
        ``(T,)`` float64, training rows then test rows (sorted by the time/step column if there is one).
    n_test : int
        How many of the last rows the split column marks as "test" (0 without a split column).
    """

    series_id: str
    values: np.ndarray
    n_test: int


# --------------------------------------------------------------------------------------------------
# Frequency helpers
# --------------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------------------------------


def _fmt_ts(ts) -> str:
    t = pd.Timestamp(ts)
    if t.hour == t.minute == t.second == t.microsecond == t.nanosecond == 0:
        return t.strftime("%Y-%m-%d")
    return str(t)


def _fmt_list(items, limit: int = 5) -> str:
    items = [str(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items) - limit} more)"


def _fmt_lines(lines, limit: int = 5) -> str:
    lines = list(lines)
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {_fmt_list(lines, limit)}"


def _one_line(text: str, limit: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(cell: str, limit: int = 40) -> str:
    """Quote a cell for a message, on one line and not too long."""
    cell = cell.replace("\n", "\\n").replace("\r", "\\r")
    if len(cell) > limit:
        cell = cell[: limit - 3] + "..."
    return repr(cell)


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n} {word if n == 1 else (plural or word + 's')}"


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


def _suggest(name: str, columns) -> str:
    close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in columns}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def _missing_col_error(path: str, name: str, columns, what: str = "column") -> DataError:
    return DataError(
        f"{path}: {what} '{name}' not found{_suggest(name, columns)}; columns are: {', '.join(columns)}"
    )


# --------------------------------------------------------------------------------------------------
# Reading the file into a table of stripped strings
# --------------------------------------------------------------------------------------------------


@dataclass
class _Table:
    path: str
    columns: list[str]
    df: pd.DataFrame  # all cells as stripped str, columns named as in `columns`, index 0..n-1
    lines: np.ndarray  # (n,) line number (header = line 1) where each data row starts
    sep: str
    notes: list[str]


def _read_bytes(path) -> tuple[str, bytes]:
    try:
        shown = os.fspath(path)
    except TypeError:
        raise DataError(f"{path!r} is not a file name") from None
    if isinstance(shown, bytes):
        shown = os.fsdecode(shown)
    if not shown:
        raise DataError("no input file given (empty file name)")
    try:
        st = os.stat(shown)
    except FileNotFoundError:
        raise DataError(f"{shown}: no such file") from None
    except NotADirectoryError:
        raise DataError(f"{shown}: no such file (a part of the path is not a directory)") from None
    except PermissionError:
        raise DataError(f"{shown}: permission denied (cannot reach the file)") from None
    except (OSError, ValueError) as exc:
        raise DataError(
            f"{shown}: cannot be read ({_one_line(getattr(exc, 'strerror', None) or exc)})"
        ) from None
    if stat.S_ISDIR(st.st_mode):
        raise DataError(f"{shown}: is a directory, not a CSV file")
    try:
        with open(shown, "rb") as fh:
            raw = fh.read()
    except PermissionError:
        raise DataError(f"{shown}: permission denied (the file is not readable)") from None
    except OSError as exc:
        raise DataError(f"{shown}: cannot be read ({_one_line(exc.strerror or exc)})") from None
    return shown, raw


_MAGIC = (
    (b"PK\x03\x04", "it looks like a zip or Excel .xlsx file; export it as CSV"),
    (b"\xd0\xcf\x11\xe0", "it looks like an old Excel .xls file; export it as CSV"),
    (b"\x1f\x8b", "it looks gzip-compressed; decompress it first"),
    (b"PAR1", "it looks like a Parquet file"),
    (b"%PDF", "it looks like a PDF file"),
    (b"\x89PNG", "it looks like a PNG image"),
)


def _decode(path: str, raw: bytes, notes: list[str]) -> str:
    """Decode the file, refusing anything that is not text."""
    if not raw:
        raise DataError(f"{path}: is empty (0 bytes)")
    for magic, why in _MAGIC:
        if raw.startswith(magic):
            raise DataError(f"{path}: is not a text CSV ({why})")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError:
            raise DataError(
                f"{path}: is not a text CSV (it starts like UTF-16 but cannot be decoded)"
            ) from None
        notes.append(f"{path} is UTF-16 text; it was decoded as such.")
    else:
        if b"\x00" in raw:
            raise DataError(f"{path}: is not a text CSV (it contains NUL bytes; is it a binary file?)")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            high = sum(b >= 0x80 for b in raw)
            if high > 0.3 * len(raw):
                raise DataError(
                    f"{path}: is not a text CSV (byte 0x{raw[exc.start]:02x} at offset {exc.start} is not UTF-8)"
                ) from None
            # A few non-UTF-8 bytes in otherwise plain text: a Windows/Latin-1 export (e.g. a degree sign).
            text = raw.decode("cp1252", errors="replace") if b"\x81" not in raw else raw.decode("latin-1")
            notes.append(f"{path} is not valid UTF-8; it was read as Windows-1252/Latin-1 text.")
    text = text.rstrip("\x1a")  # DOS end-of-file marker
    bad = re.search(r"[\x00-\x08\x0b\x0e-\x1f\x7f]", text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise DataError(
            f"{path}: is not a text CSV (control character 0x{ord(bad.group()):02x} on line {line})"
        )
    if not text.strip():
        raise DataError(f"{path}: is empty (only whitespace, no header)")
    return text


def _sniff_sep(header_line: str) -> str:
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda s: (counts[s], s == ","))
    return best if counts[best] > 0 else ","


def _read_table(path) -> _Table:
    """Read a CSV into stripped strings plus the file line number of each data row."""
    shown, raw = _read_bytes(path)
    notes: list[str] = []
    text = _decode(shown, raw, notes)

    # Blank lines before the header would otherwise become an all-empty header row.
    body = text.lstrip("\r\n")
    lead = len(text[: len(text) - len(body)].splitlines())
    first_line = body.splitlines()[0] if body else ""
    sep = _sniff_sep(first_line)
    if sep != ",":
        notes.append(f"{shown} separates columns with {sep!r} instead of ','.")

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # header=None: every row, header included, must fit the width of the header row, so a row
            # with extra fields is an error instead of pandas silently turning column 1 into an index.
            raw_df = pd.read_csv(
                io.StringIO(body),
                header=None,
                dtype=str,
                sep=sep,
                na_filter=False,
                skip_blank_lines=False,
                engine="c",
                quotechar='"',
            )
    except pd.errors.EmptyDataError:
        raise DataError(f"{shown}: is empty (no header)") from None
    except pd.errors.ParserError as exc:
        msg = str(exc)
        m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", msg)
        if m:
            raise DataError(
                f"{shown} line {int(m.group(2)) + lead}: {m.group(3)} fields, but the header has {m.group(1)} columns"
            ) from None
        m = re.search(r"EOF inside string starting at row (\d+)", msg)
        if m:
            raise DataError(
                f"{shown} line {int(m.group(1)) + 1 + lead}: a quoted field is never closed (unbalanced '\"')"
            ) from None
        raise DataError(f"{shown}: not a readable CSV ({_one_line(msg.replace('C error: ', ''))})") from None
    except Exception as exc:  # pandas raises a variety of types for malformed input; none may escape
        raise DataError(f"{shown}: not a readable CSV ({_one_line(exc)})") from None

    raw_df = raw_df.fillna("")  # na_filter=False still leaves NaN in short rows of some engines
    # Data rows start below the header; quoted cells with line breaks push later rows down.
    newlines = np.zeros(len(raw_df), dtype=np.int64)
    for c in raw_df.columns:
        col = raw_df[c].astype(str)
        if col.str.contains("\n", regex=False).any():
            newlines += col.str.count("\n").to_numpy(dtype=np.int64)
    starts = 1 + lead + np.arange(len(raw_df)) + np.concatenate([[0], np.cumsum(newlines)[:-1]])

    header = [str(h).strip() for h in raw_df.iloc[0].tolist()]
    names = []
    for k, h in enumerate(header):
        names.append(h if h else f"Unnamed: {k}")
    seen: dict[str, int] = {}
    for k, h in enumerate(names):
        if h in seen:
            raise DataError(
                f"{shown}: column name '{h}' appears twice in the header (columns {seen[h] + 1} and {k + 1}); "
                "column names must be unique"
            )
        seen[h] = k
    if all(not h for h in header) and len(header) > 1:
        raise DataError(f"{shown}: line {1 + lead} should be a header with column names but is empty")
    head = pd.Series(header, dtype=str)
    if (np.isfinite(_to_numbers(head)) | _parse_dates(head).ok).all():
        # Without a header pandas would quietly turn the first row into column names.
        raise DataError(
            f"{shown}: line {1 + lead} looks like data ({_show(','.join(header))}), not a header; "
            "the first line must name the columns, e.g. date,value"
        )

    df = raw_df.iloc[1:].reset_index(drop=True)
    df.columns = names
    df = df.apply(lambda s: s.astype(str).str.strip())
    lines = starts[1:]
    if len(df):
        empty = (df == "").all(axis=1).to_numpy()
        if empty.any():
            notes.append(
                f"Ignored {_plural(int(empty.sum()), 'empty line')} ({_fmt_lines(lines[empty], 3)})."
            )
            df = df.loc[~empty].reset_index(drop=True)
            lines = lines[~empty]
    if len(df) == 0:
        raise DataError(f"{shown}: has a header ({', '.join(names)}) but no data rows")
    return _Table(shown, names, df, np.asarray(lines, dtype=np.int64), sep, notes)


# --------------------------------------------------------------------------------------------------
# Cells -> numbers / dates
# --------------------------------------------------------------------------------------------------


def _missing_mask(s: pd.Series) -> np.ndarray:
    return s.str.lower().isin(_NA_STRINGS).to_numpy()


def _to_numbers(s: pd.Series) -> np.ndarray:
    """Parse stripped strings to float64; anything unparsable becomes NaN."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = pd.to_numeric(s, errors="coerce")
        except Exception:  # very long digit strings etc.: fall back to Python's float one by one
            out = pd.Series([_float_or_nan(v) for v in s], index=s.index)
    return np.array(
        pd.Series(out).to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64
    )  # writable copy


def _float_or_nan(v: str) -> float:
    try:
        return float(v)
    except (ValueError, OverflowError):
        return float("nan")


@dataclass
class _NumCol:
    values: np.ndarray  # float64 with NaN where missing
    missing: np.ndarray  # bool, empty/NA cell
    bad: np.ndarray  # bool, text that is not a number
    inf: np.ndarray  # bool, infinite value
    note: str | None = None


def _numeric_column(table: _Table, name: str) -> _NumCol:
    s = table.df[name]
    missing = _missing_mask(s)
    vals = _to_numbers(s)
    vals[missing] = np.nan
    bad = ~missing & np.isnan(vals)
    note = None
    if bad.any() and table.sep == ";":
        # Semicolon files usually come from locales that write 3,5 for 3.5.
        cells = s[bad]
        if cells.str.match(_DECIMAL_COMMA_RE).all():
            fixed = _to_numbers(s.str.replace(",", ".", regex=False))
            fixed[missing] = np.nan
            vals, bad = fixed, ~missing & np.isnan(fixed)
            note = f"Read ',' as the decimal point in column '{name}'."
    inf = np.isinf(vals)
    return _NumCol(vals, missing, bad, inf, note)


def _check_numbers(table: _Table, name: str, col: _NumCol) -> None:
    """Raise a DataError for the first text or infinite cell of a column that must be numeric."""
    problem = col.bad | col.inf
    if not problem.any():
        return
    k = int(np.argmax(problem))
    cell = table.df[name].iloc[k]
    more = int(problem.sum()) - 1
    tail = f" (and {_plural(more, 'more bad cell')})" if more else ""
    where = f"{table.path} line {table.lines[k]}, column '{name}'"
    if col.inf[k]:
        raise DataError(f"{where}: {_show(cell)} is infinite; expected a finite number{tail}")
    hint = ""
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", cell):
        hint = "; thousands separators are not supported"
    elif _DECIMAL_COMMA_RE.match(cell):
        hint = "; use '.' as the decimal point"
    raise DataError(f"{where}: {_show(cell)} is not a number{hint}{tail}")


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


# --------------------------------------------------------------------------------------------------
# Finding the time column
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Frequency inference and the regular grid
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# Filling
# --------------------------------------------------------------------------------------------------


def _fill(y: np.ndarray, method: str) -> tuple[np.ndarray, int, int]:
    """Fill NaNs; return (filled, n_leading, n_trailing)."""
    nan = np.isnan(y)
    if not nan.any():
        return y, 0, 0
    good = np.flatnonzero(~nan)
    lead = int(good[0])
    trail = len(y) - 1 - int(good[-1])
    if method == "zero":
        return np.where(nan, 0.0, y), lead, trail
    if method == "linear":
        idx = np.arange(len(y))
        # np.interp holds the end values flat: back-fill before the first value, forward-fill after the last.
        return np.interp(idx, good, y[good]), lead, trail
    # ffill: carry the last seen value forward; leading gaps take the first value (back-fill).
    last = np.where(~nan, np.arange(len(y)), 0)
    np.maximum.accumulate(last, out=last)
    out = y[last]
    out[:lead] = y[lead]
    return out, lead, trail


_FILL_WORDS = {
    "linear": "by linear interpolation",
    "ffill": "by repeating the previous value",
    "zero": "with zeros",
}


def _fill_column(name, col_sorted, pos, G, method, lines_sorted, notes, path):
    """Place a column on the grid, check the missing share, fill, and note what happened."""
    y = np.full(G, np.nan)
    y[pos] = col_sorted
    n_cells = int(np.isnan(col_sorted).sum())
    n_gaps = G - len(pos)
    missing = n_cells + n_gaps
    if missing * 2 > G:
        parts = [_plural(n_cells, "empty cell")]
        if n_gaps:
            parts.append(_plural(n_gaps, "missing time step"))
        raise DataError(
            f"{path}: column '{name}' has {missing} of {G} values missing ({', '.join(parts)}); "
            "at most half may be missing"
        )
    filled, lead, trail = _fill(y, method)
    if n_cells:
        bad_lines = lines_sorted[np.isnan(col_sorted)]
        notes.append(
            f"Filled {_plural(n_cells, 'empty cell')} of column '{name}' ({_fmt_lines(sorted(bad_lines), 3)}) "
            f"{_FILL_WORDS[method]}."
        )
    if method != "zero":
        if lead:
            notes.append(
                f"The first {_plural(lead, 'value')} of column '{name}' were missing and took the first "
                "available value (back-fill)."
            )
        if trail and method == "linear":
            notes.append(
                f"The last {_plural(trail, 'value')} of column '{name}' were missing and repeat the last "
                "available value; remove those rows if they are times you want forecast."
            )
    return filled


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


def _date_grid(p, time, ts, lines, freq, fill, target_nan, target, notes):
    """Frequency and grid positions of sorted dates; returns (pos, G, timestamps, freq alias)."""
    n = len(ts)
    if freq is not None:
        off, (pos, G) = _explicit_offset(freq, ts, p, time.name, lines)
        notes.append(f"Frequency {_describe_freq(off.freqstr)}, as given by --freq.")
    else:
        off, why = _infer_offset(ts)
        if off is None:
            d = np.diff(ts.astype(np.int64))
            why = why or f"typical spacing {pd.Timedelta(int(np.median(d)), unit='ns')}"
            notes.append(
                f"Could not find a regular frequency in column '{time.name}' ({why}); rows are used as "
                "consecutive steps and forecasts cannot be dated; pass --freq to set one."
            )
            return np.arange(n), n, ts, None
        pos, G = _grid(ts, off)
        notes.append(f"Frequency {_describe_freq(off.freqstr)}, inferred from the dates.")
    alias = off.freqstr
    if G == n:
        return pos, G, ts, alias
    # Check the missing share before building a grid that may be huge (e.g. one far-off date).
    missing = G - n + target_nan
    if missing * 2 > G:
        raise DataError(
            f"{p}: column '{target}' has {missing} of {G} values missing ({_plural(target_nan, 'empty cell')}, "
            f"{_plural(G - n, 'missing time step')} for frequency {alias}); at most half may be missing"
        )
    full = pd.date_range(pd.Timestamp(ts[0]), periods=G, freq=off).to_numpy().astype("datetime64[ns]")
    gap = np.ones(G, dtype=bool)
    gap[pos] = False
    why = " (holidays are business days without data)" if _base(off) == "B" else ""
    notes.append(
        f"Added {_plural(G - n, 'missing time step')} for frequency {alias}{why}: "
        f"{_fmt_list([_fmt_ts(t) for t in full[gap]], 3)}; values filled {_FILL_WORDS[fill]}."
    )
    return pos, G, full, alias


def _step_grid(time, ks, fill, notes):
    """Grid positions for a numeric step column: evenly spaced steps get their gaps filled."""
    n = len(ks)
    d = np.diff(ks)
    vals, counts = np.unique(d, return_counts=True)
    step = vals[np.argmax(counts)]
    rel = (ks - ks[0]) / step
    if np.allclose(rel, np.round(rel), rtol=0, atol=1e-6) and rel[-1] + 1 <= 2 * n:
        pos = np.round(rel).astype(np.int64)
        G = int(pos[-1]) + 1
        if G > n:
            notes.append(
                f"Added {_plural(G - n, 'missing step')} in column '{time.name}' (step {step:g}); "
                f"values filled {_FILL_WORDS[fill]}."
            )
        return pos, G
    notes.append(f"Column '{time.name}' is not evenly spaced; rows are used as consecutive steps.")
    return np.arange(n), n


# --------------------------------------------------------------------------------------------------
# load_csv
# --------------------------------------------------------------------------------------------------


def _safe(fn):
    """Turn an unexpected exception into a one-line DataError: nothing but LstmcliError may escape."""

    def wrapper(path, *args, **kwargs):
        try:
            return fn(path, *args, **kwargs)
        except (LstmcliError, MemoryError, RecursionError):
            raise
        except Exception as exc:
            if not _CATCH_UNEXPECTED:
                raise
            raise DataError(
                f"{path}: could not be loaded ({type(exc).__name__}: {_one_line(exc)}); this is a bug in lstmcli"
            ) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


def _resolve_features(table, features, target, time_name, numeric_cols) -> list[str]:
    if features is None:
        return []
    if isinstance(features, str):
        if features.strip().lower() == "all":
            return [c for c in numeric_cols if c != target]
        names = [f.strip() for f in features.split(",") if f.strip()]
    else:
        try:
            names = [str(f).strip() for f in features]
        except TypeError:
            raise ConfigError(f"--features must be 'all' or column names, got {features!r}") from None
    out: list[str] = []
    for f in names:
        if f not in table.columns:
            raise _missing_col_error(table.path, f, table.columns, "feature column")
        if f == target:
            raise ConfigError(f"--features: column '{f}' is the target; it is always an input already")
        if f == time_name:
            raise ConfigError(f"--features: column '{f}' is the time column, not a numeric input")
        if f not in out:
            out.append(f)
    return out


@_safe
def load_csv(
    path,
    *,
    target: str | None = None,
    time_col: str | None = None,
    features: str | Sequence[str] | None = None,
    freq: str | None = None,
    fill: str = "linear",
) -> SeriesData:
    """Load one time series (plus optional feature columns) from a wide CSV file.

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file.  UTF-8 (with or without BOM); ',' separated (';', tab and '|' are detected).
    target : str, optional
        Column to forecast.  Default: the only numeric column besides the time column.
    time_col : str, optional
        Time column.  Default: the first column named like date/time/timestamp/ds/datetime/period/month
        whose cells are dates, else the first column if its cells are dates.  Purely numeric columns are
        not dates, except a column named "year" holding whole years and a column named "step" (used only to
        order rows).  With no time column the rows are consecutive steps.
    features : {None, "all"} or str or sequence of str, optional
        Extra numeric input columns: None for none, "all" for every other numeric column, or names (a list
        or a comma-separated string).
    freq : str, optional
        pandas offset alias overriding the inferred frequency (legacy "M"/"Q"/"Y"/"H" are accepted).
    fill : {"linear", "ffill", "zero"}
        How empty cells and missing time steps are filled.

    Returns
    -------
    SeriesData

    Raises
    ------
    DataError
        For anything wrong with the file (one line naming file, line, column and what was expected).
    ConfigError
        For invalid options (unknown fill method or frequency alias, contradictory columns).
    """
    if fill not in FILL_METHODS:
        raise ConfigError(f"--fill {fill!r} is not valid; choose one of: {', '.join(FILL_METHODS)}")
    if freq is not None:
        _parse_offset(freq)  # fail fast on a bad alias, before reading the file
    if target is not None and not isinstance(target, str):
        raise ConfigError(f"--target must be a column name, got {target!r}")

    table = _read_table(path)
    p = table.path
    notes = list(table.notes)
    if len(table.df) < 2:
        raise DataError(f"{p}: has only 1 data row (line {table.lines[0]}); a series needs at least 2")

    time = _find_time(table, time_col)
    time_name = time.name if time else None
    if target is not None and target == time_name:
        raise ConfigError(f"--target '{target}' is the time column of {p}; choose a column of values")
    if time:
        notes.extend(time.notes)
    else:
        notes.append(f"{p} has no date column; rows are used as consecutive time steps in file order.")

    # Classify the other columns: numeric (at least half the cells are numbers), text, or empty.
    numeric_cols, text_cols, empty_cols = [], [], []
    n = len(table.df)
    for c in table.columns:
        if c == time_name:
            continue
        s = table.df[c]
        present = ~_missing_mask(s)
        if not present.any():
            empty_cols.append(c)
            continue
        col = _numeric_column(table, c)  # knows about decimal commas in ';' files
        if col.bad[present].mean() > 0.5:
            text_cols.append(c)
            continue
        if c.startswith("Unnamed: ") and c != target:
            # pandas' DataFrame.to_csv writes the row numbers as a first column without a name.
            ints = _integer_column(table, c)
            if ints is not None and (
                np.array_equal(ints, np.arange(n)) or np.array_equal(ints, np.arange(1, n + 1))
            ):
                notes.append(f"Ignored the unnamed column '{c}': it only numbers the rows.")
                continue
        numeric_cols.append(c)

    if target is None:
        pool = numeric_cols
        if features is not None and not (isinstance(features, str) and features.strip().lower() == "all"):
            listed = set(_resolve_features(table, features, None, time_name, numeric_cols))
            pool = [c for c in numeric_cols if c not in listed]
        if len(pool) == 1:
            target = pool[0]
            why = "the only numeric column" + (" that is not a feature" if pool is not numeric_cols else "")
            notes.append(f"Forecasting column '{target}', {why}.")
        elif not pool:
            kinds = [
                f"{c} (time)"
                if c == time_name
                else f"{c} (text)"
                if c in text_cols
                else f"{c} (empty)"
                if c in empty_cols
                else c
                for c in table.columns
            ]
            raise DataError(f"{p}: no numeric column to forecast; columns are: {', '.join(kinds)}")
        else:
            raise DataError(
                f"{p}: {len(pool)} numeric columns ({', '.join(pool)}); choose the one to forecast with --target"
            )
    elif target not in table.columns:
        raise _missing_col_error(p, target, table.columns)

    feat_names = _resolve_features(table, features, target, time_name, numeric_cols)
    used = (target, *feat_names)
    for c in used:
        if c in empty_cols:
            raise DataError(f"{p}: column '{c}' has no values")
    unused_text = [c for c in text_cols if c not in used]
    if unused_text:
        notes.append(
            f"Ignored text {'column' if len(unused_text) == 1 else 'columns'} "
            f"{', '.join(repr(c) for c in unused_text)}."
        )
    unused_empty = [c for c in empty_cols if c not in used]
    if unused_empty:
        notes.append(
            f"Ignored empty {'column' if len(unused_empty) == 1 else 'columns'} "
            f"{', '.join(repr(c) for c in unused_empty)}."
        )

    cols = {}
    for c in (target, *feat_names):
        col = _numeric_column(table, c)
        _check_numbers(table, c, col)
        if col.note:
            notes.append(col.note)
        cols[c] = col.values

    n = len(table.df)
    if time is None:
        if freq is not None:
            raise ConfigError(f"--freq {freq} was given, but {p} has no date column to apply it to")
        order, pos, G, lines = np.arange(n), np.arange(n), n, table.lines
        timestamps, out_freq = None, None
    else:
        order = _sort_rows(table, time, notes)
        lines = table.lines[order]
        if time.kind == "dates":
            pos, G, timestamps, out_freq = _date_grid(
                p, time, time.keys[order], lines, freq, fill, int(np.isnan(cols[target]).sum()), target, notes
            )
        else:
            if freq is not None:
                raise ConfigError(
                    f"--freq {freq} was given, but column '{time.name}' of {p} holds numbers, not dates"
                )
            pos, G = _step_grid(time, time.keys[order], fill, notes)
            timestamps, out_freq = None, None

    values = _fill_column(target, cols[target][order], pos, G, fill, lines, notes, p)
    if feat_names:
        feats = np.column_stack(
            [_fill_column(f, cols[f][order], pos, G, fill, lines, notes, p) for f in feat_names]
        )
        notes.append(f"Using {_plural(len(feat_names), 'feature column')}: {', '.join(feat_names)}.")
    else:
        feats = np.empty((G, 0), dtype=np.float64)
    return SeriesData(
        path=p,
        target=target,
        values=np.ascontiguousarray(values, dtype=np.float64),
        features=np.ascontiguousarray(feats, dtype=np.float64),
        feature_names=tuple(feat_names),
        time_col=time_name,
        timestamps=None if timestamps is None else np.asarray(timestamps, dtype="datetime64[ns]"),
        freq=out_freq,
        notes=tuple(notes),
    )


# --------------------------------------------------------------------------------------------------
# load_long_csv
# --------------------------------------------------------------------------------------------------


@_safe
def load_long_csv(
    path,
    *,
    id_col: str = "series_id",
    target: str | None = None,
    time_col: str | None = None,
    split_col: str | None = "split",
) -> list[LongSeries]:
    """Load many series from a long-format CSV (one row per series and time step).

    Parameters
    ----------
    path : str or os.PathLike
        The CSV file, e.g. ``series_id,step,value,split``.
    id_col : str
        Column naming the series; series keep the order in which their ids first appear.
    target : str, optional
        Value column; default "value" if present, else the only numeric column that is not the id,
        time or split column.
    time_col : str, optional
        Column ordering rows within a series; default "step" if present, else a date column if one is
        found.  Without one, rows keep file order.
    split_col : str or None
        Column with "train"/"test" per row (case-insensitive).  Missing column or None: no test rows.

    Returns
    -------
    list of LongSeries

    Raises
    ------
    DataError
        Missing columns, bad or missing values, duplicate times within a series, a training row after a
        test row, unknown split labels, a series without training rows.
    """
    table = _read_table(path)
    p = table.path
    cols = table.columns
    if id_col not in cols:
        raise _missing_col_error(p, id_col, cols, "id column")
    if split_col is not None and split_col not in cols:
        split_col = None
    reserved = {id_col, split_col}

    time: _Time | None = None
    if time_col is not None:
        if time_col in reserved:
            raise ConfigError(f"--time-col '{time_col}' is also the id or split column")
        time = _find_time(table, time_col)
    elif "step" in cols and "step" not in reserved:
        time = _find_time(table, "step")
    else:
        others = [c for c in cols if c not in reserved and c != target]
        sub = _Table(p, others, table.df[others], table.lines, table.sep, []) if others else None
        time = _find_time(sub, None) if sub is not None else None

    if target is None:
        if "value" in cols and "value" not in reserved and (time is None or time.name != "value"):
            target = "value"
        else:
            pool = [
                c
                for c in cols
                if c not in reserved and (time is None or c != time.name) and _looks_numeric(table, c)
            ]
            if len(pool) != 1:
                raise DataError(
                    f"{p}: cannot tell which column holds the values (numeric columns: "
                    f"{', '.join(pool) or 'none'}); name it with --target"
                )
            target = pool[0]
    elif target not in cols:
        raise _missing_col_error(p, target, cols)
    if target in reserved or (time is not None and target == time.name):
        raise ConfigError(f"--target '{target}' is also the id, time or split column")

    col = _numeric_column(table, target)
    _check_numbers(table, target, col)
    if col.missing.any():
        k = int(np.argmax(col.missing))
        raise DataError(
            f"{p} line {table.lines[k]}, column '{target}': the value is missing; "
            "long-format series must be complete"
        )

    ids = table.df[id_col]
    id_missing = _missing_mask(ids) & (ids == "").to_numpy()
    if id_missing.any():
        k = int(np.argmax(id_missing))
        raise DataError(f"{p} line {table.lines[k]}, column '{id_col}': the series id is empty")
    codes, uniques = pd.factorize(ids, sort=False)  # codes follow first appearance

    if split_col is not None:
        lab = table.df[split_col].str.lower()
        is_test = (lab == "test").to_numpy()
        bad = ~(is_test | (lab == "train").to_numpy())
        if bad.any():
            k = int(np.argmax(bad))
            raise DataError(
                f"{p} line {table.lines[k]}, column '{split_col}': "
                f"{_show(table.df[split_col].iloc[k])} is not 'train' or 'test'"
            )
    else:
        is_test = np.zeros(len(table.df), dtype=bool)

    if time is not None:
        key = time.keys.astype(np.int64) if time.kind == "dates" else time.keys
        order = np.lexsort((key, codes))
    else:
        key = None
        order = np.argsort(codes, kind="stable")
    codes_s = codes[order]
    bounds = np.flatnonzero(np.diff(codes_s)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [len(order)]])

    out: list[LongSeries] = []
    for a, b in zip(starts, ends, strict=True):
        rows = order[a:b]
        sid = str(uniques[codes_s[a]])
        if key is not None:
            ks = key[rows]
            dup = np.flatnonzero(ks[1:] == ks[:-1])
            if dup.size:
                r1, r2 = rows[dup[0]], rows[dup[0] + 1]
                raise DataError(
                    f"{p}: series '{sid}' has the same {time.name} on {_fmt_lines(sorted([table.lines[r1], table.lines[r2]]))}"
                    "; each time must appear once per series"
                )
        t = is_test[rows].astype(np.int8)
        back = np.flatnonzero(np.diff(t) < 0)
        if back.size:
            r_test, r_train = rows[back[0]], rows[back[0] + 1]
            raise DataError(
                f"{p} line {table.lines[r_train]}: series '{sid}' has a train row after a test row "
                f"(line {table.lines[r_test]}); test rows must be the last rows of each series"
            )
        n_test = int(t.sum())
        if n_test == len(rows):
            raise DataError(f"{p}: series '{sid}' has no training rows (all {len(rows)} rows are 'test')")
        out.append(
            LongSeries(
                series_id=sid, values=np.ascontiguousarray(col.values[rows], dtype=np.float64), n_test=n_test
            )
        )
    return out
