"""The known-future side of a panel (``train --id-col --future-features``): each series' own values of
the columns known in advance, on its grid, and its forecast period, the trailing rows of the series
whose target is empty (``SeriesData.ahead``), exactly as ``loader.load_csv`` reads one series.

Nothing is filled past a series' last target: a trailing empty target is the forecast period when the
model takes inputs known in advance, else an error naming the first such series and date.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lstmcli.data.cells import check_numbers, numeric_column
from lstmcli.data.columns import check_input_column
from lstmcli.data.filling import fill_column
from lstmcli.data.series import SeriesData
from lstmcli.data.wording import fmt_list, fmt_ts, plural
from lstmcli.errors import ConfigError, DataError

__all__ = ["forecast_period_note", "future_columns", "rows_with_target", "with_known"]


def future_columns(
    table, future, id_col: str, target: str, time_name: str | None, static, notes: list[str]
) -> dict[str, np.ndarray]:
    """Each known-future column's numbers (file rows), checked: it exists, is neither the id, target,
    time nor a static column, and holds numbers (True / False as 1 / 0; how it was read in ``notes``)."""
    out = {}
    for name in dict.fromkeys(str(c).strip() for c in future if str(c).strip()):
        check_input_column(
            table, name, target, time_name, "--future-features", "known-future column",
            ", not an input known in advance",
        )  # fmt: skip
        if name == id_col or name in static:
            what = "the id column" if name == id_col else "a static feature"
            raise ConfigError(f"--future-features: column '{name}' is {what}, not an input known in advance")
        col = numeric_column(table, name, flags=True)
        check_numbers(table, name, col)
        if col.note:
            notes.append(col.note)
        out[name] = col.values
    return out


def rows_with_target(table, time, target_values, rows, sid: str, target: str, forecast_rows: bool) -> int:
    """How many leading (time-ordered) ``rows`` of series ``sid`` have a target; the trailing rows
    without one are its forecast period when ``forecast_rows``, else an error naming the series, the
    date (or line) of the first of them."""
    present = np.flatnonzero(~np.isnan(target_values[rows]))
    n_hist = int(present[-1]) + 1 if len(present) else 0
    if n_hist == len(rows) or n_hist == 0:  # (a series without any target is left out as mostly missing)
        return n_hist
    if not forecast_rows:
        first = rows[n_hist]
        where = f"line {table.lines[first]}"
        if time is not None and time.kind == "dates":
            where = f"{fmt_ts(time.keys[first])}, line {table.lines[first]}"
        n = len(rows) - n_hist
        raise DataError(
            f"{table.path}: series '{sid}' ends with {plural(n, 'row')} without a '{target}' value (from "
            f"{where}); the end of a series is never filled: remove those rows, or train with "
            "--future-features or --calendar to make them the forecast period"
        )
    return n_hist


def with_known(
    s: SeriesData, table, known: dict[str, np.ndarray], rows: np.ndarray, n_hist: int, pos: np.ndarray,
    G: int, timestamps: np.ndarray | None, fill: str, sid: str, fills: list[tuple[str, int]],
    filled_at: dict[str, np.ndarray] | None = None,
) -> SeriesData:  # fmt: skip
    """``s`` with its known-future columns on the rows of its values (filled as its target is, the
    count added to ``fills``, the positions to ``filled_at[sid]``) and its forecast period's values
    (``ahead``: NaN where a cell or a step is missing, never filled). ``rows``, ``pos``, ``G``,
    ``timestamps``: all its rows on its grid."""
    names = tuple(known)
    G_hist = len(s.values)
    hist, lines = rows[:n_hist], table.lines[rows]
    where = f"{table.path}, series '{sid}'"
    columns, filled = [], 0
    made = np.zeros(G_hist, dtype=bool)
    for name in names:
        cells = known[name][hist]
        filled += int(np.isnan(cells).sum()) + G_hist - n_hist
        columns.append(fill_column(name, cells, pos[:n_hist], G_hist, fill, lines[:n_hist], [], where))
        given = np.zeros(G_hist, dtype=bool)
        given[pos[:n_hist][~np.isnan(cells)]] = True
        made |= ~given
    if filled:
        fills.append((sid, filled))
        if filled_at is not None:
            filled_at[sid] = np.flatnonzero(made)
    ahead = ahead_ts = ahead_lines = None
    if n_hist < len(rows):
        at = pos[n_hist:] - G_hist
        ahead = np.full((G - G_hist, len(names)), np.nan)
        for k, name in enumerate(names):
            ahead[at, k] = known[name][rows[n_hist:]]
        ahead_lines = np.zeros(G - G_hist, dtype=np.int64)
        ahead_lines[at] = lines[n_hist:]
        if timestamps is not None:
            ahead_ts = np.asarray(timestamps[G_hist:G], dtype="datetime64[ns]")
    return replace(
        s, future_features=np.ascontiguousarray(np.column_stack(columns), dtype=np.float64) if columns else None,
        future_feature_names=names, ahead=ahead, ahead_timestamps=ahead_ts, ahead_lines=ahead_lines,
    )  # fmt: skip


def forecast_period_note(ahead: list[tuple[str, SeriesData]], target: str) -> str:
    """One sentence for every series whose last rows have no target (its forecast period)."""
    ids = [sid for sid, _ in ahead]
    sid, s = ahead[0]
    first = fmt_ts(s.ahead_timestamps[0]) if s.ahead_timestamps is not None else f"line {s.ahead_lines[0]}"
    return (
        f"The last rows of {plural(len(ids), 'series', 'series')} ({fmt_list(ids, 3)}; '{sid}' from {first}) "
        f"have no '{target}' value: they are the forecast period, not filled and not trained on."
    )
