"""Wording shared by the loader's notes and errors: how values, lines and lists are shown in one line,
so every message reads alike whichever module raises it."""

from __future__ import annotations

import difflib

import pandas as pd

from lstmcli.errors import DataError


def fmt_ts(ts) -> str:
    """A time stamp, without the clock when it is midnight."""
    t = pd.Timestamp(ts)
    if t.hour == t.minute == t.second == t.microsecond == t.nanosecond == 0:
        return t.strftime("%Y-%m-%d")
    return str(t)


def fmt_list(items, limit: int = 5) -> str:
    """The first `limit` items and how many more: a message stays one line however long the list."""
    items = [str(i) for i in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items) - limit} more)"


def fmt_lines(lines, limit: int = 5) -> str:
    """ "line 3" or "lines 3, 7, ...": file lines as a message names them."""
    lines = list(lines)
    word = "line" if len(lines) == 1 else "lines"
    return f"{word} {fmt_list(lines, limit)}"


def one_line(text: str, limit: int = 200) -> str:
    """Foreign error text (pandas, the OS) squeezed into one short line."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def show(cell: str, limit: int = 40) -> str:
    """Quote a cell for a message, on one line and not too long."""
    cell = cell.replace("\n", "\\n").replace("\r", "\\r")
    if len(cell) > limit:
        cell = cell[: limit - 3] + "..."
    return repr(cell)


def plural(n: int, word: str, many: str | None = None) -> str:
    """ "1 row", "2 rows"."""
    return f"{n} {word if n == 1 else (many or word + 's')}"


def _suggest(name: str, columns) -> str:
    close = difflib.get_close_matches(name, list(columns), n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in columns}
        if name.lower() in lowered:
            close = [lowered[name.lower()]]
    return f" (did you mean '{close[0]}'?)" if close else ""


def missing_col_error(path: str, name: str, columns, what: str = "column") -> DataError:
    """The error for a column that is not in the file, with the closest name and all the names."""
    return DataError(
        f"{path}: {what} '{name}' not found{_suggest(name, columns)}; columns are: {', '.join(columns)}"
    )
