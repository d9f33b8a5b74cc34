"""The regular grid a series' time stamps lie on: inferred from the dates (gaps allowed) or checked
against an explicit ``--freq``, and the positions of the rows on it; evenly spaced numeric steps
likewise.

Missing steps are added to the grid (and noted) rather than ignored, so the network sees equal
spacing; the filling of their values is left to :mod:`lstmcli.data.filling`.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from pandas.tseries.frequencies import to_offset

from lstmcli.data.filling import FILL_WORDS
from lstmcli.data.frequency import LEGACY_ALIASES, MONTHS, WEEKDAYS, describe_freq, offset_base, parse_offset
from lstmcli.data.wording import fmt_list, fmt_ts, plural
from lstmcli.errors import DataError


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
            cands.append(to_offset(f"W-{WEEKDAYS[idx.day_of_week[0]]}"))
    midnight = bool((tod == pd.Timedelta(0)).all())
    if midnight:
        m0 = MONTHS[idx.month[0] - 1]
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


def _explicit_offset(
    freq: str, ts: np.ndarray, path: str, time_name: str, lines_sorted: np.ndarray, hint: str | None = None
):
    """The user's --freq, adapted to the data where the alias allows (legacy "M", unanchored "QS"); a
    date off it is an error ending with ``hint`` (default: check --freq)."""
    text = freq.strip()
    off = parse_offset(text)
    m = re.fullmatch(r"(\d*)\s*([A-Za-z]+)", text)
    variants = [off]
    if m:
        mult, base = m.group(1), m.group(2)
        bases = LEGACY_ALIASES.get(base, (base,))
        first = pd.Timestamp(ts[0])
        variants = []
        for b in bases:
            spelled = f"{mult}{b}"
            if b in ("QS", "QE", "YS", "YE", "BQS", "BQE", "BYS", "BYE"):
                spelled += f"-{MONTHS[first.month - 1]}"
            elif b == "W":
                spelled += f"-{WEEKDAYS[first.day_of_week]}"
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
    grid = f"{describe_freq(v.freqstr)} grid" + (f" that starts at {fmt_ts(ts[0])}" if bad_k else "")
    raise DataError(
        f"{path} line {lines_sorted[bad_k]}, column '{time_name}': {fmt_ts(ts[bad_k])} is not on the {grid}; "
        + (hint or f"check --freq {freq}")
    )


def date_grid(p, time, ts, lines, freq, fill, target_nan, target, notes, freq_given="as given by --freq"):
    """Frequency and grid positions of sorted dates; returns (pos, G, timestamps, freq alias).
    ``freq_given`` says where a given ``freq`` came from, in its note ("the model's" for newer data)."""
    n = len(ts)
    if freq is not None:
        hint = None if "--freq" in freq_given else f"new data must follow the frequency of the model ({freq})"
        off, (pos, G) = _explicit_offset(freq, ts, p, time.name, lines, hint)
        notes.append(f"Frequency {describe_freq(off.freqstr)}, {freq_given}.")
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
        notes.append(f"Frequency {describe_freq(off.freqstr)}, inferred from the dates.")
    alias = off.freqstr
    if G == n:
        return pos, G, ts, alias
    # Check the missing share before building a grid that may be huge (e.g. one far-off date).
    missing = G - n + target_nan
    if missing * 2 > G:
        raise DataError(
            f"{p}: column '{target}' has {missing} of {G} values missing ({plural(target_nan, 'empty cell')}, "
            f"{plural(G - n, 'missing time step')} for frequency {alias}); at most half may be missing"
        )
    full = pd.date_range(pd.Timestamp(ts[0]), periods=G, freq=off).to_numpy().astype("datetime64[ns]")
    gap = np.ones(G, dtype=bool)
    gap[pos] = False
    why = " (holidays are business days without data)" if offset_base(off) == "B" else ""
    closed = closed_weekdays(full, pos) if offset_base(off) == "D" else []
    notes.append(
        f"Added {plural(G - n, 'missing time step')} for frequency {alias}{why}: "
        f"{fmt_list([fmt_ts(t) for t in full[gap]], 3)}; values filled {FILL_WORDS[fill]}."
        + (f" {closed_note(closed)}" if closed else "")
    )
    return pos, G, full, alias


CLOSED_WEEKS = 4  # a weekday missing this many weeks running, never seen: the data's days, not gaps


def closed_weekdays(grid: np.ndarray, pos: np.ndarray) -> list[str]:
    """The weekdays a daily series never has a row on, over ``CLOSED_WEEKS`` weeks at least (a shop
    closed on Sundays): its missing steps are those days, filled and forecast like the others."""
    days = pd.DatetimeIndex(grid).day_of_week.to_numpy()
    seen = np.zeros(len(grid), dtype=bool)
    seen[pos] = True
    names = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
    return [names[d] for d in range(7) if (days == d).sum() >= CLOSED_WEEKS and not seen[days == d].any()]


def closed_note(days: list[str], where: str = "") -> str:
    """What filling every one of those weekdays means (of the series ``where`` names), and the way out
    where pandas has one."""
    weekend = set(days) == {"Saturday", "Sunday"}
    return (
        f"No {' and no '.join(days)} has a row{where} (closed then?): those days are filled and forecast "
        + ("like the others; --freq B reads the weekdays alone." if weekend else "like the others.")
    )


def step_grid(time, ks, fill, notes):
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
            added = np.setdiff1d(np.arange(G), pos) * step + ks[0]
            notes.append(
                f"Added {plural(G - n, 'missing step')} in column '{time.name}' (spaced {step:g}): "
                f"{fmt_list([f'{v:g}' for v in added], 3)}; values filled {FILL_WORDS[fill]}."
            )
        return pos, G
    notes.append(f"Column '{time.name}' is not evenly spaced; rows are used as consecutive steps.")
    return np.arange(n), n
