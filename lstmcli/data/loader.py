"""Read a time series from a CSV file into clean NumPy arrays.

The loader only composes the steps, each in a module of its own so that every rule has one place:

``csvfile``
    the file into a table of text cells (bytes, encoding, separator, header);
``cells`` and ``dates``
    text cells read as numbers and as dates;
``timecolumn``
    finding the time column and ordering the rows by it;
``columns`` / ``longformat``
    which columns are target, features, id and split, in a wide or a long file;
``frequency`` and ``grid``
    pandas aliases and seasons, and the regular grid of the time stamps with its missing steps;
``filling``
    filling empty cells and missing steps;
``wording``
    how notes and errors show values, lines and lists.

Only these modules may import pandas; everything else imports the loader lazily so that
``lstmcli --help`` stays fast, and gets its results as the pandas-free :mod:`lstmcli.data.series`.
The loader never guesses silently: every decision it makes (which column is the time, which
frequency, how many rows were re-ordered or filled, ...) is recorded as one plain sentence in
:attr:`SeriesData.notes`, and every problem a user can fix is raised as a one-line
:class:`~lstmcli.errors.DataError` or :class:`~lstmcli.errors.ConfigError` that names the file, the line
(the header is line 1), the column or the option, and what was expected; anything else is caught by
a safety net and reported as a bug in one line.

Public API
----------
SeriesData, load_csv
    One (possibly multivariate) series from a "wide" CSV such as ``date,value`` or ``date,y,x1,x2``.
LongSeries, load_long_csv
    Many series from a "long" CSV such as ``series_id,step,value,split`` (the M3/M4 files).
season_length, future_timestamps, timestamps_ending_at
    Helpers built on the pandas frequency alias stored in :attr:`SeriesData.freq`.
FILL_METHODS
    The valid values of ``fill`` (``--fill``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lstmcli.data.cells import check_numbers, numeric_column
from lstmcli.data.columns import check_input_column, choose_columns
from lstmcli.data.csvfile import read_table
from lstmcli.data.filling import FILL_METHODS, fill_column
from lstmcli.data.frequency import future_timestamps, parse_offset, season_length, timestamps_ending_at
from lstmcli.data.grid import date_grid, step_grid
from lstmcli.data.longformat import (
    long_columns,
    long_values,
    rows_marked_test,
    series_codes,
    split_series,
)
from lstmcli.data.series import LongSeries, SeriesData
from lstmcli.data.timecolumn import find_time, sort_rows
from lstmcli.data.wording import fmt_ts, one_line, plural
from lstmcli.errors import ConfigError, DataError, LstmcliError

__all__ = [
    "FILL_METHODS",
    "LongSeries",
    "SeriesData",
    "future_timestamps",
    "load_csv",
    "load_frame",
    "load_long_csv",
    "read_frame",
    "season_length",
    "timestamps_ending_at",
]


# Turned off by the tests so that the fuzz test sees internal bugs instead of the safety net.
_CATCH_UNEXPECTED = True


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
                f"{path}: could not be loaded ({type(exc).__name__}: {one_line(exc)}); this is a bug in lstmcli"
            ) from exc

    wrapper.__name__ = fn.__name__
    wrapper.__qualname__ = fn.__qualname__
    wrapper.__doc__ = fn.__doc__
    wrapper.__wrapped__ = fn
    return wrapper


def read_frame(frame, read):
    """``read(path)`` of a pandas DataFrame written to a temporary CSV: pandas data goes through the
    file rules exactly, and an error names "the DataFrame (as CSV)" and its line (the header is line 1),
    not the temporary file. (``load_frame``; ``PanelForecaster.fit_frame``.)"""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "frame.csv")
        frame.to_csv(path, index=False)
        try:
            return read(path)
        except LstmcliError as e:
            raise type(e)(str(e).replace(path, "the DataFrame (as CSV)")) from None


def load_frame(frame, *, time_col: str | None = None, target: str | None = None, **kwargs) -> SeriesData:
    """One series held in pandas -- a DataFrame with a time column, or a Series whose index holds the
    times -- read by ``load_csv``'s rules exactly (``read_frame``): the same notes in ``.notes``, the
    same one-line errors. Other keyword arguments are ``load_csv``'s."""
    from dataclasses import replace

    import pandas as pd

    if isinstance(frame, pd.Series):
        name = "value" if frame.name is None else str(frame.name)
        index = "date" if frame.index.name is None else str(frame.index.name)
        frame = frame.rename(name).rename_axis(index).reset_index()
        time_col, target = time_col or index, target or name
    elif not isinstance(frame, pd.DataFrame):
        raise DataError(f"load_frame takes a pandas DataFrame or Series, got {type(frame).__name__}")
    data = read_frame(frame, lambda path: load_csv(path, time_col=time_col, target=target, **kwargs))
    return replace(data, path="DataFrame")


FAR_OUTLIER = 1000  # times the typical distance from the median: a value this far is likely a typo


