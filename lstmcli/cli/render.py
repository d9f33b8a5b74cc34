"""Rich renderables for every command (the only place besides the commands that knows about Rich)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.console import Console, Group
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from lstmcli.cli.text import shell, styled

if TYPE_CHECKING:
    from lstmcli.cli.plaintable import PlainTable

METRICS = ("MAE", "RMSE", "MAPE", "sMAPE", "MASE", "OWA")


def fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    if isinstance(value, float | np.floating):
        v = float(value)
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}e}"
        # (1000 up: whole numbers; "g" wrote 10020 as 1.002e+04 beside 8177 in one column)
        return f"{v:.0f}" if abs(v) >= 1000 else f"{v:.{digits}f}".rstrip("0").rstrip(".") or "0"
    return str(value)


# ------------------------------------------------------------------------------------------ training
class TrainingProgress:
    """A Rich progress bar fed by the trainer's ``on_epoch`` callback."""

    def __init__(self, console: Console, epochs: int) -> None:
        self.progress = Progress(
            # Progress is over all the training runs (every ensemble member, then the retraining),
            # so the bar shows a share of the work; the losses are the current run's. The text fits 80
            # columns with room for the bar, which takes whatever width is left (expand=True).
            TextColumn("[bold]training {task.percentage:>3.0f}%"),
            BarColumn(bar_width=None),
            TextColumn("train {task.fields[train]} val {task.fields[val]} best {task.fields[best]}"),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
            expand=True,
        )
        self.task = self.progress.add_task("train", total=epochs, train="–", val="–", best="–")

    def __enter__(self) -> TrainingProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, report: Any) -> None:
        self.progress.update(
            self.task,
            completed=report.epoch,
            train=fmt(report.train_loss),
            val=fmt(report.val_loss),
            # the best validation loss; a run without validation (the retraining on all the data) has
            # none, and its best training loss beside the summary's validation loss read as a contradiction
            best="–" if report.val_loss is None else f"{fmt(report.best_loss)} at ep {report.best_epoch}",
        )


def comparison_table(metrics: dict[str, dict[str, float]], title: str) -> Table:
    """Rows = methods (LSTM first, then the baselines), columns = error measures."""
    table = Table(title=title, title_justify="left")
    table.add_column("method")
    for m in METRICS:
        table.add_column(m, justify="right")
    best = {m: min((r.get(m) for r in metrics.values() if _finite(r.get(m))), default=None) for m in METRICS}
    for name, row in metrics.items():
        cells = []
        for m in METRICS:
            text = fmt(row.get(m))
            cells.append(
                styled((text, "bold green")) if best[m] is not None and row.get(m) == best[m] else text
            )
        table.add_row(styled((name, "bold")) if name == "LSTM" else name, *cells)
    if any("MAPE" in row and not _finite(row["MAPE"]) for row in metrics.values()):
        table.caption = "MAPE –: an actual value is 0, where a percentage error has no value"
        table.caption_justify = "left"
    return table


def verdict(
    metrics: dict[str, dict[str, float]], model: str | None = None, where: str = "here"
) -> Text | str:
    """One plain sentence: does the LSTM beat the baselines on these windows (by OWA, M4's combined
    sMAPE and MASE score)? With ``model`` (after training) a loss also says how to forecast with the
    winner instead. ``where`` says what was scored ("here"; a panel: its series together)."""
    from lstmcli.forecasting.verdicts import BASELINE_NAMES, method_key, winner

    lstm = metrics.get("LSTM")
    if not lstm or not _finite(lstm.get("OWA")):
        return ""
    best = winner(metrics)
    if best is not None and model is not None:
        row = metrics[best]
        return styled(
            (
                f"The LSTM lost to {best} on validation (OWA {fmt(lstm['OWA'])} vs {fmt(row['OWA'])}, sMAPE "
                f"{fmt(lstm.get('sMAPE'))} vs {fmt(row.get('sMAPE'))}): `lstmcli predict --model {shell(model)} "
                f"--method {method_key(best)}` uses {best}.",
                "yellow",
            )
        )
    not_beaten = [
        name
        for name, row in metrics.items()
        if name in BASELINE_NAMES and _finite(row.get("OWA")) and row["OWA"] <= lstm["OWA"]
    ]
    if not_beaten:
        simplest = min(not_beaten, key=lambda name: metrics[name]["OWA"])
        return styled(
            (
                f"The LSTM does not beat {', '.join(not_beaten)} {where} (OWA {fmt(lstm['OWA'])}): prefer "
                f"the simpler forecast (`lstmcli predict --method {method_key(simplest)}` with a model of "
                "this data), or try another --transform or --lookback.",
                "yellow",
            )
        )
    return styled((f"The LSTM beats every baseline {where} (OWA {fmt(lstm['OWA'])} vs Naive2's 1).", "green"))


