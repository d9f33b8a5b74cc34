"""Options shared by `train` and `backtest`, defined once (help text, defaults, ranges)."""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Literal

import typer

from lstmcli.forecasting.config import (
    COMBINES,
    DESEASONALIZE,
    LOSSES,
    MAX_ENSEMBLE,
    MAX_HIDDEN,
    MAX_HORIZON,
    MAX_LAYERS,
    MONITORS,
    NORMALIZATIONS,
    STRATEGIES,
    ForecasterConfig,
)

# Options with a fixed set of values are typed Literal[...]: Typer refuses any other value as a usage
# error (exit code 2) that lists them. FILLS are the loader's ``data.filling.FILL_METHODS``, written out
# because that module brings pandas, which start-up leaves out (tests/test_cli.py holds the two equal).
FILLS = ("linear", "ffill", "zero")


DATA_PANEL = "Data"
MODEL_PANEL = "Model"
TRAIN_PANEL = "Training"
CLUSTER_PANEL = "Cluster"

DataArg = Annotated[
    Path,
    typer.Argument(
        help="CSV file with a time column (optional) and one or more numeric columns.", show_default=False
    ),
]
Target = Annotated[
    str | None,
    typer.Option(help="Column to forecast (default: the only numeric column).", rich_help_panel=DATA_PANEL),
]
TimeCol = Annotated[
    str | None,
    typer.Option(
        "--time-col", help="Column with the dates (default: found automatically).", rich_help_panel=DATA_PANEL
    ),
]
Features = Annotated[
    str | None,
    typer.Option(
        help="Other numeric columns to use as inputs beside the target's past: 'a,b' or 'all'.",
        rich_help_panel=DATA_PANEL,
    ),
]
FutureFeatures = Annotated[
    str | None,
    typer.Option(
        "--future-features",
        help="Columns whose values are known in advance for the forecast period (promotions, prices): "
        "'a,b'. predict takes their future values from --future FILE or from trailing rows of --data "
        "with an empty target.",
        rich_help_panel=DATA_PANEL,
    ),
]
Calendar = Annotated[
    bool,
    typer.Option(
        "--calendar",
        help="Add calendar inputs for every step, known in advance: sin/cos of the hour of day, day of "
        "week, day of month, day/month of year, as the frequency allows.",
        rich_help_panel=DATA_PANEL,
    ),
]
Holidays = Annotated[
    str | None,
    typer.Option(
        "--holidays",
        help="Add a public-holiday input for a country (ISO code: US, GB, DE, ...): a flag per day for daily "
        "or finer data, the number of holidays per week, month, ... for coarser data; needs the holidays "
        "extra: pip install 'lstmcli\\[holidays]'.",  # \[: the help is Rich markup
        rich_help_panel=DATA_PANEL,
    ),
]
Freq = Annotated[
    str | None,
    typer.Option(
        help="Time frequency as a pandas alias (MS, QS, D, B, h, ...); default: inferred.",
        rich_help_panel=DATA_PANEL,
    ),
]
Fill = Annotated[
    Literal[FILLS],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        help="How to fill missing values and gaps: linear, ffill or zero.",
        rich_help_panel=DATA_PANEL,
    ),
]
BacktestFill = Annotated[
    Literal[FILLS],
    typer.Option(
        help="How to fill missing values and gaps: linear, ffill or zero (with --id-col only with inputs known "
        "in advance: a panel's rows are otherwise scored as they are, and a gap is named).",
        rich_help_panel=DATA_PANEL,
    ),
]
Lookback = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Steps the network sees per window (default: two seasons, at least 8).",
        rich_help_panel=MODEL_PANEL,
    ),
]
Horizon = Annotated[
    int | None,
    typer.Option(
        min=1,
        max=MAX_HORIZON,
        help="Steps to validate and forecast (default: one season).",
        rich_help_panel=MODEL_PANEL,
    ),
]
Season = Annotated[
    int | None,
    typer.Option(
        min=1,
        help="Season length (default from the frequency: monthly 12, quarterly 4, hourly 24, ...).",
        rich_help_panel=MODEL_PANEL,
    ),
]
Strategy = Annotated[
    Literal[STRATEGIES],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        help="recursive (one step ahead, fed back) or direct (all horizon steps at once).",
        rich_help_panel=MODEL_PANEL,
    ),
]
Transform = Annotated[
    str,
    typer.Option(
        help="Transforms before the network, in order: auto, standard, dstandard (by the typical one-step change), minmax, log, power (Box-Cox), diff, sdiff, none; e.g. 'log,standard'.",
        rich_help_panel=MODEL_PANEL,
    ),
]
Normalize = Annotated[
    Literal[NORMALIZATIONS],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        help="window: subtract each window's last value (learn changes, not levels); ses: subtract an "
        "exponentially smoothed level; none.",
        rich_help_panel=MODEL_PANEL,
    ),
]
Deseasonalize = Annotated[
    Literal[DESEASONALIZE],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        help="auto: divide by classical multiplicative seasonal indices when the M4 seasonality test passes "
        "(positive series); none.",
        rich_help_panel=MODEL_PANEL,
    ),
]
Ensemble = Annotated[
    int,
    typer.Option(
        min=1,
        max=MAX_ENSEMBLE,
        help="Networks trained with different seeds; the networks' forecast is their median (--combine "
        "may average it with classical forecasts).",
        rich_help_panel=MODEL_PANEL,
    ),
]
Retrain = Annotated[
    bool,
    typer.Option(
        "--retrain/--no-retrain",
        help="After early stopping chose the epochs, train again on all the data (so the latest values are learned).",
        rich_help_panel=TRAIN_PANEL,
    ),
]
Monitor = Annotated[
    Literal[MONITORS],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        help="What early stopping watches: forecast (multi-step error from the validation origins) or loss.",
        rich_help_panel=TRAIN_PANEL,
    ),
]
Combine = Annotated[
    Literal[COMBINES],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(
        help="theta+es: forecast the mean of the networks' forecast, the Theta and the ES forecasts "
        "(intervals from the combination's validation errors); theta+es+arima: and the ARIMA forecast; "
        "theta: the mean of the networks' and Theta's; none: the networks' alone; auto: theta+es+arima "
        "for a series without a season (--season 1, yearly data), theta+es with one, or none when other "
        "inputs (--features, --future-features, --calendar, --holidays, --static-features) move the "
        "forecast, which the classical members cannot see, or when the season is longer than 12 (hourly data).",
        rich_help_panel=MODEL_PANEL,
    ),
]
Hidden = Annotated[
    int, typer.Option(min=1, max=MAX_HIDDEN, help="Hidden units per LSTM layer.", rich_help_panel=MODEL_PANEL)
]
Layers = Annotated[
    int, typer.Option(min=1, max=MAX_LAYERS, help="Stacked LSTM layers.", rich_help_panel=MODEL_PANEL)
]
Dropout = Annotated[
    float,
    typer.Option(
        min=0.0, max=0.99, help="Dropout between LSTM layers while training.", rich_help_panel=MODEL_PANEL
    ),
]
Epochs = Annotated[
    int, typer.Option(min=1, help="Maximum passes over the training windows.", rich_help_panel=TRAIN_PANEL)
]
BatchSize = Annotated[
    int, typer.Option("--batch-size", min=1, help="Windows per gradient step.", rich_help_panel=TRAIN_PANEL)
]
Lr = Annotated[float, typer.Option(min=1e-12, help="Adam learning rate.", rich_help_panel=TRAIN_PANEL)]
Loss = Annotated[
    Literal[LOSSES],  # any other value: a usage error (exit code 2) that lists these
    typer.Option(help="Training loss: mse, mae or huber.", rich_help_panel=TRAIN_PANEL),
]