def far_outlier_note(values: np.ndarray, target: str, timestamps: np.ndarray | None) -> str | None:
    """A note naming the value furthest from the median when it is ``FAR_OUTLIER`` times further than
    the values typically are (their median absolute deviation): 1e12 among values near 100 (a typo,
    a unit slip) is kept as written, but every forecast of the combination follows it."""
    v = np.asarray(values, dtype=np.float64)
    if v.size < 5:
        return None
    middle = float(np.median(v))
    spread = float(np.median(np.abs(v - middle)))
    k = int(np.argmax(np.abs(v - middle)))
    if spread <= 0 or abs(v[k] - middle) <= FAR_OUTLIER * spread:
        return None
    when = fmt_ts(timestamps[k]) if timestamps is not None else f"step {k + 1}"
    return (
        f"Column '{target}' holds {v[k]:g} at {when}, {abs(v[k] - middle) / spread:,.0f} times further from "
        f"the median ({middle:g}) than its values typically are: a typo? It was kept as written."
    )


@_safe
def load_csv(
    path,
    *,
    target: str | None = None,
    time_col: str | None = None,
    features: str | Sequence[str] | None = None,
    freq: str | None = None,
    fill: str = "linear",
    future_features: Sequence[str] | None = None,
    forecast_rows: bool = False,
    freq_given: str = "as given by --freq",
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
        Extra numeric input columns known up to the last observation only (past covariates): None for
        none, "all" for every other numeric column, or names (a list or a comma-separated string).
    freq : str, optional
        pandas offset alias overriding the inferred frequency (legacy "M"/"Q"/"Y"/"H" are accepted).
    fill : {"linear", "ffill", "zero"}
        How empty cells and missing time steps are filled (never the trailing rows of the target).
    future_features : sequence of str, optional
        Columns whose values are known in advance (``--future-features``).
    forecast_rows : bool
        Accept trailing rows whose target is empty as the forecast period (their known-future values
        go to ``SeriesData.ahead``); when False they are an error naming the first of them.

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
        parse_offset(freq)  # fail fast on a bad alias, before reading the file
    if target is not None and not isinstance(target, str):
        raise ConfigError(f"--target must be a column name, got {target!r}")
    known = [str(f).strip() for f in (future_features or ()) if str(f).strip()]

    table = read_table(path)
    p = table.path
    notes = list(table.notes)
    if len(table.df) < 2:
        raise DataError(f"{p}: has only 1 data row (line {table.lines[0]}); a series needs at least 2")

    time = find_time(table, time_col)
    time_name = time.name if time else None
    if target is not None and target == time_name:
        raise ConfigError(f"--target '{target}' is the time column of {p}; choose a column of values")
    if time:
        notes.extend(time.notes)
    else:
        notes.append(f"{p} has no date column; rows are used as consecutive time steps in file order.")

    target, feat_names, known = _input_columns(table, time_name, target, features, known, notes)
    cols = {}
    for c in (target, *feat_names, *known):
        col = numeric_column(table, c, flags=c != target)
        check_numbers(table, c, col)
        if col.note:
            notes.append(col.note)
        cols[c] = col.values

    n = len(table.df)
    order = np.arange(n) if time is None else sort_rows(table, time, notes)
    lines = table.lines[order]
    n_hist = _rows_with_target(p, cols[target][order], lines, time, order, target, forecast_rows)
    target_nan = int(np.isnan(cols[target][order][:n_hist]).sum())
    if time is None:
        if freq is not None:
            raise ConfigError(f"--freq {freq} was given, but {p} has no date column to apply it to")
        pos, G = np.arange(n), n
        timestamps, out_freq = None, None
    elif time.kind == "dates":
        # the grid (and its notes: inferred frequency, steps filled) of the rows with a target; the
        # forecast period's rows are then placed on the same grid, its missing steps left empty
        keys = time.keys[order]
        h = slice(0, n_hist)
        pos, G, timestamps, out_freq = date_grid(
            p, time, keys[h], lines[h], freq, fill, target_nan, target, notes, freq_given
        )
        if n_hist < n and out_freq is not None:
            pos, G, timestamps, _ = date_grid(p, time, keys, lines, out_freq, fill, 0, target, [])
        elif n_hist < n:
            pos, G, timestamps = np.arange(n), n, keys
    else:
        if freq is not None:
            raise ConfigError(
                f"--freq {freq} was given, but column '{time.name}' of {p} holds numbers, not dates"
            )
        pos, G = step_grid(time, time.keys[order][:n_hist], fill, notes)
        if n_hist < n:
            pos, G = step_grid(time, time.keys[order], fill, [])
        timestamps, out_freq = None, None
    G_hist = int(pos[n_hist - 1]) + 1  # the grid of the rows with a target; the rest is the forecast period

    def on_grid(c: str) -> np.ndarray:
        return fill_column(c, cols[c][order][:n_hist], pos[:n_hist], G_hist, fill, lines[:n_hist], notes, p)

    values = on_grid(target)
    if feat_names:
        feats = np.column_stack([on_grid(f) for f in feat_names])
        notes.append(f"Using {plural(len(feat_names), 'feature column')}: {', '.join(feat_names)}.")
    else:
        feats = np.empty((G_hist, 0), dtype=np.float64)
    future = ahead = ahead_ts = ahead_lines = None
    if known:
        future = np.ascontiguousarray(np.column_stack([on_grid(f) for f in known]), dtype=np.float64)
        notes.append(
            f"Using {plural(len(known), 'known-future column')} (their values at the step being forecast "
            f"are inputs): {', '.join(known)}."
        )
    if n_hist < n:
        at = pos[n_hist:] - G_hist
        ahead = np.full((G - G_hist, len(known)), np.nan)
        for k, f in enumerate(known):
            ahead[at, k] = cols[f][order][n_hist:]
        ahead_lines = np.zeros(G - G_hist, dtype=np.int64)
        ahead_lines[at] = lines[n_hist:]
        if timestamps is not None:
            ahead_ts = np.asarray(timestamps[G_hist:], dtype="datetime64[ns]")
        first = fmt_ts(ahead_ts[0]) if ahead_ts is not None else f"line {ahead_lines[0]}"
        notes.append(
            f"The last {plural(n - n_hist, 'row')} (from {first}) have no '{target}' value: they are the "
            "forecast period, not filled and not trained on."
        )
    if timestamps is not None:
        timestamps = timestamps[:G_hist]
    far = far_outlier_note(values, target, timestamps)
    if far:
        notes.append(far)
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
        future_features=future,
        future_feature_names=tuple(known),
        ahead=ahead,
        ahead_timestamps=ahead_ts,
        ahead_lines=ahead_lines,
    )


