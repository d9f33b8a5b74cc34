"""Forecasts of many series of a global panel model at once: every series' windows go through the
shared networks together, in large batches, instead of one small batch per series.

A window is normalised by its own level (``normalize`` "window" or "none"), so which series'
preprocessing cuts the batch does not matter: each series' windows are cut and their forecasts turned
back into data units by its own preprocessing, only the network passes are shared. With ``"ses"``
levels (a smoothing constant per series) each series is forecast on its own, as before.

Everything here is a pure function of (series, ensemble): a chunk of series can be forecast anywhere
(another process, another machine) and give the same numbers. The network passes, the bulk of the
work, are cut into blocks of BATCH_WINDOWS windows in series order, fixed by the data alone; with an
executor (worker processes, a Dask cluster) each block is one task, so the numbers are the same bits
whatever the number of workers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.errors import WorkersUnavailable
from lstmcli.forecasting.config import forecast_request
from lstmcli.forecasting.fitting import forecast_from_origins

if TYPE_CHECKING:
    from collections.abc import Callable

    from lstmcli.forecasting.ensemble import Ensemble
    from lstmcli.forecasting.executors import Executor
    from lstmcli.forecasting.forecaster import Forecast
    from lstmcli.forecasting.preprocessing import Preprocessing
    from lstmcli.forecasting.state import FittedState

__all__ = [
    "BASELINE_SERIES",
    "BATCH_WINDOWS",
    "network_blocks",
    "panel_forecasts",
    "panel_predict",
    "predict_blocks",
    "worker_executor",
]

BATCH_WINDOWS = 8192  # windows per network pass: large enough to amortise the Python of 18 steps
BASELINE_SERIES = 512  # series per task of the validation's baselines (Theta, ES, ARIMA at every origin)


def panel_forecasts(
    preps: list[Preprocessing],
    ensemble: Ensemble,
    ys: list[np.ndarray],
    features: list[np.ndarray],
    origins: list[np.ndarray],
    horizon: int,
    starts: list[int] | None = None,
    knowns: list[np.ndarray | None] | None = None,
    executor: Executor | None = None,
) -> list[np.ndarray]:
    """Per series s, its (len(origins[s]), horizon) forecasts in data units from each origin o
    (forecasting ys[s][o], ...): ``Forecaster.forecast_from_origins`` for every series at once.
    ``starts[s]`` is the position of ``ys[s][0]`` in the series (0 by default). ``knowns[s]``: series
    s's raw inputs known in advance (``known``); with them each series is forecast on its own. With
    ``executor`` the blocks of network passes run there (``network_blocks``), the same numbers."""
    starts = starts if starts is not None else [0] * len(ys)
    knowns = knowns if knowns is not None else [None] * len(ys)
    if any(p.normalize == "ses" and p.level_alpha < 1.0 for p in preps) or any(k is not None for k in knowns):
        return [
            forecast_from_origins(p, ensemble, None, y, f, o, horizon, s0, known=k)
            for p, y, f, o, s0, k in zip(preps, ys, features, origins, starts, knowns, strict=True)
        ]
    L = max(ensemble.lookbacks)
    windows, adjusted = [], []
    for prep, y, f, o, s0 in zip(preps, ys, features, origins, starts, strict=True):
        adj, _, inputs = prep.prepare(y, f, s0)
        at = np.asarray(o, dtype=np.int64) - prep.lag
        # windows[k] = inputs[at[k] - L : at[k]], gathered in one step
        windows.append(inputs[at[:, None] - L + np.arange(L)[None, :]])
        adjusted.append(adj)
    counts = [len(w) for w in windows]
    if not sum(counts):
        return [np.zeros((0, horizon)) for _ in ys]
    zf = network_blocks(ensemble, np.concatenate(windows), horizon, preps[0], executor)
    out, first = [], 0
    for prep, adj, o, s0, n in zip(preps, adjusted, origins, starts, counts, strict=True):
        z = zf[first : first + n]
        first += n
        out.append(
            np.stack([prep.to_data_units(z[k], adj[:oo], s0 + oo) for k, oo in enumerate(o)])
            if n
            else np.zeros((0, horizon))
        )
    return out


def network_blocks(
    ensemble: Ensemble,
    stacked: np.ndarray,
    horizon: int,
    prep: Preprocessing,
    executor: Executor | None = None,
) -> np.ndarray:
    """``ensemble.forecast`` of (N, L, D) windows, in blocks of BATCH_WINDOWS (the last one shorter):
    here one after the other, or with ``executor`` one task a block, results put back in block order.
    A block is the same computation either way (one BLAS thread, ``Ensemble.forecast``), so the bits
    do not depend on the executor or its number of workers."""
    blocks = [stacked[k : k + BATCH_WINDOWS] for k in range(0, len(stacked), BATCH_WINDOWS)]
    return np.concatenate(
        _run_blocks(_forecast_block, [(ensemble, b, horizon, prep) for b in blocks], executor)
    )


def _run_blocks(
    task: Callable[[Any, object], Any], blocks: list[Any], executor: Executor | None
) -> list[Any]:
    """``task`` of every block, in block order: one task a block on ``executor`` when there is more than
    one block, else (or without worker processes on this system) one after the other, here."""
    if executor is not None and len(blocks) > 1:
        try:
            done = executor.map(task, blocks)
            return [done[k] for k in range(len(blocks))]
        except WorkersUnavailable:
            pass
    return [task(block, None) for block in blocks]


def _forecast_block(task: tuple[Ensemble, np.ndarray, int, Preprocessing], stop: object) -> np.ndarray:
    """A worker's task: one block of windows through the networks (``network_blocks``)."""
    ensemble, windows, horizon, prep = task
    return ensemble.forecast(windows, horizon, prep)


