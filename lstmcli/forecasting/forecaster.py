"""The Forecaster: a series in, a trained network and its forecasts out.

The Python API that the CLI itself uses, in the spirit of statsforecast's fit/predict contract::

    from lstmcli.data.loader import load_csv
    from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig

    data = load_csv("sample_data/ice_cream.csv")
    model = Forecaster(ForecasterConfig(epochs=100)).fit(data)
    forecast = model.predict(12, levels=(80, 95))
    model.save("model.npz"); Forecaster.load("model.npz").predict(12)

What happens to the data, in order (every step is recorded in the model file):

1. the transform pipeline (e.g. log, seasonal differencing, standard scaling) is fitted on the
   training part only and applied to the whole series;
2. windows of ``lookback`` steps are cut; with ``normalize="window"`` each window's last target value is
   subtracted from its inputs and targets, so the network learns the shape of the next steps relative
   to the current level (ES-RNN's per-series levels, in their simplest form);
3. the network learns one step ahead (``strategy="recursive"``, forecasts fed back for longer horizons)
   or ``horizon`` steps at once (``"direct"``);
4. the last windows are held out for validation: early stopping, the error table next to the naive
   baselines, and the residuals that give conformal prediction intervals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from lstmcli.data.transforms import Pipeline, make_pipeline
from lstmcli.data.windows import Split, make_windows, split_windows
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.threads import blas_threads
from lstmcli.engine.training import EpochReport, TrainConfig, TrainResult, fit
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.baselines import baseline_forecasts
from lstmcli.forecasting.metrics import evaluate, owa

if TYPE_CHECKING:
    from collections.abc import Callable

    from lstmcli.data.loader import SeriesData


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
    return max(2 * season, 8)


class Forecaster:
    """Fit an LSTM on one series (plus optional feature columns) and forecast it.

    Fitted state ends in ``_``: ``network_``, ``pipeline_``, ``train_result_``, ``validation_`` (errors of
    the LSTM and the baselines on the validation windows), ``residuals_`` (actual - forecast on those
    windows, (n, horizon), the basis of the prediction intervals), and the tail of the series that
    ``predict`` starts from.
    """

    def __init__(self, config: ForecasterConfig | None = None) -> None:
        self.config = config or ForecasterConfig()
        self.network_: LSTMNetwork | None = None

    # ------------------------------------------------------------------------------------------ fit
    def plan(self, data: SeriesData) -> Split:
        """Resolve every data-dependent setting (season, horizon, lookback, strategy, split) without
        training, so that a setting that cannot work fails at once, before any long computation."""
        cfg = self.config
        from lstmcli.data.loader import season_length

        n = len(data.values)
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
        self.pipeline_ = make_pipeline(cfg.transform, self.season_)
        n_z = n - _total_lag(self.pipeline_)
        self.lookback_ = self._choose_lookback(n_z)
        val_size = cfg.val_size if cfg.val_size < 1 else int(cfg.val_size)
        return split_windows(n_z, self.lookback_, self.horizon_, val_size, label=_name(data))

    def fit(
        self,
        data: SeriesData,
        *,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> Forecaster:
        """Train on ``data`` (a ``SeriesData`` from ``lstmcli.data.loader``); returns ``self``."""
        cfg = self.config
        split = self.plan(data)
        y = np.asarray(data.values, dtype=np.float64)
        features = np.asarray(data.features, dtype=np.float64).reshape(len(y), -1)
        lag = _total_lag(self.pipeline_)
        L, horizon = self.lookback_, self.horizon_

        # Transforms see the training part only; then the whole series goes through them.
        self.pipeline_.fit(y[: split.train_end + lag])
        z = self.pipeline_.transform(y)
        self.feature_mean_ = (
            features[: split.train_end + lag].mean(axis=0) if features.shape[1] else np.zeros(0)
        )
        self.feature_scale_ = (
            _safe_std(features[: split.train_end + lag]) if features.shape[1] else np.zeros(0)
        )
        inputs = self._input_matrix(z, features[lag:])

        out = horizon if self.strategy_ == "direct" else 1
        x_all, t_all = make_windows(inputs, z, L, out)
        x_all, t_all = self._normalize(x_all, t_all)
        if self.strategy_ == "direct":
            x_train, y_train = x_all[split.train], t_all[split.train]
            x_val, y_val = x_all[split.val], t_all[split.val]
        else:
            # one-step windows: train on every target before the validation part, validate on the rest
            n_train = split.train_end - L
            x_train, y_train = x_all[:n_train], t_all[:n_train]
            x_val, y_val = x_all[n_train:], t_all[n_train:]
        if len(x_train) == 0:
            raise DataError(
                f"{_name(data)}: no training windows left; use a shorter --lookback or --val-size"
            )

        rng = np.random.default_rng(cfg.seed)
        net_config = NetworkConfig(
            input_size=inputs.shape[1],
            hidden_size=cfg.hidden,
            num_layers=cfg.layers,
            output_size=out,
            dropout=cfg.dropout,
            dtype=cfg.dtype,
        )
        self.network_ = LSTMNetwork(net_config, rng=rng)
        train_config = TrainConfig(
            epochs=cfg.epochs,
            batch_size=cfg.batch_size,
            lr=cfg.lr,
            loss=cfg.loss,
            clip_norm=cfg.clip_norm,
            weight_decay=cfg.weight_decay,
            patience=cfg.patience,
            seed=cfg.seed,
        )
        self.train_result_: TrainResult = fit(
            self.network_,
            x_train,
            y_train,
            train_config,
            rng,
            x_val=x_val if len(x_val) else None,
            y_val=y_val if len(y_val) else None,
            on_epoch=on_epoch,
            should_stop=should_stop,
        )

        # Multi-step validation from each validation origin, in the data's own units.
        origins = np.arange(split.val.start, split.val.stop) + L + lag  # index of the first forecast step
        self.validation_origins_ = origins
        if len(origins):
            forecasts = self._forecast_from_origins(y, features, origins, horizon)
            actual = np.stack([y[o : o + horizon] for o in origins])
            self.residuals_ = actual - forecasts
            self.validation_ = compare_with_baselines(y, origins, actual, forecasts, self.season_)
        else:
            self.residuals_ = np.zeros((0, horizon))
            self.validation_ = {}
        # What predict needs to continue the series without the data file.
        keep = min(len(y), L + lag + 1)
        self.tail_values_ = y[-keep:].copy()
        self.tail_features_ = features[-keep:].copy()
        return self

    def _choose_lookback(self, n_z: int) -> int:
        cfg = self.config
        if cfg.lookback is not None:
            return cfg.lookback
        wanted = default_lookback(self.season_)
        # leave room for a few training windows and the validation windows on short series
        room = n_z - self.horizon_ - max(4, int(0.3 * n_z))
        return int(max(2, min(wanted, room)))

    # ------------------------------------------------------------------------------------------ inputs
    def _input_matrix(self, z: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(T,) transformed target and (T, k) raw features -> (T, 1+k) network inputs."""
        if features.shape[1] == 0:
            return z[:, None]
        scaled = (features - self.feature_mean_) / self.feature_scale_
        return np.column_stack([z, scaled])

    def _normalize(self, x: np.ndarray, t: np.ndarray | None) -> tuple[np.ndarray, np.ndarray | None]:
        """Subtract each window's last target value (its level) from its target channel and targets."""
        x = np.array(x, dtype=np.float64)  # a copy: windows may be views of the series
        if self.config.normalize == "none":
            return x, (None if t is None else np.array(t, dtype=np.float64))
        level = x[:, -1, 0].copy()
        x[:, :, 0] -= level[:, None]
        return x, (None if t is None else t - level[:, None])

    def _levels(self, x: np.ndarray) -> np.ndarray:
        if self.config.normalize == "none":
            return np.zeros(len(x))
        return x[:, -1, 0]

    # ------------------------------------------------------------------------------------------ forecast
    def _forecast_windows(self, windows: np.ndarray, horizon: int) -> np.ndarray:
        """(N, L, D) windows in transformed space -> (N, horizon) forecasts in transformed space."""
        assert self.network_ is not None
        net = self.network_
        with blas_threads():
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
        self, y: np.ndarray, features: np.ndarray, origins: np.ndarray, horizon: int
    ) -> np.ndarray:
        """Forecast ``horizon`` steps from each origin o (forecasting y[o], y[o+1], ...) in one batch."""
        lag = _total_lag(self.pipeline_)
        L = self.lookback_
        z = self.pipeline_.transform(y)
        inputs = self._input_matrix(z, features[lag:])
        windows = np.stack([inputs[o - lag - L : o - lag] for o in origins])
        zf = self._forecast_windows(windows, horizon)
        return np.stack([self.pipeline_.inverse(zf[k], y[:o]) for k, o in enumerate(origins)])

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
        y, features, last_ts, n_obs = self._history(data)
        values = self._forecast_from_origins(y, features, np.array([len(y)]), horizon)[0]
        timestamps = None
        if last_ts is not None and self.freq_:
            from lstmcli.data.loader import future_timestamps

            timestamps = future_timestamps(last_ts, self.freq_, horizon)
        result = Forecast(values=values, timestamps=timestamps, start_step=n_obs + 1)
        for level in levels:
            result.intervals[level] = self._interval(values, level)
        result.warnings = forecast_warnings(y, values)
        return result

    def _history(self, data: SeriesData | None) -> tuple[np.ndarray, np.ndarray, np.datetime64 | None, int]:
        if data is None:
            return self.tail_values_, self.tail_features_, self.last_timestamp_, self.n_obs_
        if list(data.feature_names) != self.feature_names_:
            raise DataError(
                f"{_name(data)}: the model was trained with features {self.feature_names_ or 'none'}, "
                f"this data has {list(data.feature_names) or 'none'}"
            )
        need = self.lookback_ + _total_lag(self.pipeline_)
        if len(data.values) < need:
            raise DataError(f"{_name(data)}: {len(data.values)} rows, but the model needs the last {need}")
        features = np.asarray(data.features, dtype=np.float64).reshape(len(data.values), -1)
        last = None if data.timestamps is None else np.datetime64(data.timestamps[-1], "ns")
        return np.asarray(data.values, dtype=np.float64), features, last, len(data.values)

    def _interval(self, values: np.ndarray, level: int) -> tuple[np.ndarray, np.ndarray]:
        """Split-conformal interval: the ⌈(n+1)·level⌉-th smallest |residual| of each horizon step."""
        if not 0 < level < 100:
            raise ConfigError(f"--level must be between 0 and 100, got {level}")
        if len(self.residuals_) == 0:
            raise ConfigError(
                "this model has no validation residuals for intervals; retrain with --val-size > 0"
            )
        width = conformal_width(self.residuals_, level / 100.0, len(values))
        return values - width, values + width

    # ------------------------------------------------------------------------------------------ inspect
    def trace(self, data: SeriesData | None = None) -> Trace:
        """Gates and states of every layer and step for the window of the latest one-step forecast."""
        self._check_fitted()
        assert self.network_ is not None
        y, features, last_ts, _ = self._history(data)
        lag = _total_lag(self.pipeline_)
        z = self.pipeline_.transform(y)
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
def _total_lag(pipeline: Pipeline) -> int:
    """Steps the pipeline's differencing removes from the start of the series."""
    return int(sum(getattr(step, "lag", 0) for step in pipeline.steps))


