"""The panel side of the commands: `train --id-col`, and `predict`/`inspect` on a model of many series.

A panel model is one global ensemble and the state of every series (``forecasting.panel``); one of
its series behaves exactly as a single-series model, so `inspect --id X` and `predict --id X` reuse
the single-series code on it. What is new is reading the long file, summarising many series in a
table that stays short, and the rows of every series in CSV and JSON under the id column's own name.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lstmcli.cli.common import print_notes, stderr_console, stdout_console
from lstmcli.errors import ConfigError


# ---------------------------------------------------------------------------------------------- train
def panel_for_training(
    config: Any, data: Path, model: Path, id_col: str | None, global_: bool | None, target: str | None,
    time_col: str | None, features: str | None, freq: str | None, fill: str,
) -> tuple[Any, Any]:  # fmt: skip
    """The panel and the unfitted forecaster for `train --id-col` (``--global``/``--local``, else
    DEFAULT_MODE); an option that panels do not support yet is a one-line error, before any work."""
    if id_col is None:
        raise ConfigError("--global and --local are for many series: give the id column with --id-col")
    if features:
        raise ConfigError("--features is not supported with --id-col yet")
    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting.panel import PanelForecaster
    from lstmcli.npzfile import check_writable

    panel = load_panel(data, id_col=id_col, target=target, time_col=time_col, freq=freq, fill=fill)
    check_writable(model)
    return panel, PanelForecaster(config, mode=panel_mode(global_))


def panel_mode(global_: bool | None) -> str:
    """--global, --local, or neither: the API's default (``forecasting.panel.DEFAULT_MODE``)."""
    if global_ is None:
        from lstmcli.forecasting.panel import DEFAULT_MODE

        return DEFAULT_MODE
    return "global" if global_ else "local"


class SeriesProgress:
    """A Rich progress bar of the series trained so far (`train --id-col --local`)."""

    def __init__(self, console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]training"), BarColumn(bar_width=None), MofNCompleteColumn(), TextColumn("series"),
            TextColumn("eta"), TimeRemainingColumn(), console=console, transient=False, expand=True,
        )  # fmt: skip
        self.task = self.progress.add_task("series", total=None)

    def __enter__(self) -> SeriesProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def update(self, done: int, total: int) -> None:
        self.progress.update(self.task, completed=done, total=total)


class GlobalProgress:
    """`train --id-col --global`: the series prepared in each pass over them and the training epochs,
    each bar with its time left."""

    def __init__(self, console: Any, epochs: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        from lstmcli.cli.render import fmt

        self.fmt = fmt
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(bar_width=None), MofNCompleteColumn(),
            TextColumn("{task.fields[note]}"), TextColumn("eta"), TimeRemainingColumn(), console=console,
            transient=False, expand=True,
        )  # fmt: skip
        self.series = self.progress.add_task("series", total=None, note="")
        self.training = self.progress.add_task("epochs", total=epochs, note="", start=False)

    def __enter__(self) -> GlobalProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def on_series(self, done: int, total: int) -> None:
        if done == 0:
            self.progress.reset(self.series, total=total)
        self.progress.update(self.series, completed=done, total=total)

    def on_epoch(self, report: Any) -> None:
        self.progress.start_task(self.training)
        self.progress.update(
            self.training, completed=report.epoch,
            note=f"train {self.fmt(report.train_loss)} val {self.fmt(report.val_loss)}",
        )  # fmt: skip