def combination_line(combine: str) -> str:
    """What the LSTM row of a combined model is: the mean of which forecasts, under which option."""
    from lstmcli.forecasting.config import COMBINED_BASELINES

    members = ["the networks' forecast (LSTM networks)"] + [
        f"{name}'s" for name in COMBINED_BASELINES[combine]
    ]
    return f"LSTM: the mean of {', '.join(members[:-1])} and {members[-1]} (--combine {combine})"


def validation_title(windows: int, horizon: int, steps: int) -> str:
    """The validation table's title, saying which horizon steps were scored."""
    if steps >= horizon:
        return f"Validation: {windows} windows × {horizon} steps, data units"
    return f"Validation: {windows} windows, horizon steps 1-{steps} of {horizon} scored, data units"


def _finite(v: Any) -> bool:
    return isinstance(v, int | float) and math.isfinite(v)


def lookback_text(s: dict[str, Any]) -> str:
    """The networks' lookbacks, and that the default was shortened to leave training windows (a short
    series, or a large --val-size)."""
    lookbacks = s.get("lookbacks") or [s["lookback"]]
    text = (
        f"lookback {lookbacks[0]}"
        if len(set(lookbacks)) == 1
        else f"lookbacks {', '.join(map(str, sorted(set(lookbacks))))} (one per network)"
    )
    default = s.get("default_lookback")
    if default and max(lookbacks) < default:
        text += f", shortened from {default} to leave training windows"
    return text


