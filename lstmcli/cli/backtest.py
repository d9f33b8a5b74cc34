"""`lstmcli backtest DATA.csv`: rolling-origin evaluation next to the naive baselines."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from lstmcli.cli import options as opt
from lstmcli.cli.common import (
    OutputFormat,
    fail,
    level_values,
    parse_columns,
    parse_features,
    plot_path,
    print_notes,
    refuse_to_replace_inputs,
    start_workers,
    stderr_console,
    stdout_console,
    user_errors,
    warm_engine,
    write_plot,
    write_text_output,
)
from lstmcli.cli.plots import GRID_SERIES
from lstmcli.cli.predict import PlotFile, rows_to_csv
from lstmcli.cli.predict import _output_kind as output_kind_of
from lstmcli.cli.train import forecaster_config, warn_settings
from lstmcli.errors import ConfigError, OptionError

D = opt.DEFAULTS


def fmt_level(level: float) -> str:
    """A level as its column name shows it: 95, 99.5."""
    return f"{level:g}"


def interval_steps(result: Any) -> list[dict[float, tuple[float, float]]]:
    """Per horizon step, for each level: the coverage and the MSIS of that step over the rows."""
    import numpy as np

    from lstmcli.forecasting.metrics import msis

    out = []
    for j in range(result.horizon):
        row = {}
        for level, (lo, hi) in result.intervals.items():
            y = result.actual[:, j]
            scores = [
                msis(
                    y[k : k + 1], lo[k, j : j + 1], hi[k, j : j + 1], result.insample[k], result.season, level
                )
                for k in range(len(y))
            ]
            ok = ~np.isnan(lo[:, j])  # rows without an interval are left out, as the coverage leaves them
            inside = (lo[ok, j] <= y[ok]) & (y[ok] <= hi[ok, j])
            row[level] = (float(np.mean(inside)), float(np.mean(np.asarray(scores)[ok])))
        out.append(row)
    return out


WINDOWS = 5  # --windows by default for a single series (a panel: 1, as the M3/M4 competitions score)


def backtest(
    data: opt.DataArg,
    horizon: opt.Horizon = None,
    windows: Annotated[
        int | None,
        typer.Option(
            min=1,
            help=f"How many forecast origins (rolling windows; default {WINDOWS}, with --id-col 1: each window "
            "of a panel trains its models anew).",
            show_default=False,
        ),
    ] = None,
    step: Annotated[
        int | None, typer.Option(min=1, help="Steps between origins (default: the horizon).")
    ] = None,
    refit: Annotated[
        bool | None,
        typer.Option(
            "--refit/--no-refit",
            help="Train a model per origin, or one model for all origins (a single series; default "
            "--no-refit).",
            show_default=False,
        ),
    ] = None,
    id_col: Annotated[
        str | None,
        typer.Option(
            "--id-col",
            help="Long format with many series (CSV or Parquet, e.g. series_id,step,value,split): the column "
            "naming the series. With a 'split' column the test rows are the horizon.",
        ),
    ] = None,
    level: Annotated[
        list[float] | None,
        typer.Option(
            help="Also measure the coverage and MSIS of these interval levels.", callback=level_values
        ),
    ] = None,
    global_: opt.GlobalMode = None,
    plot: PlotFile = None,
    series_id: Annotated[
        str | None,
        typer.Option(
            "--id",
            help=f"With --id-col and --plot: the series to draw (default: the first {GRID_SERIES}, in a grid).",
        ),
    ] = None,
    target: opt.Target = None,
    time_col: opt.TimeCol = None,
    features: opt.Features = None,
    future_features: opt.FutureFeatures = None,
    calendar: opt.Calendar = False,
    holidays: opt.Holidays = None,
    freq: opt.Freq = None,
    fill: opt.BacktestFill = D["fill"],
    lookback: opt.Lookback = None,
    season: opt.Season = None,
    strategy: opt.Strategy = D["strategy"],
    transform: opt.Transform = D["transform"],
    normalize: opt.Normalize = D["normalize"],
    deseasonalize: opt.Deseasonalize = D["deseasonalize"],
    ensemble: opt.Ensemble = D["ensemble"],
    hidden: opt.Hidden = D["hidden"],
    layers: opt.Layers = D["layers"],
    dropout: opt.Dropout = D["dropout"],
    epochs: opt.Epochs = D["epochs"],
    batch_size: opt.BatchSize = D["batch_size"],
    lr: opt.Lr = D["lr"],
    loss: opt.Loss = D["loss"],
    val_size: opt.ValSize = D["val_size"],
    patience: opt.Patience = D["patience"],
    monitor: opt.Monitor = D["monitor"],
    combine: opt.Combine = D["combine"],
    retrain: opt.Retrain = D["refit"],
    seed: opt.Seed = D["seed"],
    threads: opt.Threads = 0,
    scheduler: opt.Scheduler = None,
    static_features: opt.StaticFeatures = None,
    output_format: Annotated[
        OutputFormat,
        typer.Option(
            "--format",
            help="table, csv (per-step errors; with --id-col the cross-validation table: a row per series "
            "and step) or json (with --id-col also per-series errors and that table) on stdout.",
        ),
    ] = OutputFormat.table,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="Also write the result to this file: .csv (or no extension) or .json, as --format writes them.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Measure forecast errors on past data: the LSTM next to Naive, Seasonal naive, Naive2, Theta, ES and ARIMA.

    Single series: the last --windows origins, --step apart, each forecasting --horizon steps.
    Many series (--id-col): one origin per series, as in the M3/M4 competitions.

    Many series with --windows N: N origins per series, --step apart, each window's models trained anew.
    """
    levels = list(level or [])
    if series_id is not None and (id_col is None or plot is None):
        raise fail("--id picks the series to draw: it needs --id-col and --plot", code=2)
    with user_errors():
        refuse_to_replace_inputs(plot, "--plot", {"DATA": data})
        refuse_to_replace_inputs(output, "--output", {"DATA": data, "--plot": plot})
        from lstmcli.forecasting.executors import require_dask

        require_dask(scheduler)
    output_kind = output_kind_of(output)
    plot_path(plot)
    start_workers(threads, scheduler)  # gets ready while the data is read
    with user_errors():
        from lstmcli.engine import kernels  # noqa: F401  (binds NumPy's BLAS: a NumPy without it fails first)
        from lstmcli.forecasting.backtest import backtest_series
        from lstmcli.forecasting.executors import maybe_connect

        config = forecaster_config(locals())
        err = stderr_console()
        from rich.progress import Progress

        # (transient: on a terminal it vanishes when done; elsewhere it would leave only an empty line)
        shown = output_format is OutputFormat.table and err.is_terminal
        bar = Progress(console=err, transient=True, disable=not shown)
        task = bar.add_task("training", total=None)

        def progress(k: int, n: int) -> None:
            bar.update(task, completed=k, total=n, description=f"training model {k + 1}/{n}")

        def window_progress(w: int) -> Any:  # (said as window w starts; the progress of its models)
            if n_windows == 1:
                return progress
            bar.update(task, description=f"window {w}/{n_windows}")
            return lambda k, n: bar.update(
                task, completed=k, total=n, description=f"window {w}/{n_windows}: training model {k + 1}/{n}"
            )

        from lstmcli.cli.panels import require_id_col, require_series, static_columns

        require_id_col(id_col, global_, static_features)
        if id_col is not None and features:  # (as train says it: never read without a word)
            raise OptionError("--features is not supported with --id-col yet")
        static = static_columns(static_features, global_)
        if id_col is not None and refit is not None:
            print_notes(err, [f"--{'' if refit else 'no-'}refit is for a single series: each window of a panel "
                              "trains its models anew."])  # fmt: skip
        if id_col is not None and windows is None and step is not None:
            raise OptionError("--step sets the steps between a panel's windows: give --windows too")
        n_windows = windows or (1 if id_col is not None else WINDOWS)
        if n_windows == 1 and step is not None:
            print_notes(err, ["--step is the steps between windows: with one window it changes nothing."])
        mode = None
        if id_col is not None and (future_features or calendar or holidays):  # known inputs per series
            from lstmcli.cli.backtest_known import backtest_known_command

            if static:
                raise OptionError("--static-features with inputs known in advance: not in backtest yet")

            result, ids, series, mode, what = backtest_known_command(
                data, config, id_col, target, time_col, freq, fill, future_features, season, horizon, global_,
                levels, threads, scheduler, series_id, bar, n_windows, step,
            )  # fmt: skip
        elif id_col is not None:
            from lstmcli.cli.panels import panel_mode, panel_what
            from lstmcli.data.loader import load_long_csv, season_length
            from lstmcli.data.panel import panel_frequency

            by_id = None
            if static:  # read first: the static columns are never the target
                from lstmcli.cli.panels import static_values

                target, by_id = static_values(data, id_col, target, time_col, static)
            read: list[str] = []
            series = load_long_csv(data, id_col=id_col, target=target, time_col=time_col, notes=read)
            print_notes(err, read)
            marked = sorted({s.n_test for s in series if s.n_test})
            if horizon is not None and marked and marked != [horizon]:
                print_notes(err, [f"--horizon {horizon} is not used: {data.name}'s split column marks "
                                  f"{marked[0]} test rows per series, and those are scored."])  # fmt: skip
            ids = [str(s.series_id) for s in series]
            require_series(data, series_id, ids)
            if by_id is not None:
                from lstmcli.cli.panels import aligned_static

                by_id = aligned_static(data, by_id, ids)
            warn_settings(config)
            warm_engine()  # after the data is read: a bad file fails before any compiling
            # the season from the dates, when the file has them (a daily panel is weekly-seasonal)
            found = freq or panel_frequency(data, id_col=id_col, target=target, time_col=time_col)
            m = season or season_length(found)
            defaulted = horizon is None and not marked
            if defaulted:  # no split column: the last season, --horizon's default
                horizon = max(m, 1)
            if season is None and found is None:  # (M3/M4's files number their steps: no dates)
                from lstmcli.cli.panels import no_season_note

                print_notes(err, [no_season_note(data.name, horizon_too=defaulted)])
            from lstmcli.forecasting.backtest import common_horizon

            h_all = common_horizon(series, horizon, data.name)
            from lstmcli.data.panel import check_scored_rows

            scored = h_all + (n_windows - 1) * (step or h_all)  # (every window's rows)
            print_notes(err, check_scored_rows(series, found, scored, str(data)))
            mode = panel_mode(global_)
            from lstmcli.forecasting.backtest_windows import backtest_panel_windows

            with maybe_connect(scheduler) as cluster, bar:
                result = backtest_panel_windows(
                    series, config, mode=mode, windows=n_windows, step=step or h_all, horizon=h_all, season=m,
                    levels=levels, path=data.name, threads=threads, executor=cluster, static=by_id,
                    on_window=window_progress,
                )  # fmt: skip
            what = panel_what(len(series), n_windows, step or h_all, h_all, mode)
        else:
            from lstmcli.data.loader import load_csv, season_length

            series_data = load_csv(
                data,
                target=target,
                time_col=time_col,
                features=parse_features(features),
                freq=freq,
                fill=fill,
                future_features=parse_columns(future_features, "--future-features"),
                # trailing rows without a target (the forecast period of a file made for predict) are
                # read apart, as train reads them, and left out: a backtest scores rows with values
                forecast_rows=bool(future_features or calendar or holidays),
            )
            print_notes(err, series_data.notes)
            warn_settings(config)
            m = season or season_length(series_data.freq)
            h = horizon or max(m, 1)
            warm_engine()  # after the data is read: a bad file fails before any compiling
            with maybe_connect(scheduler) as cluster, bar:
                result = backtest_series(
                    series_data, config, horizon=h, windows=n_windows, step=step or h, refit=bool(refit),
                    levels=levels, on_fit=progress, threads=threads, executor=cluster,
                )  # fmt: skip
            what = f"{n_windows} origins ({result.labels[0]} … {result.labels[-1]}), {h} steps each"
        if plot is not None:
            from lstmcli.cli.plots import backtest_figure

            if id_col is not None:
                # the grid draws the latest window's forecasts (every window's are in the csv and json);
                # the error by step is over every window
                last = [
                    k
                    for k in range(len(result.labels))
                    if result.windows == 1 or result.window[k] == result.windows
                ]
                scored = [result.labels[k] for k in last]  # (a series too short to score is not among them)
                if series_id is not None and series_id not in scored:
                    raise ConfigError(f"--id {series_id!r}: that series has too few rows to be scored")
                rows = (
                    [last[scored.index(series_id)]]
                    if series_id is not None
                    else last[: min(GRID_SERIES, len(scored))]
                )
                times = {
                    str(s.series_id): getattr(s, "times", getattr(s, "timestamps", None)) for s in series
                }
                latest = f", the latest of {result.windows} windows drawn" if result.windows > 1 else ""
                fig = backtest_figure(
                    result,
                    title=f"Backtest of {data.name}: {len(scored)} series, {result.horizon} steps{latest}"
                    + (f" (series {series_id})" if series_id is not None else _shown(len(rows), len(scored))),
                    ylabel=target or "value",
                    series_index=rows,
                    series_times=[
                        times.get(label) if k in last else None for k, label in enumerate(result.labels)
                    ],
                )
            else:
                fig = backtest_figure(
                    result,
                    title=f"Backtest of {data.name} ({series_data.target}): {what}",
                    ylabel=series_data.target,
                    timestamps=series_data.timestamps,
                )
            write_plot(fig, plot)

    print_notes(stderr_console(), [*result.notes, *result.scoring_notes()])
    overall = result.overall()
    per_step = result.per_step()
    per_series, table, ids_scored = None, None, []
    if id_col is not None:  # many series: per-series errors and the cross-validation table
        from lstmcli.cli.panels import cross_validation

        ids_scored, per_series = result.per_series()  # (over its windows)
        if output is not None or output_format is not OutputFormat.table:
            with user_errors():  # (an id column named as one of the table's columns is refused)
                table = cross_validation(id_col, series, result)

    def document(kind: str) -> str:
        if kind == "json":
            from lstmcli.modelfile import json_safe  # NaN and inf as null

            payload: dict[str, Any] = {
                "data": str(data),
                "horizon": result.horizon,
                "season": result.season,
                "origins": result.labels,
                "overall": overall,
                "per_step": [{"step": j + 1, **row} for j, row in enumerate(per_step)],
                "coverage": {str(k): v for k, v in result.coverage.items()},
                "seconds": round(result.seconds, 3),
            }
            if result.intervals:  # M4's interval score next to the coverage, overall and per series/origin
                payload["msis"] = {str(k): v for k, v in result.msis().items()}
                by_row = (
                    result.series_intervals().items()  # a panel: per series, over its windows
                    if id_col is not None
                    else zip(result.labels, result.interval_rows(), strict=True)
                )
                payload["intervals_per_row"] = {
                    label: {str(k): v for k, v in row.items()} for label, row in by_row
                }
            if id_col is not None:
                payload["id_col"] = id_col
                payload["per_series"] = dict(zip(ids_scored, per_series, strict=True))
                if result.windows > 1:
                    payload["windows"] = [
                        window_summary(w, part) for w, part in enumerate(result.per_window(), 1)
                    ]
                payload["cross_validation"] = table
            return json.dumps(json_safe(payload), indent=2, default=lambda v: None, allow_nan=False) + "\n"
        if table is not None:
            return rows_to_csv(table)
        return _per_step_csv(result, per_step, overall)

    with user_errors():
        if output is not None:
            write_text_output(output, document(output_kind))
    if output_format is not OutputFormat.table:
        sys.stdout.write(document(output_format.value))
        return
    from lstmcli.cli.render import comparison_table, fmt, per_step_table, verdict

    console = stdout_console()
    console.print(per_step_table(per_step, "sMAPE"))
    console.print(comparison_table(overall, f"Backtest of {data.name}: {what}"))
    console.print(verdict(overall))
    if result.windows > 1:
        from lstmcli.cli.panels import windows_table

        console.print(windows_table(result))
    if per_series is not None:
        from lstmcli.cli.panels import worst_series_table

        console.print(worst_series_table(id_col, ids_scored, per_series, result.windows))
    msis_all = result.msis()  # M4's mean scaled interval score: lower is better
    for lvl, cov in result.coverage.items():
        console.print(
            f"{lvl}% intervals covered {100 * cov:.1f}% of the actual values, MSIS {fmt(msis_all[lvl])}"
        )
    console.print(f"{result.seconds:.1f} s", style="dim")
    if output is not None:
        console.print(f"written to {output}", style="dim")
    if plot is not None:
        from rich.text import Text

        console.print(Text(f"picture written to {plot}", style="dim"))


