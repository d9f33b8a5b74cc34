"""`lstmcli train DATA.csv`: learn from a CSV and save the model."""

from __future__ import annotations

import json
import signal
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from lstmcli.cli import options as opt
from lstmcli.cli.common import (
    TrainFormat,
    fail,
    parse_columns,
    parse_features,
    print_notes,
    refuse_to_replace_inputs,
    start_workers,
    stderr_console,
    stdout_console,
    user_errors,
    warm_engine,
    warn,
)

D = opt.DEFAULTS
ModelOut = Annotated[
    Path, typer.Option("--model", "-m", help="Where to write the model (.npz).", dir_okay=False)
]


SAME_INTERRUPT_SECONDS = 0.5  # a second SIGINT sooner than a person presses Ctrl-C twice: the same one


class _Interrupts:
    """First Ctrl-C: ask training to stop after the current batch and keep the best weights.
    Second Ctrl-C: abandon at once, writing nothing."""

    def __init__(self) -> None:
        self.requested = False
        self._first = 0.0
        self._previous: Any = None

    def __enter__(self) -> _Interrupts:
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        signal.signal(signal.SIGINT, self._previous)

    def _handle(self, signum: int, frame: object) -> None:
        import time

        if self.requested:
            if time.monotonic() - self._first < SAME_INTERRUPT_SECONDS:
                return  # the same interrupt: `timeout -s INT` sends it to the command and to its group
            raise KeyboardInterrupt
        self.requested = True
        self._first = time.monotonic()
        sys.stderr.write("\nstopping after this batch (press Ctrl-C again to abandon without saving)\n")


def forecaster_config(options: dict[str, Any]) -> Any:
    """The ForecasterConfig named by a command's options (its ``locals()``): every option whose name is a
    config field, plus ``--retrain`` for ``refit`` (backtest's own ``--refit`` means per-origin models)."""
    from lstmcli.forecasting.config import ForecasterConfig

    settings = {
        k: v for k, v in options.items() if k in ForecasterConfig.__dataclass_fields__ and k != "refit"
    }
    val_size = settings.pop("val_size")
    config = ForecasterConfig(
        **settings, refit=options["retrain"], val_size=int(val_size) if val_size >= 1 else val_size
    )
    if config.transform.strip().lower() != "auto":  # a wrong name: one line, before the data is read
        from lstmcli.data.transforms import transform_names

        transform_names(config.transform)
    return config