def render_training_summary(console: Console, s: dict[str, Any]) -> None:
    table = Table(title="Training summary", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row(
        "data",
        f"{s['data']} → target '{s['target']}'" + (f", features {s['features']}" if s["features"] else ""),
    )
    if s.get("known_inputs"):  # --future-features, --calendar, --holidays: what the network reads ahead
        table.add_row("known ahead", ", ".join(s["known_inputs"]))
    table.add_row(
        "series",
        f"{s['observations']} observations, frequency {s['frequency'] or 'none (steps)'}, season {s['season']}",
    )
    table.add_row("model", f"{lookback_text(s)}, horizon {s['horizon']}, {s['strategy']}")
    table.add_row("epochs", f"{s['epochs_run']} — {s['stopped']}")
    if s.get("monitor") == "forecast" and s["monitored"] == "validation":  # the epoch was not the loss's
        table.add_row(
            "best epoch",
            f"{s['best_epoch']}, by the validation forecasts' error (validation loss {fmt(s['best_loss'])})",
        )
    else:
        table.add_row(f"best {s['monitored']} loss", f"{fmt(s['best_loss'])} at epoch {s['best_epoch']}")
    table.add_row("time", f"{s['seconds']:.1f} s")
    table.add_row("written", s["model"])
    console.print(table)
    if s["validation"]:
        title = validation_title(s["validation_windows"], s["horizon"], s["validated_steps"])
        console.print(comparison_table(s["validation"], title))
        if "LSTM networks" in s["validation"]:
            console.print(combination_line(s["combine"]))
        console.print(verdict(s["validation"], s["model"]))
    else:
        why = (
            "--val-size 0"
            if not s.get("val_size")
            else f"the series is too short for them beside lookback {s['lookback']} and horizon {s['horizon']}"
        )
        console.print(f"No validation windows ({why}): no error estimate and no intervals.", style="yellow")
    console.print(
        styled(
            "Next: ",
            (
                f"lstmcli predict --model {shell(s['model'])}"
                + (" --future FUTURE.csv" if s.get("future_features") else ""),
                "bold",
            ),
            " or ",
            (
                f"lstmcli inspect --model {shell(s['model'])}"
                + (" --future FUTURE.csv" if s.get("future_features") else ""),
                "bold",
            ),
        )
    )


# ------------------------------------------------------------------------------------------ forecast
def forecast_table(rows: list[dict[str, Any]], levels: list[int], method: str = "lstm") -> Table:
    """The forecast's rows; a forecast by a baseline (``predict --method``) says whose it is."""
    from lstmcli.forecasting.config import METHODS

    title = "Forecast" if method == "lstm" else f"Forecast by {METHODS.get(method, method)}"
    table = Table(title=title, title_justify="left", min_width=len(title))  # (a title never wraps)
    key = "date" if rows and "date" in rows[0] else "step"
    table.add_column(key)
    table.add_column("forecast", justify="right", style="bold")
    for level in levels:
        table.add_column(f"lower {level}%", justify="right")
        table.add_column(f"upper {level}%", justify="right")
    for row in rows:
        cells = [str(row[key]), fmt(row["forecast"])]
        for level in levels:
            cells += [fmt(row[f"lower_{level}"]), fmt(row[f"upper_{level}"])]
        table.add_row(*cells)
    return table


# ------------------------------------------------------------------------------------------ inspect
GATE_TITLES = {
    "f": "forget gate f — share of the old memory kept (1 = keep all)",
    "i": "input gate i — share of the new memory written",
    "g": "candidate g — the new memory on offer (-1 … 1)",
    "o": "output gate o — share of the memory shown as output",
    "c": "cell state c — the long-term memory",
    "h": "hidden state h — what the layer outputs",
}


def _cell_style(value: float, lo: float, hi: float) -> str:
    # colour scale: blue (low) → white → red (high), 5 steps
    t = 0.5 if hi - lo < 1e-12 else (value - lo) / (hi - lo)
    palette = ["bold blue", "blue", "white", "red", "bold red"]
    return palette[min(4, int(t * 5))]


def gate_table(name: str, values: np.ndarray, labels: list[str], units: list[int]) -> PlainTable:
    """Rows = time steps, columns = units, colour-scaled within the table."""
    from lstmcli.cli.plaintable import PlainTable

    fixed = name in ("i", "f", "o")
    lo, hi = (0.0, 1.0) if fixed else (float(values[:, units].min()), float(values[:, units].max()))
    rows = [
        [(label, ""), *[(f"{v:.2f}", _cell_style(v, lo, hi)) for v in row[units].tolist()]]
        for label, row in zip(labels, values, strict=True)
    ]
    headers = ["step", *[f"u{u}" for u in units]]
    return PlainTable(GATE_TITLES[name], headers, ["left"] + ["right"] * len(units), rows)


def inputs_tables(inputs: np.ndarray, names: list[str], labels: list[str], width: int) -> list[Table]:
    """The window's inputs as the network sees them (after transforms and scaling): rows = steps,
    columns = the target and each covariate, in as many tables as it takes for each to fit ``width``
    columns (at 80 columns a calendar's inputs cut dates and numbers to '2022-…' and '-0.5…')."""
    cells = [[f"{v:.3f}" for v in row] for row in inputs]
    step_width = max([4, *map(len, labels)]) + 3
    groups: list[list[int]] = [[]]
    used = step_width + 1
    for c, name in enumerate(names):
        need = max([len(name), *(len(row[c]) for row in cells)]) + 3
        if groups[-1] and used + need > width:
            groups.append([])
            used = step_width + 1
        groups[-1].append(c)
        used += need
    tables = []
    for k, group in enumerate(groups):
        more = f" ({k + 1} of {len(groups)})" if len(groups) > 1 else ""
        table = Table(title=f"Inputs of the window (transformed and scaled){more}", title_justify="left")
        table.add_column("step", no_wrap=True)
        for c in group:
            table.add_column(names[c], justify="right", no_wrap=True)
        for label, row in zip(labels, cells, strict=True):
            table.add_row(label, *[row[c] for c in group])
        tables.append(table)
    return tables


def unit_summary_table(summary: list[dict[str, Any]], season: int) -> Table:
    """One line per unit, within 80 columns: the headers are short and the role is its short name."""
    table = Table(title="What each unit remembers (over this window)", title_justify="left")
    for col, just in [
        ("unit", "left"),
        ("mean f", "right"),
        ("half-life", "right"),
        ("mean i", "right"),
        ("saturated", "right"),
        ("role", "left"),
    ]:
        table.add_column(col, justify=just, no_wrap=col != "role")  # type: ignore[arg-type]
    for s in summary:
        half = s["half_life"]
        half_text = "∞" if half is None else f"{half:.1f} steps"
        table.add_row(
            f"u{s['unit']}",
            f"{s['mean_forget']:.2f}",
            half_text,
            f"{s['mean_input']:.2f}",
            f"{100 * s['saturation']:.0f}%",
            short_role(s["role"]),
        )
    return table


def short_role(role: str) -> str:
    """The summary's role in a few words: 'medium memory (~3 steps)' stays, the long ones shorten."""
    return {
        "mostly silent (output gate closed)": "silent (output closed)",
        "seasonal memory (keeps a season or more)": "seasonal memory",
        "short memory (mostly the latest steps)": "short memory",
    }.get(role, role)


def explain_gates(season: int, sees: str = "", adjusted: bool = False) -> Text:
    """How to read the gate tables; ``sees``: what the network is shown (``explain.input_description``);
    ``adjusted``: the season was taken out before the network (no unit needs to carry it)."""
    seasonal = (
        f"; units whose half-life reaches a season ({season} steps) can carry the seasonal pattern"
        if season > 1 and not adjusted
        else ""
    )
    return Text.from_markup(
        "How to read this: each step the [bold]forget gate[/] f decides how much of the cell state c (the "
        "long-term memory) to keep, the [bold]input gate[/] i how much of the candidate g to add, and the "
        "[bold]output gate[/] o how much of tanh(c) becomes the hidden state h. A unit with mean f near 1 keeps "
        "its memory for many steps: its half-life (steps until half of a memory is left, ln 0.5 / ln f, f "
        f"the geometric mean shown) tells how far back it looks{seasonal}. A gate below 0.05 or above 0.95 "
        "is saturated: fully closed or open." + (f" {escape(sees)}" if sees else "") + "\n"
    )


def group(*renderables: Any) -> Group:
    return Group(*renderables)


# ------------------------------------------------------------------------------------------ backtest
def per_step_table(per_step: list[dict[str, dict[str, float]]], measure: str) -> Table:
    """Rows = horizon steps, columns = methods, cells = one measure."""
    methods = list(per_step[0]) if per_step else []
    table = Table(title=f"{measure} per horizon step", title_justify="left")
    table.add_column("step", justify="right")
    for name in methods:
        table.add_column(name, justify="right")
    for j, row in enumerate(per_step):
        best = min((row[n][measure] for n in methods if _finite(row[n][measure])), default=None)
        cells = []
        for n in methods:
            text = fmt(row[n][measure])
            cells.append(
                styled((text, "bold green")) if best is not None and row[n][measure] == best else text
            )
        table.add_row(str(j + 1), *cells)
    return table
