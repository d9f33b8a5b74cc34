"""The models of a panel: one network ensemble trained on the windows of every series (``mode="global"``,
``panel_global``), or one single-series ensemble per series (``mode="local"``, the default:
``panel_local``). Either way each series ends as a ``FittedState`` of its own (its preprocessing,
validation and residuals), so ``Forecaster`` forecasts, traces and checks it as it does a single series;
``PanelForecaster`` reads the series, resolves the settings they share and forecasts them all. The series
are fitted in id order, so the order of the rows in the file never changes a model.
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.engine.threads import cores_for
from lstmcli.engine.training import EpochReport
from lstmcli.errors import ConfigError, DataError, LstmcliError, ValuesError
from lstmcli.forecasting.config import ForecasterConfig, checked_levels, resolve_combine
from lstmcli.forecasting.forecaster import Forecast, Forecaster
from lstmcli.forecasting.known import known_inputs_for
from lstmcli.forecasting.panel_batch import predict_blocks, worker_executor
from lstmcli.forecasting.panel_global import fit_global, plan_series
from lstmcli.forecasting.panel_parts import forecast_chunk, mean_table, static_values
from lstmcli.forecasting.state import PanelState
from lstmcli.forecasting.static import StaticEncoding

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from lstmcli.data.future import PanelFuture
    from lstmcli.data.series import Panel, SeriesData
    from lstmcli.forecasting.executors import Executor
    from lstmcli.forecasting.state import FittedState

__all__ = ["PanelForecaster", "PanelState"]

MODES = ("global", "local")
# The mode without one said (the API's and `train`/`backtest --id-col`'s): chosen on the full M1 and M3
# groups by benchmarks/panel_accuracy.py (RESULTS.md "Panels: local vs global", README "Many series").
DEFAULT_MODE = "local"
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
        caller, statsforecast's by default. Other keyword arguments go to ``fit``. Read by the panel
        file's rules (a temporary CSV): what reading decided is in ``read_notes_``, an error names "the
        DataFrame (as CSV)" and its line."""
        from lstmcli.data.loader import read_frame
        from lstmcli.data.panel import load_panel

        missing = [c for c in (id_col, time_col, target) if c not in df.columns]
        if missing:
            raise DataError(
                f"the DataFrame has no column {missing[0]!r}; columns are: {', '.join(map(str, df.columns))}"
            )
        panel = read_frame(  # the loader's rules, exactly as for a file
            df[[id_col, time_col, target]],
            lambda path: load_panel(path, id_col=id_col, time_col=time_col, target=target),
        )
        self.read_notes_ = tuple(panel.notes)  # (the loader's notes: filled values, skipped series)
        try:
            return self.fit(replace(panel, path="the DataFrame"), **kwargs)  # (not the temporary file)
        except LstmcliError as e:
            raise type(e)(str(e).replace(str(panel.path), "the DataFrame")) from None

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
        for sid, s in zip(ids, series, strict=True):  # (a panel file's are filled; built by hand, maybe not)
            if not np.isfinite(s.values).all():
                k = int(np.argmax(~np.isfinite(s.values)))
                raise DataError(
                    f"{source}: series {sid!r} has {s.values[k]} at row {k + 1}; fill or drop it first"
                )
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
        plans, lookbacks, kept_ids, kept, short = plan_series(
            self.config, series, ids, *self._season_horizon(series)
        )
        skipped += short
        if not kept:
            raise DataError(
                f"{source}: every series is too short for horizon and lookback ({len(short)} series)"
            )
        states, result = fit_global(
            cfg, plans, lookbacks, kept_ids, kept, vectors, cores=cores, on_epoch=on_epoch, on_series=on_series,
            should_stop=should_stop, executor=executor, started=started,
        )  # fmt: skip
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

    # ------------------------------------------------------------------------------------------ forecast
    def position(self, series_id: str) -> int:
        """Where series ``series_id`` is among ``ids_`` (and its entries in a file of local models:
        ``series.K.``); the id may be typed in another Unicode form. An unknown id is a ``ConfigError``
        naming a few valid ones."""
        st = self._state()
        if self._index[0] is not st:  # (ids.index would make a panel's predict quadratic)
            self._index = (st, {sid: k for k, sid in enumerate(st.ids)})
        k = self._index[1].get(str(series_id))
        if k is None:  # 'école' typed composed, stored decomposed (or the other way): the same id
            k = _unicode_match(str(series_id), self._index[1])
        if k is None:
            why = dict(st.skipped).get(str(series_id))
            if why is not None:  # in the training file, but left out of the model
                raise ConfigError(
                    f"series {series_id!r} was left out of this model when it was trained ({why})"
                )
            shown = ", ".join(st.ids[:5]) + (f", … ({len(st.ids) - 5} more)" if len(st.ids) > 5 else "")
            raise ConfigError(f"no series {series_id!r} in this model; its {st.id_col} values are: {shown}")
        return k

    def forecaster(self, series_id: str) -> Forecaster:
        """The ``Forecaster`` of one series (its own state, the shared ensemble); an unknown id is a
        ``ConfigError`` naming a few valid ones."""
        st = self._state()
        k = self.position(series_id)
        model = Forecaster(st.config)
        model.state_ = st.states[k]
        # Compiled, as the panel's own predict runs them: many series' forecasts are where the compiled
        # loop pays (NumPy's pass costs ~8x a step; a lone single-series predict runs NumPy to skip Numba)
        model.compiled_forecasts = True
        model.static_names = StaticEncoding(tuple(st.static)).names
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
        if isinstance(ids, str):  # one id (its characters are not ids)
            ids = [ids]
        wanted = st.ids if ids is None else [str(i) for i in ids]
        levels = checked_levels(levels)  # (a single level, 80, as Forecaster.predict takes it)
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
        ``ids``), from its own last rows and dates, as ``Forecaster.predict(data=)`` forecasts a single
        series. A series the model was not trained on is forecast by a global model's shared network
        (``panel_global.adopt``: zero-shot, nothing trained) unless the model reads static features or
        inputs known in advance; a local model has no network for it. Returns the forecasts by id (in the
        file's id order) and the (id, reason) of the series of the file left out: not in the model, too
        short for the lookback, or skipped when read. An id of ``ids`` missing from the model (and, for a
        global model, from the file), or a file of which nothing can be forecast, is an error."""
        from lstmcli.forecasting.panel_global import adopt, adoptable

        st = self._state()
        given = dict(zip(panel.ids, panel.series, strict=True))
        known = set(st.ids)
        newcomers = adoptable(st) is None
        left_out = [(sid, reason) for sid, reason in panel.skipped if ids is None or sid in ids]
        if ids is not None:
            for sid in ids:
                if not (newcomers and sid in given and sid not in known):
                    self.forecaster(sid)  # an id the model does not know: its own error
                if sid not in given:
                    why = dict(panel.skipped).get(sid) or f"not in its column '{panel.id_col}'"
                    raise DataError(f"{panel.path}: series {sid!r} cannot be forecast from it: {why}")
        forecasts: dict[str, Forecast] = {}
        new: dict[str, SeriesData] = {}
        for sid, series in given.items():
            if ids is not None and sid not in ids:
                continue
            if sid not in known:
                if newcomers:
                    new[sid] = series
                else:
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
                if ids is None and isinstance(e, ValuesError):  # one series' values: the others go on
                    left_out.append((sid, f"its model cannot forecast from these values ({e})"))
                    continue
                raise DataError(str(e) if ahead is not None else f"series '{sid}': {e}") from None
        forecasts = self._calibrated(forecasts, levels)
        if new:
            adopted, states, short = adopt(st, list(new), list(new.values()))
            if ids is not None and short:
                sid, why = short[0]
                raise DataError(f"{panel.path}: series {sid!r} cannot be forecast from it: {why}")
            left_out += short
            forecasts |= self._newcomer_forecasts(adopted, states, horizon, levels, method)
        if not forecasts:
            from lstmcli.data.panel import skipped_note

            raise DataError(f"{panel.path}: no series to forecast from ({skipped_note(left_out)})")
        return {sid: forecasts[sid] for sid in given if sid in forecasts}, sorted(left_out)

    def _newcomer_forecasts(
        self, ids: list[str], states: list[FittedState], horizon: int | None, levels: tuple[float, ...],
        method: str,
    ) -> dict[str, Forecast]:  # fmt: skip
        """The forecasts of series the model was not trained on (``panel_global.adopt``), their intervals
        calibrated over the model's series and theirs together (the model's own series keep theirs)."""
        from lstmcli.forecasting.intervals import recalibrate

        out = {}
        for sid, state in zip(ids, states, strict=True):
            model = Forecaster(state.config)
            model.state_ = state
            model.compiled_forecasts = True
            out[sid] = model.predict(horizon, levels=levels, method=method)
        st = self._state()
        pool = dict(zip(st.ids, st.states, strict=True)) | dict(zip(ids, states, strict=True))
        return recalibrate(out, pool, levels)

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


def _unicode_match(series_id: str, index: dict[str, int]) -> int | None:
    """The position of the one id that reads as ``series_id`` once both are in Unicode's composed form
    (NFC), or None."""
    import unicodedata

    wanted = unicodedata.normalize("NFC", series_id)
    found = [k for sid, k in index.items() if unicodedata.normalize("NFC", sid) == wanted]
    return found[0] if len(found) == 1 else None
