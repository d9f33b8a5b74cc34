"""Pictures for ``--plot FILE``: the forecast, the backtest and the gates, as PNG, SVG or PDF.

matplotlib is an optional dependency (the ``plot`` extra) and this is the only module that imports
it, inside the functions: ``lstmcli --help`` and every command run without ``--plot`` never load it.
Figures are drawn on the Agg canvas (no display needed), rendered to bytes in memory and written
atomically, like every other output; the same input gives the same bytes (no dates in the files).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    from matplotlib.figure import Figure

PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}
INSTALL_HINT = 'pip install "lstmcli[plot]"'
GRID_SERIES = 6  # a picture of many series shows the first few in a grid, or the one --id names

HISTORY = "#1f5f99"  # blue, as the terminal chart's history
FORECAST = "#b0306f"  # magenta, as the terminal chart's forecast
ACTUAL = "#222222"
BASELINE_COLOURS = {
    "Naive": "#9a9a9a", "Seasonal naive": "#d08a1e", "Naive2": "#4f9a56", "Theta": "#777777", "ES": "#3f6fb5",
    "ARIMA": "#8a5a9e",
}  # fmt: skip
# overlapping lines stay visible (Theta's is the default, dashed)
_BASELINE_DASHES = {
    "Naive": ":", "Seasonal naive": "-.", "Naive2": "--", "ES": (0, (5, 1, 1, 1)), "ARIMA": (0, (3, 1, 1, 1, 1, 1)),
}  # fmt: skip
ROLE_COLOURS = {"seasonal": "#2a7f62", "medium": "#4a90c2", "short": "#c9a227", "silent": "#b0b0b0"}

_STYLE = {
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#e4e4e4",
    "grid.linewidth": 0.8,
    "legend.frameon": False,
    "text.parse_math": False,  # a column named "price ($)" is text, not the start of a formula
    "svg.hashsalt": "lstmcli",  # fixed ids inside SVG files: the same picture gives the same bytes
    "svg.fonttype": "path",
    "pdf.compression": 6,
}


class PlotError(Exception):
    """A --plot problem the user can fix (a bad extension, matplotlib missing); one line."""


def check_plot_path(path: Path) -> str:
    """The format named by ``path``'s extension; a PlotError for any other, before any work is done."""
    fmt = PLOT_FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise PlotError(
            f"--plot {path}: the file must end in .png, .svg or .pdf (the picture's format), "
            f"not {path.suffix or 'no extension'!r}"
        )
    return fmt


def require_matplotlib() -> None:
    """A one-line PlotError naming the extra when matplotlib cannot be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotError(f"--plot needs matplotlib: {INSTALL_HINT}") from None


def _new_figure(width: float, height: float) -> Figure:
    import matplotlib

    matplotlib.use("Agg")  # no display: render to a buffer (pyplot is never imported)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def _style() -> Any:
    import matplotlib

    return matplotlib.rc_context(_STYLE)


def save_figure(fig: Figure, path: Path) -> None:
    """Render ``fig`` in the format of ``path``'s extension and write it atomically."""
    from lstmcli.npzfile import atomic_write_bytes

    fmt = check_plot_path(path)
    metadata = {"png": {"Software": None}, "svg": {"Date": None}, "pdf": {"CreationDate": None}}[fmt]
    extra = {"pil_kwargs": {"optimize": True}} if fmt == "png" else {}  # smaller files, same pixels
    buf = io.BytesIO()
    with _style():
        fig.savefig(buf, format=fmt, metadata=metadata, facecolor="white", **extra)
    atomic_write_bytes(path, buf.getvalue())