def _safe_std(a: np.ndarray) -> np.ndarray:
    std = a.std(axis=0)
    return np.where(std > 1e-12 * np.maximum(1.0, np.abs(a).max(axis=0)), std, 1.0)


def _name(data: SeriesData) -> str:
    from pathlib import Path

    return Path(str(data.path)).name


def conformal_width(residuals: np.ndarray, coverage: float, horizon: int) -> np.ndarray:
    """Half-width per horizon step from |actual - forecast| on the validation windows.

    The split-conformal quantile is the ⌈(n+1)·coverage⌉-th smallest absolute residual, which covers
    a new error with probability ≥ coverage when errors are exchangeable; with too few windows for that
    rank the largest residual is used (and the interval is optimistic). Steps beyond the validated
    horizon widen like a random walk: the last width times sqrt(step / validated horizon).
    """
    n, h_cal = residuals.shape
    rank = min(n, math.ceil((n + 1) * coverage))
    width = np.sort(np.abs(residuals), axis=0)[rank - 1]  # (h_cal,)
    width = np.maximum.accumulate(width)  # uncertainty does not shrink with the horizon
    if horizon <= h_cal:
        return width[:horizon]
    extra = width[-1] * np.sqrt(np.arange(h_cal + 1, horizon + 1) / h_cal)
    return np.concatenate([width, extra])


