"""The models of a panel: one network ensemble trained on the windows of every series (``mode="global"``,
below), or one single-series ensemble per series (``mode="local"``, the default: ``panel_local``).

What is shared and what is each series' own (the lesson of M4: a naively global LSTM loses to Naive2;
ES-RNN won with per-series normalisation and shared weights):

- each series is planned and preprocessed by its OWN ``Preprocessing``, exactly as a single series is
  (seasonal indices, transforms fitted on its training part, windows relative to their level), so the
  network sees every series on the same footing;
- the windows of all series are pooled into one training set, and ONE ensemble (``train_members``:
  the same seeds, early stopping on the pooled validation windows, i.e. the last windows of each
  series, then retraining on all the data) learns from all of them;
- each series is validated, forecast and given intervals through its own preprocessing and residuals:
  per series it is a ``FittedState`` whose ensemble is the shared one, so ``Forecaster`` forecasts,
  traces and checks it as it does a single series.

Shared settings: the season, horizon and strategy of the panel, and the members' lookbacks (a network
reads one window length): the single-series defaults, capped so that the shorter series of the panel
(its 10th percentile) still train; a series too short for the longest lookback is skipped.

Cost: each series gives at most ``WINDOWS_PER_SERIES`` training windows (its most recent) and
``VAL_WINDOWS_PER_SERIES`` validation windows to the pool, so a long series does not drown the short
ones; an epoch trains on at most ``EPOCH_WINDOWS`` of the pool, drawn afresh with the seed, and early
stopping watches a seeded sample of the series past ``VAL_WINDOWS``, so the training stops growing with
the panel; preparing, validating and forecasting the series (``panel_batch``) grow linearly. The series
are pooled in id order, so the order of the rows in the file never changes the model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.engine.threads import cores_for
from lstmcli.engine.training import EpochReport
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.config import ForecasterConfig, resolve_combine
from lstmcli.forecasting.ensemble import (
    MemberSet,
    Progress,
    member_forecast,
    summary_result,
    train_members,
    training_sets,
)
from lstmcli.forecasting.fitting import ensemble_of, fitted_state, preprocessing_for
from lstmcli.forecasting.forecaster import Forecast, Forecaster
from lstmcli.forecasting.known import known_inputs_for
from lstmcli.forecasting.panel_batch import panel_forecasts, panel_validation, predict_blocks, worker_executor
from lstmcli.forecasting.panel_known import monitor_set, panel_known, pool_scaling
from lstmcli.forecasting.panel_parts import Ticker, forecast_chunk, mean_table, static_values
from lstmcli.forecasting.planning import (
    LOOKBACK_FACTORS,
    LOOKBACK_MAX,
    Plan,
    default_lookback,
    make_plan,
    validation_points,
)
from lstmcli.forecasting.state import PanelState
from lstmcli.forecasting.static import StaticEncoding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from lstmcli.data.future import PanelFuture
    from lstmcli.data.series import Panel, SeriesData
    from lstmcli.forecasting.executors import Executor

__all__ = ["PanelForecaster", "PanelState"]

WINDOWS_PER_SERIES = 200  # training windows a series gives to the pool: its most recent ones
VAL_WINDOWS_PER_SERIES = 64  # validation windows a series gives to early stopping: its last ones
# An epoch trains on at most this many windows of the pool, drawn afresh each epoch with the seed; a
# pool no larger trains on every window each epoch, as a single series does. So the cost of an epoch
# stops growing with the panel past some 4,000 series of 30 windows. The M3 monthly group's pool (the
# largest the accuracy benchmarks train, some 96,000 windows) stays below it: its models are unchanged.
EPOCH_WINDOWS = 1 << 17
# Early stopping watches the validation windows of at most this many windows' worth of series, a
# sample of the series drawn once with the seed (every series when their windows are no more).
VAL_WINDOWS = 1 << 15
MODES = ("global", "local")
# The mode without one said (the API's and `train`/`backtest --id-col`'s): chosen on the full M1 and M3
# groups by benchmarks/panel_accuracy.py (RESULTS.md "Panels: local vs global", README "Many series").
DEFAULT_MODE = "local"
SHORT_QUANTILE = 0.1  # lookbacks are capped so that series this far down the lengths still train
FORECAST_STEP_SECONDS = 5e-5  # a member's forecast step for one series, about (the chunks' size rule)


class PanelForecaster:
    """Fit the series of a panel, one model per series (``mode="local"``, the default) or one LSTM
    ensemble across all of them (``mode="global"``), and forecast each of them.

    ``fit`` takes a ``Panel`` (``lstmcli.data.panel.load_panel``), a list of ``SeriesData`` with their
    ids, or a long pandas DataFrame (``fit_frame``). ``forecaster(id)`` is a ``Forecaster`` for one
    series, ``predict`` forecasts all of them."""

    def __init__(self, config: ForecasterConfig | None = None, *, mode: str = DEFAULT_MODE) -> None:
        if mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        self.config = config or ForecasterConfig()
        self.mode = mode  # "global": one ensemble across the series; "local": one per series
        self.state_: PanelState | None = None
        self._index: tuple[PanelState | None, dict[str, int]] = (None, {})  # id -> position, per state

    def _state(self) -> PanelState:
        if self.state_ is None:
            raise ConfigError("this forecaster has not been fitted: call fit() first")
        return self.state_

    ids_ = property(lambda self: list(self._state().ids))
    id_col_ = property(lambda self: self._state().id_col)
    skipped_ = property(lambda self: list(self._state().skipped))
    validation_ = property(lambda self: self._state().validation)
    train_result_ = property(lambda self: self._state().train_result)
    season_ = property(lambda self: self._state().first.season)
    horizon_ = property(lambda self: self._state().first.horizon)
    freq_ = property(lambda self: self._state().first.freq)
    target_ = property(lambda self: self._state().first.target)
    lookbacks_ = property(lambda self: self._state().first.ensemble.lookbacks)
    strategy_ = property(lambda self: self._state().first.strategy)

    # ------------------------------------------------------------------------------------------ fit
    def fit_frame(
        self, df: Any, *, id_col: str = "unique_id", time_col: str = "ds", target: str = "y", **kwargs: Any
    ) -> PanelForecaster:
        """Fit on a long pandas DataFrame (one row per series and time): the columns are named by the
        caller, statsforecast's by default. Other keyword arguments go to ``fit``."""
        import os
        import tempfile

        from lstmcli.data.panel import load_panel

        missing = [c for c in (id_col, time_col, target) if c not in df.columns]
        if missing:
            raise DataError(
                f"the DataFrame has no column {missing[0]!r}; columns are: {', '.join(map(str, df.columns))}"
            )
        with tempfile.TemporaryDirectory() as folder:  # the loader's rules, exactly as for a file
            path = os.path.join(folder, "data.csv")
            df[[id_col, time_col, target]].to_csv(path, index=False)
            panel = load_panel(path, id_col=id_col, time_col=time_col, target=target)
        return self.fit(panel, **kwargs)

    def fit(
        self,
        panel: Panel | Sequence[SeriesData],
        *,
        ids: Sequence[str] | None = None,
        id_col: str = "series",
        on_epoch: Callable[[EpochReport], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
        threads: int = 1,
        on_series: Callable[[int, int], None] | None = None,
        static: Mapping[str, Sequence[Any]] | None = None,
        executor: Executor | None = None,
    ) -> PanelForecaster:
        """Train one ensemble on every series (a ``Panel``, or ``SeriesData`` named by ``ids``), or with
        ``mode="local"`` one per series (``panel_local``; ``on_series(done, total)`` reports them, and
        ``on_epoch`` is not called). Static features (global only) are a ``Panel``'s, or ``static``:
        column -> one value per series of the list (numbers, or text for categories). ``executor`` (a
        Dask cluster, ``executors.connect``) runs the members, or the chunks of local series, there; the
        model is the same. A global fit reports its epochs to
        ``on_epoch`` and, to ``on_series``, the series prepared in each pass over them (for training,
        then for the retraining), each pass from 0 to the number of series."""
        cfg = self.config
        cores = cores_for(threads)
        started = time.perf_counter()
        if hasattr(panel, "series"):
            if static is not None:
                raise ConfigError(
                    "a Panel brings its own static features: read them with load_panel(static=)"
                )
            ids, id_col, skipped = list(panel.ids), panel.id_col, list(panel.skipped)
            series, source, static = list(panel.series), str(panel.path), dict(panel.static)
        else:
            series, skipped = list(panel), []
            ids = [str(i) for i in (ids if ids is not None else range(len(series)))]
            if len(ids) != len(series) or len(set(ids)) != len(ids):
                raise ConfigError("give one distinct id per series")
            order = sorted(range(len(ids)), key=lambda k: ids[k])  # id order: the row order never matters
            ids, series = [ids[k] for k in order], [series[k] for k in order]
            source = str(series[0].path) if series else "data"
            static = {c: static_values(v, len(series), c)[order] for c, v in (static or {}).items()}
        encoding, vectors = None, {}
        if static:
            if self.mode == "local":
                raise ConfigError("static features are for one model across the series: add --global")
            encoding = StaticEncoding.fit(static)
            vectors = dict(zip(ids, encoding.encode(static), strict=True))
        constant = {sid for sid, s in zip(ids, series, strict=True) if float(np.ptp(s.values)) == 0.0}
        if constant:  # (load_panel leaves them out already) a constant is forecast as itself, not learned
            skipped += [(sid, "constant") for sid in ids if sid in constant]
            keep = [k for k, sid in enumerate(ids) if sid not in constant]
            ids, series = [ids[k] for k in keep], [series[k] for k in keep]
        # --calendar or --holidays on data that cannot have them: one error, before any work
        inputs = known_inputs_for(cfg.calendar, cfg.holidays, series[0]).width if series else 0
        if any(s.features.reshape(len(s.values), -1).shape[1] for s in series):
            raise ConfigError("feature columns are not supported for panels yet; leave out --features")
        season = self._season_horizon(series)[0] if series else 1
        cfg = resolve_combine(cfg, bool(static or inputs), season)  # as a single series decides it
        if cfg.normalize == "ses" and cfg.monitor == "forecast":
            raise ConfigError("--normalize ses with --monitor forecast is not supported for panels yet")
        if self.mode == "local":
            return self._fit_local(
                series, ids, id_col, skipped, source, cores, on_series, should_stop, started, executor
            )
        plans, lookbacks, kept_ids, kept, short = self._plans(series, ids)
        skipped += short
        if not kept:
            raise DataError(
                f"{source}: every series is too short for horizon and lookback ({len(short)} series)"
            )
        first = plans[0]
        strategy, horizon, season = first.strategy, first.horizon, first.season
        out = horizon if strategy == "direct" else 1
        refit = bool(cfg.refit) and any(p.split.n_val > 0 for p in plans)
        progress = Progress(on_epoch, cfg.epochs, cfg.ensemble * (2 if refit else 1))
        run = partial(
            train_members, cfg, progress=progress, should_stop=should_stop, cores=cores, executor=executor,
            epoch_windows=EPOCH_WINDOWS,
        )  # fmt: skip
        arrays = [_arrays(s) for s in kept]
        known_inputs, knowns = panel_known(cfg, kept)
        points = [validation_points(p, len(y)) for p, (y, _) in zip(plans, arrays, strict=True)]

        # ---- stage 1: each series' preprocessing on its training part; one ensemble on the pooled windows
        tick = Ticker(on_series, len(kept))
        ends = [p.split.train_end + p.lag for p in plans]
        preps = [
            tick(preprocessing_for(cfg, p, y[:e], f[:e], None if k is None else k[:e]))
            for p, (y, f), k, e in zip(plans, arrays, knowns, ends, strict=True)
        ]
        pool_scaling(preps, knowns, ends)
        for prep, sid in zip(preps, kept_ids, strict=True):
            prep.static = vectors.get(sid, prep.static)
        sets = _pooled([
            training_sets(prep, y, f, lookbacks, out, p.split.train_end, starts, k)
            for prep, p, (y, f), (starts, _), k in zip(preps, plans, arrays, points, knowns, strict=True)
        ], cfg.seed)  # fmt: skip
        monitor, ahead = None, None
        if cfg.monitor == "forecast":
            monitor, ahead = monitor_set(
                preps, arrays, knowns, [o for _, o in points], max(lookbacks), horizon, strategy
            )
        kept_members, results, interrupted = run(
            sets, epochs=[cfg.epochs] * len(sets), patience=cfg.patience, monitor=monitor,
            # windows are normalised each by its own level (ses with --monitor forecast is refused above),
            # so one series' preprocessing forecasts every series' monitor windows alike
            forecast=partial(member_forecast, strategy=strategy, prep=preps[0], ahead=ahead),
        )  # fmt: skip
        ensemble = ensemble_of(kept_members, strategy)
        member_epochs = [int(r.best_epoch) for r in results] + [0] * (len(lookbacks) - len(results))
        forecasts = panel_forecasts(
            preps, ensemble, [y for y, _ in arrays], [f for _, f in arrays], [o for _, o in points], horizon,
            knowns=knowns, executor=worker_executor(executor, cores),
        )  # fmt: skip
        checks = panel_validation([y for y, _ in arrays], [o for _, o in points], forecasts, horizon, season,
                                  cfg.combine)  # fmt: skip

        # ---- stage 2: every series' preprocessing on all its data, the ensemble trained again
        if refit and not interrupted and any(e > 0 for e in member_epochs):
            tick = Ticker(on_series, len(kept))
            full = [
                tick(preprocessing_for(cfg, p, y, f, k))
                for p, (y, f), k in zip(plans, arrays, knowns, strict=True)
            ]
            pool_scaling(full, knowns, [len(y) for y, _ in arrays])
            for prep, sid in zip(full, kept_ids, strict=True):
                prep.static = vectors.get(sid, prep.static)
            sets = _pooled([
                training_sets(prep, y, f, lookbacks, out, len(y) - p.lag, np.zeros(0, dtype=int), k)
                for prep, p, (y, f), k in zip(full, plans, arrays, knowns, strict=True)
            ], cfg.seed)  # fmt: skip
            again, _, interrupted = run(sets, epochs=member_epochs, patience=0)
            if not interrupted and again:
                preps, ensemble = full, ensemble_of(again, strategy)

        result = summary_result(results, interrupted, time.perf_counter() - started)
        states = [
            fitted_state(cfg, replace(p, lookbacks=tuple(lookbacks)), s, prep, ensemble, member_epochs, None,
                         o, table, residuals, result, known_inputs, k)
            for p, s, prep, (_, o), (residuals, table), k in zip(plans, kept, preps, points, checks, knowns,
                                                                 strict=True)
        ]  # fmt: skip
        self.state_ = PanelState(
            config=cfg, id_col=id_col, ids=kept_ids, states=states, skipped=skipped,
            validation=mean_table([st.validation for st in states]), train_result=result, source=source,
            static=encoding.to_dict() if encoding is not None else [],
        )  # fmt: skip
        return self

    def _fit_local(
        self, series: list[SeriesData], ids: list[str], id_col: str, skipped: list[tuple[str, str]], source: str,
        cores: int, on_series: Callable[[int, int], None] | None, should_stop: Callable[[], bool] | None,
        started: float, executor: Executor | None,
    ) -> PanelForecaster:  # fmt: skip
        from lstmcli.forecasting.panel_local import fit_local

        season, horizon = self._season_horizon(series)
        cfg = replace(self.config, season=season, horizon=horizon)
        kept_ids, states, left, interrupted = fit_local(
            cfg, ids, series, cores=cores, on_series=on_series, should_stop=should_stop, executor=executor
        )
        skipped += left
        if not states:
            if interrupted:
                raise KeyboardInterrupt
            raise DataError(f"{source}: no series could be trained ({len(left)} series too short)")
        first = states[0].train_result
        result = replace(
            first, seconds=time.perf_counter() - started,
            stop_reason="interrupted" if interrupted else first.stop_reason,
        )  # fmt: skip
        self.state_ = PanelState(
            config=self.config, id_col=id_col, ids=kept_ids, states=states, skipped=skipped,
            validation=mean_table([st.validation for st in states]), train_result=result, source=source,
            mode="local",
        )  # fmt: skip
        return self

    def _season_horizon(self, series: list[SeriesData]) -> tuple[int, int]:
        from lstmcli.data.loader import season_length

        cfg = self.config
        freq = next((s.freq for s in series if s.freq), None)
        season = cfg.season or season_length(freq)
        return season, cfg.horizon or max(season, 1)

    def _plans(
        self, series: list[SeriesData], ids: list[str]
    ) -> tuple[list[Plan], list[int], list[str], list[SeriesData], list[tuple[str, str]]]:
        """Each series' plan with the panel's season, horizon and lookbacks; the series too short for
        them are left out."""
        cfg = self.config
        season, horizon = self._season_horizon(series)
        lookbacks = panel_lookbacks(cfg, season, horizon, [len(s.values) for s in series])
        shared = replace(cfg, season=season, horizon=horizon, lookback=max(lookbacks), ensemble=1)
        plans, kept_ids, kept, short = [], [], [], []
        for sid, s in zip(ids, series, strict=True):
            try:
                plan = make_plan(shared, s)
            except ConfigError:
                short.append((sid, "too short"))
                continue
            plans.append(plan)
            kept_ids.append(sid)
            kept.append(s)
        return plans, lookbacks, kept_ids, kept, short

    # ------------------------------------------------------------------------------------------ forecast
    def forecaster(self, series_id: str) -> Forecaster:
        """The ``Forecaster`` of one series (its own state, the shared ensemble); an unknown id is a
        ``ConfigError`` naming a few valid ones."""
        st = self._state()
        if self._index[0] is not st:  # (ids.index would make a panel's predict quadratic)
            self._index = (st, {sid: k for k, sid in enumerate(st.ids)})
        k = self._index[1].get(str(series_id))
        if k is None:
            shown = ", ".join(st.ids[:5]) + (f", … ({len(st.ids) - 5} more)" if len(st.ids) > 5 else "")
            raise ConfigError(f"no series {series_id!r} in this model; its {st.id_col} values are: {shown}")
        model = Forecaster(st.config)
        model.state_ = st.states[k]
        # Compiled, as the panel's own predict runs them: many series' forecasts are where the compiled
        # loop pays (NumPy's pass costs ~8x a step; a lone single-series predict runs NumPy to skip Numba)
        model.compiled_forecasts = True
        return model

    def predict(
        self, horizon: int | None = None, *, ids: Sequence[str] | None = None, levels: tuple[float, ...] = (),
        method: str = "lstm", executor: Executor | None = None, threads: int = 1, future: PanelFuture | None = None,
    ) -> dict[str, Forecast]:  # fmt: skip
        """Forecasts of every series (or of ``ids``), by id, each continuing its own dates; ``method`` as
        ``Forecaster.predict`` takes it, for every series ("best": each series' own winner); with
        ``executor`` (a Dask cluster) in chunks of series there, the same numbers. A global model's
        blocks of series go to worker processes when ``threads`` (0: every core) allows more than one
        and there is more than one block; the same numbers again. A model with inputs known in advance
        takes each series' values for its forecast period from ``future``
        (``data.future.load_panel_future``); a series it lacks is an error naming it."""
        st = self._state()
        wanted = st.ids if ids is None else [str(i) for i in ids]
        if future is not None or st.first.known.width:  # each series with its own future values
            forecasts = {sid: self._predict_known(sid, horizon, levels, method, future) for sid in wanted}
            return self._calibrated(forecasts, levels)
        batched = st.mode == "global" and method == "lstm"
        if executor is None and not batched:
            return self._calibrated(
                {sid: self.forecaster(sid).predict(horizon, levels=levels, method=method) for sid in wanted},
                levels,
            )
        states = [self.forecaster(sid).state_ for sid in wanted]  # (an unknown id fails here, first)
        if batched:  # every series' last window through the networks together, in blocks of series
            cores = cores_for(threads)
            values = predict_blocks(states, horizon, levels, worker_executor(executor, cores))
            return self._calibrated(dict(zip(wanted, values, strict=True)), levels)
        from lstmcli.forecasting.executors import chunk_size, chunks_of

        seconds = FORECAST_STEP_SECONDS * (horizon or st.first.horizon) * len(st.first.ensemble.lookbacks)
        size = chunk_size(len(wanted), executor.workers, seconds)
        # a global model's states share one ensemble: pickled once per chunk with them
        chunks = [
            (st.config, part, horizon, levels, method)
            for part in chunks_of(list(zip(wanted, states, strict=True)), size)
        ]
        done = executor.map(forecast_chunk, chunks)
        return self._calibrated({sid: f for k in range(len(chunks)) for sid, f in done[k]}, levels)

    def _calibrated(self, forecasts: dict[str, Forecast], levels: tuple[float, ...]) -> dict[str, Forecast]:
        """The intervals calibrated over every series of the model (``intervals.recalibrate``)."""
        from lstmcli.forecasting.intervals import recalibrate

        st = self._state()
        return recalibrate(forecasts, dict(zip(st.ids, st.states, strict=True)), levels)

    def _predict_known(
        self,
        sid: str,
        horizon: int | None,
        levels: tuple[float, ...],
        method: str,
        future: PanelFuture | None,
    ) -> Forecast:
        """One series' forecast with its inputs known in advance; without ``future``, a missing one is an
        error naming the series."""
        model = self.forecaster(sid)
        if future is not None:
            return model.predict(horizon, levels=levels, method=method, future=future.of(sid))
        try:
            return model.predict(horizon, levels=levels, method=method)
        except DataError as e:
            raise DataError(f"series '{sid}': {e}") from None

    def predict_data(
        self, panel: Panel, horizon: int | None = None, *, ids: Sequence[str] | None = None,
        levels: tuple[int, ...] = (), method: str = "lstm", future: PanelFuture | None = None,
    ) -> tuple[dict[str, Forecast], list[tuple[str, str]]]:  # fmt: skip
        """Forecasts from the end of newer data (``predict --data``): each series of ``panel`` (or of
        ``ids``) that the model knows, from its own last rows and dates, as ``Forecaster.predict(data=)``
        forecasts a single series. Returns the forecasts by id and the (id, reason) of the series of the
        file left out: not in the model, too short for the lookback, or skipped when read. An id of
        ``ids`` missing from the model or the file, or a file of which nothing can be forecast, is an
        error."""
        st = self._state()
        given = dict(zip(panel.ids, panel.series, strict=True))
        left_out = [(sid, reason) for sid, reason in panel.skipped if ids is None or sid in ids]
        if ids is not None:
            for sid in ids:
                self.forecaster(sid)  # an id the model does not know: its own error
                if sid not in given:
                    why = dict(panel.skipped).get(sid) or f"not in its column '{panel.id_col}'"
                    raise DataError(f"{panel.path}: series {sid!r} cannot be forecast from it: {why}")
        known = set(st.ids)
        forecasts: dict[str, Forecast] = {}
        for sid, series in given.items():
            if ids is not None and sid not in ids:
                continue
            if sid not in known:
                left_out.append((sid, "not in the model"))
                continue
            model = self.forecaster(sid)
            need = max(model.state_.ensemble.lookbacks) + model.state_.preprocessing.lag
            if len(series.values) < need:
                if ids is not None:
                    raise DataError(
                        f"{panel.path}: series {sid!r} has {len(series.values)} rows, but the model needs "
                        f"its last {need}"
                    )
                left_out.append((sid, "too short for the model's lookback"))
                continue
            ahead = None if future is None else future.of(sid)
            try:
                forecasts[sid] = model.predict(
                    horizon, data=series, levels=levels, method=method, future=ahead
                )
            except DataError as e:  # (a --future file's own errors name the series already)
                raise DataError(str(e) if ahead is not None else f"series '{sid}': {e}") from None
        if not forecasts:
            from lstmcli.data.panel import skipped_note

            raise DataError(f"{panel.path}: no series to forecast from ({skipped_note(left_out)})")
        return self._calibrated(forecasts, levels), sorted(left_out)

    # ------------------------------------------------------------------------------------------ files
    def save(self, path: str) -> None:
        from lstmcli.panelfile import save_panel

        save_panel(self._state(), path)

    @classmethod
    def load(cls, path: str) -> PanelForecaster:
        from lstmcli.panelfile import load_panel_state

        state = load_panel_state(path)
        model = cls(state.config, mode=state.mode)
        model.state_ = state
        Forecaster.check_first_forecast(model.forecaster(state.ids[0]), path)
        return model


# ---------------------------------------------------------------------------------------------- helpers
def panel_lookbacks(cfg: ForecasterConfig, season: int, horizon: int, lengths: list[int]) -> list[int]:
    """One lookback per member: ``--lookback``, or the single-series defaults (N-BEATS-style factors)
    capped so that a series at the SHORT_QUANTILE of the lengths keeps about half its values for
    training windows and validation."""
    if cfg.lookback is not None:
        return [int(cfg.lookback)] * cfg.ensemble
    short = int(np.quantile(np.asarray(lengths), SHORT_QUANTILE)) if lengths else 0
    cap = max(2, min(LOOKBACK_MAX, (short - horizon) // 2, short // 2))
    base = default_lookback(season)
    wanted = [base] + [
        round(base * LOOKBACK_FACTORS[k % len(LOOKBACK_FACTORS)]) for k in range(1, cfg.ensemble)
    ]
    return [int(max(2, min(w, cap))) for w in wanted]


def _arrays(s: SeriesData) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(s.values, dtype=np.float64)
    return y, np.asarray(s.features, dtype=np.float64).reshape(len(y), -1)


def _pooled(per_series: list[list[MemberSet]], seed: int) -> list[MemberSet]:
    """Per member: the training windows of every series (the most recent WINDOWS_PER_SERIES of each)
    and the validation windows (the last VAL_WINDOWS_PER_SERIES of each) of every series, or of a
    sample of them when they hold more than VAL_WINDOWS, in series order."""
    counts = [
        min(len(s[0].x_val), VAL_WINDOWS_PER_SERIES) if s[0].x_val is not None else 0 for s in per_series
    ]
    watched = np.ones(len(per_series), dtype=bool)
    if sum(counts) > VAL_WINDOWS:  # series drawn in a seeded order until their windows fill VAL_WINDOWS
        order = np.random.default_rng([seed, len(per_series)]).permutation(len(per_series))
        taken = np.cumsum(np.asarray(counts)[order]) <= VAL_WINDOWS
        watched[:] = False
        watched[order[taken]] = True
    pooled = []
    for member in zip(*per_series, strict=True):
        x = np.concatenate([s.x[-WINDOWS_PER_SERIES:] for s in member])
        t = np.concatenate([s.t[-WINDOWS_PER_SERIES:] for s in member])
        vals = [s for s, w in zip(member, watched, strict=True) if w and s.x_val is not None and len(s.x_val)]
        x_val = np.concatenate([s.x_val[-VAL_WINDOWS_PER_SERIES:] for s in vals]) if vals else None
        t_val = np.concatenate([s.t_val[-VAL_WINDOWS_PER_SERIES:] for s in vals]) if vals else None
        pooled.append(MemberSet(x, t, x_val, t_val, member[0].lookback))
    return pooled
