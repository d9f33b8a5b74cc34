"""The panel side of the commands: `train --id-col`, and `predict`/`inspect` on a model of many series.

A panel model is one global ensemble and the state of every series (``forecasting.panel``); one of
its series behaves exactly as a single-series model, so `inspect --id X` and `predict --id X` reuse
the single-series code on it. What is new is reading the long file, summarising many series in a
table that stays short, and the rows of every series in CSV and JSON under the id column's own name.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any

from lstmcli.cli.common import print_notes, stderr_console, stdout_console, warn
from lstmcli.errors import ConfigError, DataError, OptionError


# ---------------------------------------------------------------------------------------------- train
def panel_for_training(
    config: Any, data: Path, model: Path, id_col: str | None, global_: bool | None, target: str | None,
    time_col: str | None, features: str | None, freq: str | None, fill: str, static_features: str | None = None,
    future: tuple[str, ...] = (), forecast_rows: bool = False,
) -> tuple[Any, Any]:  # fmt: skip
    """The panel and the unfitted forecaster for `train --id-col` (``--global``/``--local``, else
    DEFAULT_MODE); an option that panels do not support yet is a one-line error, before any work."""
    require_id_col(id_col, global_, static_features)
    if features:
        raise OptionError("--features is not supported with --id-col yet")
    static = static_columns(static_features, global_)
    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting.panel import PanelForecaster
    from lstmcli.npzfile import check_model_target

    panel = load_panel(
        data, id_col=id_col, target=target, time_col=time_col, freq=freq, fill=fill, static=static,
        future=future, forecast_rows=forecast_rows,
    )  # fmt: skip
    check_model_target(model)
    return panel, PanelForecaster(config, mode=panel_mode(global_))


def no_season_note(name: str, horizon_too: bool = False) -> str:
    """The note for a long file without dates on a regular grid (M3/M4's number their steps): no
    season was found, and without --horizon none (one season) for the horizon either."""
    what = "not seasonal, and the horizon 1 step" if horizon_too else "not seasonal"
    return (
        f"{name} has no dates with a regular frequency, so no season: the models and baselines are {what}; "
        "give --season (12 for monthly data, 4 for quarterly) if the series have one"
        + (", and --horizon." if horizon_too else ".")
    )


def require_id_col(id_col: str | None, global_: bool | None, static_features: str | None) -> None:
    """``--global``/``--local`` and ``--static-features`` (train, backtest) are for many series."""
    if id_col is None and (global_ is not None or static_features is not None):
        what = "--static-features is" if global_ is None else "--global and --local are"
        raise OptionError(f"{what} for many series: give the id column with --id-col")


def require_series(data: Path, series_id: str | None, ids: list[str]) -> None:
    """``backtest --id X`` names a series of the file."""
    if series_id is not None and series_id not in ids:
        raise ConfigError(f"--id {series_id!r}: no such series in {data.name} (first: {', '.join(ids[:5])})")


def static_columns(static_features: str | None, global_: bool | None) -> tuple[str, ...]:
    """The columns of ``--static-features`` (train, backtest), checked: names given, each once, and
    ``--global`` (static features feed one network across the series)."""
    static = tuple(c.strip() for c in (static_features or "").split(",") if c.strip())
    if static_features is not None and not static:
        raise OptionError("--static-features: give column names, e.g. --static-features region,category")
    if static and global_ is not True:
        raise OptionError("--static-features feed one network across the series: add --global")
    if len(set(static)) != len(static):
        raise OptionError(f"--static-features names a column twice ({static_features})")
    return static


def static_values(
    data: Path, id_col: str, target: str | None, time_col: str | None, static: tuple[str, ...]
) -> tuple[str, dict[str, dict[str, Any]]]:
    """`backtest --static-features`: the target column (never a static one) and each static column's
    value by series id (the panel reader checks that a column is constant within each series)."""
    from lstmcli.data.panel import load_panel

    panel = load_panel(data, id_col=id_col, target=target, time_col=time_col, static=static)
    return panel.target, {c: dict(zip(panel.ids, panel.static[c], strict=True)) for c in static}


def aligned_static(data: Path, by_id: dict[str, dict[str, Any]], ids: list[str]) -> dict[str, list[Any]]:
    """Static values in the order of ``ids``; a series the panel reader left out is named."""
    for c, values in by_id.items():
        lost = [sid for sid in ids if sid not in values]
        if lost:
            raise ConfigError(f"{data.name}: series {lost[0]!r} has no static '{c}' value that could be read")
    return {c: [values[sid] for sid in ids] for c, values in by_id.items()}


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


def panel_horizon_message(st: Any) -> str | None:
    """As a single series' train warns (``verdicts.horizon_message``): the series whose validation
    scored fewer horizon steps than the model forecasts, counted, with the fewest steps scored."""
    from lstmcli.data.wording import fmt_list
    from lstmcli.forecasting.verdicts import validated_steps

    scored = {sid: validated_steps(s.residuals) for sid, s in zip(st.ids, st.states, strict=True)}
    horizon = st.states[0].horizon if st.states else 0
    short = {sid: k for sid, k in scored.items() if 0 < k < horizon}
    if not short:
        return None
    fewest = min(short.values())
    return (
        f"validation scored fewer than the {horizon} horizon steps for {len(short)} of {len(scored)} series "
        f"({fmt_list(short, 3)}; as few as steps 1-{fewest}): their later steps were never checked against held-out data "
        "and their intervals are extrapolated; use a larger --val-size or a shorter --horizon"
    )


def report_panel_training(forecaster: Any, model: Path, seconds: float, as_json: bool) -> None:
    """The skipped series in one note, then the summary: as JSON, or a short table."""
    from collections import Counter

    from lstmcli.data.panel import skipped_note
    from lstmcli.forecasting.verdicts import winner

    if forecaster.skipped_:
        print_notes(stderr_console(), [skipped_note(forecaster.skipped_)])
    st = forecaster.state_
    short = panel_horizon_message(st)
    if short:
        warn(short)
    result = st.train_result
    summary = {
        "model": str(model),
        "data": Path(st.source).name,
        "id_col": st.id_col,
        "target": forecaster.target_,
        "series": len(st.ids),
        "skipped": len(st.skipped),
        "skipped_series": dict(st.skipped),  # id -> why it was left out
        "frequency": forecaster.freq_,
        "season": forecaster.season_,
        "lookbacks": list(forecaster.lookbacks_),
        "horizon": forecaster.horizon_,
        "strategy": forecaster.strategy_,
        "stop_reason": result.stop_reason,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "validation": st.validation,
        # per series, the baseline that beat the LSTM on its own validation (``predict --method best``)
        "winners": {sid: w for sid, s in zip(st.ids, st.states, strict=True) if (w := winner(s.validation))},
        "seconds": round(seconds, 3),
    }
    if st.first.known.width:  # the inputs known in advance (the summary of other panels is unchanged)
        summary["future_features"] = list(st.first.known.columns)
        summary["known_inputs"] = st.first.known.names
    if st.static:
        from lstmcli.forecasting.static import StaticEncoding

        summary["static_features"] = StaticEncoding(tuple(st.static)).names
    local = st.mode == "local"
    if not local and st.config.lookback is None:
        from lstmcli.forecasting.panel_global import wanted_lookbacks

        wanted = wanted_lookbacks(st.config, forecaster.season_)
        if summary["lookbacks"] != wanted:  # the shorter series capped the shared lookbacks
            summary["lookbacks_default"] = wanted
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
        from lstmcli.modelfile import json_safe  # NaN and inf as null

        sys.stdout.write(json.dumps(json_safe(summary), indent=2, allow_nan=False) + "\n")
        return
    from rich.table import Table

    from lstmcli.cli.render import comparison_table, verdict
    from lstmcli.cli.text import shell, styled

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
        if "lookbacks_default" in summary:
            wanted = ", ".join(map(str, summary["lookbacks_default"]))
            lookbacks += f" (not {wanted}: capped for the shorter series; --lookback sets them)"
        table.add_row("model", f"lookbacks {lookbacks}, horizon {summary['horizon']}, {summary['strategy']}")
        if st.static:
            shown = summary["static_features"]
            table.add_row(
                "static", f"{len(shown)} inputs: " + ", ".join(shown[:8]) + (", …" if len(shown) > 8 else "")
            )
        table.add_row(
            "epochs",
            f"{result.epochs_run} (best {result.best_epoch}), {result.stop_reason.replace('_', ' ')}",
        )
    table.add_row("time", f"{seconds:.1f} s")
    table.add_row("written", str(model))
    console.print(table)
    if st.validation:
        console.print(comparison_table(st.validation, "Validation: the mean over the series, data units"))
        console.print(verdict(st.validation, where="over the series together"))
    winners = summary["winners"]
    if winners:
        counts = Counter(winners.values()).most_common()
        console.print(
            styled(
                (
                    f"Series by series, the LSTM lost to a baseline on validation in {len(winners)} of "
                    f"{len(st.ids)} ("
                    + ", ".join(f"{name} {n}" for name, n in counts)
                    + f"): `lstmcli predict --model {shell(model)} --method best` forecasts each series with "
                    "its winner.",
                    "yellow",
                )
            )
        )
    # a model with inputs known in advance needs their values for the forecast period (as one series' hint)
    ahead = " --future FUTURE.csv" if st.states and st.states[0].known.columns else ""
    console.print(
        styled(
            "Next: ", (f"lstmcli predict --model {shell(model)}{ahead}", "bold"), " (every series) or ",
            (f"lstmcli inspect --model {shell(model)} --id {shell(st.ids[0])}", "bold"),
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


def newer_panel(
    panel: Any,
    data: Path,
    series_id: str | None,
    horizon: int | None,
    levels: tuple,
    method: str = "lstm",
    future: Any = None,
) -> Any:
    """`predict --data` on a panel model: the newer long file read with the model's id column, target
    and frequency; the forecasts of its series, and one note for those left out (and for the series of
    the model the file does not hold). Returns the forecasts by id, the newer series by id (what a
    picture draws as their history) and the file's series left out, with why (id -> reason)."""
    from lstmcli.data.panel import load_panel, skipped_note
    from lstmcli.data.wording import fmt_list, plural

    known = panel.forecaster(panel.ids_[0]).state_.known
    static = [c["name"] for c in panel.state_.static]
    newer = load_panel(
        data, id_col=panel.id_col_, target=panel.target_, freq=panel.freq_, future=known.columns,
        forecast_rows=bool(known.width), freq_given="the model's", static=tuple(static),
        static_if_present=True,
    )  # fmt: skip
    ids = None if series_id is None else [series_id]
    forecasts, left_out = panel.predict_data(
        newer, horizon, ids=ids, levels=levels, method=method, future=future
    )
    notes = [*newer.notes, *([skipped_note(left_out)] if left_out else [])]
    changed = static_changes(panel, newer, data.name, [sid for sid in forecasts if sid in set(panel.ids_)])
    notes += [changed] if changed else []
    trained = set(panel.ids_)
    newcomers = [sid for sid in forecasts if sid not in trained]
    if newcomers:
        notes.append(
            f"{plural(len(newcomers), 'series', 'series')} the model was not trained on "
            f"({fmt_list(newcomers, 3)}): "
            + (
                "forecast by its network as it is, each series with its own seasonal adjustment and scaling, "
                "its intervals from its own validation origins."
                if method == "lstm"
                else f"forecast by --method {method}, each from its own rows."
            )
        )
    absent = [sid for sid in panel.ids_ if sid not in newer.ids and sid not in dict(newer.skipped)]
    if absent and series_id is None:
        notes.append(
            f"{len(absent)} of the model's {len(panel.ids_)} series {'is' if len(absent) == 1 else 'are'} not "
            f"in {data.name}, so not forecast ({fmt_list(absent, 3)})."
        )
    print_notes(stderr_console(), notes)
    return forecasts, dict(zip(newer.ids, newer.series, strict=True)), dict(left_out)


def static_changes(panel: Any, newer: Any, name: str, ids: list[str]) -> str | None:
    """One note when the newer file gives a series static features other than the model's: a series'
    static features are the model's (fitted with it); the file's are read only to say so."""
    if not newer.static:
        return None
    from lstmcli.data.wording import fmt_list, plural

    first, changed = None, []
    for sid in ids:
        k = newer.ids.index(sid)
        for column, mine in model_static_values(panel, sid).items():
            if column not in newer.static:
                continue
            theirs = newer.static[column][k]
            number = isinstance(mine, float)
            # (a number compares as the model holds it: standardised, to float32's precision)
            if number and isinstance(theirs, float):
                scale = next(c["scale"] for c in panel.state_.static if c["name"] == column)
                same = abs(theirs - mine) <= 1e-5 * scale
            else:
                same = str(theirs) == str(mine)
            if not same:
                changed.append(sid)
                shown = (lambda v: f"{v:g}") if number else (lambda v: f"'{v}'")
                first = (
                    first or f"series '{sid}': {column} {shown(theirs)} in {name}, {shown(mine)} in the model"
                )
                break
    if not changed:
        return None
    return (
        f"{plural(len(changed), 'series', 'series')} ({fmt_list(changed, 3)}) "
        f"{'has' if len(changed) == 1 else 'have'} static features other than the model's ({first}): "
        "forecast with the model's, as it was trained; retrain to change them."
    )


def model_static_values(panel: Any, sid: str) -> dict[str, Any]:
    """A series' static feature values as the model holds them (decoded from its inputs)."""
    vector = panel.forecaster(sid).state_.preprocessing.static
    out, at = {}, 0
    for c in panel.state_.static:
        if c["kind"] == "number":
            out[c["name"]] = float(vector[at]) * c["scale"] + c["mean"]
            at += 1
        else:
            k = len(c["categories"])
            hot = vector[at : at + k]
            out[c["name"]] = c["categories"][int(hot.argmax())] if hot.max() > 0 else None
            at += k
    return out


def newer_series(model: Path, forecaster: Any, data: Path, series_id: str) -> tuple[Any, tuple[str, ...]]:
    """`inspect --id X --data NEWER` on a panel model: series X of the newer long file, read with the
    model's id column, target and frequency as `predict --data` reads it, and the reading's notes."""
    from lstmcli.data.panel import load_panel

    known = forecaster.state_.known
    newer = load_panel(
        data, id_col=panel_id_col(model), target=forecaster.target_, freq=forecaster.freq_,
        future=known.columns, forecast_rows=bool(known.width), freq_given="the model's",
    )  # fmt: skip
    if series_id not in newer.ids:
        from lstmcli.data.wording import fmt_list

        why = dict(newer.skipped).get(series_id)
        raise DataError(
            f"{data.name}: series '{series_id}' "
            + (f"was left out ({why})" if why else f"is not in the file (it holds {fmt_list(newer.ids)})")
        )
    return newer.series[newer.ids.index(series_id)], newer.notes


def panel_id_col(model: Path) -> str:
    """The id column of a panel model file."""
    from lstmcli.forecasting.panel import PanelForecaster

    return PanelForecaster.load(model).id_col_


def series_model(model: Path, series_id: str | None) -> tuple[Any, str]:
    """The ``Forecaster`` that `inspect` traces -- the model's own, or one series' of a panel (``--id``)
    -- and where its networks' weights are in the file: "" (a model of one series, a global model's
    shared networks) or "series.K." (series K of a panel of local models; panelfile)."""
    from lstmcli.forecasting.forecaster import Forecaster

    if not is_panel_model(model):
        forecaster = Forecaster.load(model)  # first: a missing or damaged file says so
        if series_id is not None:
            raise ConfigError(f"--id is for models of many series; {model.name} holds one series")
        return forecaster, ""
    from lstmcli.forecasting.panel import PanelForecaster

    panel = PanelForecaster.load(model)
    if series_id is None:
        ids = panel.ids_
        shown = ", ".join(ids[:5]) + (", …" if len(ids) > 5 else "")
        raise ConfigError(f"{model.name} holds {len(ids)} series; choose one with --id ({shown})")
    root = f"series.{panel.position(series_id)}." if panel.mode == "local" else ""
    return panel.forecaster(series_id), root


# ---------------------------------------------------------------------------------------------- backtest
WORST_SHOWN = 5  # series the table view of a panel backtest lists


def cross_validation(id_col: str, series: list[Any], result: Any) -> list[dict[str, Any]]:
    """`backtest --id-col`'s full table: a row per series, window and step (``forecasting.crossval``)."""
    from lstmcli.forecasting.crossval import result_rows

    return result_rows(id_col, series, result)


def panel_what(n: int, windows: int, step: int, horizon: int, mode: str) -> str:
    """What a panel backtest scored, in words (the title of its table)."""
    from lstmcli.data.wording import plural

    steps = plural(horizon, "step")
    if windows == 1:
        what = f"{n} series, one origin each, {steps}"
        return what + (", one global model" if mode == "global" else "")
    what = f"{n} series, up to {windows} origins each ({plural(step, 'step')} apart), {steps}"
    return what + (", a global model per window" if mode == "global" else "")


def windows_table(result: Any) -> Any:
    """A panel backtest's windows, the earliest first: every method's OWA over each window's series (below
    1 beats Naive2), so a user sees whether the ranking holds over time; the series each scored when a
    window scored fewer (too short for it)."""
    from rich.table import Table

    parts = result.per_window()
    step = int(parts[0].held_back[0]) // (len(parts) - 1)
    counts = [len(p.labels) for p in parts]
    title = (
        f"OWA per window (below 1 beats Naive2): window w of {len(parts)} leaves out the last "
        f"({len(parts)} - w) x {step} rows of each series"
    )
    table = Table(title=title, title_justify="left")
    table.add_column("window", justify="right")
    if len(set(counts)) > 1:
        table.add_column("series", justify="right")
    methods = list(result.forecasts)
    for name in methods:
        table.add_column(name, justify="right")
    for w, part in enumerate(parts, 1):
        overall = part.overall()
        count = [str(counts[w - 1])] if len(set(counts)) > 1 else []
        table.add_row(str(w), *count, *(_owa_text(overall[m]["OWA"]) for m in methods))
    return table


def _owa_text(value: float) -> str:
    return f"{value:.3f}" if math.isfinite(value) else "–"


def worst_series_table(
    id_col: str, ids: list[str], per_series: list[dict[str, dict[str, float]]], windows: int = 1
) -> Any:
    """The series where the LSTM does worst against Naive2 (highest OWA), with both methods' errors
    (means over its ``windows``)."""
    import math

    from rich.table import Table

    from lstmcli.cli.render import fmt

    def owa(k: int) -> float:
        value = per_series[k]["LSTM"]["OWA"]
        return value if math.isfinite(value) else -math.inf  # (undefined: no scale; listed last)

    order = sorted(range(len(per_series)), key=lambda k: (-owa(k), k))[:WORST_SHOWN]
    over = f", means over its windows (up to {windows})" if windows > 1 else ""
    table = Table(
        title=f"Worst series by OWA ({len(order)} of {len(per_series)}{over}; all: --format csv|json)",
        title_justify="left",
    )
    table.add_column(id_col)
    for column in ("sMAPE", "Naive2 sMAPE", "MASE", "Naive2 MASE", "OWA"):
        table.add_column(column, justify="right")
    for k in order:
        row = per_series[k]
        lstm, base = row["LSTM"], row["Naive2"]
        table.add_row(
            str(ids[k]), fmt(lstm["sMAPE"]), fmt(base["sMAPE"]), fmt(lstm["MASE"]), fmt(base["MASE"]),
            fmt(lstm["OWA"]),
        )  # fmt: skip
    return table