def window_summary(window: int, part: Any) -> dict[str, Any]:
    """One window of a panel backtest in the json: which, the rows it held back, its series, and its
    errors, coverage and MSIS over them."""
    return {
        "window": window,
        "held_back": int(part.held_back[0]),
        "series": len(part.labels),
        "overall": part.overall(),
        "coverage": {str(k): v for k, v in part.coverage.items()},
        "msis": {str(k): v for k, v in part.msis().items()},
    }


def _per_step_csv(
    result: Any, per_step: list[dict[str, dict[str, float]]], overall: dict[str, dict[str, float]]
) -> str:
    """The errors of every method per horizon step, then over all steps ("all"); with --level, the
    coverage and MSIS of the LSTM's intervals beside its rows."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    measures = ("MAE", "RMSE", "MAPE", "sMAPE", "MASE")
    levels_shown = list(result.intervals)
    writer.writerow(
        [
            "step",
            "method",
            *measures,
            *[f"{c}_{fmt_level(v)}" for v in levels_shown for c in ("coverage", "MSIS")],
        ]
    )
    steps = interval_steps(result)
    blank = [""] * 2 * len(levels_shown)
    for j, row in enumerate(per_step):
        for name, m in row.items():
            extra = [repr(x) for v in levels_shown for x in steps[j][v]] if name == "LSTM" else blank
            writer.writerow([j + 1, name] + [repr(m[k]) for k in measures] + extra)
    msis_all = result.msis()
    for name, m in overall.items():
        extra = (
            [repr(x) for v in levels_shown for x in (result.coverage.get(v, float("nan")), msis_all[v])]
            if name == "LSTM"
            else blank
        )
        writer.writerow(["all", name] + [repr(m[k]) for k in measures] + extra)
    return buf.getvalue()


def _shown(shown: int, total: int) -> str:
    return f" (first {shown} shown, --id picks one)" if shown < total else ""
