"""The rules of long-format files (one row per series and time step, as the M3/M4 files): which
column is which, the train/test labels, and cutting the rows into series.

Long files feed the backtests, which compare against published results; so nothing is filled or
guessed here: a missing value, a repeated time or a train row after a test row is an error.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcli.data.cells import Table, check_numbers, looks_numeric, missing_mask, numeric_column
from lstmcli.data.series import LongSeries
from lstmcli.data.timecolumn import Time, find_time
from lstmcli.data.wording import fmt_lines, fmt_list, missing_col_error, plural, show
from lstmcli.errors import ConfigError, DataError


def _locale_numbers(table: Table, name: str) -> bool:
    """Whether every present cell of a column is a number the value reader takes (``numeric_column``:
    decimal commas in a ';' file, thousands separators), and some cell is present."""
    col = numeric_column(table, name)
    return bool((~col.missing).any() and not col.bad.any())


def long_columns(
    table: Table,
    id_col: str,
    target: str | None,
    time_col: str | None,
    split_col: str | None,
    others: tuple[str, ...] = (),
    inputs: tuple[str, ...] = (),
) -> tuple[str, Time | None, str | None]:
    """The value column, the time column (None: file order) and the split column (None: no test rows);
    ``others`` (static feature columns) are never taken for the value or time column, ``inputs`` (the
    known-future columns) never guessed to be the value column."""
    p = table.path
    cols = table.columns
    if id_col not in cols:
        raise missing_col_error(p, id_col, cols, "id column")
    if split_col is not None and split_col not in cols:
        split_col = None
    reserved = {id_col, split_col, *others}

    time: Time | None = None
    if time_col is not None:
        if time_col in reserved:
            raise ConfigError(f"--time-col '{time_col}' is also the id or split column")
        time = find_time(table, time_col)
    elif "step" in cols and "step" not in reserved:
        time = find_time(table, "step")
    else:
        others = [c for c in cols if c not in reserved and c != target]
        sub = Table(p, others, table.df[others], table.lines, table.sep, []) if others else None
        time = find_time(sub, None) if sub is not None else None

    if target is None:
        if "value" in cols and "value" not in reserved and (time is None or time.name != "value"):
            target = "value"
        else:
            free = [c for c in cols if c not in {*reserved, *inputs} and (time is None or c != time.name)]
            pool = [c for c in free if looks_numeric(table, c)]
            if not pool:  # numbers written a locale's way (1006,91 in a ';' file; 1,006.91), as a single
                pool = [c for c in free if _locale_numbers(table, c)]  # series' target is found
            if len(pool) != 1:
                raise DataError(
                    f"{p}: cannot tell which column holds the values (numeric columns: "
                    f"{', '.join(pool) or 'none'}); name it with --target"
                )
            target = pool[0]
    elif target not in cols:
        raise missing_col_error(p, target, cols)
    if target in reserved or (time is not None and target == time.name):
        raise ConfigError(f"--target '{target}' is also the id, time or split column")
    return target, time, split_col


def long_values(table: Table, target: str) -> np.ndarray:
    """The value column as float64: every cell a finite number or empty (NaN); ``split_series`` takes
    the empty rows before a series' first value off it and refuses any other."""
    col = numeric_column(table, target)
    check_numbers(table, target, col)
    return col.values


def _missing_value(table: Table, row: int, target: str) -> DataError:
    return DataError(
        f"{table.path} line {table.lines[row]}, column '{target}': the value is missing; a series must be "
        "complete from its first value (backtest --id-col fills nothing: train fills gaps, by --fill)"
    )


def series_codes(table: Table, id_col: str) -> tuple[np.ndarray, pd.Index]:
    """A series number per row (in order of first appearance) and the ids they stand for."""
    ids = table.df[id_col]
    id_missing = missing_mask(ids) & (ids == "").to_numpy()
    if id_missing.any():
        k = int(np.argmax(id_missing))
        raise DataError(f"{table.path} line {table.lines[k]}, column '{id_col}': the series id is empty")
    codes, uniques = pd.factorize(ids, sort=False)  # codes follow first appearance
    if id_col in table.unstripped:  # two ids written apart that read as one once stripped
        written = table.unstripped[id_col]
        first = pd.Series(np.arange(len(ids))).groupby(codes).first().to_numpy()  # (row of each id's start)
        other = np.flatnonzero(written.to_numpy() != written.to_numpy()[first[codes]])
        if other.size:
            k, a = int(other[0]), int(first[codes[other[0]]])
            raise DataError(
                f"{table.path} column '{id_col}': the ids {show(written.iloc[a])} (line {table.lines[a]}) and "
                f"{show(written.iloc[k])} (line {table.lines[k]}) differ only by spaces at their ends, "
                "which lstmcli does not read; write them alike, or as two different ids"
            )
    return codes, uniques


def rows_marked_test(table: Table, split_col: str | None) -> np.ndarray:
    """Which rows the split column marks as "test" (case-insensitive); none without the column."""
    if split_col is None:
        return np.zeros(len(table.df), dtype=bool)
    lab = table.df[split_col].str.lower()
    is_test = (lab == "test").to_numpy()
    bad = ~(is_test | (lab == "train").to_numpy())
    if bad.any():
        k = int(np.argmax(bad))
        raise DataError(
            f"{table.path} line {table.lines[k]}, column '{split_col}': "
            f"{show(table.df[split_col].iloc[k])} is not 'train' or 'test'"
        )
    return is_test


def split_series(
    table: Table, values: np.ndarray, codes: np.ndarray, uniques, time: Time | None, is_test: np.ndarray,
    target: str = "value", notes: list[str] | None = None,
) -> list[LongSeries]:  # fmt: skip
    """Cut the rows into series, each in time order (file order without a time column), test rows last;
    a series starts at its first value (a file with a row for every date of every series: the empty rows
    before it are not part of it, said in ``notes``); any other empty value is an error."""
    p = table.path
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
    late: list[tuple[str, int]] = []
    for a, b in zip(starts, ends, strict=True):
        rows = order[a:b]
        sid = str(uniques[codes_s[a]])
        empty = np.isnan(values[rows])
        if empty.any():
            if empty.all():
                raise _missing_value(table, int(rows[0]), target)
            first = int(np.argmin(empty))
            if empty[first:].any():
                raise _missing_value(table, int(rows[first + int(np.argmax(empty[first:]))]), target)
            late.append((sid, first))
            rows = rows[first:]
        if key is not None:
            ks = key[rows]
            dup = np.flatnonzero(ks[1:] == ks[:-1])
            if dup.size:
                r1, r2 = rows[dup[0]], rows[dup[0] + 1]
                raise DataError(
                    f"{p}: series '{sid}' has the same {time.name} on {fmt_lines(sorted([table.lines[r1], table.lines[r2]]))}"
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
                series_id=sid,
                values=np.ascontiguousarray(values[rows], dtype=np.float64),
                n_test=n_test,
                times=None if time is None else time.keys[rows],
            )
        )
    if late and notes is not None:
        notes.append(late_start_note(late, target))
    return out


def late_start_note(late: list[tuple[str, int]], target: str) -> str:
    """One note for the series started at their first value: (id, empty rows before it) of each."""
    return (
        f"Started {plural(len(late), 'series', 'series')} at their first '{target}' value "
        f"({fmt_list([sid for sid, _ in late], 3)}): the {plural(sum(n for _, n in late), 'row')} before "
        "it, empty, are not part of them (a series is never filled before its first value)."
    )
