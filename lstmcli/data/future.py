"""The values of the known-future columns for the forecast period: from a ``--future`` file, or from
the trailing rows of a data file whose target is empty (``SeriesData.ahead``).

Neither is ever filled: ``rows_for`` takes the rows of the steps after the last observation, in
order (a file's earlier rows are not needed), and a missing row or cell is a one-line error naming the
date (or step) and the column.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lstmcli.data.cells import check_numbers, numeric_column
from lstmcli.data.csvfile import read_table
from lstmcli.data.timecolumn import find_time, sort_rows
from lstmcli.data.wording import fmt_ts, missing_col_error, plural
from lstmcli.errors import DataError

__all__ = ["FutureValues", "PanelFuture", "load_future", "load_panel_future", "rows_for"]


@dataclass(frozen=True, eq=False)
class FutureValues:
    """Rows of known-future columns: ``values`` (A, K) (NaN where a cell is empty), their dates
    ``stamps`` (A,) in time order (None without dates: the rows are the next steps, in order) and the
    file ``lines`` (A,) (0: a step the file has no row for)."""

    label: str
    names: tuple[str, ...]
    values: np.ndarray
    stamps: np.ndarray | None
    lines: np.ndarray
    # the same file with its dates read the other way, when every date could be month/day or day/month
    # (01/02/2023): ``rows_for`` takes the reading whose dates continue the series
    other: FutureValues | None = None


def load_future(path, columns: tuple[str, ...], time_col: str | None = None) -> FutureValues:
    """Read ``--future FILE``: a time column and the known-future ``columns`` (other columns ignored)."""
    table = read_table(path)
    time = find_time(table, time_col)
    values = _known_columns(table, columns)
    future = _rows(table, time, values, columns)
    if time is not None and time.other_keys is not None:  # every date could be day/month or month/day
        future = replace(future, other=_rows(table, replace(time, keys=time.other_keys), values, columns))
    return future


def _rows(table, time, values: list[np.ndarray], columns: tuple[str, ...]) -> FutureValues:
    order = np.arange(len(table.df)) if time is None else sort_rows(table, time, [])
    stamps = None
    if time is not None and time.kind == "dates":
        stamps = np.asarray(time.keys[order], dtype="datetime64[ns]")
    matrix = np.column_stack(values)[order] if values else np.empty((len(order), 0))
    return FutureValues(table.path, tuple(columns), matrix, stamps, table.lines[order])


def _known_columns(table, columns: tuple[str, ...]) -> list[np.ndarray]:
    """The known-future ``columns`` of ``table`` as numbers, each checked (one line naming a bad cell)."""
    values = []
    for c in columns:
        if c not in table.columns:
            raise missing_col_error(table.path, c, table.columns, "known-future column")
        col = numeric_column(table, c, flags=True)
        check_numbers(table, c, col)
        values.append(col.values)
    return values


@dataclass(frozen=True, eq=False)
class PanelFuture:
    """A panel's ``--future`` file: each series' rows (``series``: id -> its ``FutureValues``, labelled
    with the file and the series so that an error names both)."""

    path: str
    id_col: str
    series: dict[str, FutureValues]

    def of(self, sid: str) -> FutureValues:
        """Series ``sid``'s rows; a series the file lacks is an error naming it."""
        if sid not in self.series:
            raise DataError(
                f"{self.path}: no rows for series '{sid}' (column '{self.id_col}'); the forecast of every "
                "series needs its future values"
            )
        return self.series[sid]


def load_panel_future(path, id_col: str, columns: tuple[str, ...]) -> PanelFuture:
    """Read a panel's ``--future FILE``: the id column, a time column of dates and the known-future
    ``columns`` (other columns ignored); a date twice within a series is an error naming its lines."""
    from lstmcli.data.longformat import series_codes
    from lstmcli.errors import ConfigError

    table = read_table(path, parquet=True)
    if id_col not in table.columns:
        raise missing_col_error(table.path, id_col, table.columns, "id column")
    time = find_time(table, None)
    if time is None or time.kind != "dates" or time.name == id_col:
        raise ConfigError(f"--future {table.path}: give the dates of the forecast period in a time column")
    values = _known_columns(table, columns)
    matrix = np.column_stack(values) if values else np.empty((len(table.df), 0))
    codes, uniques = series_codes(table, id_col)
    stamps = np.asarray(time.keys, dtype="datetime64[ns]")
    out = {}
    order = np.argsort(codes, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)
    for rows, sid in zip(groups, map(str, uniques), strict=True):
        rows = rows[np.argsort(stamps[rows], kind="stable")]
        twice = np.flatnonzero(stamps[rows][1:] == stamps[rows][:-1])
        if len(twice):
            a, b = rows[twice[0]], rows[twice[0] + 1]
            raise DataError(
                f"{table.path}: series '{sid}' has {fmt_ts(stamps[a])} twice (lines {table.lines[a]} and "
                f"{table.lines[b]}); each date must appear once per series"
            )
        out[sid] = FutureValues(
            f"{table.path}, series '{sid}'", tuple(columns), matrix[rows], stamps[rows], table.lines[rows]
        )
    return PanelFuture(table.path, id_col, out)


def rows_for(future: FutureValues, expected: np.ndarray | None, need: int, last: str) -> np.ndarray:
    """(need, K) values for the ``need`` steps after the last observation (``last``, as text), whose
    dates are ``expected`` (None for a series without dates: the first ``need`` rows, in order). Dates
    that could be month/day or day/month are read the way that continues the series."""
    try:
        return _rows_for(future, expected, need, last)
    except DataError:
        if future.other is None or expected is None:
            raise
        try:
            return _rows_for(future.other, expected, need, last)
        except DataError:
            pass
        raise


def _rows_for(future: FutureValues, expected: np.ndarray | None, need: int, last: str) -> np.ndarray:
    label, names = future.label, future.names
    if expected is None or future.stamps is None:
        if len(future.values) < need:
            raise DataError(
                f"{label}: the forecast needs '{names[0]}' for {plural(need, 'step')} after {last}; the file "
                f"has {len(future.values)} rows"
            )
        at = np.arange(need)
    else:
        stamps = future.stamps
        # rows before the forecast period (a file of the history and the future, as darts takes its
        # future covariates) are not needed: the data file gave those
        early = np.flatnonzero((stamps >= expected[0]) & (stamps <= expected[-1]))
        at = np.searchsorted(expected, stamps[early])
        off = (at >= need) | (expected[np.minimum(at, need - 1)] != stamps[early])
        if off.any():
            k = early[np.flatnonzero(off)[0]]
            raise DataError(
                f"{label}: line {future.lines[k]} is dated {fmt_ts(stamps[k])}, which is not one of the steps "
                f"after the last observation ({last}) on the series' frequency; the dates must continue the series"
            )
        missing = np.setdiff1d(np.arange(need), at)
        if len(missing):
            raise DataError(
                f"{label}: no row for {fmt_ts(expected[missing[0]])}; the forecast needs '{names[0]}' for "
                f"{plural(need, 'step')} after {last} (to {fmt_ts(expected[-1])})"
            )
        at = early[np.argsort(at)]
    rows = np.asarray(future.values[at], dtype=np.float64)
    bad = np.argwhere(~np.isfinite(rows))
    if len(bad):
        k, c = (int(v) for v in bad[0])
        when = fmt_ts(expected[k]) if expected is not None else f"step {k + 1} after {last}"
        line = future.lines[at[k]]
        where = f" (line {line})" if line else " (a missing time step)"
        raise DataError(
            f"{label}: column '{names[c]}' has no value for {when}{where}, in the forecast period"
        )
    return rows
