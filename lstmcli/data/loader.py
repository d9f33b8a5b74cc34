"""Read a time series from a CSV file into clean NumPy arrays.

This module and the ones it is built from (``csvfile``: the file into a table of text cells;
``timecolumn``: finding and parsing the time column; ``frequency``: aliases, seasons and the regular
grid; ``_text``: the wording of notes and errors) are the only ones that import pandas; everything else
imports the loader lazily so that ``lstmcli --help`` stays fast.  The loader never guesses silently: every decision it makes (which column
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

from collections.abc import Sequence

import numpy as np
import pandas as pd

from lstmcli.data._text import _fmt_lines, _fmt_list, _fmt_ts, _missing_col_error, _one_line, _plural, _show
from lstmcli.data.csvfile import _check_numbers, _missing_mask, _numeric_column, _read_table, _Table
from lstmcli.data.frequency import (
    _base,
    _describe_freq,
    _explicit_offset,
    _grid,
    _infer_offset,
    _parse_offset,
    future_timestamps,
    season_length,
    timestamps_ending_at,
)
from lstmcli.data.series import LongSeries, SeriesData
from lstmcli.data.timecolumn import _find_time, _integer_column, _looks_numeric, _sort_rows, _Time
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


# Turned off by the tests so that the fuzz test sees internal bugs instead of the safety net.
_CATCH_UNEXPECTED = True


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