def _input_columns(table, time_name, target, features, known, notes) -> tuple[str, list[str], list[str]]:
    """Target, past-feature and known-future columns; a column may not be both kinds of feature."""
    if not known:
        target, feat_names = choose_columns(table, time_name, target, features, notes)
        return target, feat_names, []
    everything = features
    if features is None:
        everything = known
    elif not (isinstance(features, str) and features.strip().lower() == "all"):
        listed = [f.strip() for f in features.split(",")] if isinstance(features, str) else list(features)
        both = [f for f in known if f in listed]
        if both:
            raise ConfigError(
                f"column '{both[0]}' is in --features (known up to now) and in --future-features "
                "(known in advance); give it once"
            )
        everything = [*listed, *known]

    def check_known(target: str | None) -> None:
        for f in known:
            check_input_column(
                table, f, target, time_name, "--future-features", "known-future column",
                ", not an input known in advance",
            )  # fmt: skip

    check_known(target)  # first: choose_columns takes them for features, and would name --features
    target, names = choose_columns(table, time_name, target, everything, notes)
    check_known(target)  # (a target chosen from the file)
    return target, [c for c in names if c not in known], list(dict.fromkeys(known))


def _rows_with_target(p, target_sorted, lines, time, order, target, forecast_rows) -> int:
    """How many leading (time-ordered) rows the series has: all but the trailing rows whose target is
    empty, which are the forecast period when ``forecast_rows``, else an error (never filled)."""
    present = np.flatnonzero(~np.isnan(target_sorted))
    n = len(target_sorted)
    n_hist = int(present[-1]) + 1 if len(present) else 0
    if n_hist == n:
        return n
    where = f"line {lines[n_hist]}"
    if time is not None and time.kind == "dates":
        where = f"{fmt_ts(time.keys[order][n_hist])}, line {lines[n_hist]}"
    if not forecast_rows:
        rows = "the last row (" if n - n_hist == 1 else f"the last {n - n_hist} rows (from "
        raise DataError(
            f"{p}: {rows}{where}) {'has' if n - n_hist == 1 else 'have'} no '{target}' value; the end of a "
            "series is never filled: remove those rows, or train with --future-features or --calendar to "
            "make them the forecast period"
        )
    if n_hist < 2:
        raise DataError(f"{p}: only {n_hist} row has a '{target}' value; a series needs at least 2")
    return n_hist


@_safe
def load_long_csv(
    path,
    *,
    id_col: str = "series_id",
    target: str | None = None,
    time_col: str | None = None,
    split_col: str | None = "split",
    notes: list[str] | None = None,
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
    notes : list of str, optional
        Where to say what was decided (the empty rows before a series' first value, left out).

    Returns
    -------
    list of LongSeries

    Raises
    ------
    DataError
        Missing columns, bad or missing values, duplicate times within a series, a training row after a
        test row, unknown split labels, a series without training rows.
    """
    table = read_table(path, parquet=True)
    target, time, split_col = long_columns(table, id_col, target, time_col, split_col)
    values = long_values(table, target)
    codes, ids = series_codes(table, id_col)
    is_test = rows_marked_test(table, split_col)
    return split_series(table, values, codes, ids, time, is_test, target, notes)
