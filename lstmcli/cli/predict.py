"""`lstmcli predict`: forecast the next periods from a saved model."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from lstmcli.cli import options as opt
from lstmcli.cli.common import (
    OutputFormat,
    fail,
    level_values,
    plot_path,
    print_notes,
    refuse_to_replace_inputs,
    stderr_console,
    stdout_console,
    user_errors,
    warn,
    write_plot,
    write_text_output,
)
from lstmcli.cli.text import shell
from lstmcli.errors import ConfigError
from lstmcli.forecasting.config import MAX_HORIZON, METHODS

ModelIn = Annotated[Path, typer.Option("--model", "-m", help="The model file written by `lstmcli train`.")]
PlotFile = Annotated[
    Path | None,
    typer.Option(
        "--plot",
        help="Also draw a picture to this file: .png, .svg or .pdf (needs matplotlib, which the plot "
        "extra of lstmcli installs).",
        dir_okay=False,
        show_default=False,
    ),
]
NewData = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="A CSV with newer observations of the same series to forecast from (default: the data stored in the model).",
    ),
]


Method = Annotated[
    Literal[(*METHODS, "best")],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        "--method",
        help="lstm: the model's own forecast; naive, snaive, naive2, theta, es or arima: that baseline, fitted to the "
        "training series (or to --data), for when it beat the LSTM on validation (no intervals); best: "
        "whichever won on validation (per series for a model of many series).",
    ),
]
SeriesId = Annotated[
    str | None,
    typer.Option(
        "--id", help="For a model of many series (train --id-col): the series to use (default: all)."
    ),
]


FutureFile = Annotated[
    Path | None,
    typer.Option(
        "--future",
        help="For a model trained with --future-features: a CSV with the time column and those columns "
        "for (at least) the forecast period, its dates continuing the series; earlier rows are not used "
        "(for a model of many series also the id column, each series' own rows).",
        dir_okay=False,
        show_default=False,
    ),
]


def load_newer_data(model: Any, path: Path) -> Any:
    """Read newer observations with the same columns and frequency the model was trained on; with inputs
    known in advance, trailing rows whose target is empty are the forecast period. What the reading
    decided (gaps filled, columns left out, ...) is in its ``notes``, for the command to print once its
    work has succeeded, as `train` does (an error stays the one line)."""
    import re

    from lstmcli.data.loader import load_csv
    from lstmcli.errors import DataError

    known = model.state_.known
    try:
        return load_csv(
            path, target=model.target_, features=model.feature_names_ or None, freq=model.freq_,
            future_features=list(known.columns) or None, forecast_rows=bool(known.width),
            freq_given="the model's",
        )  # fmt: skip
    except DataError as e:  # the loader's hint names train's option, which predict and inspect lack
        hint = re.search(r" \(several series in long format\? did you mean --id-col (.+)\?\)$", str(e))
        if hint is None:
            raise
        raise DataError(
            str(e)[: hint.start()] + f" (several series in long format, by '{hint.group(1)}'? this model "
            f"holds one series: train with --id-col {hint.group(1)} for a model of each)"
        ) from None


def load_future_file(model: Any, path: Path | None, check_only: bool = False) -> Any:
    """``--future FILE``: the values of the model's known-future columns for the forecast period
    (``check_only``: only refuse a file the model does not take)."""
    if path is None:
        return None
    known = model.state_.known
    if not known.columns:
        what = "no inputs known in advance"
        if known.width:
            what = f"only calendar and holiday inputs ({', '.join(known.names)}), rebuilt from the dates"
        raise ConfigError(f"--future {path}: the model has {what}; it needs no --future file")
    if check_only:
        return None
    from lstmcli.data.future import load_future

    return load_future(path, known.columns)


def forecast_rows(forecast: Any, levels: list[float]) -> list[dict[str, Any]]:
    from lstmcli.data.stepdates import dates_text

    rows = []
    dates = None if forecast.timestamps is None else dates_text(forecast.timestamps)
    for k, value in enumerate(forecast.values):
        row: dict[str, Any] = {}
        if dates is not None:
            row["date"] = dates[k]
        else:
            row["step"] = forecast.start_step + k
        row["forecast"] = float(value)
        for level in levels:
            lo, hi = forecast.intervals[level]
            row[f"lower_{level}"] = float(lo[k])
            row[f"upper_{level}"] = float(hi[k])
        rows.append(row)
    return rows


def _refuse_overflow(forecast: Any, series: str | None = None) -> None:
    """A forecast that grew past the largest float (a growth on the log scale, ES's or ARIMA's, compounded
    over a very long horizon) is refused in one line naming the step, before anything is written: inf
    would be no forecast, and JSON has no way to write it."""
    import numpy as np

    finite = np.isfinite(forecast.values)
    for lo, hi in forecast.intervals.values():
        finite &= np.isfinite(lo) & np.isfinite(hi)
    if not finite.all():
        step = int(np.argmin(finite)) + 1
        where = f"series '{series}': " if series is not None else ""
        raise ConfigError(
            f"{where}--horizon {len(finite)}: the forecast passes the largest number a float holds at step "
            f"{step} (a growth compounded over the horizon); forecast at most {step - 1} steps"
        )


def rows_to_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return buf.getvalue()


def predict(
    model: ModelIn = Path("model.npz"),
    horizon: Annotated[
        int | None,
        typer.Option(
            min=1, max=MAX_HORIZON, help="Periods to forecast (default: the model's horizon, one season)."
        ),
    ] = None,
    data: NewData = None,
    level: Annotated[
        list[float] | None,
        typer.Option(
            help="Prediction interval level in percent (from 1 to below 100), repeatable: --level 80 "
            "--level 99.5.",
            callback=level_values,
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the forecast to this file: .csv (or no extension) or .json, as --format writes them.",
            dir_okay=False,
        ),
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table (with a chart), csv or json on stdout.")
    ] = OutputFormat.table,
    plot: PlotFile = None,
    series_id: SeriesId = None,
    method: Method = "lstm",
    scheduler: opt.Scheduler = None,
    future: FutureFile = None,
) -> None:
    """Forecast the next periods with a trained model; dates continue the series."""
    levels = list(level or [])
    with user_errors():
        refuse_to_replace_inputs(output, "--output", {"--model": model, "--data": data, "--future": future})
        refuse_to_replace_inputs(plot, "--plot", {"--model": model, "--data": data, "--future": future})
        from lstmcli.forecasting.executors import require_dask

        require_dask(scheduler)
    output_kind = _output_kind(output)
    plot_path(plot)
    with user_errors():
        from lstmcli.cli.panels import is_panel_model
        from lstmcli.forecasting.forecaster import Forecaster

        if is_panel_model(model):  # a model of many series (train --id-col)
            predict_panel(model, series_id, horizon, levels, output, output_kind, output_format, data,
                          plot, method, scheduler, future)  # fmt: skip
            return
        forecaster = Forecaster.load(model)  # (its networks run in NumPy: nothing to compile)
        # (after the load: a missing or damaged file says so, not that it "holds one series")
        if series_id is not None:
            raise ConfigError(f"--id is for models of many series; {model.name} holds one series")
        if scheduler is not None:
            raise ConfigError(
                f"--scheduler is for models of many series (train --id-col); {model.name} holds one series, "
                "forecast here"
            )

        newer = load_newer_data(forecaster, data) if data is not None else None
        ahead = load_future_file(forecaster, future)
        forecast = forecaster.predict(horizon, data=newer, levels=tuple(levels), method=method, future=ahead)
        _refuse_overflow(forecast)
        if newer is not None:
            print_notes(stderr_console(), newer.notes)
        from lstmcli.forecasting.intervals import level_warning

        warned = (level_warning(lv, forecaster.residuals_, forecaster.naive2_errors_) for lv in levels)
        forecast.warnings += [w for w in warned if w]
        rows = forecast_rows(forecast, levels)
        payload = {
            "model": str(model),
            "target": forecaster.target_,
            "frequency": forecaster.freq_,
            "levels": levels,
            "forecast": rows,
            "warnings": forecast.warnings,
        }
        if method != "lstm":  # (the model's own forecast keeps the document it always had)
            payload["method"] = forecast.method  # ("best": the validation's winner)
        if method == "best":
            print_notes(stderr_console(), [best_note({"": forecast.method}, forecaster.validation_)])
        if output is not None:
            write_text_output(output, _document(output_kind, rows, payload))
    if plot is not None:
        write_plot(_forecast_picture(forecaster, forecast, newer, levels, data), plot)

    for warning in forecast.warnings:
        warn(warning)
    if output_format is not OutputFormat.table:
        sys.stdout.write(_document(output_format.value, rows, payload))
        return
    from lstmcli.cli.chart import forecast_chart
    from lstmcli.cli.render import forecast_table

    console = stdout_console()
    history = newer.values if newer is not None else forecaster.tail_values_
    shown = history[-max(3 * forecaster.season_, 2 * len(forecast.values), 24) :]
    band = forecast.intervals.get(levels[-1]) if levels else None
    console.print(
        forecast_chart(
            shown,
            forecast.values,
            width=console.width,
            lower=None if band is None else band[0],
            upper=None if band is None else band[1],
            labels=_chart_labels(forecaster, forecast, newer, len(shown)),
            level=levels[-1] if levels else None,
        )
    )
    console.print(forecast_table(rows, levels, forecast.method))
    source = (
        f"{data}" if data is not None else f"the {forecaster.n_obs_} observations of {forecaster.source_}"
    )
    console.print(
        f"{forecaster.target_}, {len(rows)} period{'s' * (len(rows) != 1)} after {source}", style="dim"
    )
    if output is not None:
        console.print(f"written to {output}", style="dim")
    if plot is not None:
        from rich.text import Text

        console.print(Text(f"picture written to {plot}", style="dim"))


def _chart_labels(forecaster: Any, forecast: Any, newer: Any, n_history: int) -> list[str] | None:
    """Dates (or step numbers) of the last ``n_history`` observations and of the forecast."""
    if forecast.timestamps is None:
        return [
            str(k) for k in range(forecast.start_step - n_history, forecast.start_step + len(forecast.values))
        ]
    if newer is not None and newer.timestamps is not None:
        past = newer.timestamps[-n_history:]
    else:
        from lstmcli.data.stepdates import timestamps_ending_at

        past = timestamps_ending_at(forecaster.last_timestamp_, forecaster.freq_, n_history)
    from lstmcli.data.stepdates import dates_text

    return dates_text([*past, *forecast.timestamps])


OUTPUT_KINDS = {"": "csv", ".csv": "csv", ".json": "json"}


def _output_kind(output: Path | None) -> str | None:
    """What ``--output`` writes, from its extension; any other extension is an error (never CSV text in
    a .png), and so is a file that cannot be written there, before any work."""
    if output is None:
        return None
    kind = OUTPUT_KINDS.get(output.suffix.lower())
    if kind is None:
        hint = " (for a picture use --plot)" if output.suffix.lower() in (".png", ".svg", ".pdf") else ""
        raise fail(f"--output {output}: write a .csv or a .json file, not {output.suffix!r}{hint}", code=2)
    from lstmcli.errors import LstmcliError
    from lstmcli.npzfile import check_writable

    try:  # (a folder that does not exist: said now, not after a backtest's trainings)
        check_writable(output)
    except LstmcliError as e:
        raise fail(str(e)) from None
    return kind


def _forecast_picture(forecaster: Any, forecast: Any, newer: Any, levels: list[float], data: Any) -> Any:
    """The figure of ``--plot``: the recent history (with its dates), the forecast and its intervals."""
    from lstmcli.cli.plots import forecast_figure

    source = data.name if data is not None else forecaster.source_
    n = len(forecast.values)
    by = "" if forecast.method == "lstm" else f" by {METHODS[forecast.method]}"
    title = (
        f"{forecaster.target_}: forecast{by} of the next {n} {'period' if n == 1 else 'periods'} ({source})"
    )
    return forecast_figure(**_picture_series(forecaster, forecast, newer, title))


def _picture_series(forecaster: Any, forecast: Any, newer: Any, title: str) -> dict[str, Any]:
    """What ``plots.forecast_figure`` draws of one series: its recent history (with its dates, else
    step numbers), the forecast and its intervals."""
    if newer is not None:
        history, stamps = newer.values, newer.timestamps
    else:
        history, stamps = forecaster.tail_values_, None
        if forecaster.last_timestamp_ is not None and forecaster.freq_:
            from lstmcli.data.stepdates import timestamps_ending_at

            stamps = timestamps_ending_at(forecaster.last_timestamp_, forecaster.freq_, len(history))
    keep = max(4 * forecaster.season_, 3 * len(forecast.values), 36)
    history = history[-keep:]
    dated = stamps is not None and forecast.timestamps is not None
    if dated:
        hx, fx = stamps[-keep:], forecast.timestamps
    else:
        import numpy as np

        hx = np.arange(forecast.start_step - len(history), forecast.start_step)
        fx = np.arange(forecast.start_step, forecast.start_step + len(forecast.values))
    return {
        "history": history,
        "history_x": hx,
        "forecast": forecast.values,
        "forecast_x": fx,
        "intervals": forecast.intervals,
        "title": title,
        "ylabel": forecaster.target_,
        "dated": dated,
    }


def _panel_picture(
    panel: Any, forecasts: dict[str, Any], series_id: str | None, model: Path, newer: dict[str, Any]
) -> Any:
    """``--plot`` of a panel model: the series ``--id`` names, or the first ``GRID_SERIES`` in a grid;
    each with the history it was forecast from (``newer``: the series of ``--data``, else the model's)."""
    from lstmcli.cli.plots import GRID_SERIES, forecast_figure, forecast_grid_figure

    id_col, h = panel.id_col_, len(next(iter(forecasts.values())).values)
    trained = set(panel.ids_)

    def forecaster(sid: str) -> Any:  # a series the model was not trained on comes from --data, whose
        # rows are its history; the season and target it needs besides are the panel's
        return panel.forecaster(sid if sid in trained else panel.ids_[0])

    if series_id is not None:
        title = f"{panel.target_} of {id_col} {series_id}: forecast of the next {h} periods ({model.name})"
        return forecast_figure(
            **_picture_series(forecaster(series_id), forecasts[series_id], newer.get(series_id), title)
        )
    shown = list(forecasts)[:GRID_SERIES]
    series = [
        _picture_series(forecaster(sid), forecasts[sid], newer.get(sid), f"{id_col} {sid}") for sid in shown
    ]
    more = (
        f"the first {len(shown)} of {len(forecasts)} series"
        if len(forecasts) > len(shown)
        else "every series"
    )
    title = f"{panel.target_}: forecasts of the next {h} periods ({model.name}; {more}, --id picks one)"
    return forecast_grid_figure(series, title=title)


SHOWN_ROWS = 6  # rows of the first series the table view of a panel forecast shows


def predict_panel(
    model: Path, series_id: str | None, horizon: int | None, levels: list[float], output: Path | None,
    output_kind: str | None, output_format: Any, data: Path | None, plot: Path | None,
    method: str = "lstm", scheduler: str | None = None, future: Path | None = None,
) -> None:  # fmt: skip
    """`predict` on a panel model: every series, or the one ``--id`` names; with ``--data``, those of
    the newer file, each from the end of its own rows (``PanelForecaster.predict_data``); ``--future``:
    each series' values of the inputs known in advance for its forecast period."""
    from lstmcli.forecasting.panel import PanelForecaster

    panel = PanelForecaster.load(model)
    id_col = panel.id_col_
    ahead, newer, file_left_out = None, {}, {}
    if future is not None:
        from lstmcli.data.future import load_panel_future

        load_future_file(panel.forecaster(panel.ids_[0]), future, check_only=True)
        ahead = load_panel_future(future, id_col, panel.forecaster(panel.ids_[0]).state_.known.columns)
    if data is None:
        ids = [series_id] if series_id is not None else panel.ids_
        from lstmcli.forecasting.executors import maybe_connect

        with maybe_connect(scheduler) as cluster:  # (after the model is read: a bad file fails first)
            forecasts = panel.predict(
                horizon, ids=ids, levels=tuple(levels), method=method, executor=cluster, future=ahead
            )
    else:
        from lstmcli.cli.panels import newer_panel

        forecasts, newer, file_left_out = newer_panel(
            panel, data, series_id, horizon, tuple(levels), method, ahead
        )
        ids = list(forecasts)
    for sid, f in forecasts.items():
        _refuse_overflow(f, sid)
    rows = [
        {id_col: sid} | ({"method": f.method} if method == "best" else {}) | row
        for sid, f in forecasts.items()
        for row in forecast_rows(f, levels)
    ]
    if method == "best":
        print_notes(stderr_console(), [best_note({sid: f.method for sid, f in forecasts.items()})])
    left_out = dict(panel.skipped_) if data is None and series_id is None else {}
    if left_out:  # (the rest of the file's series: no forecast, and the output should not hide it)
        from lstmcli.data.panel import skipped_note

        print_notes(
            stderr_console(),
            [skipped_note(left_out.items(), "No forecast (left out at training) for")],
        )
    warned = {sid: f.warnings for sid, f in forecasts.items() if f.warnings}
    if levels:  # (calibrated over every series of the model: one warning for all)
        from lstmcli.forecasting.intervals import panel_level_warning

        states = panel.state_.states
        for level in levels:
            short = panel_level_warning(
                level, [st.residuals for st in states], [st.naive2_errors for st in states]
            )
            if short:
                warn(short)
    payload = {
        "model": str(model),
        "target": panel.target_,
        "frequency": panel.freq_,
        "id_col": id_col,
        "levels": levels,
        "forecast": rows,
        "warnings": warned,
        # id -> why it has no forecast: left out at training, or (--data) left out of the file's reading
        "skipped_series": left_out or file_left_out,
    }
    if output is not None:
        write_text_output(output, _document(output_kind, rows, payload))
    if plot is not None:
        write_plot(_panel_picture(panel, forecasts, series_id, model, newer), plot)
    if len(ids) == 1:
        for warning in warned.get(ids[0], []):
            warn(f"{ids[0]}: {warning}")
    elif warned:
        first = ", ".join(list(warned)[:3]) + (", …" if len(warned) > 3 else "")
        sid, said = next(iter(warned.items()))
        warn(f"{len(warned)} of {len(ids)} series have forecasts that may not be worth much ({first}); "
             f"{sid}: {said[0]}; every series' in 'warnings' of --format json")  # fmt: skip
    if output_format is not OutputFormat.table:
        sys.stdout.write(_document(output_format.value, rows, payload))
        return
    from lstmcli.cli.render import forecast_table

    console = stdout_console()
    first_id = ids[0]
    first_rows = forecast_rows(forecasts[first_id], levels)
    h = len(first_rows)
    if len(ids) == 1:
        console.print(forecast_table(first_rows, levels, forecasts[first_id].method))
        after = f"the last row of {data.name}" if data is not None else "its last observation"
        console.print(
            f"{panel.target_} of {id_col} {first_id}, {h} period{'s' * (h != 1)} after {after}", style="dim"
        )
    else:
        console.print(forecast_table(first_rows[:SHOWN_ROWS], levels, forecasts[first_id].method))
        more = f" (first {SHOWN_ROWS} of {h} periods)" if h > SHOWN_ROWS else ""
        console.print(f"{panel.target_} of {id_col} {first_id}{more}", style="dim")
        console.print(
            f"Forecasts of {len(ids)} series, {h} periods each ({len(rows)} rows). All of them: --format csv "
            f"or --output forecasts.csv; one series: --id {shell(first_id)}"
        )
    if output is not None:
        console.print(f"written to {output}", style="dim")
    if plot is not None:
        from rich.text import Text

        console.print(Text(f"picture written to {plot}", style="dim"))


def _document(kind: str, rows: list[dict], payload: dict) -> str:
    """The forecast as ``kind`` ("csv" or "json") says, for --output and for stdout alike."""
    return json.dumps(payload, indent=2) + "\n" if kind == "json" else rows_to_csv(rows)


def best_note(methods: dict[str, str], validation: dict | None = None) -> str:
    """What ``--method best`` chose: one series' method, or how many series each method forecasts."""
    from collections import Counter

    if len(methods) == 1:
        (chosen,) = methods.values()
        if chosen == "lstm" and validation is not None and not validation:
            return (
                "--method best: the model kept no validation (trained with --val-size 0): "
                "the LSTM's forecast."
            )
        name = METHODS[chosen]
        won = "no baseline beat the LSTM" if chosen == "lstm" else f"{name} beat the LSTM"
        return f"--method best: {won} on validation, so this is the {name} forecast."
    counts = ", ".join(f"{METHODS[key]} {n}" for key, n in Counter(methods.values()).most_common())
    return f"--method best: each series' validation winner ({counts}); --format csv or json names each row's."
