"""The CSV as a table of text cells, and those cells read as numbers.

Every column is kept as stripped text until a rule decides what it is, so a bad cell can be named
by its line and quoted as the user wrote it (thousands separators, decimal commas, "inf", ...).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcli.data.wording import plural, show
from lstmcli.errors import DataError

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
        # beyond pandas' list: what spreadsheets and statistics programs write for "no value" (a dash,
        # SAS's '.'), none of which can be a number
        "-",
        "--",
        "–",
        "—",
        ".",
        "n.a.",
    )
)


_DECIMAL_COMMA_RE = re.compile(r"^[+-]?\d*,\d+([eE][+-]?\d+)?$")
# 1,234 or 1,234.5 (',' groups) and, in the locales that write 3,5 for 3.5, 2.791 or 2.791,42 ('.' groups)
_THOUSANDS_RES = {
    ",": re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"),
    ".": re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$"),
}


# Every cell of a column written one locale's way: groups of three digits (or none) before the decimal
# point, which is '.' (',' groups) or ',' ('.' groups). A column read so must show a group somewhere
# (a cell the plain reading refuses), and every other cell must fit the same form.
_GROUPED_COLUMN_RES = {
    ",": re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$"),
    ".": re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$"),
}


@dataclass
class Table:
    """One CSV file as text cells, with the file line of each row for messages."""

    path: str
    columns: list[str]
    df: pd.DataFrame  # all cells as stripped str, columns named as in `columns`, index 0..n-1
    lines: np.ndarray  # (n,) line number (header = line 1) where each data row starts
    sep: str
    notes: list[str]
    # the cells of a column as written, for the columns where stripping changed some cell (none, mostly):
    # ids that differ only by spaces at their ends would otherwise become one series
    unstripped: dict[str, pd.Series] = field(default_factory=dict)


def missing_mask(s: pd.Series) -> np.ndarray:
    """Empty and NA-like cells ("", "NA", "null", ...): missing values, not bad numbers."""
    return s.str.lower().isin(_NA_STRINGS).to_numpy()


def to_numbers(s: pd.Series) -> np.ndarray:
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
class NumericColumn:
    """A column read as numbers, with the cells that are not (kept apart to be reported, not dropped)."""

    values: np.ndarray  # float64 with NaN where missing
    missing: np.ndarray  # bool, empty/NA cell
    bad: np.ndarray  # bool, text that is not a number
    inf: np.ndarray  # bool, infinite value
    note: str | None = None


def numeric_column(table: Table, name: str, flags: bool = False) -> NumericColumn:
    """A column as numbers; in ';' files a column of decimal commas is read as such (with a note), and
    with ``flags`` (a column named as a network input) a column of True / False as 1 / 0 (``_flags``)."""
    s = table.df[name]
    missing = missing_mask(s)
    vals = to_numbers(s)
    vals[missing] = np.nan
    bad = ~missing & np.isnan(vals)
    note = None
    if bad.any() and table.sep == ";":
        # Semicolon files usually come from locales that write 3,5 for 3.5.
        cells = s[bad]
        if cells.str.match(_DECIMAL_COMMA_RE).all():
            fixed = to_numbers(s.str.replace(",", ".", regex=False))
            fixed[missing] = np.nan
            vals, bad = fixed, ~missing & np.isnan(fixed)
            note = f"Read ',' as the decimal point in column '{name}'."
    if bad.any():
        vals, bad, note = _grouped(s, name, missing, vals, bad, note)
    elif table.sep == ";" and note is None:
        note = _dots_like_thousands(s, name, missing)
    if bad.any() and flags:
        vals, bad, note = _flags(s, name, missing, vals, bad, note)
    inf = np.isinf(vals)
    return NumericColumn(vals, missing, bad, inf, note)


_THREE_AFTER_DOT_RE = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+$")


def _dots_like_thousands(s: pd.Series, name: str, missing: np.ndarray) -> str | None:
    """A note when a ';' file's column (the locales that write 3,5 for 3.5, and 1.542 for 1542) has a
    '.' in some cells, each followed by groups of exactly three digits, and no ',' anywhere: read as
    decimals they are a thousand times smaller than their writer may have meant. Said, not guessed."""
    present = s[~missing]
    dotted = present[present.str.contains(".", regex=False)]
    if dotted.empty or present.str.contains(",", regex=False).any():
        return None
    if not dotted.str.match(_THREE_AFTER_DOT_RE).all():
        return None
    cell = dotted.iloc[0]
    return (
        f"Read {show(cell)} as {float(cell):g} in column '{name}': in this ';' file '.' may separate "
        f"thousands instead ({cell.replace('.', '')}), as every '.' there is followed by three digits; if "
        "so, write the numbers without it"
    )


def _grouped(
    s: pd.Series, name: str, missing: np.ndarray, vals: np.ndarray, bad: np.ndarray, note: str | None
):
    """A column of numbers with thousands separators ('9,007.50', '9.007,50', '1,234,567'), read as such
    when every cell fits one locale's form (``_GROUPED_COLUMN_RES``) and some cell needs it; else as it
    was. A lone '9,007' in a column of such numbers is 9007: it is the form that column uses."""
    present = s[~missing]
    for group, decimal in ((",", "."), (".", ",")):
        if not (
            present.str.match(_GROUPED_COLUMN_RES[group]).all()
            and s[bad].str.contains(group, regex=False).any()
        ):
            continue
        plain = s.str.replace(group, "", regex=False).str.replace(decimal, ".", regex=False)
        fixed = to_numbers(plain)
        fixed[missing] = np.nan
        k = int(np.argmax(bad))
        said = f"Read {show(s.iloc[k])} as {fixed[k]:g} in column '{name}': '{group}' separates thousands"
        said += f" and '{decimal}' is the decimal point." if decimal == "," else "."
        return fixed, ~missing & np.isnan(fixed), said
    return vals, bad, note


_FLAGS = {"true": 1.0, "false": 0.0}


def _flags(s: pd.Series, name: str, missing: np.ndarray, vals: np.ndarray, bad: np.ndarray, note: str | None):
    """A column of True / False (a Parquet bool column, pandas' to_csv of one; any case), read as 1 / 0
    when every present cell is one of them (or 0 or 1), as darts and statsforecast take a promotion flag;
    else as it was."""
    words = s.str.lower()
    flag = words.isin(list(_FLAGS)).to_numpy()
    if not (flag | missing | np.isin(vals, (0.0, 1.0))).all():  # (0 and 1 beside them are flags too)
        return vals, bad, note
    flags = np.where(flag, words.map(_FLAGS).to_numpy(dtype=np.float64, na_value=np.nan), vals)
    return flags, np.zeros_like(bad), f"Read column '{name}' of True / False as 1 / 0."


def check_numbers(table: Table, name: str, col: NumericColumn) -> None:
    """Raise a DataError for the first text or infinite cell of a column that must be numeric."""
    problem = col.bad | col.inf
    if not problem.any():
        return
    k = int(np.argmax(problem))
    cell = table.df[name].iloc[k]
    more = int(problem.sum()) - 1
    tail = f" (and {plural(more, 'more bad cell')})" if more else ""
    where = f"{table.path} line {table.lines[k]}, column '{name}'"
    if col.inf[k]:
        raise DataError(f"{where}: {show(cell)} is infinite; expected a finite number{tail}")
    hint = ""
    if has_thousands_separator(cell, table.sep):
        hint = "; thousands separators are read only when every cell of the column is written alike"
    elif _DECIMAL_COMMA_RE.match(cell):
        hint = "; use '.' as the decimal point"
    raise DataError(f"{where}: {show(cell)} is not a number{hint}{tail}")


def has_thousands_separator(cell: str, sep: str) -> bool:
    """Whether a cell is a number written with thousands separators: 1,234.5 in any file, and 2.791,42
    (or 2.791) in ';' files, which come from the locales that write 3,5 for 3.5."""
    if _THOUSANDS_RES[","].match(cell):
        return True
    return sep == ";" and bool(_THOUSANDS_RES["."].match(cell))


def looks_numeric(table: Table, name: str) -> bool:
    """Whether every present cell is a finite number; such a column holds years or steps, not text dates."""
    s = table.df[name]
    present = ~missing_mask(s)
    if not present.any():
        return False
    vals = to_numbers(s[present])
    return bool(np.isfinite(vals).all())


def integer_column(table: Table, name: str) -> np.ndarray | None:
    """The column as int64 if every present cell is a whole number, else None."""
    s = table.df[name]
    present = ~missing_mask(s)
    if not present.all():
        return None
    vals = to_numbers(s)
    if not np.isfinite(vals).all() or (vals != np.round(vals)).any() or (np.abs(vals) > 2**53).any():
        return None
    return vals.astype(np.int64)