def compare_with_baselines(
    y: np.ndarray, origins: np.ndarray, actual: np.ndarray, forecasts: np.ndarray, season: int
) -> dict[str, dict[str, float]]:
    """Errors of the LSTM and of Naive, Seasonal naive and Naive2 on the same windows, with OWA."""
    horizon = actual.shape[1]
    methods = {"LSTM": forecasts} | baseline_forecasts(y, origins, horizon, season)
    insample = [y[:o] for o in origins]
    table = {name: evaluate(actual, f, insample, season) for name, f in methods.items()}
    base = table["Naive2"]
    for row in table.values():
        row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
    return table


def forecast_warnings(history: np.ndarray, values: np.ndarray) -> list[str]:
    """Plain-language warnings for forecasts that are probably not worth much."""
    out = []
    scale = float(np.std(history[-max(len(values), 2) * 2 :])) or float(np.abs(history).mean()) or 1.0
    if len(values) > 1 and float(np.ptp(values)) < 1e-3 * scale:
        out.append("the forecast is flat: the network found no pattern beyond the current level")
    h = len(values)
    if h > 1 and len(history) >= h:
        shifted = history[-h:]
        if float(np.max(np.abs(values - shifted))) < 0.02 * scale:
            out.append(
                "the forecast repeats the last observations shifted forward; compare with the naive baseline"
            )
    return out
