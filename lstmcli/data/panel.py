"""Read a panel: many series in one long CSV (an id column, a time column, the target), for one model
across all of them (``train --id-col``).

Each series keeps its own dates, length and start; the panel has one frequency, inferred from the
dates of its longest series unless ``freq`` is given, and every series must lie on it. Within a series
the single-series rules apply (``grid``, ``filling``): missing steps are added and filled, at most half
of a series may be filled; rows before a series' first value (a file with a row for every date of
every series) are not part of it. A series that cannot be learned from (constant, mostly missing, of
another frequency, too short) is left out and listed in ``Panel.skipped``, for one summary note rather
than a note per series.

The series are sorted by id, so the order of the rows in the file never changes a model.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from lstmcli.data.cells import check_numbers, looks_numeric, missing_mask, numeric_column
from lstmcli.data.csvfile import read_table
from lstmcli.data.filling import FILL_METHODS, FILL_WORDS, fill_column
from lstmcli.data.frequency import describe_freq, offset_base, parse_offset
from lstmcli.data.grid import _explicit_offset, _infer_offset, closed_note, closed_weekdays, step_grid
from lstmcli.data.longformat import late_start_note, long_columns, series_codes
from lstmcli.data.panel_known import forecast_period_note, future_columns, rows_with_target, with_known
from lstmcli.data.series import Panel, SeriesData
from lstmcli.data.wording import fmt_lines, fmt_list, fmt_ts, missing_col_error, plural, show
from lstmcli.errors import ConfigError, DataError

__all__ = ["gapped_series", "load_panel", "missing_scored_date", "panel_frequency", "skipped_note"]

MIN_LENGTH = 3  # a series needs this many values to be read at all (the forecaster asks for more)
FREQ_SAMPLE = 20  # the panel's frequency is the one most of its longest series show


def load_panel(
    path,
    *,
    id_col: str,
    target: str | None = None,
    time_col: str | None = None,
    freq: str | None = None,
    fill: str = "linear",
    static: tuple[str, ...] = (),
    future: tuple[str, ...] = (),
    forecast_rows: bool = False,
    freq_given: str = "as given by --freq",
    static_if_present: bool = False,
) -> Panel:
    """Load the series of a long CSV (``id_col``, a time column, ``target``) as a :class:`Panel`.

    Raises ``DataError`` for anything wrong with the file (a repeated time within a series, a date off
    the panel's frequency, a bad cell) and ``ConfigError`` for invalid options; series that are only
    unusable are skipped, not errors, unless none is left. ``static`` names columns constant within
    each series (static features): their value per kept series is ``Panel.static``; a value that
    changes within a series, or a missing one, is a ``DataError`` naming the series and the column
    (``static_if_present``: those of them the file has; a model's, read from a newer file).
    ``future`` names the columns known in advance (``--future-features``), each series' own values per
    date (``SeriesData.future_features``). Trailing rows of a series whose target is empty are its
    forecast period (``SeriesData.ahead``) when ``forecast_rows``, else an error naming the first such
    series and date: the end of a series is never filled.
    """
    if fill not in FILL_METHODS:
        raise ConfigError(f"--fill {fill!r} is not valid; choose one of: {', '.join(FILL_METHODS)}")
    if freq is not None:
        parse_offset(freq)
    table = read_table(path, parquet=True)
    p = table.path
    if static_if_present:  # (a model's static columns, read from a newer file that may not hold them)
        static = tuple(name for name in static if name in table.columns)
    for name in static:
        if name not in table.columns:
            raise missing_col_error(p, name, table.columns, "static feature column")
        if name in (id_col, target, time_col):
            raise ConfigError(f"--static-features '{name}' is also the id, target or time column")
    chosen = target is None
    target, time, _ = long_columns(table, id_col, target, time_col, None, tuple(static), inputs=tuple(future))
    col = numeric_column(table, target)
    check_numbers(table, target, col)
    read: list[str] = [col.note] if col.note else []  # (thousands separators, decimal commas, flags)
    known = future_columns(table, future, id_col, target, time.name if time else None, static, read)
    codes, uniques = series_codes(table, id_col)
    notes: list[str] = []
    if time is None:
        notes.append(f"{p} has no time column; the rows of each series are consecutive steps in file order.")
    else:
        notes.extend(n for n in time.notes if not n.startswith("Used column"))
        notes.append(f"Used column '{time.name}' as the time column and '{id_col}' as the series id.")
    notes.extend(read)
    unused = [
        c
        for c in table.columns
        if c not in {id_col, target, *static, *known} and c != getattr(time, "name", None)
    ]
    numeric = [c for c in unused if looks_numeric(table, c)]
    if chosen and numeric:  # the values column was taken by its name, 'value', among other numbers
        verb = "holds" if len(numeric) == 1 else "hold"
        notes.append(
            f"Forecasting column '{target}' (by its name); --target picks another "
            f"({fmt_list([repr(c) for c in numeric], 3)} also {verb} numbers)."
        )
    if unused:
        notes.append(_ignored_note(unused))

    # rows of each series, in file order; the series sorted by id
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    groups = {str(uniques[codes[order[a]]]): order[a:b] for a, b in zip(
        np.concatenate([[0], bounds]), np.concatenate([bounds, [len(order)]]), strict=True)}  # fmt: skip
    rows_by_id = {sid: _time_order(table, time, groups[sid], sid) for sid in sorted(groups)}

    alias = None
    if time is not None and time.kind == "dates":
        alias = freq if freq is not None else _panel_freq([time.keys[r] for r in rows_by_id.values()])
        if alias is None:
            notes.append(
                f"Could not find a regular frequency in column '{time.name}'; rows are used as consecutive "
                "steps and forecasts cannot be dated; pass --freq to set one."
            )
        else:
            how = freq_given if freq is not None else "inferred from the dates"
            notes.append(f"Frequency {describe_freq(parse_offset(alias).freqstr)}, {how}.")

    shared = None
    if alias is not None:  # one grid for the whole panel: a date_range per series costs ~1 ms each
        shared = _SharedGrid.build(alias, time.keys, rows_by_id, p, time.name, table.lines)
    kept: list[SeriesData] = []
    skipped: list[tuple[str, str]] = []
    filled_values, filled_series = 0, []  # (the series ids, for the note)
    ahead_series: list[tuple[str, SeriesData]] = []
    fills: list[tuple[str, int]] = []  # (series, cells of its known-future columns filled)
    late_starts: list[tuple[str, int]] = []  # (series, leading rows without a target, left out)
    closed: dict[tuple[str, ...], list[str]] = {}  # weekdays a daily series never has -> those series
    filled_at: dict[str, np.ndarray] = {}  # id -> positions of its values that were filled
    known_filled: dict[str, np.ndarray] = {}  # id -> positions where a known-future cell was filled
    daily = alias is not None and offset_base(parse_offset(alias)) == "D"  # (closed weekdays are looked for)
    for sid, all_rows in rows_by_id.items():
        present = np.flatnonzero(~np.isnan(col.values[all_rows]))
        if len(present) and present[0] > 0:  # a dense export: empty before the series began, not missing
            late_starts.append((sid, int(present[0])))
            all_rows = all_rows[present[0] :]
        rows = all_rows
        n_hist = rows_with_target(table, time, col.values, all_rows, sid, target, forecast_rows)
        timestamps, out_freq = None, None
        if time is None:
            pos, G = np.arange(len(rows)), len(rows)
        elif time.kind == "steps":
            pos, G = step_grid(time, time.keys[rows], fill, [])
        elif alias is None:
            pos, G, timestamps = np.arange(len(rows)), len(rows), time.keys[rows]
        elif shared is not None and (on := shared.place(time.keys[rows])) is not None:
            pos, G, timestamps = on
            out_freq = shared.freqstr
        else:
            hint = (
                None
                if freq is not None
                else f"series {sid!r} does not follow the frequency of the other series"
            )
            off, (pos, G) = _explicit_offset(alias, time.keys[rows], p, time.name, table.lines[rows], hint)
            out_freq = off.freqstr
            timestamps = _dates(time.keys[rows][0], G, off)
        if n_hist < 1:
            skipped.append((sid, "mostly missing"))
            continue
        full_pos, full_G, full_ts = pos, G, timestamps
        rows, pos = all_rows[:n_hist], pos[:n_hist]
        G = int(pos[-1]) + 1
        timestamps = None if timestamps is None else timestamps[:G]
        raw = col.values[rows]
        missing = G - len(rows) + int(np.isnan(raw).sum())
        if missing * 2 > G or G - missing < 2:  # (a series of one value is short, not missing)
            skipped.append((sid, _why_missing(pos) if missing * 2 > G else "too short"))
            continue
        y = fill_column(target, raw, pos, G, fill, table.lines[rows], [], p)
        if missing:
            filled_values += missing
            filled_series.append(sid)
            made = np.ones(G, dtype=bool)
            made[pos[~np.isnan(raw)]] = False
            filled_at[sid] = np.flatnonzero(made)
            if daily and timestamps is not None:
                closed.setdefault(tuple(closed_weekdays(timestamps, pos)), []).append(sid)
        if G < MIN_LENGTH:
            skipped.append((sid, "too short"))
        elif float(np.ptp(y)) == 0.0:
            skipped.append((sid, "constant"))
        else:
            s = _series(p, target, y, time.name if time else None, timestamps, out_freq)
            if known or n_hist < len(all_rows):
                s = with_known(
                    s, table, known, all_rows, n_hist, full_pos, full_G, full_ts, fill, sid, fills, known_filled
                )  # fmt: skip
            if s.ahead is not None:
                ahead_series.append((sid, s))
            kept.append(s)
    if late_starts:
        notes.append(late_start_note(late_starts, target))
    if fills:
        notes.append(
            f"Filled {plural(sum(n for _, n in fills), 'missing value')} of the known-future columns in "
            f"{plural(len(fills), 'series', 'series')} ({fmt_list([sid for sid, _ in fills], 3)}) {FILL_WORDS[fill]}."
        )
    if ahead_series:
        notes.append(forecast_period_note(ahead_series, target))
    if filled_values:
        where = f"{plural(len(filled_series), 'series', 'series')} ({fmt_list(filled_series, 3)})"
        notes.append(f"Filled {plural(filled_values, 'missing value')} in {where} {FILL_WORDS[fill]}.")
    for days, sids in closed.items():
        if days:
            where = f"{plural(len(sids), 'series', 'series')} ({fmt_list(sids, 3)})"
            notes.append(closed_note(list(days), f" in {where}"))
    if not kept:
        raise DataError(f"{p}: no series left to learn from ({skipped_note(skipped)})")
    left_out = dict(skipped)
    ids = tuple(sid for sid in rows_by_id if sid not in left_out)
    values = {c: _static_column(table, c, {sid: rows_by_id[sid] for sid in ids}) for c in static}
    filled_at = {sid: at for sid, at in filled_at.items() if sid in ids}
    known_filled = {sid: at for sid, at in known_filled.items() if sid in ids}
    return Panel(
        p, id_col, ids, tuple(kept), kept[0].freq, tuple(skipped), tuple(notes), values, filled_at, known_filled
    )  # fmt: skip


def _ignored_note(columns: list[str]) -> str:
    """The note for the columns a panel does not read (say the M3/M4 files' ``split``: every row of a
    series, whatever it says, is part of the series)."""
    return (
        f"Ignored {'column' if len(columns) == 1 else 'columns'} {fmt_list([repr(c) for c in columns], 5)}."
    )


def _static_column(table, name: str, rows_by_id: dict[str, np.ndarray]) -> np.ndarray:
    """The value of a static feature column for each series: (S,) float64 when every cell is a number,
    else (S,) str; a missing cell or a value that changes within a series is a one-line error."""
    p = table.path
    cells = table.df[name].to_numpy(dtype=str)
    absent = missing_mask(table.df[name])
    numeric = looks_numeric(table, name)
    numbers = numeric_column(table, name).values if numeric else None
    out = []
    for sid, rows in rows_by_id.items():
        gone = rows[absent[rows]]
        if gone.size:
            raise DataError(
                f"{p} line {table.lines[gone[0]]}, column '{name}': the static feature of series '{sid}' is "
                "missing; give it on every row"
            )
        v = numbers[rows] if numeric else cells[rows]
        other = np.flatnonzero(v != v[0])
        if other.size:
            a, b = rows[0], rows[other[0]]
            raise DataError(
                f"{p}: column '{name}' changes within series '{sid}' ({show(cells[a])} on line "
                f"{table.lines[a]}, {show(cells[b])} on line {table.lines[b]}); a static feature must be "
                "constant within each series"
            )
        out.append(v[0])
    return np.asarray(out, dtype=np.float64 if numeric else str)


def panel_frequency(
    path, *, id_col: str, target: str | None = None, time_col: str | None = None
) -> str | None:
    """The frequency ``load_panel`` would infer for a long file: None when its time column holds no
    dates (or it has none), or its dates have no regular frequency."""
    table = read_table(path, parquet=True)
    _, time, _ = long_columns(table, id_col, target, time_col, None)
    if time is None or time.kind != "dates":
        return None
    codes, _ = series_codes(table, id_col)
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    return _panel_freq([np.sort(time.keys[rows]) for rows in np.split(order, bounds)])


def gapped_series(series, alias: str) -> list[str]:
    """The ids of ``load_long_csv``'s series whose dates miss steps of the frequency ``alias``: their rows,
    taken as consecutive steps, would shift what follows a gap (``load_panel`` fills gaps instead)."""
    import pandas as pd

    off = parse_offset(alias)
    dated = [s for s in series if s.times is not None and len(s.times) > 1 and s.times.dtype.kind == "M"]
    if not dated:
        return []
    if isinstance(off, pd.offsets.Tick):  # evenly spaced: arithmetic
        step = np.timedelta64(pd.Timedelta(off).value, "ns")
        return [s.series_id for s in dated if int((s.times[-1] - s.times[0]) // step) + 1 > len(s.times)]
    # one calendar grid for the panel (as load_panel builds one): a series' expected count is the span
    # of its first and last dates on it; a series off the grid counts its own
    lo = min(s.times[0] for s in dated)
    grid = pd.date_range(off.rollback(pd.Timestamp(lo)), max(s.times[-1] for s in dated), freq=off)
    grid = grid.to_numpy().astype("datetime64[ns]")
    out = []
    for s in dated:
        ends = np.searchsorted(grid, s.times[[0, -1]].astype("datetime64[ns]"))
        on_grid = ends[1] < len(grid) and (grid[ends] == s.times[[0, -1]]).all()
        if on_grid:
            expected = int(ends[1] - ends[0]) + 1
        else:
            expected = len(pd.date_range(pd.Timestamp(s.times[0]), pd.Timestamp(s.times[-1]), freq=off))
        if expected > len(s.times):
            out.append(s.series_id)
    return out


def _why_missing(pos: np.ndarray) -> str:
    """Why a series has more steps missing than values: a row every k steps of the panel's grid is data of
    another frequency (weekly rows in a daily panel, daily ones read with --freq h), not gaps."""
    steps, counts = np.unique(np.diff(pos), return_counts=True)
    k = int(np.argmax(counts)) if len(steps) else 0
    regular = len(steps) and steps[k] > 1 and counts[k] >= 3 and counts[k] * 4 >= 3 * counts.sum()
    return f"with a row only every {steps[k]} steps, of another frequency" if regular else "mostly missing"


def off_frequency(series, alias: str) -> str | None:
    """The first of ``load_long_csv``'s series with a date off the grid of the frequency ``alias`` (a
    daily series in a monthly panel), or None: its steps are not the panel's steps."""
    import pandas as pd

    off = parse_offset(alias)
    for s in series:
        if s.times is None or len(s.times) < 2 or s.times.dtype.kind != "M":
            continue
        times = s.times.astype("datetime64[ns]")
        grid = pd.date_range(pd.Timestamp(times[0]), pd.Timestamp(times[-1]), freq=off)
        if not np.isin(times, grid.to_numpy().astype("datetime64[ns]")).all():
            return str(s.series_id)
    return None


def check_scored_rows(series, alias: str | None, scored: int, path: str) -> list[str]:
    """What a backtest of ``load_long_csv``'s series must refuse or say before it scores their last
    ``scored`` rows, taken as consecutive steps: a series off the panel's frequency (an error), a date
    or a numbered step missing among the scored rows or their origin (an error: a forecast step would be
    scored against a later one), and dates missing before them (a note, returned)."""
    if alias is not None and (odd := off_frequency(series, alias)) is not None:
        raise DataError(
            f"{path}: series {odd!r} does not follow the frequency of the other series ({alias}); backtest "
            "a panel of one frequency"
        )
    gapped = gapped_series(series, alias) if alias else []
    for s in series:
        numbered = s.times is not None and s.times.dtype.kind in "iuf"
        gone = missing_scored_date(s.times, alias, scored) if numbered or s.series_id in gapped else None
        if gone is not None:
            raise DataError(
                f"{path}: series {s.series_id!r} has no row for {gone}, among the {scored} steps backtest "
                "scores: a forecast step would be scored against a later one; add that row with its value "
                "(backtest --id-col fills nothing)"
            )
    if not gapped:
        return []
    return [
        f"{len(gapped)} of {len(series)} series miss dates of the {alias} grid ({fmt_list(gapped, 3)}): "
        "backtest --id-col takes each series' rows as consecutive steps; fill the gaps in the file (train "
        "and predict fill them by --fill)."
    ]


def missing_scored_date(times: np.ndarray, alias: str | None, scored: int) -> str | None:
    """The first date of the frequency ``alias`` missing among a series' last ``scored`` rows and the
    row before them (its forecast origin), or None: a backtest taking rows as consecutive steps would
    score a forecast step against a later date. Numbered steps: the first step missing from the spacing
    most of the series keeps. As text for a message ("2014-11-01", "step 58")."""
    import pandas as pd

    if times is None or len(times) <= scored:
        return None
    if times.dtype.kind in "iuf":  # numbered steps: the spacing most rows keep
        spacing, counts = np.unique(np.diff(times), return_counts=True)
        step = spacing[np.argmax(counts)]
        tail = times[-scored - 1 :]
        wide = np.flatnonzero(np.diff(tail) != step)
        return f"step {tail[wide[0]] + step:g}" if wide.size else None
    if times.dtype.kind != "M":
        return None
    tail = times[-scored - 1 :].astype("datetime64[ns]")
    grid = pd.date_range(pd.Timestamp(tail[0]), pd.Timestamp(tail[-1]), freq=parse_offset(alias))
    gone = np.setdiff1d(grid.to_numpy().astype("datetime64[ns]"), tail)
    return fmt_ts(gone[0]) if gone.size else None


def skipped_note(skipped, lead: str = "Skipped") -> str:
    """One sentence for every series left out, by reason, with the first few ids of each (``lead`` 3
    series: 2 constant (a, b); 1 too short (c).)"""
    by_reason: dict[str, list[str]] = {}
    for sid, reason in skipped:
        by_reason.setdefault(reason, []).append(sid)
    parts = [f"{len(ids)} {reason} ({fmt_list(ids, 3)})" for reason, ids in by_reason.items()]
    return f"{lead} {plural(len(skipped), 'series', 'series')}: {'; '.join(parts)}."


def _time_order(table, time, rows: np.ndarray, sid: str) -> np.ndarray:
    """The rows of one series in time order (file order without a time column); a repeated time is an
    error naming its lines."""
    if time is None:
        return rows
    keys = time.keys[rows].astype(np.int64) if time.kind == "dates" else time.keys[rows]
    rows = rows[np.argsort(keys, kind="stable")]
    ks = np.sort(keys, kind="stable")
    dup = np.flatnonzero(ks[1:] == ks[:-1])
    if dup.size:
        lines = sorted(table.lines[rows[dup[0] : dup[0] + 2]])
        raise DataError(
            f"{table.path}: series '{sid}' has the same {time.name} on {fmt_lines(lines)}; "
            "each time must appear once per series"
        )
    return rows


def _panel_freq(dates: list[np.ndarray]) -> str | None:
    """The frequency most of the longest series show (each inferred as a single series' would be)."""
    longest = sorted(dates, key=len, reverse=True)[:FREQ_SAMPLE]
    found = Counter()
    for ts in longest:
        if len(ts) >= 3:
            off, _ = _infer_offset(ts)
            if off is not None:
                found[off.freqstr] += 1
    return found.most_common(1)[0][0] if found else None


class _SharedGrid:
    """Every date of the panel's calendar grid from its first date to its last, built once: a series
    whose dates all lie on it is placed by a binary search. A series off it (another anchor) takes the
    per-series path (``_explicit_offset``), which gives the same result or the error naming its line."""

    def __init__(self, grid: np.ndarray, freqstr: str) -> None:
        self.grid, self.freqstr = grid, freqstr  # int64 ns, sorted

    @classmethod
    def build(cls, alias, keys, rows_by_id, p, time_name, lines) -> _SharedGrid | None:
        import pandas as pd

        first_rows = next(iter(rows_by_id.values()))
        off, _ = _explicit_offset(alias, keys[first_rows], p, time_name, lines[first_rows])
        if isinstance(off, pd.offsets.Tick):
            return None  # (evenly spaced: the per-series path is arithmetic already)
        ns = keys.astype("datetime64[ns]").astype(np.int64)
        lo, hi = pd.Timestamp(int(ns.min())), pd.Timestamp(int(ns.max()))
        try:
            start = off.rollback(lo)
            step = (start + off) - start
            # a grid far larger than the rows (one stray far-off date) is not worth building
            if (hi - start) / max(step, pd.Timedelta(1)) > 4 * len(keys) + 1000:
                return None
            grid = pd.date_range(start, hi, freq=off).to_numpy().astype("datetime64[ns]").astype(np.int64)
        except (ValueError, OverflowError, pd.errors.OutOfBoundsDatetime):
            return None
        return cls(grid, off.freqstr)

    def place(self, ts: np.ndarray) -> tuple[np.ndarray, int, np.ndarray] | None:
        """(positions, grid length, dates) of sorted unique ``ts`` on the grid, or None if off it."""
        ti = ts.astype("datetime64[ns]").astype(np.int64)
        at = np.searchsorted(self.grid, ti)
        if (at >= len(self.grid)).any() or (self.grid[np.minimum(at, len(self.grid) - 1)] != ti).any():
            return None
        pos = (at - at[0]).astype(np.int64)
        G = int(pos[-1]) + 1
        return pos, G, self.grid[at[0] : at[0] + G].astype("datetime64[ns]")


def _dates(first, G: int, off) -> np.ndarray:
    import pandas as pd

    return pd.date_range(pd.Timestamp(first), periods=G, freq=off).to_numpy().astype("datetime64[ns]")


def _series(p, target, y, time_col, timestamps, freq) -> SeriesData:
    return SeriesData(
        path=p,
        target=target,
        values=np.ascontiguousarray(y, dtype=np.float64),
        features=np.empty((len(y), 0), dtype=np.float64),
        feature_names=(),
        time_col=time_col,
        timestamps=timestamps,
        freq=freq,
        notes=(),
    )
