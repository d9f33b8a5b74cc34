"""The Forecaster: a series in, a trained network ensemble and its forecasts out.

The Python API that the CLI itself uses, in the spirit of statsforecast's fit/predict contract::

    from lstmcli.data.loader import load_csv
    from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig

    data = load_csv("sample_data/ice_cream.csv")
    model = Forecaster(ForecasterConfig(epochs=100)).fit(data)
    forecast = model.predict(12, levels=(80, 95))
    model.save("model.npz"); Forecaster.load("model.npz").predict(12)

The Forecaster composes pieces that each have their own module under ``lstmcli.forecasting``:

- ``planning``: season, horizon, strategy, transform, lookbacks and the validation split, resolved
  from the data before any training;
- ``preprocessing``: seasonal adjustment, transforms and window levels (what happens to the data);
- ``ensemble`` (and ``members``, its worker side): training the networks, side by side in worker
  processes when that pays, and their median forecast;
- ``intervals``: conformal prediction intervals with an in-sample Naive2 floor, holding every member
  of a combination;
- ``state``: the fitted state, which ``modelfile`` writes and reads;
- ``outputs``: what ``predict`` and ``trace`` return (``Forecast``, ``Trace``).

Fitting: the last part of the series (``val_size``) is held out: early stopping chooses each network's
epoch count, the held-out forecasts from every origin in it give the error table next to the naive
baselines and the residuals behind the conformal prediction intervals; with ``refit`` every network
is then trained again on all of the data for the epoch count chosen, so the most recent observations
are learned too.

The defaults were chosen with ``benchmarks/accuracy.py`` (see benchmarks/RESULTS.md, "## Accuracy").
"""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lstmcli.data.windows import Split
from lstmcli.engine.threads import cores_for, one_blas_thread
from lstmcli.engine.training import EpochReport
from lstmcli.errors import ConfigError, DataError, ModelFileError
from lstmcli.forecasting.config import (
    COMBINED_BASELINES,
    METHODS,
    ForecasterConfig,
    forecast_request,
    resolve_combine,
)
from lstmcli.forecasting.ensemble import (
    Progress,
    member_forecast,
    monitor_windows,
    monitored,
    rows_after,
    summary_result,
    train_members,
    training_sets,
)
from lstmcli.forecasting.fitting import (
    combined,
    ensemble_of,
    fitted_state,
    forecast_from_origins,
    member_forecasts,
    members_from_origins,
    preprocessing_for,
    validate,
)
from lstmcli.forecasting.intervals import conformal_width, interval
from lstmcli.forecasting.known import known_for_forecast, known_inputs_for
from lstmcli.forecasting.outputs import Forecast, Trace
from lstmcli.forecasting.planning import check_magnitude, check_newer, data_name, make_plan, validation_points
from lstmcli.forecasting.state import FittedState
from lstmcli.forecasting.verdicts import best_method, forecast_warnings
from lstmcli.modelfile import load_state, model_file_errors, save_state

if TYPE_CHECKING:
    from collections.abc import Callable

    from lstmcli.data.future import FutureValues
    from lstmcli.data.series import SeriesData
    from lstmcli.forecasting.executors import Executor

__all__ = ["Forecast", "Forecaster", "ForecasterConfig", "Trace", "conformal_width", "forecast_warnings"]


