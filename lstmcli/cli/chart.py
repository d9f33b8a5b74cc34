"""The terminal chart of ``predict``: history, forecast and interval in the width of the terminal.

Long series are compressed, not wrapped: the history and the forecast each get a share of the columns
in proportion to their lengths (the forecast at least a third when it is that long), and a column
that stands for several points shows their mean (the interval: their widest extent). The y axis has a
few round values, the x axis the dates (or step numbers) where the series starts, where the forecast
starts and where it ends, and the legend names every glyph. Only Text and styles are built here, never
markup, so no date or number can be read as a tag.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from rich.text import Text

HISTORY = ("•", "blue")
FORECAST = ("●", "bold magenta")
BAND = ("·", "magenta dim")
SPLIT = ("┊", "dim")
MAX_COLUMNS = 100  # wider terminals get a chart of at most this many columns: points, not stretch


def forecast_chart(
    history: np.ndarray,
    forecast: np.ndarray,
    *,
    width: int = 80,
    height: int = 12,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
    labels: Sequence[str] | None = None,
    level: float | None = None,
) -> Text:
    """The chart as Rich Text no wider than ``width`` columns.

    ``labels``: one per point of history then forecast (dates, or None for step numbers 1..n);
    ``lower``/``upper``: the forecast's interval at ``level`` percent.
    """
    history = np.asarray(history, dtype=np.float64)
    forecast = np.asarray(forecast, dtype=np.float64)
    has_band = lower is not None and upper is not None
    lo_band = np.asarray(lower, dtype=np.float64) if has_band else forecast
    hi_band = np.asarray(upper, dtype=np.float64) if has_band else forecast
    n_h, n_f = len(history), len(forecast)
    n = n_h + n_f
    labels = list(labels) if labels is not None else [str(k + 1) for k in range(n)]
    labels = _short_dates(labels)

    lo = float(min(history.min(initial=np.inf), forecast.min(), lo_band.min()))
    hi = float(max(history.max(initial=-np.inf), forecast.max(), hi_band.max()))
    if hi - lo < 1e-12:
        hi, lo = hi + 1.0, lo - 1.0
    ticks = _nice_ticks(lo, hi)
    tick_text = _tick_texts(ticks)
    label_w = max(len(t) for t in tick_text)

    cols = max(8, min(MAX_COLUMNS, width - label_w - 2, n))
    f_cols = min(n_f, max(round(cols * n_f / n), min(n_f, cols // 3)))
    h_cols = cols - f_cols
    if n_h and h_cols < 1:
        h_cols, f_cols = 1, cols - 1
    h_buckets = _buckets(n_h, h_cols)
    f_buckets = _buckets(n_f, f_cols)

    def row_of(v: float) -> int:
        return int(round((hi - v) / (hi - lo) * (height - 1)))

    grid = [[(" ", "")] * cols for _ in range(height)]
    first_point: list[int] = []  # per column, the index of its first point (for the x labels)
    for c, idx in enumerate(h_buckets):
        grid[row_of(float(history[idx].mean()))][c] = HISTORY
        first_point.append(int(idx[0]))
    for j, idx in enumerate(f_buckets):
        c = h_cols + j
        if has_band:
            for r in range(row_of(float(hi_band[idx].max())), row_of(float(lo_band[idx].min())) + 1):
                grid[r][c] = BAND
        grid[row_of(float(forecast[idx].mean()))][c] = FORECAST
        first_point.append(n_h + int(idx[0]))

    tick_rows: dict[int, str] = {}
    for t, label in zip(ticks, tick_text, strict=True):
        tick_rows.setdefault(row_of(t), label)
    text = Text()
    for r in range(height):
        text.append(tick_rows.get(r, "").rjust(label_w) + " ┤" if r in tick_rows else " " * label_w + " │")
        for c in range(cols):
            glyph, style = grid[r][c]
            if c == h_cols and glyph == " " and n_h:
                glyph, style = SPLIT
            text.append(glyph, style=style or None)
        text.append("\n")
    text.append(" " * label_w + " └" + "─" * cols + "\n")
    text.append(_x_axis(labels, first_point, h_cols if n_h else None, cols, label_w + 2, width) + "\n")
    text.append_text(_legend(level if has_band else None, n_h > 0, width))
    return text


def _buckets(n: int, cols: int) -> list[np.ndarray]:
    """``n`` consecutive points in ``cols`` groups (one point per group when they fit)."""
    if n == 0 or cols <= 0:
        return []
    cols = min(cols, n)
    edges = np.linspace(0, n, cols + 1).round().astype(int)
    return [np.arange(edges[k], edges[k + 1]) for k in range(cols)]


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """About ``count`` round values (steps of 1, 2, 2.5 or 5 times a power of ten) inside [lo, hi]."""
    raw = (hi - lo) / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    while first + len(ticks) * step <= hi + 1e-9 * step:
        ticks.append(first + len(ticks) * step)
    return ticks or [lo]


def _tick_texts(ticks: list[float]) -> list[str]:
    """The ticks with as many decimals as their step needs (20 -> 0, 2.5 -> 1, 0.25 -> 2)."""
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = 0
    while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-6 * step * 10**decimals:
        decimals += 1
    if max(abs(t) for t in ticks) >= 1e7:
        return [f"{t:.3g}" for t in ticks]
    return [f"{t:.{decimals}f}" for t in ticks]


def _short_dates(labels: list[str]) -> list[str]:
    """Month-start dates read better as 2023-03 than 2023-03-01; year starts as 2023."""
    if labels and all(len(s) == 10 and s[4] == "-" and s[7] == "-" and s.endswith("-01") for s in labels):
        if all(s[5:7] == "01" for s in labels):
            return [s[:4] for s in labels]
        return [s[:7] for s in labels]
    return labels


def _x_axis(
    labels: list[str], first_point: list[int], split: int | None, cols: int, indent: int, width: int
) -> Text:
    """Labels under the first column, the forecast's first column and the last column, where they fit
    (the last may reach past the chart, never past ``width``)."""
    line = [" "] * max(width, cols + indent)
    wanted = [(0, "left")]
    if split is not None and split < cols:
        wanted.append((split, "left"))
    wanted.append((cols - 1, "right"))
    taken = -1
    for c, align in wanted:
        label = labels[first_point[c]]
        if align == "right" and c == cols - 1:
            label = labels[-1]
        start = indent + c - (len(label) - 1 if align == "right" else 0)
        start = max(start, taken + 2)
        if start + len(label) > len(line):
            continue
        line[start : start + len(label)] = label
        taken = start + len(label) - 1
    return Text("".join(line).rstrip(), style="dim")


def _legend(level: float | None, has_history: bool, width: int) -> Text:
    """Every glyph of the chart and what it means, wrapped to ``width``."""
    items = []
    if has_history:
        items.append((HISTORY, "history"))
    items.append((FORECAST, "forecast"))
    if level is not None:
        items.append((BAND, f"{level:g}% interval"))
    if has_history:
        items.append((SPLIT, "forecast starts"))
    text, used = Text(), 0
    for (glyph, style), words in items:
        size = len(glyph) + 1 + len(words) + 3
        if used and used + size > width:
            text.append("\n")
            used = 0
        text.append(glyph, style=style)
        text.append(f" {words}   ", style="dim")
        used += size
    text.rstrip()
    return text