def report_panel_training(forecaster: Any, model: Path, seconds: float, as_json: bool) -> None:
    """The skipped series in one note, then the summary: as JSON, or a short table."""
    from lstmcli.data.panel import skipped_note

    if forecaster.skipped_:
        print_notes(stderr_console(), [skipped_note(forecaster.skipped_)])
    st = forecaster.state_
    result = st.train_result
    summary = {
        "model": str(model),
        "data": Path(st.source).name,
        "id_col": st.id_col,
        "target": forecaster.target_,
        "series": len(st.ids),
        "skipped": len(st.skipped),
        "frequency": forecaster.freq_,
        "season": forecaster.season_,
        "lookbacks": list(forecaster.lookbacks_),
        "horizon": forecaster.horizon_,
        "strategy": forecaster.strategy_,
        "stop_reason": result.stop_reason,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "validation": st.validation,
        "seconds": round(seconds, 3),
    }
    local = st.mode == "local"
    if local:  # each series has its own ensemble: its lookbacks and epochs, not the first series'
        import numpy as np

        epochs = [s.train_result.epochs_run for s in st.states]
        best = [s.train_result.best_epoch for s in st.states]
        summary = {"mode": "local"} | summary | {
            "lookbacks": sorted({int(L) for s in st.states for L in s.ensemble.lookbacks}),
            "strategy": sorted({s.strategy for s in st.states}),
            "epochs_run": int(np.median(epochs)),
            "best_epoch": int(np.median(best)),
        }  # fmt: skip
    if as_json:
        from lstmcli.modelfile import _json_safe  # NaN and inf as null

        sys.stdout.write(json.dumps(_json_safe(summary), indent=2, allow_nan=False) + "\n")
        return
    from rich.table import Table

    from lstmcli.cli.render import comparison_table, verdict
    from lstmcli.cli.text import styled

    console = stdout_console()
    what = "one model per series" if local else "one model across the series"
    table = Table(title=f"Training summary ({what})", title_justify="left", show_header=False)
    table.add_column(style="bold")
    table.add_column()
    table.add_row("data", f"{summary['data']} → target '{summary['target']}', series by '{st.id_col}'")
    table.add_row(
        "series",
        f"{summary['series']} series ({summary['skipped']} skipped), frequency "
        f"{summary['frequency'] or 'none (steps)'}, season {summary['season']}",
    )
    lookbacks = ", ".join(map(str, summary["lookbacks"]))
    if local:
        strategies = ", ".join(summary["strategy"])
        table.add_row(
            "model", f"lookbacks {lookbacks} (per series), horizon {summary['horizon']}, {strategies}"
        )
        stop = "interrupted" if result.stop_reason == "interrupted" else "per series"
        table.add_row("epochs", f"median {summary['epochs_run']} (best {summary['best_epoch']}), {stop}")
    else:
        table.add_row("model", f"lookbacks {lookbacks}, horizon {summary['horizon']}, {summary['strategy']}")
        table.add_row(
            "epochs",
            f"{result.epochs_run} (best {result.best_epoch}), {result.stop_reason.replace('_', ' ')}",
        )
    table.add_row("time", f"{seconds:.1f} s")
    table.add_row("written", str(model))
    console.print(table)
    if st.validation:
        console.print(comparison_table(st.validation, "Validation: the mean over the series, data units"))
        console.print(verdict(st.validation))
    console.print(
        styled(
            "Next: ", (f"lstmcli predict --model {model}", "bold"), " (every series) or ",
            (f"lstmcli inspect --model {model} --id {st.ids[0]}", "bold"),
        )
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------- predict
def is_panel_model(path: Path) -> bool:
    """Whether the model file holds a panel (a damaged file is left for the loader to report)."""
    from lstmcli.errors import ModelFileError
    from lstmcli.panelfile import is_panel_file

    try:
        return is_panel_file(path)
    except ModelFileError:
        return False


def series_model(model: Path, series_id: str | None) -> Any:
    """The ``Forecaster`` that `inspect` traces: the model's own, or one series' of a panel (``--id``)."""
    from lstmcli.forecasting.forecaster import Forecaster

    if not is_panel_model(model):
        if series_id is not None:
            raise ConfigError(f"--id is for models of many series; {model.name} holds one series")
        return Forecaster.load(model)
    from lstmcli.forecasting.panel import PanelForecaster

    panel = PanelForecaster.load(model)
    if series_id is None:
        ids = panel.ids_
        shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
        raise ConfigError(f"{model.name} holds {len(ids)} series; choose one with --id ({shown})")
    return panel.forecaster(series_id)
