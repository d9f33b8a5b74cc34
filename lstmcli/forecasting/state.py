"""The fitted state of a forecaster: everything ``fit`` learns and ``predict`` needs, in one place.

It is exactly what a model file holds: ``modelfile`` writes and reads a ``FittedState`` and knows
nothing of the ``Forecaster`` around it, so a new fitted field is added here and in the file schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lstmcli.engine.network import LSTMNetwork
from lstmcli.engine.training import TrainResult
from lstmcli.forecasting.config import ForecasterConfig
from lstmcli.forecasting.ensemble import Ensemble
from lstmcli.forecasting.fits import BaselineFit
from lstmcli.forecasting.known import KnownInputs
from lstmcli.forecasting.preprocessing import Preprocessing

__all__ = ["FittedState", "PanelState"]


@dataclass
class FittedState:
    """A fitted forecaster's state. Arrays are float64 unless said otherwise."""

    config: ForecasterConfig  # the settings it was fitted with
    # resolved settings
    season: int
    horizon: int  # steps validated (and predicted by default)
    constant: float | None  # a constant series is forecast as that constant, without the networks
    # the pieces
    preprocessing: Preprocessing
    ensemble: Ensemble
    member_epochs: list[int]  # per planned member: the epoch early stopping chose (0: never learned)
    # the data, and its tail so that predict needs no data file
    target: str
    feature_names: list[str]
    freq: str | None
    source: str  # the data file as given to fit (a model file keeps its name only)
    n_obs: int
    last_timestamp: np.datetime64 | None  # datetime64[ns]
    tail_values: np.ndarray  # (K,) the last K observations
    tail_features: np.ndarray  # (K, F) the same rows of the feature columns
    # validation and calibration
    validation_origins: np.ndarray  # (n,) int64 positions in the data where validation forecasts start
    validation: dict[str, dict[str, float]]  # method -> metric -> value, LSTM next to the baselines
    residuals: np.ndarray  # (n, horizon) actual - forecast from each origin; NaN past the series' end
    naive2_errors: np.ndarray | None  # (k, horizon) the intervals' floor; None in files before 1.2
    train_result: TrainResult  # the first member's training (seconds are NaN once read from a file)
    format_version: str | None = None  # of the model file it was read from; None when fitted here
    # each baseline fitted to the whole series (``predict --method``, ``combine``); None in files before 1.3
    baselines: dict[str, BaselineFit] | None = None
    known: KnownInputs = field(default_factory=KnownInputs)  # inputs known in advance (none before 1.4)
    tail_known: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (K_rows, K) their raw values

    @property
    def strategy(self) -> str:
        return self.ensemble.strategy

    @property
    def lookback(self) -> int:
        """The first member's lookback (the one ``inspect`` traces)."""
        return self.ensemble.lookbacks[0]

    @property
    def network(self) -> LSTMNetwork:
        """The first member's network."""
        return self.ensemble.networks[0]


@dataclass
class PanelState:
    """A fitted panel: one ``FittedState`` per series (sorted by id), all sharing one ensemble
    (``mode`` "global") or each with its own (``mode`` "local")."""

    config: ForecasterConfig
    id_col: str
    ids: list[str]
    states: list[FittedState]
    skipped: list[tuple[str, str]]  # (id, reason) of the series left out
    validation: dict[str, dict[str, float]]  # method -> metric, the mean over the series' tables
    train_result: TrainResult
    source: str
    format_version: str | None = None
    mode: str = "global"  # "global": every state shares one ensemble; "local": each has its own
    # the static features' encoding (StaticEncoding.to_dict(); each series' vector is its
    # preprocessing.static); empty without --static-features
    static: list[dict[str, Any]] = field(default_factory=list)

    @property
    def first(self) -> FittedState:
        return self.states[0]