def _baseline_block(
    task: tuple[list[tuple[np.ndarray, np.ndarray]], int, int], stop: object
) -> list[dict[str, np.ndarray]]:
    """A worker's task: the baselines' forecasts from every origin of a block of series ({} for a series
    without origins)."""
    from lstmcli.forecasting.baselines import baseline_forecasts

    pairs, horizon, season = task
    return [baseline_forecasts(y, o, horizon, season) if len(o) else {} for y, o in pairs]


def worker_executor(executor: Executor | None, cores: int) -> Executor | None:
    """Where blocks of forecasts run: the given executor (a Dask cluster), else worker processes on
    this machine when there is more than one core to use, else None (here, one after the other)."""
    if executor is not None or cores <= 1:
        return executor
    from lstmcli.forecasting.executors import Processes

    return Processes(cores)


def predict_blocks(
    states: list[FittedState], horizon: int | None, levels: tuple[float, ...], executor: Executor | None
) -> list[Forecast]:
    """``panel_predict`` of a global model's series in blocks of BATCH_WINDOWS series (one window
    each: one network pass a block), here or with ``executor`` one task a block: each block is the
    same computation either way, so the same bits whatever the number of workers."""
    blocks = [states[k : k + BATCH_WINDOWS] for k in range(0, len(states), BATCH_WINDOWS)]
    done = _run_blocks(_predict_block, [(block, horizon, levels) for block in blocks], executor)
    return [f for part in done for f in part]


def _predict_block(
    task: tuple[list[FittedState], int | None, tuple[float, ...]], stop: object
) -> list[Forecast]:
    """A worker's task: the forecasts of a block of a global model's series (``panel_predict``)."""
    states, horizon, levels = task
    return panel_predict(states, horizon, levels)


def panel_predict(
    states: list[FittedState], horizon: int | None, levels: tuple[int, ...] = ()
) -> list[Forecast]:
    """``Forecaster.predict`` (from the end of each series' data) for series sharing one ensemble,
    their last windows through the networks together."""
    from lstmcli.forecasting.forecaster import Forecast
    from lstmcli.forecasting.intervals import interval
    from lstmcli.forecasting.verdicts import forecast_warnings

    horizon, levels = forecast_request(states[0].horizon if horizon is None else horizon, levels)
    dates = [None] * len(states)
    for k, st in enumerate(states):  # first: dates that cannot be written fail before computing
        if st.last_timestamp is not None and st.freq:
            from lstmcli.data.stepdates import future_timestamps

            dates[k] = future_timestamps(st.last_timestamp, st.freq, horizon)
    values = panel_forecasts(
        [st.preprocessing for st in states], states[0].ensemble, [st.tail_values for st in states],
        [st.tail_features for st in states], [np.array([len(st.tail_values)]) for st in states], horizon,
        [st.n_obs - len(st.tail_values) for st in states],
    )  # fmt: skip
    from lstmcli.forecasting.config import COMBINED_BASELINES
    from lstmcli.forecasting.fitting import combined, member_forecasts

    out = []
    for st, v, timestamps in zip(states, values, dates, strict=True):
        # as Forecaster.predict: the mean with the stored baselines' forecasts
        baselines = {k: st.baselines[k].forecast(horizon) for k in COMBINED_BASELINES[st.config.combine]}
        f = combined(v[0], baselines, st.config.combine)
        members = member_forecasts(v[0], baselines, st.config.combine)
        result = Forecast(values=f, timestamps=timestamps, start_step=st.n_obs + 1, members=members)
        for level in levels:
            result.intervals[level] = interval(f, level, st.residuals, st.naive2_errors, members)
        result.warnings = forecast_warnings(st.tail_values, f, st.season, st.residuals)
        out.append(result)
    return out


