"""`lstmcli backtest DATA.csv`: rolling-origin evaluation next to the naive baselines."""

from __future__ import annotations

import csv
import io
import json
import sys
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
    stderr_console,
    stdout_console,
    user_errors,
    warm_engine,
    write_plot,
)
from lstmcli.cli.predict import PlotFile
from lstmcli.cli.train import forecaster_config, refuse_known_for_panels
from lstmcli.errors import ConfigError

D = opt.DEFAULTS
GRID_SERIES = 6  # a picture of a long file shows the first few series, or the one --id names


def backtest(
    data: opt.DataArg,
    horizon: opt.Horizon = None,
    windows: Annotated[int, typer.Option(min=1, help="How many forecast origins (rolling windows).")] = 5,
    step: Annotated[
        int | None, typer.Option(min=1, help="Steps between origins (default: the horizon).")
    ] = None,
    refit: Annotated[
        bool,
        typer.Option("--refit/--no-refit", help="Train a model per origin, or one model for all origins."),
    ] = False,
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
        typer.Option(help="Also measure the coverage of these interval levels.", callback=level_values),
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
    fill: opt.Fill = D["fill"],
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
    retrain: opt.Retrain = D["refit"],
    seed: opt.Seed = D["seed"],
    threads: opt.Threads = 0,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="table, csv (per-step errors) or json on stdout.")
    ] = OutputFormat.table,
) -> None:
    """Measure forecast errors on past data: the LSTM next to Naive, Seasonal naive and Naive2.

    Single series: the last --windows origins, --step apart, each forecasting --horizon steps.
    Many series (--id-col): one origin per series, as in the M3/M4 competitions.
    """
    levels = list(level or [])
    if series_id is not None and (id_col is None or plot is None):
        raise fail("--id picks the series to draw: it needs --id-col and --plot")
    with user_errors():
        refuse_to_replace_inputs(plot, "--plot", {"DATA": data})
    plot_path(plot)
    with user_errors():
        from lstmcli.forecasting.backtest import backtest_long, backtest_series

        config = forecaster_config(locals())
        err = stderr_console()
        from rich.progress import Progress

        bar = Progress(console=err, transient=True, disable=output_format is not OutputFormat.table)
        task = bar.add_task("training", total=None)

        def progress(k: int, n: int) -> None:
            bar.update(task, completed=k, total=n, description=f"training model {k + 1}/{n}")

        if global_ is not None and id_col is None:
            raise ConfigError("--global and --local are for many series: give the id column with --id-col")
        mode = None
        if id_col is not None:
            from lstmcli.cli.panels import panel_mode

            refuse_known_for_panels(future_features, calendar, holidays)
            from lstmcli.data.loader import load_long_csv, season_length
            from lstmcli.data.panel import panel_frequency
            from lstmcli.forecasting.backtest import backtest_panel

            series = load_long_csv(data, id_col=id_col, target=target, time_col=time_col)
            ids = [str(s.series_id) for s in series]
            if series_id is not None and series_id not in ids:
                raise ConfigError(
                    f"--id {series_id!r}: no such series in {data.name} (first: {', '.join(ids[:5])})"
                )
            warm_engine()  # after the data is read: a bad file fails before any compiling
            # the season from the dates, when the file has them (a daily panel is weekly-seasonal)
            m = season or season_length(
                freq or panel_frequency(data, id_col=id_col, target=target, time_col=time_col)
            )
            mode = panel_mode(global_)
            with bar:
                if mode == "global":
                    result = backtest_panel(
                        series,
                        config,
                        horizon=horizon,
                        season=m,
                        levels=levels,
                        path=data.name,
                        threads=threads,
                    )
                else:
                    result = backtest_long(
                        series, config, horizon=horizon, season=m, levels=levels, path=data.name,
                        on_fit=progress, threads=threads,
                    )  # fmt: skip
            what = f"{len(series)} series, one origin each, {result.horizon} steps"
            if mode == "global":
                what += ", one global model"
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
            )
            print_notes(err, series_data.notes)
            m = season or season_length(series_data.freq)
            h = horizon or max(m, 1)
            warm_engine()  # after the data is read: a bad file fails before any compiling
            with bar:
                result = backtest_series(
                    series_data, config, horizon=h, windows=windows, step=step or h, refit=refit, levels=levels,
                    on_fit=progress, threads=threads,
                )  # fmt: skip
            what = f"{windows} origins ({result.labels[0]} … {result.labels[-1]}), {h} steps each"
        if plot is not None:
            from lstmcli.cli.plots import backtest_figure

            if id_col is not None:
                rows = (
                    [ids.index(series_id)]
                    if series_id is not None
                    else list(range(min(GRID_SERIES, len(ids))))
                )
                fig = backtest_figure(
                    result,
                    title=f"Backtest of {data.name}: {len(ids)} series, {result.horizon} steps"
                    + (f" (series {series_id})" if series_id is not None else f" (first {len(rows)} shown)"),
                    ylabel=target or "value",
                    series_index=rows,
                )
            else:
                fig = backtest_figure(
                    result,
                    title=f"Backtest of {data.name} ({series_data.target}): {what}",
                    ylabel=series_data.target,
                    timestamps=series_data.timestamps,
                )
            write_plot(fig, plot)

    print_notes(stderr_console(), result.notes)
    overall = result.overall()
    per_step = result.per_step()
    if output_format is OutputFormat.json:
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
        if mode == "global":  # (the local backtest's JSON is as it always was)
            payload["per_series"] = dict(zip(result.labels, result.per_row(), strict=True))
        sys.stdout.write(json.dumps(payload, indent=2, default=lambda v: None).replace("NaN", "null") + "\n")
        return
    if output_format is OutputFormat.csv:
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["step", "method", "MAE", "RMSE", "MAPE", "sMAPE", "MASE"])
        for j, row in enumerate(per_step):
            for name, m in row.items():
                writer.writerow(
                    [j + 1, name] + [repr(m[k]) for k in ("MAE", "RMSE", "MAPE", "sMAPE", "MASE")]
                )
        for name, m in overall.items():
            writer.writerow(["all", name] + [repr(m[k]) for k in ("MAE", "RMSE", "MAPE", "sMAPE", "MASE")])
        sys.stdout.write(buf.getvalue())
        return
    from lstmcli.cli.render import comparison_table, per_step_table, verdict

    console = stdout_console()
    console.print(per_step_table(per_step, "sMAPE"))
    console.print(comparison_table(overall, f"Backtest of {data.name}: {what}"))
    console.print(verdict(overall))
    for lvl, cov in result.coverage.items():
        console.print(f"{lvl}% intervals covered {100 * cov:.1f}% of the actual values")
    console.print(f"{result.seconds:.1f} s", style="dim")
    if plot is not None:
        from rich.text import Text

        console.print(Text(f"picture written to {plot}", style="dim"))
