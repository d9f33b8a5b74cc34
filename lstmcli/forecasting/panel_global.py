"""One LSTM ensemble across the series of a panel (``PanelForecaster(mode="global")``).

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
reads one window length): the single-series defaults, capped as the series at the panel's 10th
percentile of lengths would cap its own; a series too short for the longest lookback is skipped.

Cost: each series gives at most ``WINDOWS_PER_SERIES`` training windows (its most recent) and
``VAL_WINDOWS_PER_SERIES`` validation windows to the pool, so a long series does not drown the short
ones; an epoch trains on at most ``EPOCH_WINDOWS`` of the pool, drawn afresh with the seed, and early
stopping watches a seeded sample of the series past ``VAL_WINDOWS``, so the training stops growing with
the panel; preparing, validating and forecasting the series (``panel_batch``) grow linearly. The series
are pooled in id order, so the order of the rows in the file never changes the model.

A series the model was not trained on gets the same per-series pieces around the shared ensemble
(``adopt``, zero-shot: nothing is trained), so ``predict --data`` forecasts it too.
"""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from lstmcli.errors import ConfigError
from lstmcli.forecasting.ensemble import (
    MemberSet,
    Progress,
    member_forecast,
    summary_result,
    train_members,
    training_sets,
)
from lstmcli.forecasting.fitting import ensemble_of, fitted_state, preprocessing_for
from lstmcli.forecasting.panel_batch import panel_forecasts, panel_validation, worker_executor
from lstmcli.forecasting.panel_known import monitor_set, panel_known, pool_scaling
from lstmcli.forecasting.panel_parts import Ticker
from lstmcli.forecasting.planning import (
    LOOKBACK_FACTORS,
    LOOKBACK_MAX,
    Plan,
    default_lookback,
    make_plan,
    recursive_lookback_cap,
    validation_points,
    validation_steps,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from lstmcli.data.series import SeriesData
    from lstmcli.engine.training import EpochReport, TrainResult
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.executors import Executor
    from lstmcli.forecasting.state import FittedState, PanelState

__all__ = ["adopt", "adoptable", "fit_global", "panel_lookbacks", "plan_series", "wanted_lookbacks"]

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
SHORT_QUANTILE = 0.1  # lookbacks are capped so that series this far down the lengths still train


def plan_series(
    cfg: ForecasterConfig, series: list[SeriesData], ids: list[str], season: int, horizon: int
) -> tuple[list[Plan], list[int], list[str], list[SeriesData], list[tuple[str, str]]]:
    """Each series' plan with the panel's ``season``, ``horizon`` and lookbacks (``panel_lookbacks``), the
    lookbacks, and the ids and series kept; the series too short for them are left out, with a reason."""
    lengths = [len(s.values) for s in series]
    lookbacks = panel_lookbacks(cfg, season, horizon, lengths, direct=cfg.strategy == "direct")
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


def fit_global(
    cfg: ForecasterConfig, plans: list[Plan], lookbacks: list[int], kept_ids: list[str], kept: list[SeriesData],
    vectors: dict[str, np.ndarray], *, cores: int, on_epoch: Callable[[EpochReport], None] | None,
    on_series: Callable[[int, int], None] | None, should_stop: Callable[[], bool] | None,
    executor: Executor | None, started: float,
) -> tuple[list[FittedState], TrainResult]:  # fmt: skip
    """Train one ensemble on the pooled windows of the ``kept`` series (planned by ``plan_series``; their
    static feature ``vectors`` by id), validate every series with it, retrain it on all the data
    (``cfg.refit``); each series' ``FittedState`` and the training's summary (its time from ``started``).
    Progress as ``PanelForecaster.fit`` says."""
    first = plans[0]
    strategy, horizon, season = first.strategy, first.horizon, first.season
    out = horizon if strategy == "direct" else 1
    refit = bool(cfg.refit) and any(p.split.n_val > 0 for p in plans)
    progress = Progress(on_epoch, cfg.epochs, cfg.ensemble * (2 if refit else 1))
    run = partial(
        train_members, cfg, progress=progress, should_stop=should_stop, cores=cores, executor=executor,
        epoch_windows=EPOCH_WINDOWS,
    )  # fmt: skip
    arrays = [series_arrays(s) for s in kept]
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
    sets = pooled_sets([
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
    workers = worker_executor(executor, cores)
    forecasts = panel_forecasts(
        preps, ensemble, [y for y, _ in arrays], [f for _, f in arrays], [o for _, o in points], horizon,
        knowns=knowns, executor=workers,
    )  # fmt: skip
    checks = panel_validation([y for y, _ in arrays], [o for _, o in points], forecasts, horizon, season,
                              cfg.combine, workers)  # fmt: skip

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
        sets = pooled_sets([
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
    return states, result


def adoptable(state: PanelState) -> str | None:
    """Why the global model of ``state`` cannot forecast a series it was not trained on, or None: one
    that reads static features or inputs known in advance needs the series' own, which it never saw."""
    if state.mode != "global":
        return "a local model has no network for it"
    if state.static:
        return "the model reads static features"
    if state.first.known.width or state.first.feature_names:
        return "the model reads inputs known in advance"
    return None


def adopt(
    state: PanelState, ids: list[str], series: list[SeriesData]
) -> tuple[list[str], list[FittedState], list[tuple[str, str]]]:
    """Series the global model of ``state`` was not trained on, as series of it (zero-shot: nothing is
    trained): each gets its own plan and preprocessing as ``fit_global`` gives a series of the panel,
    the shared ensemble, and a validation from its own origins by that ensemble (which never saw the
    series, so its residuals are honest out-of-sample errors). The ids and states kept, and the (id,
    reason) of the series left out (too short for the model's lookbacks, constant). With its data as trained on, a series
    of the model forecasts as the model forecasts it, bit for bit (its final preprocessing is the same)."""
    if (why := adoptable(state)) is not None:
        raise ConfigError(f"this model cannot forecast series it was not trained on: {why}")
    first, cfg = state.first, state.config
    lookbacks = list(first.ensemble.lookbacks)
    shared = replace(cfg, season=first.season, horizon=first.horizon, lookback=max(lookbacks), ensemble=1)
    plans, kept_ids, kept, short = [], [], [], []
    for sid, s in zip(ids, series, strict=True):
        if float(np.ptp(s.values)) == 0.0:  # (load_panel leaves them out already) as fit does
            short.append((sid, "constant"))
            continue
        try:
            plans.append(make_plan(shared, s))
        except ConfigError:
            short.append((sid, "too short for the model's lookback"))
            continue
        kept_ids.append(sid)
        kept.append(s)
    if not kept:
        return [], [], short
    arrays = [series_arrays(s) for s in kept]
    points = [validation_points(p, len(y)) for p, (y, _) in zip(plans, arrays, strict=True)]
    ensemble, horizon = first.ensemble, first.horizon
    validating = [  # fitted on each series' training part, as a series of the panel is validated
        preprocessing_for(cfg, p, y[: p.split.train_end + p.lag], f[: p.split.train_end + p.lag])
        for p, (y, f) in zip(plans, arrays, strict=True)
    ]
    ys, origins = [y for y, _ in arrays], [o for _, o in points]
    forecasts = panel_forecasts(validating, ensemble, ys, [f for _, f in arrays], origins, horizon)
    checks = panel_validation(ys, origins, forecasts, horizon, first.season, cfg.combine)
    states = [
        fitted_state(cfg, replace(p, lookbacks=tuple(lookbacks)), s, preprocessing_for(cfg, p, y, f), ensemble,
                     list(first.member_epochs), None, o, table, residuals, state.train_result, first.known)
        for p, s, (y, f), o, (residuals, table) in zip(plans, kept, arrays, origins, checks, strict=True)
    ]  # fmt: skip
    return kept_ids, states, short


# ---------------------------------------------------------------------------------------------- helpers
def panel_lookbacks(
    cfg: ForecasterConfig, season: int, horizon: int, lengths: list[int], *, direct: bool = False
) -> list[int]:
    """One lookback per member: ``--lookback``, or the single-series defaults (N-BEATS-style factors)
    capped as a series at the SHORT_QUANTILE of the lengths would cap its own: under the recursive
    strategy as the single-series planner does (``recursive_lookback_cap``: the horizon is not inside a
    training window), under the direct one (``direct``) so that it keeps about half its values for
    windows of lookback plus horizon."""
    if cfg.lookback is not None:
        return [int(cfg.lookback)] * cfg.ensemble
    short = int(np.quantile(np.asarray(lengths), SHORT_QUANTILE)) if lengths else 0
    if direct:
        cap = min((short - horizon) // 2, short // 2)
    else:
        cap = recursive_lookback_cap(short, validation_steps(cfg.val_size, short))
    cap = max(2, min(LOOKBACK_MAX, cap))
    return [int(max(2, min(w, cap))) for w in wanted_lookbacks(cfg, season)]


def wanted_lookbacks(cfg: ForecasterConfig, season: int) -> list[int]:
    """The members' lookbacks before any cap: the single-series default times LOOKBACK_FACTORS."""
    base = default_lookback(season)
    return [base] + [
        round(base * LOOKBACK_FACTORS[k % len(LOOKBACK_FACTORS)]) for k in range(1, cfg.ensemble)
    ]


def series_arrays(s: SeriesData) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(s.values, dtype=np.float64)
    return y, np.asarray(s.features, dtype=np.float64).reshape(len(y), -1)


def pooled_sets(per_series: list[list[MemberSet]], seed: int) -> list[MemberSet]:
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