class Forecaster:
    """Fit an LSTM ensemble on one series (plus optional feature columns) and forecast it.

    The fitted state is ``state_`` (a ``FittedState``, None before ``fit``). The attributes ending in
    ``_`` read it: ``network_`` (the first member), ``networks_`` (every member of the ensemble),
    ``pipeline_``, ``seasonal_`` (multiplicative seasonal indices, all ones when the series is not
    adjusted), ``train_result_``, ``validation_`` (errors of the LSTM and the baselines on the validation
    windows), ``residuals_`` (actual - forecast from each validation origin, (n, horizon), NaN where the
    series ended before that step; the basis of the prediction intervals), and the tail of the series
    that ``predict`` starts from. ``predict`` and ``trace`` run the networks in NumPy, without Numba
    (``engine.layer``), unless ``compiled_forecasts`` (a panel's series, as the panel runs them).
    """

    def __init__(self, config: ForecasterConfig | None = None) -> None:
        self.config = config or ForecasterConfig()
        self.state_: FittedState | None = None
        self.compiled_forecasts = False
        self.static_names: list[str] = []  # a global panel's static inputs by name (PanelForecaster's)

    def _state(self) -> FittedState:
        if self.state_ is None:
            raise ConfigError("this forecaster has not been fitted: call fit() first")
        return self.state_

    # The fitted attributes as the CLI, backtests and scripts have always read them, read-only now:
    # what is fitted lives in ``state_``, the one object a model file holds.
    network_ = property(lambda self: self._state().network)
    networks_ = property(lambda self: self._state().ensemble.networks)
    lookback_ = property(lambda self: self._state().lookback)
    lookbacks_ = property(lambda self: self._state().ensemble.lookbacks)
    member_epochs_ = property(lambda self: self._state().member_epochs)
    strategy_ = property(lambda self: self._state().strategy)
    season_ = property(lambda self: self._state().season)
    horizon_ = property(lambda self: self._state().horizon)
    constant_ = property(lambda self: self._state().constant)
    pipeline_ = property(lambda self: self._state().preprocessing.pipeline)
    seasonal_ = property(lambda self: self._state().preprocessing.seasonal)
    target_ = property(lambda self: self._state().target)
    feature_names_ = property(lambda self: self._state().feature_names)
    freq_ = property(lambda self: self._state().freq)
    source_ = property(lambda self: self._state().source)
    n_obs_ = property(lambda self: self._state().n_obs)
    last_timestamp_ = property(lambda self: self._state().last_timestamp)
    tail_values_ = property(lambda self: self._state().tail_values)
    tail_features_ = property(lambda self: self._state().tail_features)
    validation_origins_ = property(lambda self: self._state().validation_origins)
    validation_ = property(lambda self: self._state().validation)
    residuals_ = property(lambda self: self._state().residuals)
    naive2_errors_ = property(lambda self: self._state().naive2_errors)
    train_result_ = property(lambda self: self._state().train_result)
    format_version_ = property(lambda self: self._state().format_version)

    # ------------------------------------------------------------------------------------------ fit
    def plan(self, data: SeriesData) -> Split:
        """Resolve every data-dependent setting without training (``planning``), so that a setting
        that cannot work fails at once, before any long computation; returns the validation split."""
        known_inputs_for(self.config.calendar, self.config.holidays, data)
        return make_plan(self.config, data).split

    def fit(
        self,
        data: SeriesData,
        *,
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        threads: int = 1,
        executor: Executor | None = None,
    ) -> Forecaster:
        """Train on ``data`` (a ``SeriesData`` from ``lstmcli.data.loader``); returns ``self``.

        ``threads``: the cores training may use (0: every core this process may use, as the command
        line's default). With more than one, the ensemble members train side by side in worker
        processes when the work is worth it (``forecasting.members``; a script that does this needs
        the usual ``if __name__ == "__main__":`` guard of multiprocessing), else one after the other
        here. Each network runs on one core (``engine.threads``): the model is the same either way.
        ``executor`` (a Dask cluster, ``executors.connect``) trains the members there instead."""
        cfg = self.config
        cores = cores_for(threads)
        started = time.perf_counter()
        plan = make_plan(cfg, data)
        split, horizon, lag, planned = plan.split, plan.horizon, plan.lag, list(plan.lookbacks)
        y = np.asarray(data.values, dtype=np.float64)
        features = np.asarray(data.features, dtype=np.float64).reshape(len(y), -1)
        known_inputs = known_inputs_for(cfg.calendar, cfg.holidays, data)
        known = known_inputs.matrix(data.future_features, data.timestamps, len(y)) if known_inputs.width else None  # fmt: skip
        cfg = resolve_combine(cfg, bool(features.shape[1] or known_inputs.width), plan.season)
        # a constant series is forecast as that constant (a network would only add its own noise)
        constant = float(y[0]) if float(np.ptp(y)) == 0.0 else None
        has_val = split.n_val > 0
        refit = bool(cfg.refit) and has_val
        progress = Progress(on_epoch, cfg.epochs, cfg.ensemble * (2 if refit else 1))
        val_starts, origins = validation_points(plan, len(y))
        out = horizon if plan.strategy == "direct" else 1  # targets per window
        run = partial(
            train_members, cfg, progress=progress, should_stop=should_stop, cores=cores, executor=executor
        )

        # ---- stage 1: preprocessing fitted on the training part, networks with early stopping
        train_raw = split.train_end + lag  # raw rows the training windows touch
        prep = preprocessing_for(
            cfg, plan, y[:train_raw], features[:train_raw], None if known is None else known[:train_raw]
        )
        sets = training_sets(prep, y, features, planned, out, split.train_end, val_starts, known)
        if any(len(s.x) == 0 for s in sets):
            raise DataError(
                f"{data_name(data)}: no training windows left; use a shorter --lookback or --val-size"
            )
        monitor, ahead = None, None
        if has_val and cfg.monitor == "forecast":
            monitor = monitor_windows(prep, y, features, origins, max(planned), horizon, known)
            if known is not None and plan.strategy == "recursive":
                inputs = prep.prepare(y, features, known=known).inputs
                ahead = rows_after(inputs, monitored(origins) - lag, horizon)
        kept, results, interrupted = run(
            sets, epochs=[cfg.epochs] * len(sets), patience=cfg.patience, monitor=monitor,
            forecast=partial(member_forecast, strategy=plan.strategy, prep=prep, ahead=ahead),
        )  # fmt: skip
        ensemble = ensemble_of(kept, plan.strategy)
        # per planned member: the epoch early stopping chose (0: diverged at once, or never trained)
        member_epochs = [int(r.best_epoch) for r in results] + [0] * (len(planned) - len(results))

        # ---- validation from every origin of the held-out part, in the data's own units
        residuals, validation = validate(
            prep, ensemble, constant, y, features, origins, horizon, plan.season, cfg.combine, known
        )

        # ---- stage 2: the same networks trained again on all of the data, for the epochs chosen
        if refit and not interrupted and any(e > 0 for e in member_epochs):
            full = preprocessing_for(cfg, plan, y, features, known)
            sets = training_sets(full, y, features, planned, out, len(y) - lag, np.zeros(0, dtype=int), known)
            again, _, interrupted = run(sets, epochs=member_epochs, patience=0)
            if not interrupted and again:  # else keep the complete stage-1 models, not half-trained ones
                prep, ensemble = full, ensemble_of(again, plan.strategy)

        self.state_ = fitted_state(
            cfg, plan, data, prep, ensemble, member_epochs, constant, origins, validation, residuals,
            summary_result(results, interrupted, time.perf_counter() - started), known_inputs, known,
        )  # fmt: skip
        return self

    # ------------------------------------------------------------------------------------------ forecast
    def predict(
        self,
        horizon: int | None = None,
        *,
        data: SeriesData | None = None,
        levels: tuple[float, ...] = (),
        method: str = "lstm",
        future: FutureValues | None = None,
    ) -> Forecast:
        """Forecast ``horizon`` steps after the end of the training data (or of ``data``, newer values of the
        same series), with conformal intervals at each of ``levels`` (percent).

        ``method``: "lstm", the model's own forecast (with a ``combine`` the mean of the networks' and
        its baselines'), or a baseline of ``config.METHODS`` (naive, snaive, naive2, theta, es, arima) fitted to the
        training series (or to ``data``), or "best", whichever beat the others on validation
        (``verdicts.best_method``). Intervals come from the model's own validation errors, so
        they are for "lstm" only. A model with inputs known in advance takes their values for the
        forecast period from ``future`` (``--future``) or from ``data``'s trailing rows whose target is
        empty; calendar and holiday inputs are rebuilt from the dates."""
        st = self._state()
        horizon, levels = forecast_request(
            st.horizon if horizon is None else horizon, levels
        )  # (0: an error)
        if method not in (*METHODS, "best"):
            raise ConfigError(f"--method must be one of {', '.join(METHODS)} or best, got {method!r}")
        asked = method
        if method == "best":  # the validation's winner (``verdicts``)
            method = best_method(st.validation)
        if method != "lstm" and levels:
            chose = f" (here {METHODS[method]}, the validation's winner)" if asked == "best" else ""
            raise ConfigError(
                "--level: the intervals come from the model's own validation errors; "
                f"--method {asked}{chose} has none (leave out --level, or use --method lstm)"
            )
        y, features, last_ts, n_obs, start = self._history(data)
        timestamps = None
        if last_ts is not None and st.freq:  # first: dates that cannot be written fail before computing
            from lstmcli.data.stepdates import future_timestamps

            timestamps = future_timestamps(last_ts, st.freq, horizon)
        members = None
        if method == "lstm":
            known = self._known(data, future, horizon, last_ts, n_obs)
            networks = forecast_from_origins(
                st.preprocessing, st.ensemble, st.constant, y, features, np.array([len(y)]), horizon, start,
                known, self.compiled_forecasts,
            )[0]  # fmt: skip
            baselines = {
                k: self.baseline_forecast(k, horizon, data) for k in COMBINED_BASELINES[st.config.combine]
            }
            values = combined(networks, baselines, st.config.combine)
            members = member_forecasts(networks, baselines, st.config.combine)
        else:
            values = self.baseline_forecast(METHODS[method], horizon, data)
        result = Forecast(values, timestamps, n_obs + 1, members=members, method=method)
        for level in levels:
            result.intervals[level] = interval(values, level, st.residuals, st.naive2_errors, members)
        if method == "lstm":
            result.warnings = forecast_warnings(y, values, st.season, st.residuals)
        return result

    def baseline_forecast(self, name: str, horizon: int, data: SeriesData | None = None) -> np.ndarray:
        """The baseline ``name`` (as the tables call it) fitted to the training series, or to ``data``."""
        from lstmcli.forecasting.baselines import BASELINES

        st = self._state()
        if data is not None:
            return BASELINES[name](np.asarray(data.values, dtype=np.float64), horizon, st.season)
        if st.baselines is None or name not in st.baselines:
            raise ConfigError(
                f"this model file (format {st.format_version}) was written before lstmcli kept the {name} "
                "baseline in it; retrain the model, or give the series with --data"
            )
        return st.baselines[name].forecast(horizon)

    def forecast_from_origins(
        self, y: np.ndarray, features: np.ndarray, origins: np.ndarray, horizon: int, start: int = 0,
        known: np.ndarray | None = None, compiled: bool = True,
    ) -> np.ndarray:  # fmt: skip
        """(n, horizon) forecasts from each origin o (forecasting y[o], y[o+1], ...) in one batch.

        ``start`` is the position of ``y[0]`` in the series the model was trained on (it fixes the phase
        of the seasonal indices); 0 when ``y`` is the whole series. ``known``: the raw inputs known in
        advance of ``y``'s steps and of the steps after it (``KnownInputs.matrix``). With a ``combine``,
        its baselines are fitted to ``y[:o]`` for each origin: ``y`` must then be the whole series.
        ``compiled=False``: the networks in NumPy, as ``predict``."""
        forecasts, _ = self.forecast_and_members_from_origins(
            y, features, origins, horizon, start, known, compiled
        )
        return forecasts

    def forecast_and_members_from_origins(
        self, y: np.ndarray, features: np.ndarray, origins: np.ndarray, horizon: int, start: int = 0,
        known: np.ndarray | None = None, compiled: bool = True,
    ) -> tuple[np.ndarray, np.ndarray | None]:  # fmt: skip
        """``forecast_from_origins`` and, for a combination, the forecasts it averaged: (n, k, horizon),
        the networks' first (None without a combination; ``Forecast.members`` of each origin)."""
        st = self._state()
        values = forecast_from_origins(st.preprocessing, st.ensemble, st.constant, y, features, origins, horizon, start, known, compiled)  # fmt: skip
        combine = st.config.combine
        baselines = members_from_origins(combine, y, origins, horizon, st.season)  # none: {}
        return combined(values, baselines, combine), member_forecasts(values, baselines, combine)

    def _known(self, data: SeriesData | None, future: FutureValues | None, horizon: int,
               last_ts: np.datetime64 | None, n_obs: int) -> np.ndarray | None:  # fmt: skip
        """The known inputs of the history and the forecast period (None for a model without any)."""
        st = self._state()
        need = max(horizon, st.preprocessing.known_lead)
        return known_for_forecast(st.known, st.tail_known, data, future, need, last_ts, st.freq, n_obs)

    def _history(
        self, data: SeriesData | None
    ) -> tuple[np.ndarray, np.ndarray, np.datetime64 | None, int, int]:
        """Values, features, last time stamp, row count and the position of the first value."""
        st = self._state()
        if data is None:
            start = st.n_obs - len(st.tail_values)
            return st.tail_values, st.tail_features, st.last_timestamp, st.n_obs, start
        check_newer(st, data)  # the same target, features and frequency as the training data
        need = max(st.ensemble.lookbacks) + st.preprocessing.lag
        if len(data.values) < need:
            raise DataError(
                f"{data_name(data)}: {len(data.values)} rows, but the model needs the last {need}"
            )
        features = np.asarray(data.features, dtype=np.float64).reshape(len(data.values), -1)
        for column, values in zip(
            [data.target, *data.feature_names], [data.values, *features.T], strict=True
        ):
            check_magnitude(np.asarray(values, dtype=np.float64), column, data_name(data))
        last = None if data.timestamps is None else np.datetime64(data.timestamps[-1], "ns")
        n = len(data.values)
        return np.asarray(data.values, dtype=np.float64), features, last, n, self._start_of(data, last, n)

    def _start_of(self, data: SeriesData, last: np.datetime64 | None, n: int) -> int:
        """Position of ``data``'s first row in the training series: from the dates when both have them
        (newer data may start anywhere), else the data is taken to start where the training data did."""
        st = self._state()
        if st.preprocessing.seasonal.size <= 1:
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

    # ------------------------------------------------------------------------------------------ inspect
    def trace(
        self, data: SeriesData | None = None, *, member: int = 0, future: FutureValues | None = None
    ) -> Trace:
        """Gates and states of every layer and step for the window of the latest one-step forecast of
        one member of the ensemble (``member``: 0-based, 0 = the first, as ``networks_`` numbers them)."""
        st = self._state()
        n = len(st.ensemble.networks)
        if not 0 <= member < n:
            raise ConfigError(f"member {member} out of range: the ensemble has members 0..{n - 1}")
        network, lookback = st.ensemble.networks[member], st.ensemble.lookbacks[member]
        y, features, last_ts, n_obs, start = self._history(data)
        known = self._known(data, future, 1, last_ts, n_obs)
        inputs = st.preprocessing.prepare(y, features, start, known).inputs
        window, _ = st.preprocessing.normalize_windows(inputs[None, -lookback:], None)
        with one_blas_thread():
            output, layers = network.trace(window[0].astype(network.dtype), compiled=self.compiled_forecasts)
        timestamps = None
        if last_ts is not None and st.freq:
            from lstmcli.data.stepdates import timestamps_ending_at

            timestamps = timestamps_ending_at(last_ts, st.freq, lookback)
        return Trace(inputs=window[0], layers=layers, output=np.asarray(output), timestamps=timestamps,
                     input_names=self.input_names())  # fmt: skip

    def input_names(self) -> list[str]:
        """A name for each input channel: the target, the past features, a panel's static ones, then each
        known input of each step ahead ("promo@t+1": the value of the step after the one the row is for)."""
        st = self._state()
        known = [f"{n}@t+{k}" for k in range(1, st.preprocessing.known_lead + 1) for n in st.known.names]
        return [st.target + " (transformed)", *st.feature_names, *self.static_names, *known]

    # ------------------------------------------------------------------------------------------ files
    def save(self, path: str) -> None:
        """Write the model file (``modelfile``: the fitted state, atomically)."""
        save_state(self._state(), path)

    @classmethod
    def load(cls, path: str) -> Forecaster:
        """Read a model file; any problem, including a stored model whose first forecast is not finite,
        is a ``ModelFileError`` with a one-line message."""
        state = load_state(path)
        model = cls(state.config)
        model.state_ = state
        cls.check_first_forecast(model, path)
        return model

    @staticmethod
    def check_first_forecast(model: Forecaster, path: str) -> None:
        """A stored model whose first forecast fails or is not finite is a damaged file."""
        name = Path(path).name
        with model_file_errors(name):
            st = model._state()
            with np.errstate(all="ignore"):
                if st.known.width:  # the last known inputs stand in for the next step's, unknown here
                    n, known = len(st.tail_values), np.vstack([st.tail_known, st.tail_known[-1:]])
                    args = (st.tail_values, st.tail_features, np.array([n]), 1, st.n_obs - n, known)
                    first = model.forecast_from_origins(*args, model.compiled_forecasts)
                else:
                    first = model.predict(1).values
            if not np.isfinite(first).all():
                raise ModelFileError(f"{name}: the stored model produces a non-finite forecast")
