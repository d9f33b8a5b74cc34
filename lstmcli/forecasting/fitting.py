"""One series' part of a fit, shared by the ``Forecaster`` and the panel's global model (``panel``):
the forecasts from the validation origins, the residuals and error table they give, and the fitted
state that predict continues the series from."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import numpy as np

from lstmcli.engine.network import LSTMNetwork
from lstmcli.engine.training import TrainResult
from lstmcli.forecasting.baselines import baseline_forecasts, compare_with_baselines, fit_baselines
from lstmcli.forecasting.config import COMBINED_BASELINES, ForecasterConfig
from lstmcli.forecasting.ensemble import Ensemble, rows_after
from lstmcli.forecasting.intervals import naive2_errors
from lstmcli.forecasting.known import KnownInputs
from lstmcli.forecasting.planning import Plan
from lstmcli.forecasting.preprocessing import Preprocessing
from lstmcli.forecasting.state import FittedState

if TYPE_CHECKING:
    from lstmcli.data.series import SeriesData

__all__ = [
    "combined",
    "ensemble_of",
    "fitted_state",
    "forecast_from_origins",
    "members_from_origins",
    "validate",
]

NETWORKS_ROW = "LSTM networks"  # with a --combine: the ensemble's own forecast, next to the combination


def preprocessing_for(
    cfg: ForecasterConfig, plan: Plan, y: np.ndarray, features: np.ndarray, known: np.ndarray | None = None
) -> Preprocessing:
    """A series' preprocessing fitted on ``y`` (and its feature and known-input rows) as the settings and
    plan say; a step carries the known inputs of the next step (recursive) or of the next horizon."""
    return Preprocessing.fit(
        y, features, transform=plan.transform, season=plan.season,
        deseasonalize=cfg.deseasonalize, normalize=cfg.normalize,
        known=known, known_lead=plan.horizon if plan.strategy == "direct" else 1,
    )  # fmt: skip


def validate(
    prep: Preprocessing, ensemble: Ensemble, constant: float | None, y: np.ndarray, features: np.ndarray,
    origins: np.ndarray, horizon: int, season: int, combine: str = "none",
    known: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, dict[str, float]]]:  # fmt: skip
    """Forecasts from every validation origin: the residuals (actual - forecast, (n, horizon), NaN past
    the series' end) and the error table next to the baselines. With ``combine`` "theta" or "theta+es" the model's
    forecast ("LSTM") is the combination, the networks' own forecast a row of its own, and the
    residuals (hence the intervals) are the combination's."""
    if not len(origins):
        return np.zeros((0, horizon)), {}
    networks = forecast_from_origins(prep, ensemble, constant, y, features, origins, horizon, known=known)
    actual = np.full((len(origins), horizon), np.nan)
    for k, o in enumerate(origins):
        seen = y[o : o + horizon]
        actual[k, : len(seen)] = seen
    baselines = baseline_forecasts(y, origins, horizon, season)
    forecast = combined(networks, baselines, combine)
    extra = {NETWORKS_ROW: networks} if combine != "none" else {}
    table = compare_with_baselines(y, origins, actual, forecast, season, extra=extra, baselines=baselines)
    return actual - forecast, table


def members_from_origins(combine: str, y: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> dict:
    """The forecasts of the baselines ``combine`` averages with the networks', fitted to ``y[:o]`` for each
    origin ``o`` (name -> (n, horizon))."""
    from lstmcli.forecasting.arima import fit_arima
    from lstmcli.forecasting.smoothing import fit_es
    from lstmcli.forecasting.theta import fit_theta, forecasts_from_origins, origin_figures

    names = COMBINED_BASELINES[combine]
    if not names:
        return {}
    x, o = np.asarray(y, dtype=np.float64), np.asarray(origins, dtype=np.int64)
    figures = origin_figures(x, season, o)  # each origin's seasonal indices, shared by the members
    fits = {"Theta": fit_theta, "ES": fit_es, "ARIMA": fit_arima}
    return {name: forecasts_from_origins(fits[name], x, o, horizon, season, figures) for name in names}


def combined(
    networks: np.ndarray, baselines: Mapping[str, np.ndarray] | Callable[[str], np.ndarray], combine: str
) -> np.ndarray:
    """The model's forecast: the networks' (``combine`` "none") or the mean of theirs and the forecasts of
    the baselines ``config.COMBINED_BASELINES[combine]`` names (``baselines``: name -> forecast, or a
    function giving the forecast of a name, so that only those are made)."""
    names = COMBINED_BASELINES[combine]
    if not names:
        return networks
    forecast_of = baselines if callable(baselines) else baselines.__getitem__
    total = networks
    for name in names:
        total = total + forecast_of(name)
    return total / (len(names) + 1.0)


def member_forecasts(
    networks: np.ndarray, baselines: Mapping[str, np.ndarray], combine: str
) -> np.ndarray | None:
    """The forecasts ``combined`` averages, the networks' first, stacked on a new axis before the steps'
    ((k, horizon); from origins (n, k, horizon)); None when ``combine`` is "none" (no combination)."""
    names = COMBINED_BASELINES[combine]
    if not names:
        return None
    return np.stack([networks, *(baselines[name] for name in names)], axis=-2)


def fitted_state(
    cfg: ForecasterConfig, plan: Plan, data: SeriesData, prep: Preprocessing, ensemble: Ensemble,
    member_epochs: list[int], constant: float | None, origins: np.ndarray,
    validation: dict[str, dict[str, float]], residuals: np.ndarray, train_result: TrainResult,
    known_inputs: KnownInputs | None = None, known: np.ndarray | None = None,
) -> FittedState:  # fmt: skip
    """The fitted state of one series, with what predict needs to continue it without the data file."""
    y = np.asarray(data.values, dtype=np.float64)
    features = np.asarray(data.features, dtype=np.float64).reshape(len(y), -1)
    keep = min(len(y), max(ensemble.lookbacks) + plan.lag + 1)
    for net in ensemble.networks:
        net.release_buffers()  # (training's buffers: megabytes a network, for each series of a panel)
    return FittedState(
        config=cfg,
        season=plan.season,
        horizon=plan.horizon,
        constant=constant,
        preprocessing=prep,
        ensemble=ensemble,
        member_epochs=member_epochs,
        target=data.target,
        feature_names=list(data.feature_names),
        freq=data.freq,
        source=str(data.path),
        n_obs=len(y),
        last_timestamp=None if data.timestamps is None else np.datetime64(data.timestamps[-1], "ns"),
        tail_values=y[-keep:].copy(),
        tail_features=features[-keep:].copy(),
        validation_origins=origins,
        validation=validation,
        residuals=residuals,
        # the floor of the intervals where validation gives too few residuals (intervals)
        naive2_errors=naive2_errors(y, prep.seasonal, plan.horizon),
        train_result=train_result,
        baselines=fit_baselines(y, plan.season),
        known=known_inputs or KnownInputs(),
        tail_known=np.zeros((keep, 0))
        if known is None
        else np.asarray(known, dtype=np.float64)[-keep:].copy(),
    )


def ensemble_of(kept: list[tuple[LSTMNetwork, int]], strategy: str) -> Ensemble:
    return Ensemble([net for net, _ in kept], [L for _, L in kept], strategy)


def forecast_from_origins(
    prep: Preprocessing,
    ensemble: Ensemble,
    constant: float | None,
    y: np.ndarray,
    features: np.ndarray,
    origins: np.ndarray,
    horizon: int,
    start: int = 0,
    known: np.ndarray | None = None,
    compiled: bool = True,
) -> np.ndarray:
    """(n, horizon) forecasts from each origin o in one batch, in data units (``Forecaster.forecast_from_origins``
    with the pieces named: fit uses it before the state exists). ``known`` (len(y) + a, K): the inputs
    known in advance for the data's steps and the ``a`` after them. ``compiled=False``: the networks'
    steps in NumPy (``Ensemble.forecast``)."""
    if constant is not None:
        return np.full((len(origins), horizon), constant)
    lag = prep.lag
    L = max(ensemble.lookbacks)
    adjusted, _, inputs = prep.prepare(y, features, start, known)
    windows = np.stack([inputs[o - lag - L : o - lag] for o in origins])
    ahead = None
    if known is not None and prep.n_known and ensemble.strategy == "recursive":
        rows = np.vstack([inputs, prep.ahead_inputs(known, len(y), features.shape[1])])
        ahead = rows_after(rows, np.asarray(origins) - lag, horizon)
    zf = ensemble.forecast(windows, horizon, prep, ahead, compiled)
    return np.stack([prep.to_data_units(zf[k], adjusted[:o], start + o) for k, o in enumerate(origins)])