def panel_validation(
    ys: list[np.ndarray], origins: list[np.ndarray], forecasts: list[np.ndarray], horizon: int, season: int,
    combine: str = "none", executor: Executor | None = None,
) -> list[tuple[np.ndarray, dict[str, dict[str, float]]]]:  # fmt: skip
    """``fitting.validate`` for every series from its networks' forecasts already made: per series its
    residuals (actual - forecast, NaN past its end) and its error table next to the baselines; with
    a ``combine`` the forecast is the combination, the networks' own a row of its own. The baselines'
    forecasts from every origin (Theta, ES and ARIMA fitted at each) run in blocks of BASELINE_SERIES series,
    one task a block on ``executor``: the same numbers wherever a block runs.

    The same numbers as ``compare_with_baselines`` series by series: each window is scored with the
    same arithmetic (``baselines._window_metrics``, row by row), only the windows of every series with
    the same number of steps inside their series are scored in one call (a validation window of a
    short series ends past it: one call per step count rather than one per window, method and series).
    """
    from lstmcli.forecasting.baselines import _window_metrics
    from lstmcli.forecasting.fitting import NETWORKS_ROW, combined
    from lstmcli.forecasting.metrics import evaluate, mase_scale, owa

    actual = [np.full((len(o), horizon), np.nan) for o in origins]
    for y, o, a in zip(ys, origins, actual, strict=True):
        for k, start in enumerate(o):
            seen = y[start : start + horizon]
            a[k, : len(seen)] = seen
    pairs = list(zip(ys, origins, strict=True))
    blocks = [
        (pairs[k : k + BASELINE_SERIES], horizon, season) for k in range(0, len(pairs), BASELINE_SERIES)
    ]
    bases = [base for block in _run_blocks(_baseline_block, blocks, executor) for base in block]
    methods: list[dict[str, np.ndarray]] = []
    for o, f, base in zip(origins, forecasts, bases, strict=True):
        if not len(o):
            methods.append({})
            continue
        extra = {NETWORKS_ROW: f} if combine != "none" else {}
        methods.append({"LSTM": combined(f, base, combine)} | extra | base)
    A = np.concatenate(actual) if actual else np.zeros((0, horizon))
    names = list(next((m for m in methods if m), {"LSTM": None}))
    F = {name: np.concatenate([m[name] for m in methods if m] or [np.zeros((0, horizon))]) for name in names}
    owner = np.repeat(np.arange(len(ys)), [len(o) for o in origins])
    at = np.concatenate([np.asarray(o, dtype=np.int64) for o in origins]) if origins else np.zeros(0, int)
    ok = np.isfinite(A)
    count = ok.sum(axis=1)
    prefix = (ok == (np.arange(horizon)[None, :] < count[:, None])).all(axis=1) & (count > 0)
    scales = np.array([mase_scale(ys[s][:o], season) for s, o in zip(owner, at, strict=True)])
    keys = ("MAE", "RMSE", "MAPE", "sMAPE", "MASE")
    per_row = {name: {key: np.full(len(A), np.nan) for key in keys} for name in names}
    for c in np.unique(count[prefix]):
        group = np.flatnonzero(prefix & (count == c))
        for name in names:
            for key, values in _window_metrics(A[group, :c], F[name][group, :c], scales[group]).items():
                per_row[name][key][group] = values
    for r in np.flatnonzero((count > 0) & ~prefix):
        s = owner[r]
        for name in names:
            for key, value in evaluate(A[r][ok[r]], F[name][r][ok[r]], ys[s][: at[r]], season).items():
                per_row[name][key][r] = value
    out, first = [], 0
    for s, o in enumerate(origins):
        rows = np.arange(first, first + len(o))
        first += len(o)
        if not len(o):
            out.append((np.zeros((0, horizon)), {}))
            continue
        scored = rows[count[rows] > 0]
        table = {name: {key: float(np.mean(per_row[name][key][scored])) for key in keys} for name in names}
        base = table["Naive2"]
        for row in table.values():
            row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
        out.append((actual[s] - methods[s]["LSTM"], table))
    return out