def _date_axis(ax: Any) -> None:
    """Readable dates on the x axis: as many labels as fit, in the shortest unambiguous form."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _step_axis(ax: Any) -> None:
    """Whole step numbers on the x axis (never 32.5)."""
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _x(timestamps: np.ndarray | None, first_step: int, n: int) -> np.ndarray:
    """The x values of ``n`` points: their dates, or their 1-based step numbers."""
    import numpy as np

    if timestamps is not None:
        return np.asarray(timestamps, dtype="datetime64[ns]")
    return np.arange(first_step, first_step + n)


# ------------------------------------------------------------------------------------------ predict
def forecast_figure(
    *,
    history: np.ndarray,
    history_x: np.ndarray,
    forecast: np.ndarray,
    forecast_x: np.ndarray,
    intervals: dict[float, tuple[np.ndarray, np.ndarray]],
    title: str,
    ylabel: str,
    dated: bool,
) -> Figure:
    """The recent history, the forecast and its intervals (wider levels lighter)."""
    with _style():
        fig = _new_figure(10, 4.8)
        _forecast_axes(
            fig.add_subplot(),
            history=history, history_x=history_x, forecast=forecast, forecast_x=forecast_x,
            intervals=intervals, title=title, ylabel=ylabel, dated=dated,
        )  # fmt: skip
    return fig


def forecast_grid_figure(series: list[dict[str, Any]], *, title: str) -> Figure:
    """One small forecast panel per series of a panel model (``series``: the keyword arguments of
    ``forecast_figure`` for each), two or three to a row; the legend once, on the first."""
    n = len(series)
    cols = 1 if n == 1 else 2 if n <= 4 else 3
    rows = -(-n // cols)
    with _style():
        fig = _new_figure(10 if cols > 1 else 9, 2.9 * rows + 0.5)
        grid = fig.add_gridspec(rows, cols)
        for k, one in enumerate(series):
            _forecast_axes(fig.add_subplot(grid[k // cols, k % cols]), **one, small=True, legend=k == 0)
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=12)
    return fig


def _forecast_axes(
    ax: Any,
    *,
    history: np.ndarray,
    history_x: np.ndarray,
    forecast: np.ndarray,
    forecast_x: np.ndarray,
    intervals: dict[float, tuple[np.ndarray, np.ndarray]],
    title: str,
    ylabel: str,
    dated: bool,
    small: bool = False,
    legend: bool = True,
) -> None:
    import numpy as np

    # the forecast line starts at the last observation, so the two lines join
    fx = np.concatenate([history_x[-1:], forecast_x])
    fy = np.concatenate([history[-1:], forecast])
    levels = sorted(intervals, reverse=True)
    for k, level in enumerate(levels):
        lo, hi = intervals[level]
        ax.fill_between(
            fx,
            np.concatenate([history[-1:], lo]),
            np.concatenate([history[-1:], hi]),
            color=FORECAST,
            alpha=_band_alpha(k, len(levels)),
            linewidth=0,
            label=f"{_level_text(level)}% interval"
            if small
            else f"{_level_text(level)}% prediction interval",
        )
    ax.plot(history_x, history, color=HISTORY, linewidth=1.3 if small else 1.6, label="history")
    ax.plot(fx, fy, color=FORECAST, linewidth=2.0)  # joins the last observation to the forecast
    ax.plot(
        forecast_x,
        forecast,
        color=FORECAST,
        linewidth=1.8 if small else 2.0,
        marker="o",
        markersize=2.4 if small else 3.2,
        label="forecast",
    )
    ax.axvline(history_x[-1], color="#888888", linewidth=0.9, linestyle=":", zorder=0)
    if small:
        ax.set_title(title, loc="left", fontsize=10)
        ax.tick_params(labelsize=8)
    else:
        ax.set_title(title, loc="left")
        ax.set_ylabel(ylabel)
        ax.set_xlabel("date" if dated else "step")
    if dated:
        _date_axis(ax)
    else:
        _step_axis(ax)
    if legend:
        handles, names = ax.get_legend_handles_labels()
        order = [*range(len(levels), len(names)), *range(len(levels) - 1, -1, -1)]  # lines, then bands
        ax.legend(
            [handles[k] for k in order],
            [names[k] for k in order],
            loc="upper left",
            ncols=2 + len(levels),
            **({"fontsize": 8} if small else {}),
        )
    ax.margins(x=0.01, y=0.2 if small else 0.14)


def _level_text(level: float) -> str:
    return f"{level:g}"


def _band_alpha(k: int, n: int) -> float:
    """The shade of the k-th of ``n`` interval bands, widest first: the narrower, the darker."""
    return 0.14 + 0.14 * k / max(1, n - 1) if n > 1 else 0.22


# ------------------------------------------------------------------------------------------ backtest
def backtest_figure(
    result: Any,
    *,
    title: str,
    ylabel: str,
    timestamps: np.ndarray | None = None,
    series_index: list[int] | None = None,
    series_times: list[np.ndarray | None] | None = None,
) -> Figure:
    """Top: each origin's LSTM forecast against the actual values. Bottom: the error (sMAPE) by horizon
    step, the LSTM next to the baselines (over every series of a long file).

    A single series (``series_index`` None) is drawn once, its origins along it; many series (a long
    file) as a grid, one panel per series index in ``series_index``, dated by ``series_times`` (each
    series' dates, training then test rows; None: steps).
    """
    with _style():
        if series_index is None:
            fig = _new_figure(10, 7.2)
            grid = fig.add_gridspec(2, 1, height_ratios=[3, 2])
            _origins_panel(fig.add_subplot(grid[0]), result, timestamps, ylabel)
            _per_step_panel(fig.add_subplot(grid[1]), result)
        else:
            n = len(series_index)
            cols = 1 if n == 1 else 2 if n <= 4 else 3
            rows = -(-n // cols)
            fig = _new_figure(10 if cols > 1 else 9, 2.6 * rows + 3.0)
            outer = fig.add_gridspec(2, 1, height_ratios=[2.6 * rows, 3.0])
            top = outer[0].subgridspec(rows, cols)
            for k, row in enumerate(series_index):
                ax = fig.add_subplot(top[k // cols, k % cols])
                times = series_times[row] if series_times is not None else None
                _series_panel(ax, result, row, legend=k == 0, timestamps=times)
            _per_step_panel(fig.add_subplot(outer[1]), result, over=len(set(result.labels)))
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=12)
    return fig


def _origins_panel(ax: Any, result: Any, timestamps: np.ndarray | None, ylabel: str) -> None:
    """The series around the origins, and each origin's forecast in its own shade."""
    import numpy as np

    h = result.horizon
    y = np.concatenate([result.insample[-1], result.actual[-1]])  # the last origin leaves h actuals
    origins = [len(s) for s in result.insample]
    start = max(0, origins[0] - max(2 * h, 3 * result.season, 24))
    x = _x(timestamps, 1, len(y))
    ax.plot(x[start:], y[start:], color=ACTUAL, linewidth=1.4, label="actual")
    lstm = result.forecasts["LSTM"]
    levels = sorted(result.intervals, reverse=True)  # the widest band first, underneath
    for k, o in enumerate(origins):
        shade = 0.45 + 0.55 * (k + 1) / len(origins)
        for j, level in enumerate(levels):
            lower, upper = result.intervals[level]
            ax.fill_between(
                x[o - 1 : o + h],
                np.concatenate([y[o - 1 : o], lower[k]]),
                np.concatenate([y[o - 1 : o], upper[k]]),
                color=FORECAST,
                alpha=_band_alpha(j, len(levels)),
                linewidth=0,
                label=f"{_level_text(level)}% prediction interval" if k == 0 else None,
            )
        ax.plot(
            x[o - 1 : o + h],
            np.concatenate([y[o - 1 : o], lstm[k]]),
            color=FORECAST,
            alpha=shade,
            linewidth=1.8,
            label="LSTM forecast from each origin" if k == 0 else None,
        )
        ax.axvline(x[o - 1], color="#aaaaaa", linewidth=0.8, linestyle=":", zorder=0)
    ax.set_ylabel(ylabel)
    ax.set_xlabel("date" if timestamps is not None else "step")
    ax.set_title("Each origin's forecast against the actual values (dotted: the origins)", loc="left")
    if timestamps is not None:
        _date_axis(ax)
    else:
        _step_axis(ax)
    ax.legend(loc="upper left", ncols=2 + len(levels))  # one row, in the headroom the margins leave
    ax.margins(x=0.01, y=0.16)


def _series_panel(ax: Any, result: Any, row: int, legend: bool, timestamps: np.ndarray | None = None) -> None:
    """One series of a long file: its last values, the actual test values and the forecasts, along its
    dates when it has them (``timestamps``, one per row), else its steps."""
    import numpy as np

    h = result.horizon
    past = result.insample[row][-max(3 * h, 2 * result.season, 12) :]
    n0 = len(result.insample[row])
    dated = timestamps is not None and np.asarray(timestamps).dtype.kind == "M" and len(timestamps) == n0 + h
    x = np.asarray(timestamps) if dated else np.arange(1, n0 + h + 1)
    px = x[n0 - len(past) : n0]
    fx = x[n0 - 1 : n0 + h]
    levels = sorted(result.intervals, reverse=True)
    lstm = result.forecasts["LSTM"][row]
    for j, level in enumerate(levels):
        lower, upper = result.intervals[level]
        ax.fill_between(
            fx,
            np.concatenate([past[-1:], lower[row]]),
            np.concatenate([past[-1:], upper[row]]),
            color=FORECAST,
            alpha=_band_alpha(j, len(levels)),
            linewidth=0,
            label=f"{_level_text(level)}% interval",
        )
    ax.plot(px, past, color=HISTORY, linewidth=1.3, label="history")
    ax.plot(fx, np.concatenate([past[-1:], result.actual[row]]), color=ACTUAL, linewidth=1.3, label="actual")
    ax.plot(
        fx,
        np.concatenate([past[-1:], lstm]),
        color=FORECAST,
        linewidth=1.8,
        label="LSTM",
    )
    if "Naive2" in result.forecasts:
        ax.plot(
            fx,
            np.concatenate([past[-1:], result.forecasts["Naive2"][row]]),
            color=BASELINE_COLOURS["Naive2"],
            linewidth=1.2,
            linestyle="--",
            label="Naive2",
        )
    ax.set_title(f"series {result.labels[row]}", loc="left", fontsize=10)
    if dated:
        _date_axis(ax)
    else:
        _step_axis(ax)
    ax.tick_params(labelsize=8)
    ax.margins(y=0.2)
    if legend:
        ax.legend(loc="upper left", fontsize=8, ncols=4 + len(levels))


def _per_step_panel(ax: Any, result: Any, over: int | None = None) -> None:
    """sMAPE by horizon step: the LSTM (bold) next to each baseline (the mean ``over`` that many series
    of a long file, said in the title)."""
    import numpy as np

    per_step = result.per_step()
    steps = np.arange(1, len(per_step) + 1)
    for name in result.forecasts:
        values = [row[name]["sMAPE"] for row in per_step]
        lstm = name == "LSTM"
        ax.plot(
            steps,
            values,
            color=FORECAST if lstm else BASELINE_COLOURS.get(name, "#777777"),
            linewidth=2.4 if lstm else 1.4,
            linestyle="-" if lstm else _BASELINE_DASHES.get(name, "--"),
            marker="o",
            markersize=4 if lstm else 3,
            label=name,
            zorder=3 if lstm else 2,
        )
    windows = getattr(result, "windows", 1)
    every = f", the mean over all {over} series" if over and over > 1 else ""
    if over and windows > 1:  # (a panel cross-validated over several windows: every window's rows)
        every = f", the mean over all {over} series and {windows} windows"
    ax.set_title(f"Error by horizon step{every} (lower is better)", loc="left")
    ax.set_xlabel("horizon step")
    ax.set_ylabel("sMAPE (%)")
    ax.set_xticks(steps if len(steps) <= 24 else steps[:: -(-len(steps) // 24)])
    top = max(
        (v for row in per_step for v in (m["sMAPE"] for m in row.values()) if np.isfinite(v)), default=1
    )
    ax.set_ylim(0, 1.3 * top or 1)  # headroom for the legend's row
    ax.legend(loc="upper left", ncols=len(result.forecasts))


# ------------------------------------------------------------------------------------------ inspect
GATE_NAMES = {
    "f": "forget gate f (kept)",
    "i": "input gate i (written)",
    "g": "candidate g (new memory)",
    "o": "output gate o (shown)",
    "c": "cell state c (memory)",
    "h": "hidden state h (output)",
}


def gates_figure(
    *,
    layers: dict[int, dict[str, np.ndarray]],
    n_layers: int,
    summaries: dict[int, list[dict[str, Any]]],
    units: list[int],
    labels: list[str],
    season: int,
    title: str,
) -> Figure:
    """Per layer: a heatmap of every gate and state over steps × units, and each unit's memory
    half-life (the per-unit summary), coloured by its role.

    ``layers`` maps a 0-based layer index to its arrays already cut to the shown steps and units.
    """
    import numpy as np

    n = len(layers)
    with _style():
        fig = _new_figure(12, 7.6 * n + 0.4)
        blocks = fig.subfigures(n, 1) if n > 1 else [fig]
        for sub, (k, arrays) in zip(blocks, layers.items(), strict=True):
            grid = sub.add_gridspec(3, 3, height_ratios=[1, 1, 0.9])
            for j, name in enumerate(("f", "i", "g", "o", "c", "h")):
                ax = sub.add_subplot(grid[j // 3, j % 3])
                values = arrays[name].T  # units down, steps across
                if name in ("f", "i", "o"):
                    vmin, vmax, cmap = 0.0, 1.0, "viridis"
                else:
                    edge = float(np.max(np.abs(values))) if name == "c" else 1.0
                    vmin, vmax, cmap = -(edge or 1.0), edge or 1.0, "RdBu_r"
                image = ax.imshow(
                    values, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest"
                )
                sub.colorbar(image, ax=ax, fraction=0.05, pad=0.02)
                ax.set_title(GATE_NAMES[name], loc="left", fontsize=10)
                ax.grid(False)
                _unit_ticks(ax, units)
                _step_ticks(ax, labels)
            _memory_panel(sub.add_subplot(grid[2, :]), summaries[k], units, season, len(labels))
            if n > 1:
                sub.suptitle(
                    f"layer {k + 1} of {n_layers}", x=0.01, ha="left", fontweight="bold", fontsize=11
                )
        if n == 1 and n_layers > 1:
            title += f" — layer {next(iter(layers)) + 1} of {n_layers}"
        fig.suptitle(title, x=0.01, ha="left", fontweight="bold", fontsize=11)
    return fig


def _unit_ticks(ax: Any, units: list[int]) -> None:
    every = max(1, -(-len(units) // 16))
    ax.set_yticks(range(0, len(units), every), [f"u{u}" for u in units[::every]], fontsize=8)
    ax.set_ylabel("unit", fontsize=9)


def _step_ticks(ax: Any, labels: list[str]) -> None:
    every = max(1, -(-len(labels) // 6))
    shown = list(range(len(labels) - 1, -1, -every))[::-1]  # always label the last step
    ax.set_xticks(shown, [labels[t] for t in shown], fontsize=7, rotation=30, ha="right")


def _memory_panel(ax: Any, summary: list[dict[str, Any]], units: list[int], season: int, steps: int) -> None:
    """Each unit's memory half-life in steps (∞ drawn to the top, hatched), coloured by its role."""
    rows = [summary[u] for u in units]
    finite = [r["half_life"] for r in rows if r["half_life"] is not None]
    top = max([season * 1.25, 4.0, *(min(v, 4 * season + 8) for v in finite)])
    seen: set[str] = set()
    for x, r in enumerate(rows):
        role = r["role"].split()[0]
        role = {"mostly": "silent"}.get(role, role)
        half = r["half_life"]
        height = top if half is None else min(half, top)
        label = None if role in seen else _ROLE_LABELS[role]
        seen.add(role)
        ax.bar(
            x,
            height,
            color=ROLE_COLOURS[role],
            hatch="//" if half is None or half > top else None,
            edgecolor="white",
            label=label,
        )
    if season > 1:
        ax.axhline(season, color="#555555", linewidth=1, linestyle="--")
        ax.text(len(rows) - 0.5, season, f" season ({season} steps)", va="bottom", ha="right", fontsize=8)
    every = max(1, -(-len(units) // 32))
    ax.set_xticks(range(0, len(units), every), [f"u{u}" for u in units[::every]], fontsize=8)
    ax.set_xlim(-0.6, len(rows) - 0.4)
    ax.set_ylim(0, top * 1.3)  # room for the legend above the tallest bar
    ax.set_ylabel("half-life (steps)")
    hatched = any(r["half_life"] is None or r["half_life"] > top for r in rows)
    ax.set_title(
        "What each unit remembers: steps until half of a memory is left"
        + (" (hatched: longer than shown)" if hatched else ""),
        loc="left",
        fontsize=10,
    )
    ax.legend(loc="upper left", ncols=4, fontsize=8)


_ROLE_LABELS = {
    "seasonal": "seasonal memory",
    "medium": "medium memory",
    "short": "short memory",
    "silent": "silent (output closed)",
}