def _val_size(value: float) -> float:
    """A fraction below 1 or a whole count: 1.5 is neither (it used to become 1 without a word)."""
    if not math.isfinite(value) or (value >= 1 and value != int(value)):
        raise typer.BadParameter(f"{value:g} is neither a fraction below 1 nor a whole count of windows")
    return value


ValSize = Annotated[
    float,
    typer.Option(
        "--val-size",
        min=0.0,
        callback=_val_size,
        help="Validation windows at the end: a fraction (<1) or a count (>=1); 0 = none.",
        rich_help_panel=TRAIN_PANEL,
    ),
]
Patience = Annotated[
    int,
    typer.Option(
        min=0,
        help="Stop after this many epochs without improvement (0 = never).",
        rich_help_panel=TRAIN_PANEL,
    ),
]
Seed = Annotated[
    int,
    typer.Option(
        min=0,
        help="Random seed: same data, settings and seed give the same model.",
        rich_help_panel=TRAIN_PANEL,
    ),
]

Threads = Annotated[
    int,
    typer.Option(
        min=0,
        help="Cores for training (0 = every core this process may use): ensemble members train side by "
        "side in worker processes when there is enough work; each network runs on one core. The model is "
        "the same whatever this says.",
        rich_help_panel=TRAIN_PANEL,
    ),
]

Scheduler = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Run the work on a Dask cluster: its scheduler's address (tcp://host:8786), or 'local' for a "
        'cluster of this machine\'s cores. Needs pip install "lstmcli\\[dask]" here and on the workers; '
        "the results are the same as without it.",
        show_default=False,
        rich_help_panel=CLUSTER_PANEL,
    ),
]

IdCol = Annotated[
    str | None,
    typer.Option(
        "--id-col",
        help="Many series in one long CSV or Parquet file (id, time, value per row): the column naming the "
        "series. See --global/--local for how they are learned.",
        rich_help_panel=DATA_PANEL,
    ),
]
StaticFeatures = Annotated[
    str | None,
    typer.Option(
        "--static-features",
        help="With --id-col --global: columns constant within each series (e.g. region,category), fed to the "
        "network at every step: text one-hot, numbers standardised.",
        rich_help_panel=DATA_PANEL,
    ),
]
GlobalMode = Annotated[
    bool | None,
    typer.Option(
        "--global/--local",
        help="With --id-col: one network ensemble across every series (--global), or one model per series, "
        "fanned out over the cores (--local). Default: --local (README 'Many series' says why).",
        show_default=False,
        rich_help_panel=MODEL_PANEL,
    ),
]

# The defaults are ForecasterConfig's own, so the CLI and the Python API never disagree.
DEFAULTS = {f.name: f.default for f in fields(ForecasterConfig)} | {"fill": "linear"}