def train(
    data: opt.DataArg,
    model: ModelOut = Path("model.npz"),
    target: opt.Target = None,
    time_col: opt.TimeCol = None,
    features: opt.Features = None,
    future_features: opt.FutureFeatures = None,
    calendar: opt.Calendar = False,
    holidays: opt.Holidays = None,
    freq: opt.Freq = None,
    fill: opt.Fill = D["fill"],
    lookback: opt.Lookback = None,
    horizon: opt.Horizon = None,
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
    output_format: Annotated[
        TrainFormat,
        typer.Option("--format", help="table: progress and summary; json: the summary as JSON on stdout."),
    ] = TrainFormat.table,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
    id_col: opt.IdCol = None,
    global_: opt.GlobalMode = None,
    static_features: opt.StaticFeatures = None,
    scheduler: opt.Scheduler = None,
) -> None:
    """Learn from a CSV and save the model to an .npz file.

    The last windows are held out to validate: the summary shows the LSTM's errors next to the naive
    baselines it must beat. Ctrl-C stops training and saves the best weights so far.
    """
    with user_errors():
        refuse_to_replace_inputs(model, "--model", {"DATA": data})
        from lstmcli.forecasting.executors import require_dask

        require_dask(scheduler)
        start_workers(threads, scheduler)  # gets ready while the data is read
        from lstmcli.data.loader import load_csv
        from lstmcli.engine import kernels  # noqa: F401  (binds NumPy's BLAS: a NumPy without it fails first)
        from lstmcli.forecasting.forecaster import Forecaster

        config = forecaster_config(locals())
        if id_col is not None or global_ is not None or static_features is not None:  # many series
            from lstmcli.cli.panels import panel_for_training

            series, forecaster = panel_for_training(
                config, data, model, id_col, global_, target, time_col, features, freq, fill, static_features,
                tuple(parse_columns(future_features, "--future-features") or ()),
                bool(future_features or calendar or holidays),
            )  # fmt: skip
        else:
            series = load_csv(
                data,
                target=target,
                time_col=time_col,
                features=parse_features(features),
                freq=freq,
                fill=fill,
                future_features=parse_columns(future_features, "--future-features"),
                forecast_rows=bool(future_features or calendar or holidays),
            )
            from lstmcli.npzfile import check_model_target

            check_model_target(model)
            forecaster = Forecaster(config)
            split = forecaster.plan(series)  # settings that cannot work fail here, before anything is printed
        err = stderr_console()
        print_notes(err, series.notes)
        warn_settings(config)
        if id_col is None and val_size >= 1 and split.n_val < int(val_size):
            warn(
                f"--val-size {int(val_size)}: the series leaves room for {split.n_val} validation windows "
                "beside its training windows; those are used"
            )
        if hasattr(series, "ids") and season is None and series.freq is None:  # a panel without dates
            from lstmcli.cli.panels import no_season_note

            print_notes(err, [no_season_note(data.name, horizon_too=horizon is None)])
        warm_engine()
        started = time.perf_counter()
        show_progress = output_format is TrainFormat.table and not quiet
        from lstmcli.forecasting.executors import maybe_connect

        with maybe_connect(scheduler) as cluster, _Interrupts() as interrupts:
            run = {"threads": threads, "executor": cluster}
            try:
                if show_progress and getattr(forecaster, "mode", None) == "local":
                    from lstmcli.cli.panels import SeriesProgress

                    with SeriesProgress(err) as bar:  # series done, not epochs: many models train at once
                        forecaster.fit(
                            series, on_series=bar.update, should_stop=lambda: interrupts.requested, **run
                        )
                elif show_progress and getattr(forecaster, "mode", None) == "global":
                    from lstmcli.cli.panels import GlobalProgress

                    with GlobalProgress(err, epochs) as bar:  # series passes, then epochs
                        forecaster.fit(
                            series,
                            on_epoch=bar.on_epoch,
                            on_series=bar.on_series,
                            should_stop=lambda: interrupts.requested,
                            threads=threads,
                        )
                elif show_progress:
                    from lstmcli.cli.render import TrainingProgress

                    with TrainingProgress(err, epochs) as progress:
                        forecaster.fit(
                            series, on_epoch=progress.update, should_stop=lambda: interrupts.requested, **run
                        )
                else:
                    forecaster.fit(series, should_stop=lambda: interrupts.requested, **run)
            except KeyboardInterrupt:
                fail(f"abandoned: {model} was not written")
                raise typer.Exit(code=130) from None  # (interrupted, as Ctrl-C ends every command)
            result = forecaster.train_result_
            if result.best_epoch == 0:
                if result.stop_reason == "diverged":
                    raise fail(
                        "training diverged (the loss became NaN or infinite) before the first epoch finished; "
                        "nothing written. Try a lower --lr or --transform log,standard"
                    )
                raise fail(f"interrupted before the first epoch finished: {model} was not written")
            partial = _untrained_series(forecaster)
            written = _interrupted_target(model) if result.stop_reason == "interrupted" else model
            try:
                forecaster.save(written)
            except KeyboardInterrupt:
                fail(f"abandoned while saving: {model} is unchanged")
                raise typer.Exit(code=130) from None
        seconds = time.perf_counter() - started

    if id_col is not None:
        from lstmcli.cli.panels import report_panel_training

        report_panel_training(forecaster, written, seconds, output_format is TrainFormat.json)
    else:
        summary = training_summary(forecaster, written, seconds)
        _warn_about(forecaster, summary)
        if output_format is TrainFormat.json:
            sys.stdout.write(json.dumps(summary, indent=2, allow_nan=False, default=_json_default) + "\n")
        else:
            from lstmcli.cli.render import render_training_summary

            render_training_summary(stdout_console(), summary)
    if result.stop_reason == "interrupted":  # what was kept is written; the exit says it was cut short
        what = (
            f"the {partial[0]:,} of {partial[1]:,} series trained so far"
            if partial
            else "the best weights so far"
        )
        kept = (
            f"; {model} was left as it was (move {written.name} over it to use this one)"
            if written != model
            else ""
        )
        warn(f"interrupted: {written} holds {what}{kept}")
        raise typer.Exit(code=130)


def _interrupted_target(model: Path) -> Path:
    """Where an interrupted training writes what it kept: the model path, unless a model is there already
    (a Ctrl-C never replaces a finished model with a less trained one, or one of some of its series):
    then NAME.interrupted.npz beside it (NAME.interrupted-2.npz where a file not a model has that name)."""
    if not model.exists():
        return model
    from lstmcli.errors import LstmcliError
    from lstmcli.npzfile import check_model_target

    names = [
        model.with_name(f"{model.stem}.interrupted{f'-{k}' if k > 1 else ''}{model.suffix}")
        for k in range(1, 10)
    ]
    for beside in names[:-1]:  # (a file of that name that is not a model is someone's: the next name)
        try:
            return check_model_target(beside)
        except LstmcliError:
            continue
    return check_model_target(names[-1])  # (all taken: its error)


