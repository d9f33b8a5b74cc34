"""The ensemble: ``ensemble`` networks, each with its own seed and lookback, trained on the same series;
the forecast is the median of theirs.

Each member learns one step ahead (``strategy="recursive"``, forecasts fed back for longer horizons) or
``horizon`` steps at once (``"direct"``). Members train one after the other here, or side by side in
worker processes (``members``); the models are the same bit for bit either way. Several training runs
(the members, then their refit) report as one progress stream (``Progress``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from lstmcli.data.windows import make_windows
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.threads import one_blas_thread
from lstmcli.engine.training import EpochReport, TrainConfig, TrainResult
from lstmcli.errors import ConfigError
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.members import (
    MemberJob,
    WorkersUnavailable,
    network_from,
    sampled_patience,
    train_in_processes,
    train_member,
    worth_processes,
)

if TYPE_CHECKING:
    from lstmcli.forecasting.executors import Executor
    from lstmcli.forecasting.preprocessing import Preprocessing

__all__ = ["Ensemble", "MemberSet", "Progress", "train_members", "training_sets"]

DIVERGED_LOSS = 1e6  # a best loss above this (on targets scaled to unit spread) counts as diverged
MONITOR_ORIGINS = 64  # early stopping on forecasts scores at most this many validation origins
MAX_TRAIN_WINDOWS = 3000  # long series train on their most recent windows only (time bound)


@dataclass
class Ensemble:
    """The trained members: network k reads the last ``lookbacks[k]`` steps of a window."""

    networks: list[LSTMNetwork]
    lookbacks: list[int]
    strategy: str  # recursive | direct

    def forecast(
        self,
        windows: np.ndarray,
        horizon: int,
        prep: Preprocessing,
        ahead: np.ndarray | None = None,
        compiled: bool = True,
    ) -> np.ndarray:
        """(N, L, D) windows in transformed space (L at least every member's lookback) -> (N, horizon)
        forecasts in transformed space: the median over the members of each member's forecast.
        ``ahead`` (N, horizon, D): the input rows after each window (known inputs; recursive only).
        ``compiled=False``: the networks' steps in NumPy (``LSTMNetwork.predict``)."""
        # A network whose weights blew up overflows here; fit reports it as diverged, so no warnings.
        with one_blas_thread(), np.errstate(over="ignore", invalid="ignore"):
            paths = np.stack(
                [
                    member_forecast(net, windows[:, -L:], horizon, self.strategy, prep, ahead, compiled)
                    for net, L in zip(self.networks, self.lookbacks, strict=True)
                ]
            )
        return np.median(paths, axis=0)


def member_forecast(
    net: LSTMNetwork,
    windows: np.ndarray,
    horizon: int,
    strategy: str,
    prep: Preprocessing,
    ahead: np.ndarray | None = None,
    compiled: bool = True,
) -> np.ndarray:
    """One member's (N, horizon) forecasts from (N, L, D) windows, both in transformed space.

    Recursive forecasting with inputs known in advance appends ``ahead`` (N, >= horizon, D), the input
    rows of the forecast steps, one by one, each with the forecast of its step in the target channel."""
    if strategy == "direct":
        if horizon > net.config.output_size:
            raise ConfigError(
                f"--horizon {horizon} is longer than the {net.config.output_size} steps this direct "
                "model was trained for; retrain with a longer --horizon"
            )
        level = prep.levels(windows)
        x, _ = prep.normalize_windows(windows, None)
        return net.predict(x, compiled=compiled)[:, :horizon].astype(np.float64) + level[:, None]
    N, L, D = windows.shape
    if ahead is not None:
        rows = np.concatenate([windows, ahead[:, :horizon]], axis=1).astype(np.float64)  # (N, L + horizon, D)
        for k in range(horizon):
            window = rows[:, k : k + L]
            level = prep.levels(window)
            x, _ = prep.normalize_windows(window, None)
            rows[:, L + k, 0] = net.predict(x, compiled=compiled)[:, 0] + level
        return rows[:, L:, 0]
    buf = np.empty((N, L + horizon))
    buf[:, :L] = windows[:, :, 0]
    # other channels of a recursive forecast are static features (time-varying ones make the plan
    # direct): the same at every step, so each window fed back keeps the ones it started with
    static = windows[:, :, 1:]
    for k in range(horizon):
        window = buf[:, k : k + L, None]
        if D > 1:
            window = np.concatenate([window, static], axis=2)
        level = prep.levels(window)
        x, _ = prep.normalize_windows(window, None)
        buf[:, L + k] = net.predict(x, compiled=compiled)[:, 0] + level
    return buf[:, L:]


# ---------------------------------------------------------------------------------------------- data
class MemberSet(NamedTuple):
    """One member's training data, normalised: windows (N, L, D) and targets (N, O)."""

    x: np.ndarray
    t: np.ndarray
    x_val: np.ndarray | None
    t_val: np.ndarray | None
    lookback: int


def training_sets(
    prep: Preprocessing,
    y: np.ndarray,
    features: np.ndarray,
    lookbacks: list[int],
    out: int,
    train_end: int,
    val_starts: np.ndarray,
    known: np.ndarray | None = None,
) -> list[MemberSet]:
    """Per member: training windows of ``out`` targets (targets before ``train_end``) and validation
    windows (targets starting at ``val_starts``). Indices count steps of the transformed series."""
    _, z, inputs = prep.prepare(y, features, known=known)
    sets = []
    for L in lookbacks:
        x_all, t_all = make_windows(inputs, z, L, out)  # window i: targets z[i + L : i + L + out]
        n_train = max(0, min(len(x_all), train_end - out - L + 1))
        first = max(0, n_train - MAX_TRAIN_WINDOWS)
        x, t = prep.normalize_windows(x_all[first:n_train], t_all[first:n_train])
        x_val = t_val = None
        if len(val_starts):
            x_val, t_val = prep.normalize_windows(x_all[val_starts - L], t_all[val_starts - L])
        sets.append(MemberSet(x, t, x_val, t_val, L))
    return sets


def monitor_windows(
    prep: Preprocessing, y: np.ndarray, features: np.ndarray, origins: np.ndarray, lookback: int, horizon: int,
    known: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Windows ending at (up to 64 of) the validation origins and the transformed values that
    followed each (NaN past the end of the series): what early stopping on forecasts scores."""
    _, z, inputs = prep.prepare(y, features, known=known)
    at = monitored(origins) - prep.lag
    windows = np.stack([inputs[i - lookback : i] for i in at])
    targets = np.full((len(at), horizon), np.nan)
    for k, i in enumerate(at):
        seen = z[i : i + horizon]
        targets[k, : len(seen)] = seen
    return windows, targets


def monitored(origins: np.ndarray) -> np.ndarray:
    """The validation origins early stopping on forecasts scores: at most MONITOR_ORIGINS, evenly spaced."""
    if len(origins) > MONITOR_ORIGINS:
        origins = origins[np.unique(np.linspace(0, len(origins) - 1, MONITOR_ORIGINS).round().astype(int))]
    return origins


def rows_after(inputs: np.ndarray, at: np.ndarray, horizon: int) -> np.ndarray:
    """(len(at), horizon, D): the input rows at at[k], at[k]+1, ... (the last row repeats past the end;
    those steps' forecasts are never scored)."""
    idx = np.minimum(np.asarray(at)[:, None] + np.arange(horizon)[None, :], len(inputs) - 1)
    return inputs[idx]


# ---------------------------------------------------------------------------------------------- training
def train_members(
    cfg: ForecasterConfig,
    sets: list[MemberSet],
    *,
    epochs: list[int],
    patience: int,
    progress: Progress,
    should_stop: Callable[[], bool] | None,
    cores: int,
    monitor: tuple[np.ndarray, np.ndarray] | None = None,
    forecast: Callable[[LSTMNetwork, np.ndarray, int], np.ndarray] | None = None,
    executor: Executor | None = None,
    epoch_windows: int = 0,
) -> tuple[list[tuple[LSTMNetwork, int]], list[TrainResult], bool]:
    """Train member k on ``sets[k]`` for ``epochs[k]`` epochs (0 = leave it out), with its own seed:
    in this process, or side by side in worker processes when there are cores to spare and enough
    work (``forecasting.members``), or as tasks of ``executor`` (a Dask cluster); the models are the
    same either way. With ``monitor`` (windows and targets, ``monitor_windows``) early stopping
    watches ``forecast(net, windows, horizon)``. With ``epoch_windows`` an epoch trains on that many
    windows drawn afresh (``TrainConfig.epoch_windows``).

    Returns (network, lookback) of the members that learned something (at least one, even if every
    run diverged), every run's result, and whether the user interrupted (later runs are skipped).
    """
    jobs, lookbacks, runs = [], {}, {}
    for k, ((x, t, x_val, t_val, L), n_epochs) in enumerate(zip(sets, epochs, strict=True)):
        run = progress.start(n_epochs)
        if n_epochs < 1:
            progress.finish(run)
            continue
        net_config = NetworkConfig(
            input_size=x.shape[2],
            hidden_size=cfg.hidden,
            num_layers=cfg.layers,
            output_size=t.shape[1],
            dropout=cfg.dropout,
            dtype=cfg.dtype,
        )
        train_config = TrainConfig(
            epochs=n_epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            loss=cfg.loss,
            clip_norm=cfg.clip_norm,
            weight_decay=cfg.weight_decay,
            patience=0 if monitor is not None else sampled_patience(patience, len(x), epoch_windows),
            seed=cfg.seed,
            epoch_windows=epoch_windows,
        )
        seed = cfg.seed if k == 0 else [cfg.seed, k]
        jobs.append(MemberJob(k, net_config, train_config, seed, x, t, x_val, t_val))
        lookbacks[k], runs[k] = L, run

    trained: list[tuple[int, LSTMNetwork, TrainResult]] = []
    outcomes = None
    if executor is not None and jobs:
        outcomes = _members_on(
            executor, jobs, lookbacks, runs, progress, should_stop, monitor, forecast, patience
        )
    elif monitor is None and worth_processes(jobs, cores):
        reporters = {job.index: progress.reporter(runs[job.index]) for job in jobs}
        try:
            outcomes = train_in_processes(
                jobs, cores, reporters, should_stop, on_done=lambda index: progress.finish(runs[index])
            )
        except WorkersUnavailable:
            outcomes = None  # no worker processes on this system: one after the other, below
    if outcomes is not None:  # each run was marked finished by on_done as its worker returned
        for job in jobs:
            if job.index in outcomes:
                flat, result = outcomes[job.index]
                trained.append((job.index, network_from(job, flat), result))
        skipped = len(trained) < len(jobs)
    else:
        skipped = False
        for job in jobs:
            L, report = lookbacks[job.index], progress.reporter(runs[job.index])
            watch = None
            if monitor is not None and forecast is not None:
                windows, targets = monitor
                watch = _stopper(forecast, windows[:, -L:], targets, patience, should_stop, report)
            net, result = train_member(job, on_epoch=report, should_stop=should_stop, watch=watch)
            progress.finish(runs[job.index])
            trained.append((job.index, net, result))
            if result.stop_reason == "interrupted":
                skipped = job is not jobs[-1]
                break
    kept = [(net, lookbacks[k]) for k, net, result in trained if result.best_epoch > 0]
    if not kept and trained:
        kept.append((trained[-1][1], lookbacks[trained[-1][0]]))
    results = [result for _, _, result in trained]
    interrupted = skipped or any(r.stop_reason == "interrupted" for r in results)
    return kept, results, interrupted


def _members_on(
    executor: Executor, jobs: list[MemberJob], lookbacks: dict[int, int], runs: dict[int, int],
    progress: Progress, should_stop: Callable[[], bool] | None,
    monitor: tuple[np.ndarray, np.ndarray] | None,
    forecast: Callable[[LSTMNetwork, np.ndarray, int], np.ndarray] | None, patience: int,
) -> dict[int, tuple[np.ndarray, TrainResult]]:  # fmt: skip
    """The members as tasks of ``executor``, the first one first and then the longest (as
    ``train_in_processes`` orders them). Progress moves as each member ends (its last epoch)."""
    first, *rest = jobs
    order = [first, *sorted(rest, key=lambda job: -job.estimated_seconds())]
    items = []
    for job in order:
        watch = None
        if monitor is not None and forecast is not None:
            windows, targets = monitor
            watch = (forecast, windows[:, -lookbacks[job.index] :], targets, patience)
        items.append((job, watch, job is not first))

    def ended(i: int, outcome: tuple[np.ndarray, TrainResult] | None) -> None:
        job = items[i][0]
        report = progress.reporter(runs[job.index])
        if outcome is not None and report is not None and outcome[1].history:
            r, last = outcome[1], outcome[1].history[-1]
            report(EpochReport(r.epochs_run, job.train_config.epochs, float(last["train_loss"] or 0.0),
                               last["val_loss"], r.best_epoch, r.best_loss, r.seconds))  # fmt: skip
        progress.finish(runs[job.index])

    done = executor.map(member_task, items, on_result=ended, should_stop=should_stop)
    return {items[i][0].index: outcome for i, outcome in done.items() if outcome is not None}


def member_task(
    item: tuple[MemberJob, tuple | None, bool], stop: Callable[[], bool]
) -> tuple[np.ndarray, TrainResult] | None:
    """A worker's task: one member trained (None when the caller stopped before it began), with
    early stopping on forecasts when ``item`` carries what it watches."""
    job, watch, may_skip = item
    if may_skip and stop():
        return None
    stopper = None if watch is None else _stopper(*watch, stop, None)
    net, result = train_member(job, should_stop=stop, watch=stopper)
    return net.flat_params.copy(), result


def _stopper(
    forecast: Callable[[LSTMNetwork, np.ndarray, int], np.ndarray],
    windows: np.ndarray,
    targets: np.ndarray,
    patience: int,
    should_stop: Callable[[], bool] | None,
    report: Callable[[EpochReport], None] | None,
) -> Callable[[LSTMNetwork], ForecastStopper]:
    """What builds the early stopping on forecasts for a member (``monitor="forecast"``)."""
    return lambda net: ForecastStopper(forecast, net, windows, targets, patience, should_stop, report)


class ForecastStopper:
    """Early stopping on what the model is for: the multi-step forecasts from the validation origins.

    After every epoch the network forecasts ``horizon`` steps from each monitored origin (recursively or
    directly, as it will be used) and the mean absolute error against the held-out values (transformed
    units) is recorded; the weights of the best epoch are kept, and training stops ``patience`` epochs
    after it. (The engine's own early stopping watches the one-step validation loss instead.)
    """

    def __init__(self, forecast: Callable[[LSTMNetwork, np.ndarray, int], np.ndarray], net: LSTMNetwork,
                 windows: np.ndarray, targets: np.ndarray, patience: int, user_stop: Callable[[], bool] | None,
                 report: Callable[[EpochReport], None] | None) -> None:  # fmt: skip
        self.forecast, self.net, self.windows, self.targets = forecast, net, windows, targets
        self.patience, self.user_stop, self.report = patience, user_stop, report
        self.best, self.best_epoch, self.params = math.inf, 0, None
        self.stop = self.user = False

    def on_epoch(self, r: EpochReport) -> None:
        f = self.forecast(self.net, self.windows, self.targets.shape[1])
        with np.errstate(invalid="ignore"):
            err = float(np.nanmean(np.abs(f - self.targets)))
        if math.isfinite(err) and err < self.best:
            self.best, self.best_epoch = err, r.epoch
            self.params = self.net.flat_params.copy()
        if self.patience and r.epoch - self.best_epoch >= self.patience:
            self.stop = True
        if self.report is not None:
            self.report(r)

    def should_stop(self) -> bool:
        if self.user_stop is not None and self.user_stop():
            self.user = True
        return self.user or self.stop

    def finish(self, result: TrainResult) -> TrainResult:
        if self.params is None:
            return result
        self.net.flat_params[...] = self.params
        loss = next((h.get("val_loss") for h in result.history if h.get("epoch") == self.best_epoch), None)
        if self.user:
            reason = "interrupted"
        elif self.stop:
            reason = "early_stopping"
        else:
            reason = result.stop_reason
        return replace(
            result,
            stop_reason=reason,
            epochs_run=max(result.epochs_run, self.best_epoch),
            best_epoch=self.best_epoch,
            best_loss=float(loss) if loss is not None else self.best,
        )


class Progress:
    """Turns the epochs of several training runs (ensemble members, then the refit), one after the other
    or side by side, into one report stream whose ``epoch`` runs from 1 to the configured maximum, never
    backwards: the share of all runs' epochs done so far. The losses and best epoch shown are those of
    the first run still training, so runs side by side do not make them jump from run to run."""

    def __init__(self, on_epoch: Callable[[EpochReport], None] | None, epochs: int, runs: int) -> None:
        self.on_epoch = on_epoch
        self.epochs = epochs
        self.runs = max(1, runs)
        self.done: list[float] = []  # per run started: the share of its epochs done
        self.lengths: list[int] = []
        self.latest: dict[int, EpochReport] = {}  # per run: its last report
        self.shown = 0

    def start(self, run_epochs: int) -> int:
        self.done.append(0.0)
        self.lengths.append(max(1, run_epochs))
        return len(self.done) - 1

    def finish(self, run: int) -> None:
        self.done[run] = 1.0

    def reporter(self, run: int) -> Callable[[EpochReport], None] | None:
        if self.on_epoch is None:
            return None

        def report(r: EpochReport) -> None:
            self.done[run] = max(self.done[run], r.epoch / self.lengths[run])
            self.latest[run] = r
            share = sum(self.done) / self.runs
            self.shown = max(self.shown, min(self.epochs, max(1, int(round(share * self.epochs)))))
            training = [k for k in self.latest if self.done[k] < 1.0]
            s = self.latest[min(training)] if training else r
            self.on_epoch(
                EpochReport(
                    self.shown, self.epochs, s.train_loss, s.val_loss, s.best_epoch, s.best_loss, s.seconds
                )
            )

        return report


def summary_result(results: list[TrainResult], interrupted: bool, seconds: float) -> TrainResult:
    """The first member's training as the model's own, marked interrupted when any run was."""
    first = results[0]
    reason = "interrupted" if interrupted else first.stop_reason
    if not interrupted and first.best_epoch == 0 and all(r.best_epoch == 0 for r in results):
        reason = "diverged"
    # Targets are scaled to about unit spread, so a best loss this large means the weights blew up even
    # though a bounded loss (huber, mae) kept it finite: report it as the divergence it is.
    if not interrupted and math.isfinite(first.best_loss) and first.best_loss > DIVERGED_LOSS:
        reason = "diverged"
    return TrainResult(
        stop_reason=reason,
        epochs_run=first.epochs_run,
        best_epoch=first.best_epoch,
        best_loss=first.best_loss,
        monitored=first.monitored,
        seconds=seconds,
        history=first.history,
    )
