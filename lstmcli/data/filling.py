"""Filling empty cells and missing time steps, and saying so in a note.

At most half of a column may be invented: beyond that the forecast would learn the filling method,
not the data.
"""

from __future__ import annotations

import numpy as np

from lstmcli.data.wording import fmt_lines, plural
from lstmcli.errors import DataError

#: Valid values of the ``fill`` argument (``--fill``).
FILL_METHODS = ("linear", "ffill", "zero")


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


FILL_WORDS = {
    "linear": "by linear interpolation",
    "ffill": "by repeating the previous value",
    "zero": "with zeros",
}


def fill_column(name, col_sorted, pos, G, method, lines_sorted, notes, path):
    """Place a column on the grid, check the missing share, fill, and note what happened."""
    y = np.full(G, np.nan)
    y[pos] = col_sorted
    n_cells = int(np.isnan(col_sorted).sum())
    n_gaps = G - len(pos)
    missing = n_cells + n_gaps
    if missing * 2 > G:
        parts = [plural(n_cells, "empty cell")]
        if n_gaps:
            parts.append(plural(n_gaps, "missing time step"))
        raise DataError(
            f"{path}: column '{name}' has {missing} of {G} values missing ({', '.join(parts)}); "
            "at most half may be missing"
        )
    filled, lead, trail = _fill(y, method)
    if n_cells:
        empty = np.isnan(col_sorted)
        at = np.asarray(pos)[empty]  # grid positions of the empty cells
        # each empty cell is counted once, under the rule that filled it: an interior cell by the method,
        # a leading one by back-fill, a trailing one (linear) by repeating the last value
        said = np.ones(len(at), dtype=bool)
        if method != "zero":
            said &= at >= lead
        if method == "linear":
            said &= at < G - trail
        if said.any():
            bad_lines = lines_sorted[empty][said]
            notes.append(
                f"Filled {plural(int(said.sum()), 'empty cell')} of column '{name}' "
                f"({fmt_lines(sorted(bad_lines), 3)}) {FILL_WORDS[method]}."
            )
    if method != "zero":
        if lead:
            notes.append(
                f"The first {plural(lead, 'value')} of column '{name}' were missing and took the first "
                "available value (back-fill)."
            )
        if trail and method == "linear":
            notes.append(
                f"The last {plural(trail, 'value')} of column '{name}' were missing and repeat the last "
                "available value."
            )
    return filled
