"""The Forecaster: a series in, a trained network and its forecasts out.

The Python API that the CLI itself uses, in the spirit of statsforecast's fit/predict contract::

    from lstmcli.data.loader import load_csv
    from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig

    data = load_csv("sample_data/ice_cream.csv")
    model = Forecaster(ForecasterConfig(epochs=100)).fit(data)
    forecast = model.predict(12, levels=(80, 95))
    model.save("model.npz"); Forecaster.load("model.npz").predict(12)

What happens to the data, in order (every step is recorded in the model file):

1. seasonal adjustment (``deseasonalize="auto"``): when the series is positive and passes the M4 90 %
   autocorrelation test for its season, it is divided by classical multiplicative seasonal indices (the
   decomposition the M4 benchmarks use; for quarterly, monthly and weekly data from the last 8 years
   only); forecasts are multiplied back by the indices of their phase;
2. the transform pipeline (``transform="auto"``: for a positive seasonal series a Box-Cox power
   transform with Guerrero's lambda, then for every series a scaling by the typical one-step change) is
   fitted on the training part only and applied to the whole series;
3. windows are cut; with ``normalize="window"`` each window's last value is subtracted from its inputs
   and targets, so the network learns the next step relative to the current level (ES-RNN's per-series
   levels in their simplest form: a network that outputs 0 forecasts the naive "no change");
4. ``ensemble`` networks learn one step ahead (``strategy="recursive"``, forecasts fed back for longer
   horizons) or ``horizon`` steps at once (``"direct"``); each has its own seed and its own lookback
   (1, 0.5, 0.75, 1.5 and 2 times the default of two seasons, as N-BEATS ensembles over lookbacks), and
   the forecast is the median of theirs;
5. the last part of the series (``val_size``) is held out: early stopping chooses each network's epoch
   count, the held-out forecasts from every origin in it give the error table next to the naive
   baselines and the residuals behind the conformal prediction intervals; with ``refit`` every network
   is then trained again on all of the data for the epoch count chosen, so the most recent observations
   are learned too.

The defaults were chosen with ``benchmarks/accuracy.py`` (see benchmarks/RESULTS.md, "## Accuracy").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lstmcli.data.transforms import Pipeline, make_pipeline
from lstmcli.data.windows import Split, make_windows, split_windows
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.threads import available_cores, blas_threads
from lstmcli.engine.training import EpochReport, TrainConfig, TrainResult
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.baselines import baseline_forecasts
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.members import (
    MemberJob,
    WorkersUnavailable,
    network_from,
    train_in_processes,
    train_member,
    worth_processes,
)
from lstmcli.forecasting.metrics import evaluate, owa
from lstmcli.forecasting.seasonal import classical_indices, seasonality_test

if TYPE_CHECKING:
    from collections.abc import Callable

    from lstmcli.data.series import SeriesData

__all__ = ["Forecast", "Forecaster", "ForecasterConfig", "Trace", "conformal_width", "forecast_warnings"]

AUTO_SEASONAL_POSITIVE = "power,dstandard"  # what transform="auto" means for a positive seasonal series
AUTO_OTHER = "dstandard"  # ... and for any other series
# Automatic lookback: LOOKBACK_SEASONS seasons, at least LOOKBACK_MIN steps, at most LOOKBACK_MAX, times
# LOOKBACK_FACTORS[k] for ensemble member k; then capped so that short series keep training windows.
LOOKBACK_SEASONS = 2.0
LOOKBACK_MIN = 8
LOOKBACK_MAX = 200
LOOKBACK_FACTORS = (1.0, 0.5, 0.75, 1.5, 2.0)  # ensemble member k: default lookback times factor k % 5
MIN_TRAIN_WINDOWS = 6  # a short series gives up lookback (down to 2 steps) before it gives up these
MAX_TRAIN_WINDOWS = 3000  # long series train on their most recent windows only (time bound)
# Seasonal indices of quarterly, monthly and weekly data (a season of one year) come from the last
# SEASONAL_SPAN years only (None: all), as X-11's seasonal filters weigh about the nearest seven years; a
# shorter season (hours of a day, days of a week) uses the whole series (8 days of hourly data are too few).
SEASONAL_SPAN: int | None = 8
YEARLY_SEASONS = (4, 12, 52)
SEASONAL_AVERAGE = "mean"  # how the ratios to the moving average are averaged per phase: mean | median
DIVERGED_LOSS = 1e6  # a best loss above this (on targets scaled to unit spread) counts as diverged
MONITOR_ORIGINS = 64  # early stopping on forecasts scores at most this many validation origins


@dataclass
class Forecast:
    """A forecast in the data's units; ``timestamps`` continue the series' dates when it has them."""

    values: np.ndarray  # (horizon,)
    timestamps: np.ndarray | None  # (horizon,) datetime64[ns], or None for a series without dates
    start_step: int  # 1-based step number of the first forecast (for series without dates)
    intervals: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level -> (lo, hi)
    warnings: list[str] = field(default_factory=list)


@dataclass
class Trace:
    """Every gate and state of every layer for the window behind the latest forecast (``inspect``)."""

    inputs: np.ndarray  # (T, D) the window exactly as fed to the network, after transforms
    layers: list[dict[str, np.ndarray]]  # per layer: i, f, g, o, c, h, each (T, H)
    output: np.ndarray  # (O,) the network's raw output for that window, before inverse transforms
    timestamps: np.ndarray | None  # (T,) dates of the window's steps, or None


def default_lookback(season: int) -> int:
    return int(min(LOOKBACK_MAX, max(round(LOOKBACK_SEASONS * season), LOOKBACK_MIN)))


def resolve_transform(spec: str, y: np.ndarray, season: int = 1) -> str:
    """``"auto"``: for a positive seasonal series (season > 1) a Box-Cox power transform with its lambda
    chosen by Guerrero's method (log-like when the spread grows with the level), then scaling by the
    typical one-step change; otherwise the scaling only. (On the M4 yearly data a power transform made
    the networks extrapolate growth too steeply.)"""
    if spec.strip().lower() != "auto":
        return spec
    positive = bool(len(y)) and bool(np.all(np.asarray(y) > 0))
    return AUTO_SEASONAL_POSITIVE if positive and season > 1 else AUTO_OTHER


class Forecaster:
    """Fit an LSTM ensemble on one series (plus optional feature columns) and forecast it.

    Fitted state ends in ``_``: ``network_`` (the first member), ``networks_`` (every member of the
    ensemble), ``pipeline_``, ``seasonal_`` (multiplicative seasonal indices, all ones when the series is
    not adjusted), ``train_result_``, ``validation_`` (errors of the LSTM and the baselines on the
    validation windows), ``residuals_`` (actual - forecast from each validation origin, (n, horizon),
    NaN where the series ended before that step; the basis of the prediction intervals), and the tail
    of the series that ``predict`` starts from.
    """

    def __init__(self, config: ForecasterConfig | None = None) -> None:
        self.config = config or ForecasterConfig()
        self.network_: LSTMNetwork | None = None
        self.networks_: list[LSTMNetwork] = []
        self.seasonal_ = np.ones(1)
        self.constant_: float | None = None
        self.level_alpha_ = 1.0
        self.naive2_errors_: np.ndarray | None = None  # the intervals' floor (conformal_width)
        self._threads = 1  # cores the current fit may use (fit's threads)

    # ------------------------------------------------------------------------------------------ plan
    def plan(self, data: SeriesData) -> Split:
        """Resolve every data-dependent setting (season, horizon, lookback, strategy, split) without
        training, so that a setting that cannot work fails at once, before any long computation.

        The returned split counts windows of the chosen strategy: one-step windows for ``recursive``,
        ``horizon``-step windows for ``direct``; ``train_end`` is the number of leading (transformed)
        steps that training sees.
        """
        cfg = self.config
        from lstmcli.data.loader import season_length

        y = np.asarray(data.values, dtype=np.float64)
        n = len(y)
        n_features = np.asarray(data.features).reshape(n, -1).shape[1]
        self.season_ = cfg.season or season_length(data.freq)
        self.horizon_ = cfg.horizon or max(self.season_, 1)
        self.target_ = data.target
        self.feature_names_ = list(data.feature_names)
        self.freq_ = data.freq
        self.source_ = str(data.path)
        self.n_obs_ = n
        self.last_timestamp_ = None if data.timestamps is None else np.datetime64(data.timestamps[-1], "ns")
        # Feeding forecasts back needs future values of the features, which nobody has: go direct.
        self.strategy_ = "direct" if n_features and cfg.strategy == "recursive" else cfg.strategy
        self.transform_ = resolve_transform(cfg.transform, y, self.season_)
        self.pipeline_ = make_pipeline(self.transform_, self.season_)
        n_z = n - _total_lag(self.pipeline_)
        if self.strategy_ == "direct":
            split = self._plan_direct(n_z, _name(data))
        else:
            split = self._plan_recursive(n_z, _name(data))
        self.lookbacks_ = self._member_lookbacks(n_z, split)
        return split

    def _member_lookbacks(self, n_z: int, split: Split) -> list[int]:
        """One lookback per ensemble member: the planned one for the first, then LOOKBACK_FACTORS times
        the default (N-BEATS-style diversity), each capped like the first so short series keep their
        training windows (a capped member may repeat another's lookback)."""
        cfg = self.config
        if cfg.lookback is not None:
            return [int(cfg.lookback)] * cfg.ensemble
        base = default_lookback(self.season_)
        out = [int(self.lookback_)]
        for k in range(1, cfg.ensemble):
            wanted = max(2, int(round(base * LOOKBACK_FACTORS[k % len(LOOKBACK_FACTORS)])))
            if self.strategy_ == "direct":
                first_val = split.val.start + self.lookback_ if split.n_val else n_z
                cap = min(first_val, split.train_end - self.horizon_ - 2)
            else:
                v = self.val_steps_
                cap = min(n_z - v - MIN_TRAIN_WINDOWS, (n_z - v) // 2)
            out.append(int(max(2, min(wanted, cap, LOOKBACK_MAX))))
        return out

    def _plan_recursive(self, n_z: int, label: str) -> Split:
        cfg = self.config
        if cfg.val_size >= 1:
            v = int(cfg.val_size)
        elif cfg.val_size > 0:
            v = max(1, int(round(cfg.val_size * n_z)))
        else:
            v = 0
        if cfg.lookback is not None:
            L = cfg.lookback
            if n_z - v - L < 1:
                raise ConfigError(
                    f"{label}: {n_z} usable rows, but lookback {L} + {v} validation steps leave no training "
                    "window; use a shorter --lookback or --val-size"
                )
        else:
            L = default_lookback(self.season_)
            # short series: give up lookback first (down to 2), then validation, to keep training windows
            L = max(2, min(L, n_z - v - MIN_TRAIN_WINDOWS, (n_z - v) // 2))
            while v > 0 and n_z - v - L < 3:
                v -= 1
            need = max(self.horizon_, L + v + 3)
            if n_z < need:
                raise ConfigError(
                    f"{label}: {n_z} usable rows, but forecasting {self.horizon_} steps needs at least {need}; "
                    "use a shorter --horizon or more data"
                )
        self.lookback_ = int(L)
        self.val_steps_ = int(v)
        n_windows = n_z - L
        n_train = n_windows - v
        return Split(train=slice(0, n_train), val=slice(n_train, n_windows), train_end=n_z - v)

    def _plan_direct(self, n_z: int, label: str) -> Split:
        cfg = self.config
        val_size = cfg.val_size if cfg.val_size < 1 else int(cfg.val_size)
        if cfg.lookback is not None:
            split = split_windows(n_z, cfg.lookback, self.horizon_, val_size, label=label)
            self.lookback_ = cfg.lookback
        else:
            # short series: give up lookback first (down to 2), then validation, to keep training windows
            wanted = default_lookback(self.season_)
            room = n_z - self.horizon_ - max(4, int(0.3 * n_z))
            first = int(max(2, min(wanted, room)))
            split = None
            for vs in (val_size, 0):
                for L in range(first, 1, -1):
                    try:
                        candidate = split_windows(n_z, L, self.horizon_, vs, label=label)
                    except ConfigError:
                        continue
                    if candidate.n_train >= min(MIN_TRAIN_WINDOWS, 3) or L == 2:
                        split, self.lookback_ = candidate, L
                        break
                if split is not None:
                    break
            if split is None:
                split = split_windows(n_z, 2, self.horizon_, 0, label=label)  # raises with the minimum length
                self.lookback_ = 2
        self.val_steps_ = split.n_val
        return split

    # ------------------------------------------------------------------------------------------ fit
    def fit(
        self,
        data: SeriesData,
        *,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        threads: int = 1,
    ) -> Forecaster:
        """Train on ``data`` (a ``SeriesData`` from ``lstmcli.data.loader``); returns ``self``.

        ``threads``: the cores training may use (0: every core this process may use, as the command
        line's default). With more than one, the ensemble members train side by side in worker
        processes when the work is worth it (``forecasting.members``; a script that does this needs
        the usual ``if __name__ == "__main__":`` guard of multiprocessing), else it is the BLAS thread
        budget of this process (``engine.threads``). The model is the same either way."""
        cfg = self.config
        self._threads = available_cores() if int(threads) == 0 else max(1, int(threads))
        started = time.perf_counter()
        split = self.plan(data)
        y = np.asarray(data.values, dtype=np.float64)
        features = np.asarray(data.features, dtype=np.float64).reshape(len(y), -1)
        # a constant series is forecast as that constant (a network would only add its own noise)
        self.constant_ = float(y[0]) if float(np.ptp(y)) == 0.0 else None
        lag = _total_lag(self.pipeline_)
        horizon = self.horizon_
        has_val = split.n_val > 0
        refit = bool(cfg.refit) and has_val
        progress = _Progress(on_epoch, cfg.epochs, cfg.ensemble * (2 if refit else 1))
        # where validation forecasts start, as indices into the transformed series
        if self.strategy_ == "direct":
            val_starts = np.arange(split.val.start, split.val.stop) + self.lookback_
        else:
            val_starts = np.arange(split.train_end, len(y) - lag)
        origins = val_starts + lag  # the same, as positions in the data

        # ---- stage 1: preprocessing fitted on the training part, networks with early stopping
        train_raw = split.train_end + lag  # raw rows the training windows touch
        self._fit_preprocessing(y[:train_raw], features[:train_raw])
        planned = list(self.lookbacks_)
        sets = self._member_sets(y, features, planned, split.train_end, val_starts)
        if any(len(x) == 0 for x, *_ in sets):
            raise DataError(
                f"{_name(data)}: no training windows left; use a shorter --lookback or --val-size"
            )
        monitor = self._monitor_data(y, features, origins) if has_val and cfg.monitor == "forecast" else None
        kept, results, interrupted = self._train_members(
            sets, epochs=[cfg.epochs] * len(sets), patience=cfg.patience, progress=progress,
            should_stop=should_stop, monitor=monitor,
        )  # fmt: skip
        self._set_members(kept)
        # per planned member: the epoch early stopping chose (0: diverged at once, or never trained)
        self.member_epochs_ = [int(r.best_epoch) for r in results] + [0] * (len(planned) - len(results))

        # ---- validation from every origin of the held-out part, in the data's own units
        self.validation_origins_ = origins
        if len(origins):
            forecasts = self._forecast_from_origins(y, features, origins, horizon)
            actual = np.full((len(origins), horizon), np.nan)
            for k, o in enumerate(origins):
                seen = y[o : o + horizon]
                actual[k, : len(seen)] = seen
            self.residuals_ = actual - forecasts
            self.validation_ = compare_with_baselines(y, origins, actual, forecasts, self.season_)
        else:
            self.residuals_ = np.zeros((0, horizon))
            self.validation_ = {}

        # ---- stage 2: the same networks trained again on all of the data, for the epochs chosen
        if refit and not interrupted and any(e > 0 for e in self.member_epochs_):
            saved = (
                self.pipeline_,
                self.seasonal_,
                self.level_alpha_,
                self.feature_mean_,
                self.feature_scale_,
            )
            self.pipeline_ = make_pipeline(self.transform_, self.season_)
            self._fit_preprocessing(y, features)
            sets = self._member_sets(y, features, planned, len(y) - lag, np.zeros(0, dtype=int))
            again, _, interrupted = self._train_members(
                sets, epochs=self.member_epochs_, patience=0, progress=progress, should_stop=should_stop,
            )  # fmt: skip
            if interrupted or not again:  # keep the complete stage-1 models rather than half-trained ones
                self.pipeline_, self.seasonal_, self.level_alpha_, self.feature_mean_, self.feature_scale_ = (
                    saved
                )
            else:
                self._set_members(again)
        self.train_result_ = _summary_result(results, interrupted, time.perf_counter() - started)

        # The floor of the intervals where validation gives too few residuals (conformal_width).
        self.naive2_errors_ = naive2_errors(y, self.seasonal_, horizon)
        # What predict needs to continue the series without the data file.
        keep = min(len(y), max(self.lookbacks_) + lag + 1)
        self.tail_values_ = y[-keep:].copy()
        self.tail_features_ = features[-keep:].copy()
        return self

    def _set_members(self, kept: list[tuple[LSTMNetwork, int]]) -> None:
        self.networks_ = [net for net, _ in kept]
        self.lookbacks_ = [L for _, L in kept]
        self.network_ = self.networks_[0]
        self.lookback_ = self.lookbacks_[0]

    def _member_sets(
        self,
        y: np.ndarray,
        features: np.ndarray,
        lookbacks: list[int],
        train_end: int,
        val_starts: np.ndarray,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]]:
        """Per member: training windows (targets before ``train_end``), validation windows (targets
        starting at ``val_starts``), both normalised, and the member's lookback. Indices count steps
        of the transformed series."""
        lag = _total_lag(self.pipeline_)
        z = self.pipeline_.transform(self._deseason(y, 0))
        inputs = self._input_matrix(z, features[lag:])
        out = self.horizon_ if self.strategy_ == "direct" else 1
        sets = []
        for L in lookbacks:
            x_all, t_all = make_windows(inputs, z, L, out)  # window i: targets z[i + L : i + L + out]
            n_train = max(0, min(len(x_all), train_end - out - L + 1))
            first = max(0, n_train - MAX_TRAIN_WINDOWS)
            x, t = self._normalize(x_all[first:n_train], t_all[first:n_train])
            x_val = t_val = None
            if len(val_starts):
                x_val, t_val = self._normalize(x_all[val_starts - L], t_all[val_starts - L])
            sets.append((x, t, x_val, t_val, L))
        return sets

    def _monitor_data(
        self, y: np.ndarray, features: np.ndarray, origins: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Windows ending at (up to 64 of) the validation origins and the transformed values that
        followed each (NaN past the end of the series): what early stopping on forecasts scores."""
        lag = _total_lag(self.pipeline_)
        L, h = max(self.lookbacks_), self.horizon_
        z = self.pipeline_.transform(self._deseason(y, 0))
        inputs = self._input_matrix(z, features[lag:])
        if len(origins) > MONITOR_ORIGINS:
            origins = origins[
                np.unique(np.linspace(0, len(origins) - 1, MONITOR_ORIGINS).round().astype(int))
            ]
        at = origins - lag
        windows = np.stack([inputs[i - L : i] for i in at])
        targets = np.full((len(at), h), np.nan)
        for k, i in enumerate(at):
            seen = z[i : i + h]
            targets[k, : len(seen)] = seen
        return windows, targets

    def _fit_preprocessing(self, y: np.ndarray, features: np.ndarray) -> None:
        """Seasonal indices, transform pipeline and feature scaling, from ``y`` (rows 0..len-1) only."""
        cfg = self.config
        m = self.season_
        self.seasonal_ = np.ones(1)
        if cfg.deseasonalize == "auto" and m > 1 and np.all(y > 0) and seasonality_test(y, m):
            span = SEASONAL_SPAN if m in YEARLY_SEASONS else None
            s = classical_indices(y, m, span=span, average=SEASONAL_AVERAGE)
            if s is not None:
                self.seasonal_ = s
        self.pipeline_.fit(self._deseason(y, 0))
        self.level_alpha_ = 1.0
        if cfg.normalize == "ses":
            self.level_alpha_ = fit_ses_alpha(self.pipeline_.transform(self._deseason(y, 0)))
        self.feature_mean_ = features.mean(axis=0) if features.shape[1] else np.zeros(0)
        self.feature_scale_ = _safe_std(features) if features.shape[1] else np.zeros(0)

    def _train_members(
        self,
        sets: list[tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None, int]],
        *,
        epochs: list[int],
        patience: int,
        progress: _Progress,
        should_stop: Callable[[], bool] | None,
        monitor: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> tuple[list[tuple[LSTMNetwork, int]], list[TrainResult], bool]:
        """Train member k on ``sets[k]`` for ``epochs[k]`` epochs (0 = leave it out), with its own seed:
        in this process, or side by side in worker processes when there are cores to spare and enough
        work (``forecasting.members``; the models are the same either way).

        Returns (network, lookback) of the members that learned something (at least one, even if every
        run diverged), every run's result, and whether the user interrupted (later runs are skipped).
        """
        cfg = self.config
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
                patience=0 if monitor is not None else patience,
                seed=cfg.seed,
            )
            seed = cfg.seed if k == 0 else [cfg.seed, k]
            jobs.append(MemberJob(k, net_config, train_config, seed, x, t, x_val, t_val))
            lookbacks[k], runs[k] = L, run

        cores = self._threads
        trained: list[tuple[int, LSTMNetwork, TrainResult]] = []
        outcomes = None
        if monitor is None and worth_processes(jobs, cores):
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
                watch = self._stopper(monitor, L, patience, should_stop, report)
                net, result = train_member(
                    job, on_epoch=report, should_stop=should_stop, threads=cores, watch=watch
                )
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

    def _stopper(
        self,
        monitor: tuple[np.ndarray, np.ndarray] | None,
        lookback: int,
        patience: int,
        should_stop: Callable[[], bool] | None,
        report: Callable[[EpochReport], None] | None,
    ) -> Callable[[LSTMNetwork], _ForecastStopper] | None:
        """With ``monitor="forecast"``: what builds the early stopping on forecasts for a member."""
        if monitor is None:
            return None
        windows, targets = monitor
        return lambda net: _ForecastStopper(
            self, net, windows[:, -lookback:], targets, patience, should_stop, report
        )

    # ------------------------------------------------------------------------------------------ inputs
    def _deseason(self, y: np.ndarray, start: int) -> np.ndarray:
        """Divide by the seasonal index of each value's position (``y[0]`` is at position ``start``)."""
        s = self.seasonal_
        if s.size <= 1:
            return np.asarray(y, dtype=np.float64)
        return np.asarray(y, dtype=np.float64) / s[(start + np.arange(len(y))) % s.size]

    def _reseason(self, f: np.ndarray, start: int) -> np.ndarray:
        """Multiply forecasts ``f`` (``f[..., 0]`` at position ``start``) by their seasonal indices."""
        s = self.seasonal_
        if s.size <= 1:
            return f
        return f * s[(start + np.arange(f.shape[-1])) % s.size]

    def _input_matrix(self, z: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(T,) transformed target and (T, k) raw features -> (T, 1+k) network inputs."""
        if features.shape[1] == 0:
            return z[:, None]
        scaled = (features - self.feature_mean_) / self.feature_scale_
        return np.column_stack([z, scaled])

    def _normalize(self, x: np.ndarray, t: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Subtract each window's level from its target channel and targets (see ``_levels``)."""
        x = np.array(x, dtype=np.float64)  # a copy: windows may be views of the series
        if self.config.normalize == "none":
            return x, (None if t is None else np.array(t, dtype=np.float64))
        level = self._levels(x)
        x[:, :, 0] -= level[:, None]
        return x, (None if t is None else t - level[:, None])

    def _levels(self, x: np.ndarray) -> np.ndarray:
        """The level of each window: its last value (``window``), or the exponentially smoothed level at
        its end (``ses``: simple exponential smoothing through the window with the fitted ``level_alpha_``,
        started at its first value, so a forecast of 0 by the network is the SES forecast)."""
        if self.config.normalize == "none":
            return np.zeros(len(x))
        alpha = getattr(self, "level_alpha_", 1.0)
        if self.config.normalize == "window" or alpha >= 1.0:
            return x[:, -1, 0].copy()
        return x[:, :, 0] @ _ses_weights(x.shape[1], alpha)

    # ------------------------------------------------------------------------------------------ forecast
    def _forecast_windows(self, windows: np.ndarray, horizon: int) -> np.ndarray:
        """(N, L, D) windows in transformed space -> (N, horizon) forecasts in transformed space:
        the median over the ensemble's members of each member's forecast."""
        assert self.network_ is not None
        nets = self.networks_ or [self.network_]
        lookbacks = self._lookbacks()
        # A network whose weights blew up overflows here; fit reports it as diverged, so no warnings.
        with blas_threads(), np.errstate(over="ignore", invalid="ignore"):
            paths = np.stack(
                [
                    self._member_forecast(net, windows[:, -L:], horizon)
                    for net, L in zip(nets, lookbacks, strict=True)
                ]
            )
        return np.median(paths, axis=0)

    def _lookbacks(self) -> list[int]:
        nets = self.networks_ or [self.network_]
        lookbacks = list(getattr(self, "lookbacks_", None) or [])
        return lookbacks if len(lookbacks) == len(nets) else [self.lookback_] * len(nets)

    def _member_forecast(self, net: LSTMNetwork, windows: np.ndarray, horizon: int) -> np.ndarray:
        if self.strategy_ == "direct":
            if horizon > net.config.output_size:
                raise ConfigError(
                    f"--horizon {horizon} is longer than the {net.config.output_size} steps this direct "
                    "model was trained for; retrain with a longer --horizon"
                )
            level = self._levels(windows)
            x, _ = self._normalize(windows, None)
            return net.predict(x)[:, :horizon].astype(np.float64) + level[:, None]
        N, L, _ = windows.shape
        buf = np.empty((N, L + horizon))
        buf[:, :L] = windows[:, :, 0]
        for k in range(horizon):
            window = buf[:, k : k + L, None]
            level = self._levels(window)
            x, _ = self._normalize(window, None)
            buf[:, L + k] = net.predict(x)[:, 0] + level
        return buf[:, L:]

    def _forecast_from_origins(
        self, y: np.ndarray, features: np.ndarray, origins: np.ndarray, horizon: int, start: int = 0
    ) -> np.ndarray:
        """Forecast ``horizon`` steps from each origin o (forecasting y[o], y[o+1], ...) in one batch.

        ``start`` is the position of ``y[0]`` in the series the model was trained on (it fixes the phase
        of the seasonal indices); 0 when ``y`` is the whole series.
        """
        if self.constant_ is not None:
            return np.full((len(origins), horizon), self.constant_)
        lag = _total_lag(self.pipeline_)
        L = max(self._lookbacks())
        ya = self._deseason(y, start)
        z = self.pipeline_.transform(ya)
        inputs = self._input_matrix(z, features[lag:])
        windows = np.stack([inputs[o - lag - L : o - lag] for o in origins])
        zf = self._forecast_windows(windows, horizon)
        return np.stack(
            [self._reseason(self.pipeline_.inverse(zf[k], ya[:o]), start + o) for k, o in enumerate(origins)]
        )

    def predict(
        self,
        horizon: int | None = None,
        *,
        data: SeriesData | None = None,
        levels: tuple[int, ...] = (),
    ) -> Forecast:
        """Forecast ``horizon`` steps after the end of the training data (or of ``data``, newer values of the
        same series), with conformal intervals at each of ``levels`` (percent)."""
        self._check_fitted()
        horizon = horizon or self.horizon_
        if horizon < 1:
            raise ConfigError(f"--horizon must be at least 1, got {horizon}")
        y, features, last_ts, n_obs, start = self._history(data)
        values = self._forecast_from_origins(y, features, np.array([len(y)]), horizon, start)[0]
        timestamps = None
        if last_ts is not None and self.freq_:
            from lstmcli.data.loader import future_timestamps

            timestamps = future_timestamps(last_ts, self.freq_, horizon)
        result = Forecast(values=values, timestamps=timestamps, start_step=n_obs + 1)
        for level in levels:
            result.intervals[level] = self._interval(values, level)
        result.warnings = forecast_warnings(y, values, self.season_)
        return result

    def _history(
        self, data: SeriesData | None
    ) -> tuple[np.ndarray, np.ndarray, np.datetime64 | None, int, int]:
        """Values, features, last time stamp, row count and the position of the first value."""
        if data is None:
            start = self.n_obs_ - len(self.tail_values_)
            return self.tail_values_, self.tail_features_, self.last_timestamp_, self.n_obs_, start
        if list(data.feature_names) != self.feature_names_:
            raise DataError(
                f"{_name(data)}: the model was trained with features {self.feature_names_ or 'none'}, "
                f"this data has {list(data.feature_names) or 'none'}"
            )
        need = max(self._lookbacks()) + _total_lag(self.pipeline_)
        if len(data.values) < need:
            raise DataError(f"{_name(data)}: {len(data.values)} rows, but the model needs the last {need}")
        features = np.asarray(data.features, dtype=np.float64).reshape(len(data.values), -1)
        last = None if data.timestamps is None else np.datetime64(data.timestamps[-1], "ns")
        n = len(data.values)
        return np.asarray(data.values, dtype=np.float64), features, last, n, self._start_of(data, last, n)

    def _start_of(self, data: SeriesData, last: np.datetime64 | None, n: int) -> int:
        """Position of ``data``'s first row in the training series: from the dates when both have them
        (newer data may start anywhere), else the data is taken to start where the training data did."""
        if self.seasonal_.size <= 1:
            return 0
        if last is not None and self.last_timestamp_ is not None and self.freq_:
            try:
                import pandas as pd

                a, b = sorted([pd.Timestamp(self.last_timestamp_), pd.Timestamp(last)])
                steps = len(pd.date_range(a, b, freq=self.freq_)) - 1
                if pd.Timestamp(last) < pd.Timestamp(self.last_timestamp_):
                    steps = -steps
                return self.n_obs_ + steps - n
            except (ValueError, TypeError):
                pass
        return 0

    def _interval(self, values: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Split-conformal interval: the ⌈(n+1)·level⌉-th smallest |residual| of each horizon step."""
        if not 0 < level < 100:
            raise ConfigError(f"--level must be between 0 and 100, got {level}")
        if len(self.residuals_) == 0:
            raise ConfigError(
                "this model has no validation residuals for intervals; retrain with --val-size > 0"
            )
        width = conformal_width(self.residuals_, level / 100.0, len(values), self.naive2_errors_)
        return values - width, values + width

    # ------------------------------------------------------------------------------------------ inspect
    def trace(self, data: SeriesData | None = None) -> Trace:
        """Gates and states of every layer and step for the window of the latest one-step forecast
        (of the first member of the ensemble)."""
        self._check_fitted()
        assert self.network_ is not None
        y, features, last_ts, _, start = self._history(data)
        lag = _total_lag(self.pipeline_)
        z = self.pipeline_.transform(self._deseason(y, start))
        inputs = self._input_matrix(z, features[lag:])
        window, _ = self._normalize(inputs[None, -self.lookback_ :], None)
        with blas_threads():
            output, layers = self.network_.trace(window[0].astype(self.network_.dtype))
        timestamps = None
        if last_ts is not None and self.freq_:
            from lstmcli.data.loader import timestamps_ending_at

            timestamps = timestamps_ending_at(last_ts, self.freq_, self.lookback_)
        return Trace(inputs=window[0], layers=layers, output=np.asarray(output), timestamps=timestamps)

    # ------------------------------------------------------------------------------------------ files
    def save(self, path: str) -> None:
        from lstmcli.modelfile import save_model

        self._check_fitted()
        save_model(self, path)

    @classmethod
    def load(cls, path: str) -> Forecaster:
        from lstmcli.modelfile import load_model

        return load_model(path)

    def _check_fitted(self) -> None:
        if self.network_ is None:
            raise ConfigError("this forecaster has not been fitted: call fit() first")


# ---------------------------------------------------------------------------------------------- helpers
class _ForecastStopper:
    """Early stopping on what the model is for: the multi-step forecasts from the validation origins.

    After every epoch the network forecasts ``horizon`` steps from each monitored origin (recursively or
    directly, as it will be used) and the mean absolute error against the held-out values (transformed
    units) is recorded; the weights of the best epoch are kept, and training stops ``patience`` epochs
    after it. (The engine's own early stopping watches the one-step validation loss instead.)
    """

    def __init__(self, owner: Forecaster, net: LSTMNetwork, windows: np.ndarray, targets: np.ndarray,
                 patience: int, user_stop: Callable[[], bool] | None,
                 report: Callable[[EpochReport], None] | None) -> None:  # fmt: skip
        self.owner, self.net, self.windows, self.targets = owner, net, windows, targets
        self.patience, self.user_stop, self.report = patience, user_stop, report
        self.best, self.best_epoch, self.params = math.inf, 0, None
        self.stop = self.user = False

    def on_epoch(self, r: EpochReport) -> None:
        f = self.owner._member_forecast(self.net, self.windows, self.targets.shape[1])
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
        from dataclasses import replace

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


class _Progress:
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


def _summary_result(results: list[TrainResult], interrupted: bool, seconds: float) -> TrainResult:
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


def _ses_weights(n: int, alpha: float) -> np.ndarray:
    """Weights w (n,) with level = values @ w for simple exponential smoothing started at values[0]."""
    k = np.arange(n)[::-1]  # steps back from the end
    w = alpha * (1.0 - alpha) ** k
    w[0] = (1.0 - alpha) ** (n - 1)
    return w


def fit_ses_alpha(z: np.ndarray, grid: np.ndarray | None = None) -> float:
    """Smoothing constant of simple exponential smoothing with the least one-step squared error on ``z``
    (the M4 SES benchmark's criterion), searched on a grid from 0.05 to 1."""
    z = np.asarray(z, dtype=np.float64)
    if len(z) < 3:
        return 1.0
    grid = np.linspace(0.05, 1.0, 20) if grid is None else grid
    best, best_sse = 1.0, math.inf
    for alpha in grid:
        level, sse = z[0], 0.0
        for v in z[1:]:
            sse += (v - level) ** 2
            level += alpha * (v - level)
        if best_sse == math.inf or sse < best_sse * (1.0 - 1e-12):
            best, best_sse = float(alpha), sse
    return best


def _total_lag(pipeline: Pipeline) -> int:
    """Steps the pipeline's differencing removes from the start of the series."""
    return int(sum(getattr(step, "lag", 0) for step in pipeline.steps))


def _safe_std(a: np.ndarray) -> np.ndarray:
    std = a.std(axis=0)
    return np.where(std > 1e-12 * np.maximum(1.0, np.abs(a).max(axis=0)), std, 1.0)


def _name(data: SeriesData) -> str:
    from pathlib import Path

    return Path(str(data.path)).name


def conformal_width(
    residuals: np.ndarray, coverage: float, horizon: int, floor_errors: np.ndarray | None = None
) -> np.ndarray:
    """Half-width per horizon step from the out-of-sample errors ``actual - forecast`` recorded from the
    validation origins ((n, h) with NaN where an origin was too close to the end for that step).

    Split conformal: a step with enough residuals for the level (n_j >= coverage / (1 - coverage), e.g.
    19 for 95 %) gets the ⌈(n_j+1)·coverage⌉-th smallest of its absolute residuals, which covers a new
    error with probability ≥ coverage when errors are exchangeable. Steps with fewer residuals (short
    series give only a few validation origins) pool every residual after dividing it by its step number
    -- forecast errors of a level or drift that is a little off grow about linearly with the step -- and
    get the conformal quantile of that pool times the step number, or, when it is larger, the conformal
    quantile of ``floor_errors`` at that step: the series' own in-sample Naive2 errors (``naive2_errors``),
    plentiful and model-free (on the M3 yearly series this lifted 80 % / 95 % coverage from 65 % / 68 %
    to 83 % / 89 %; benchmarks/probe_interval_floor.py). Widths never shrink with the step, and steps
    beyond the validated horizon widen like a random walk: the last width times
    sqrt(step / validated steps).
    """
    res = np.abs(np.asarray(residuals, dtype=np.float64))
    if res.ndim != 2 or res.shape[0] == 0:
        return np.zeros(horizon)
    n, h_cal = res.shape
    need = math.ceil(coverage / (1.0 - coverage) - 1e-9)
    steps = np.arange(1, h_cal + 1)
    pooled = (res / steps[None, :]).ravel()
    pooled = np.sort(pooled[np.isfinite(pooled)])
    if pooled.size == 0:
        return np.zeros(horizon)
    width = _conformal_quantile(pooled, coverage) * steps.astype(np.float64)
    for j in range(h_cal):
        col = res[:, j][np.isfinite(res[:, j])]
        if col.size >= need:
            width[j] = _conformal_quantile(np.sort(col), coverage)
        elif floor_errors is not None and floor_errors.ndim == 2 and j < floor_errors.shape[1]:
            floor = floor_errors[:, j][np.isfinite(floor_errors[:, j])]
            if floor.size:
                width[j] = max(width[j], _conformal_quantile(np.sort(floor), coverage))
    width = np.maximum.accumulate(width)  # uncertainty does not shrink with the horizon
    if horizon <= h_cal:
        return width[:horizon]
    extra = width[-1] * np.sqrt(np.arange(h_cal + 1, horizon + 1) / h_cal)
    return np.concatenate([width, extra])


def _conformal_quantile(sorted_values: np.ndarray, coverage: float) -> float:
    """The ⌈(n+1)·coverage⌉-th smallest value (the largest when n is too small for the level)."""
    n = sorted_values.size
    return float(sorted_values[min(n, math.ceil((n + 1) * coverage)) - 1])


def naive2_errors(y: np.ndarray, seasonal: np.ndarray, horizon: int, max_origins: int = 400) -> np.ndarray:
    """(k, horizon) absolute in-sample errors of Naive2 (the last value of the seasonally adjusted series,
    re-seasoned; plain naive when ``seasonal`` is all ones) from the last ``k <= max_origins`` origins
    that have all ``horizon`` steps inside ``y``: the floor of ``conformal_width``."""
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    k = min(max_origins, n - horizon)
    if k < 1:
        return np.zeros((0, horizon))
    s = np.asarray(seasonal, dtype=np.float64)
    position = np.arange(n)
    adjusted = y / s[position % s.size]
    origins = np.arange(n - horizon - k, n - horizon)
    steps = np.arange(1, horizon + 1)
    target = origins[:, None] + steps[None, :]
    forecast = adjusted[origins][:, None] * s[target % s.size]
    return np.abs(y[target] - forecast)


def compare_with_baselines(
    y: np.ndarray, origins: np.ndarray, actual: np.ndarray, forecasts: np.ndarray, season: int
) -> dict[str, dict[str, float]]:
    """Errors of the LSTM and of Naive, Seasonal naive and Naive2 on the same windows, with OWA.

    ``actual`` may hold NaN where the series ended before a step; those steps are scored for no method.
    """
    horizon = actual.shape[1]
    methods = {"LSTM": forecasts} | baseline_forecasts(y, origins, horizon, season)
    insample = [y[:o] for o in origins]
    table = {}
    ok = np.isfinite(actual)
    for name, f in methods.items():
        rows = [
            evaluate(actual[k][ok[k]], f[k][ok[k]], insample[k], season)
            for k in range(len(origins))
            if ok[k].any()
        ]
        table[name] = {m: float(np.mean([r[m] for r in rows])) for m in rows[0]}
    base = table["Naive2"]
    for row in table.values():
        row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
    return table


def forecast_warnings(history: np.ndarray, values: np.ndarray, season: int = 1) -> list[str]:
    """Plain-language warnings for forecasts that are probably not worth much: a flat line, or the last
    observations (or the last season) repeated."""
    out = []
    history = np.asarray(history, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    h = len(values)
    recent = history[-max(h, 2) * 2 :]
    scale = float(np.std(recent)) or float(np.abs(history).mean()) or 1.0
    if h > 1 and float(np.ptp(values)) < 1e-3 * scale:
        out.append("the forecast is flat: the network found no pattern beyond the current level")
    if h > 1 and len(history) >= h:
        shifted = history[-h:]
        if float(np.max(np.abs(values - shifted))) < 0.02 * scale:
            out.append(
                "the forecast repeats the last observations shifted forward; compare with the naive baseline"
            )
    if h > 1 and season > 1 and len(history) >= season and season != h:
        last_season = history[-season:][np.arange(h) % season]
        if float(np.max(np.abs(values - last_season))) < 0.02 * scale:
            out.append("the forecast repeats the last season; compare with the seasonal naive baseline")
    return out