def _networks_kept(forecaster: Any) -> str:
    """What an interrupted ensemble holds: its networks are trained one after another (or side by side),
    and those that had not finished are not in the model."""
    kept, planned = len(forecaster.networks_), forecaster.config.ensemble
    if kept < planned:
        return f"{kept} of the {planned} networks trained, the others had not finished"
    return f"all {planned} networks kept" if planned > 1 else "its network kept"


def _untrained_series(forecaster: Any) -> tuple[int, int] | None:
    """(series trained, series to train) of a panel of local models that Ctrl-C stopped before every
    series was trained; None for any other model (one network or a global one stops between epochs:
    every series has its model)."""
    if getattr(forecaster, "mode", None) != "local" or forecaster.train_result_.stop_reason != "interrupted":
        return None
    st = forecaster.state_
    left = sum(1 for _, reason in st.skipped if reason.startswith("not trained"))
    return len(st.ids), len(st.ids) + left


def warn_settings(config: Any) -> None:
    """The settings that do nothing or starve the network, one warning each, before training."""
    from lstmcli.forecasting.verdicts import setting_warnings

    for message in setting_warnings(config):
        warn(message)


def _warn_about(forecaster: Any, summary: dict[str, Any]) -> None:
    """One line each on stderr: networks that stopped at their first epoch, a horizon beyond the steps
    validation scored."""
    from lstmcli.forecasting.verdicts import first_epoch_members, first_epoch_message, horizon_message

    epochs = forecaster.member_epochs_
    for message in (
        first_epoch_message(first_epoch_members(epochs, forecaster.config.epochs), len(epochs)),
        horizon_message(summary["horizon"], summary["validated_steps"]) if summary["validation"] else None,
    ):
        if message is not None:
            warn(message)


def _known_summary(known: Any) -> dict[str, Any]:
    """The inputs known in advance, for a model that has any (the summary of others is unchanged)."""
    if not known.width:
        return {}
    return {"future_features": list(known.columns), "known_inputs": known.names}


def _json_default(value: Any) -> Any:
    return None


def training_summary(forecaster: Any, model_path: Path, seconds: float) -> dict[str, Any]:
    """Everything the end-of-training summary shows, as plain data (also the JSON output)."""
    import math

    from lstmcli.forecasting.planning import default_lookback
    from lstmcli.forecasting.verdicts import first_epoch_members, validated_steps, winner

    result = forecaster.train_result_
    stop = {
        "completed": f"ran all {result.epochs_run} epochs",
        "early_stopping": f"early stopping after {result.epochs_run} epochs (no improvement for "
        f"{forecaster.config.patience})",
        "interrupted": f"interrupted by Ctrl-C: {_networks_kept(forecaster)}; the best weights so far were saved",
        "diverged": f"stopped at epoch {result.epochs_run + 1}: the loss became NaN or infinite; kept the best "
        "weights seen. Try a lower --lr or --transform log,standard",
    }[result.stop_reason]

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        return v

    return {
        "model": str(model_path),
        "data": forecaster.source_,
        "target": forecaster.target_,
        "features": forecaster.feature_names_,
        **_known_summary(forecaster.state_.known),
        "frequency": forecaster.freq_,
        "observations": forecaster.n_obs_,
        "season": forecaster.season_,
        "lookback": forecaster.lookback_,
        "lookbacks": [int(k) for k in forecaster.lookbacks_],
        "default_lookback": None
        if forecaster.config.lookback is not None
        else default_lookback(forecaster.season_),
        "horizon": forecaster.horizon_,
        "strategy": forecaster.strategy_,
        "val_size": forecaster.config.val_size,
        "stop_reason": result.stop_reason,
        "stopped": stop,
        "epochs_run": result.epochs_run,
        "best_epoch": result.best_epoch,
        "best_loss": clean(result.best_loss),
        "monitored": result.monitored,
        "monitor": forecaster.config.monitor,
        "validation_windows": len(forecaster.residuals_),
        "validated_steps": validated_steps(forecaster.residuals_),
        "combine": forecaster.state_.config.combine,
        "validation": clean(forecaster.validation_),
        "winner": winner(forecaster.validation_),
        "first_epoch_members": [
            k + 1 for k in first_epoch_members(forecaster.member_epochs_, forecaster.config.epochs)
        ],
        "seconds": round(seconds, 3),
    }
