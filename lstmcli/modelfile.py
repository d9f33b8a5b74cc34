"""The model file: a NumPy ``.npz`` that is safe to open, versioned, and readable by PyTorch.

Layout (format 1.0)::

    lstm.weight_ih_l0 (4H, D)   lstm.weight_hh_l0 (4H, H)   lstm.bias_ih_l0 (4H,)   lstm.bias_hh_l0 (4H,)
    ... _l1, _l2 for further layers ...
    head.weight (O, H)          head.bias (O,)              float32 (or float64 when trained so)
    data.tail_values (K,)       the last K observations, so `predict` needs no data file   float64
    data.tail_features (K, F)   the same rows of the feature columns                        float64
    validation.residuals (n, horizon)  actual - forecast on the validation windows (intervals) float64
                                (NaN where an origin was too close to the end of the series for that step)
    metadata ()                 one JSON document (a 0-d unicode array), see ``_metadata``

Added in 1.1 (1.0 files still load: one network, no seasonal adjustment)::

    ensemble.K.lstm.* / ensemble.K.head.*  members K = 1, 2, ... of the ensemble (member 0 is lstm.*/head.*)
    data.seasonal_indices (m,)  multiplicative seasonal indices, position t uses index t % m; (1,) = none

Added in 1.2 (1.0 and 1.1 files still load: their intervals have no floor)::

    calibration.naive2_errors (k, horizon)  |actual - Naive2| in-sample, the last k <= 400 origins: the
                                floor of the prediction intervals where validation gives few residuals

Added in 1.3 (older files still load: ``predict --method`` other than lstm then needs ``--data``)::

    metadata "baselines"        each baseline (Naive, Seasonal naive, Naive2, Theta) fitted to the whole
                                series: a few numbers each (``forecasting.fits.BaselineFit``), so that
                                ``predict --method theta`` and ``combine`` need no data file
    metadata "settings.combine" "none" or "theta" (older files: "none")

Added in 1.4, only in a model with inputs known in advance (before 2.0 a model without them was written
as 1.3; older files load as models without them)::

    data.tail_known (K, C)      the raw known inputs (file columns, calendar, holidays) of the tail's rows
    metadata "known"            which inputs (columns, calendar encodings, holiday country), the steps
                                ahead each input step carries ("lead") and their scaling ("mean", "scale");
                                for weekly or coarser data the country is "holiday_counts" (not
                                "holidays") and "holiday_period" the frequency alias whose periods the
                                holiday input counts the holidays of

Added in 2.0 (older files still load; lstmcli reading 1.x refuses a 2.0 file in one line, asking for
a newer lstmcli: their baselines had to be exactly the first four)::

    metadata "baselines.ES"     the ES baseline (``forecasting.smoothing``), with "trend" and "damping"
                                (every baseline has them; older files: no trend)
    metadata "settings.combine" also "theta+es", the default for a model of the target alone

Added in 3.0 (older files still load; lstmcli reading 2.x refuses a 3.0 file in one line: it would
read the logarithms as values)::

    metadata "baselines.ES.log" true when ES was fitted to the logarithms (seasonal data: Holt-Winters
                                with its seasonal states as the additive figure); every baseline has it

Added in 4.0 (older files still load, without ARIMA: ``predict --method arima`` then needs ``--data``;
lstmcli reading 3.x refuses a 4.0 file in one line: its baselines had to be exactly the first five)::

    metadata "baselines.ARIMA"  the ARIMA baseline (``forecasting.arima``): its drift as "slope" (alpha 1),
                                its autoregressive part as "trend" and "damping"
    metadata "settings.combine" also "theta+es+arima", the default for a model of a series without a season

The weight names and shapes are PyTorch's ``state_dict`` for ``nn.LSTM(batch_first=True)`` and
``nn.Linear``, under the prefixes ``lstm.`` and ``head.``. No entry is a pickled object: every array is
plain numeric or unicode and the file opens with ``np.load(path, allow_pickle=False)``.

The file holds a ``FittedState`` (``forecasting.state``): ``save_state`` writes one, ``load_state``
reads and validates one; the archive itself (atomic, deterministic, never unpickled) is ``npzfile``'s.

Compatibility: adding keys is a minor version (older readers ignore unknown keys); renaming,
reshaping or reordering is a major version, which older lstmcli refuses with a message saying which
version it needs. Writing is atomic (temporary file in the same folder, then ``os.replace``), and the
bytes are deterministic: the same model gives the same file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli import __version__
from lstmcli.errors import LstmcliError, ModelFileError
from lstmcli.npzfile import open_archive, write_archive

if TYPE_CHECKING:
    from lstmcli.forecasting.state import FittedState

__all__ = ["FORMAT_VERSION", "json_safe", "load_state", "model_file_errors", "save_state"]

FORMAT = "lstmcli-model"
FORMAT_VERSION = "4.0"
_READS_MAJOR = 4


# ---------------------------------------------------------------------------------------------- writing
def save_state(state: FittedState, path: str | os.PathLike[str]) -> None:
    """Write a fitted state to ``path`` atomically."""
    arrays = network_arrays(state)
    arrays["data.seasonal_indices"] = np.asarray(state.preprocessing.seasonal, dtype=np.float64)
    arrays["data.tail_values"] = np.asarray(state.tail_values, dtype=np.float64)
    arrays["data.tail_features"] = np.asarray(state.tail_features, dtype=np.float64)
    arrays["validation.residuals"] = np.asarray(state.residuals, dtype=np.float64)
    if state.naive2_errors is not None:
        arrays["calibration.naive2_errors"] = np.asarray(state.naive2_errors, dtype=np.float64)
    if state.preprocessing.static.size:  # (only a series of a panel has them)
        arrays["data.static"] = np.asarray(state.preprocessing.static, dtype=np.float64)
    if state.known.width:
        arrays["data.tail_known"] = np.asarray(state.tail_known, dtype=np.float64)
    arrays["metadata"] = np.array(json.dumps(_metadata(state), sort_keys=True, allow_nan=False))
    write_archive(path, arrays, {"metadata": _MAX_METADATA_BYTES})  # never a file load_state refuses


def network_arrays(state: FittedState) -> dict[str, np.ndarray]:
    """The ensemble's weights under PyTorch's names: member 0 as ``lstm.*``/``head.*``, then
    ``ensemble.K.*``."""
    networks = state.ensemble.networks
    arrays: dict[str, np.ndarray] = dict(networks[0].state_dict())
    for k, member in enumerate(networks[1:], start=1):
        arrays |= {f"ensemble.{k}.{name}": value for name, value in member.state_dict().items()}
    return arrays


def _metadata(state: FittedState) -> dict[str, Any]:
    result = state.train_result
    prep = state.preprocessing
    known = {}
    if state.known.width:
        known = {
            "known": state.known.to_dict()
            | {"lead": prep.known_lead, "mean": prep.known_mean.tolist(), "scale": prep.known_scale.tolist()}
        }
    return known | {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lstmcli_version": __version__,
        "network": state.network.config.to_dict(),
        "settings": state.config.to_dict(),
        "resolved": {
            "season": state.season,
            "horizon": state.horizon,
            "lookback": state.lookback,
            "strategy": state.strategy,
            "constant": state.constant,
            "level_alpha": float(prep.level_alpha),
        },
        "transforms": prep.pipeline.to_dict(),
        "ensemble": {
            "members": len(state.ensemble.networks),
            "best_epochs": [int(e) for e in state.member_epochs],
            "lookbacks": [int(L) for L in state.ensemble.lookbacks],
        },
        "feature_scaling": {"mean": prep.feature_mean.tolist(), "scale": prep.feature_scale.tolist()},
        "data": {
            "source": Path(state.source).name,
            "target": state.target,
            "features": state.feature_names,
            "freq": state.freq,
            "n_obs": state.n_obs,
            "last_timestamp": None if state.last_timestamp is None else str(state.last_timestamp),
        },
        "validation": {
            "origins": [int(o) for o in state.validation_origins],
            "metrics": json_safe(state.validation),
        },
        **(
            {"baselines": {name: json_safe(fit.to_dict()) for name, fit in state.baselines.items()}}
            if state.baselines is not None
            else {}
        ),
        "training": {
            # wall-clock time is left out on purpose: the same training gives the same file
            "stop_reason": result.stop_reason,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "best_loss": json_safe(result.best_loss),
            "monitored": result.monitored,
            "history": json_safe(result.history),
        },
    }


def json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.floating):
        return json_safe(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


# ---------------------------------------------------------------------------------------------- reading
def load_state(path: str | os.PathLike[str]) -> FittedState:
    """Read and validate a model file; any problem is a ``ModelFileError`` with a one-line message.

    The file is untrusted input: beyond the checks of each key, any inconsistency that surfaces while
    the state is rebuilt is reported as a damaged file rather than escaping as an unrelated exception
    later (``Forecaster.load`` adds a first forecast under ``model_file_errors`` too).
    """
    path = Path(path)
    arrays = open_archive(path, _known_entry, {"metadata": _MAX_METADATA_BYTES})
    meta = _read_metadata(arrays, path.name)
    if isinstance(meta.get("panel"), dict):
        raise ModelFileError(
            f"{path.name}: holds a model of many series (a panel); read it with PanelForecaster.load"
        )
    with model_file_errors(path.name):
        return _build_state(meta, arrays, path.name)


# The entries this version reads; any other (added by a newer minor format) is skipped unread.
_KNOWN = re.compile(
    r"(ensemble\.[0-9]+\.)?(lstm|head)\.[a-z_0-9]+|data\.(tail_values|tail_features|tail_known|seasonal_indices)"
    r"|data\.static|validation\.residuals|calibration\.naive2_errors|metadata"
)
# The metadata string (4 bytes a character): a model trained on a million rows by earlier versions
# listed 200,000 validation origins in it (some 6 MB); 16 MiB is room for that and bounds the JSON parse.
_MAX_METADATA_BYTES = 16 << 20


def _known_entry(key: str) -> bool:
    return _KNOWN.fullmatch(key) is not None


@contextmanager
def model_file_errors(name: str) -> Iterator[None]:
    """Whatever goes wrong inside, as one ``ModelFileError`` line starting with the file's ``name``."""
    try:
        yield
    except ModelFileError as e:
        message = str(e)
        raise ModelFileError(message if message.startswith(f"{name}: ") else f"{name}: {message}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, LstmcliError) as e:
        raise ModelFileError(
            f"{name}: invalid metadata ({type(e).__name__}: {' '.join(str(e).split())})"
        ) from None


def _require(meta: dict[str, Any], dotted: str, kind: type | tuple[type, ...], name: str) -> Any:
    node: Any = meta
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ModelFileError(f"{name}: metadata lacks the field '{dotted}'")
        node = node[part]
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if not isinstance(node, kinds) or (isinstance(node, bool) and bool not in kinds):  # JSON true is no int
        raise ModelFileError(f"{name}: metadata field '{dotted}' has the wrong type")
    return node


def _read_metadata(arrays: dict[str, np.ndarray], name: str) -> dict[str, Any]:
    raw = arrays.get("metadata")
    if raw is None:
        raise ModelFileError(f"{name}: no metadata entry; not a lstmcli model file")
    if raw.shape != () or raw.dtype.kind != "U":
        raise ModelFileError(
            f"{name}: metadata must be a JSON string, found a {raw.dtype} array of shape {raw.shape}"
        )
    try:
        meta = json.loads(str(raw))
    except (json.JSONDecodeError, RecursionError) as e:
        raise ModelFileError(f"{name}: metadata is not valid JSON ({e.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{name}: not a lstmcli model file (metadata 'format' is not {FORMAT!r})")
    version = _require(meta, "format_version", str, name)
    try:
        major = int(version.split(".")[0])
    except ValueError:
        raise ModelFileError(f"{name}: unreadable format version {version!r}") from None
    if major > _READS_MAJOR:
        raise ModelFileError(
            f"{name}: model file format {version} needs a newer lstmcli (this is {__version__}, which reads "
            f"format {_READS_MAJOR}.x); upgrade lstmcli or retrain"
        )
    return meta


def _check_array(
    arrays: dict[str, np.ndarray],
    key: str,
    shape: tuple[int, ...] | None,
    dtypes: tuple[str, ...],
    name: str,
    allow_nan: bool = False,
) -> np.ndarray:
    if key not in arrays:
        raise ModelFileError(f"{name}: missing {key}")
    a = arrays[key]
    if a.dtype.name not in dtypes:
        raise ModelFileError(f"{name}: {key} has dtype {a.dtype}, expected {' or '.join(dtypes)}")
    if shape is not None and a.shape != shape:
        raise ModelFileError(f"{name}: {key} has shape {a.shape}, expected {shape}")
    if not (np.isfinite(a) | (allow_nan & np.isnan(a))).all():
        raise ModelFileError(f"{name}: {key} contains NaN or infinite values")
    return a


# what datetime64[ns] holds, in microseconds (a coarser date converts to them without overflow)
_NS_RANGE = (np.datetime64("1677-09-21T00:12:43.145225"), np.datetime64("2262-04-11T23:47:16.854775"))


def _timestamp(text: str, name: str) -> np.datetime64:
    """``data.last_timestamp`` as datetime64[ns]; a date outside the nanosecond range (which would wrap
    around silently) or one with a time-zone offset (lstmcli writes local dates) is refused."""
    bad = f"{name}: metadata field 'data.last_timestamp' "
    if "+" in text[10:] or text[10:].count("-") or text.endswith("Z"):
        raise ModelFileError(bad + f"({text!r}) has a time-zone offset; lstmcli writes dates without one")
    try:
        value = np.datetime64(text)
    except ValueError:
        raise ModelFileError(bad + "is not a date") from None
    if np.isnat(value) or not _NS_RANGE[0] <= value.astype("datetime64[us]") <= _NS_RANGE[1]:
        raise ModelFileError(
            bad + f"({text}) is outside the dates lstmcli can represent (1677-09-22 to 2262-04-11)"
        )
    return value.astype("datetime64[ns]")


def _build_state(meta: dict[str, Any], arrays: dict[str, np.ndarray], name: str) -> FittedState:
    """The fitted state described by validated metadata and arrays."""
    from lstmcli.data.transforms import Pipeline
    from lstmcli.engine.network import LSTMNetwork, NetworkConfig, parameter_shapes
    from lstmcli.engine.training import TrainResult
    from lstmcli.forecasting.config import MAX_ENSEMBLE, MAX_HIDDEN, MAX_HORIZON, MAX_LAYERS, ForecasterConfig
    from lstmcli.forecasting.ensemble import Ensemble
    from lstmcli.forecasting.preprocessing import Preprocessing
    from lstmcli.forecasting.state import FittedState

    net_config = NetworkConfig.from_dict(_require(meta, "network", dict, name))
    # the limits `train` checks its options against (forecasting.config): what it writes, this reads
    if net_config.num_layers > MAX_LAYERS or net_config.hidden_size > MAX_HIDDEN:
        raise ModelFileError(
            f"{name}: implausible network size in metadata ({net_config.num_layers} layers of "
            f"{net_config.hidden_size} units)"
        )
    stored = _require(meta, "settings", dict, name)
    # files written before --combine existed forecast the networks' own: not the later default (auto)
    settings = ForecasterConfig.from_dict({"combine": "none"} | stored)
    pipeline = Pipeline.from_dict(_require(meta, "transforms", list, name))
    dtype = net_config.dtype
    params = {
        key: _check_array(arrays, key, shape, (dtype,), name)
        for key, shape in parameter_shapes(net_config).items()
    }
    networks = [LSTMNetwork(net_config, params=params)]
    ensemble = meta.get("ensemble") if isinstance(meta.get("ensemble"), dict) else {}
    n_members = ensemble.get("members", 1)
    if not isinstance(n_members, int) or isinstance(n_members, bool) or not 1 <= n_members <= MAX_ENSEMBLE:
        raise ModelFileError(
            f"{name}: metadata field 'ensemble.members' must be a whole number from 1 to {MAX_ENSEMBLE}"
        )
    for k in range(1, n_members):
        member = {
            key: _check_array(arrays, f"ensemble.{k}.{key}", shape, (dtype,), name)
            for key, shape in parameter_shapes(net_config).items()
        }
        networks.append(LSTMNetwork(net_config, params=member))
    epochs = ensemble.get("best_epochs", [])
    member_epochs = [int(e) for e in epochs] if isinstance(epochs, list) else []
    seasonal = np.ones(1)  # files before 1.1: no seasonal adjustment
    if "data.seasonal_indices" in arrays:
        seasonal = _check_array(arrays, "data.seasonal_indices", None, ("float64",), name)
        if seasonal.ndim != 1 or seasonal.size < 1 or np.any(seasonal <= 0):
            raise ModelFileError(
                f"{name}: data.seasonal_indices must be positive numbers, got shape {seasonal.shape}"
            )
    resolved = _require(meta, "resolved", dict, name)
    season = int(_require(meta, "resolved.season", int, name))
    horizon = int(_require(meta, "resolved.horizon", int, name))
    lookback = int(_require(meta, "resolved.lookback", int, name))
    strategy = _require(meta, "resolved.strategy", str, name)
    constant = resolved.get("constant")
    if constant is not None and not (isinstance(constant, int | float) and math.isfinite(constant)):
        raise ModelFileError(f"{name}: metadata field 'resolved.constant' must be a number or null")
    alpha = resolved.get("level_alpha", 1.0)
    if not (isinstance(alpha, int | float) and not isinstance(alpha, bool) and 0.0 < alpha <= 1.0):
        raise ModelFileError(f"{name}: metadata field 'resolved.level_alpha' must be a number in (0, 1]")
    if strategy not in ("recursive", "direct") or min(season, horizon, lookback) < 1:
        raise ModelFileError(f"{name}: invalid resolved settings {resolved}")
    if horizon > MAX_HORIZON:
        raise ModelFileError(f"{name}: implausible horizon {horizon} in metadata (at most {MAX_HORIZON})")
    lookbacks = ensemble.get("lookbacks", [lookback] * n_members)
    if (
        not isinstance(lookbacks, list)
        or len(lookbacks) != n_members
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in lookbacks)
        or lookbacks[0] != lookback
    ):
        raise ModelFileError(f"{name}: metadata field 'ensemble.lookbacks' must list one lookback per member")
    lookbacks = [int(v) for v in lookbacks]
    features = _require(meta, "data.features", list, name)
    target = str(_require(meta, "data.target", str, name))
    freq = _require(meta, "data.freq", (str, type(None)), name)
    source = str(_require(meta, "data.source", str, name))
    n_obs = int(_require(meta, "data.n_obs", int, name))
    last = _require(meta, "data.last_timestamp", (str, type(None)), name)
    last_timestamp = None if last is None else _timestamp(last, name)
    n_features = len(features)
    static = np.zeros(0)  # a series of a global panel with static features: their encoded values
    if "data.static" in arrays:
        static = _check_array(arrays, "data.static", None, ("float64",), name)
        if static.ndim != 1:
            raise ModelFileError(f"{name}: data.static has shape {static.shape}, expected (S,)")
    known, lead, known_mean, known_scale = _known_inputs(meta, name, horizon, strategy)
    if net_config.input_size != 1 + n_features + len(static) + lead * known.width:
        raise ModelFileError(
            f"{name}: the network takes {net_config.input_size} inputs but {n_features} features"
            + (f", {len(static)} static inputs" if len(static) else "")
            + f" and {known.width} known inputs ({lead} step{'s' if lead > 1 else ''} ahead) are listed"
        )
    scaling = _require(meta, "feature_scaling", dict, name)
    try:
        feature_mean = np.asarray(scaling["mean"], dtype=np.float64).reshape(n_features)
        feature_scale = np.asarray(scaling["scale"], dtype=np.float64).reshape(n_features)
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(
            f"{name}: metadata field 'feature_scaling' does not match the {n_features} features"
        ) from None
    tail = _check_array(arrays, "data.tail_values", None, ("float64",), name)
    if tail.ndim != 1 or len(tail) < max(lookbacks):
        raise ModelFileError(
            f"{name}: data.tail_values has shape {tail.shape}, expected at least ({max(lookbacks)},)"
        )
    tail_features = _check_array(arrays, "data.tail_features", (len(tail), n_features), ("float64",), name)
    tail_known = np.zeros((len(tail), 0))
    if known.width:
        tail_known = _check_array(arrays, "data.tail_known", (len(tail), known.width), ("float64",), name)
    # n_obs places the tail in the series (the phase of the seasonal indices, the step numbers): the
    # tail is its end, the whole series when shorter than what is kept, and the last validation origin
    # is its last row (recursive) or the last with a whole horizon after it (direct, and format 1.0)
    validation = _require(meta, "validation", dict, name)
    origins = np.asarray(validation.get("origins") or [], dtype=np.int64)
    kept = max(lookbacks) + pipeline.lost + 1
    if (
        n_obs < len(tail)
        or (len(tail) < kept and n_obs != len(tail))
        or (origins.size and (origins.min() < 1 or origins.max() >= n_obs))
        or (origins.size and origins.max() not in (n_obs - 1, n_obs - horizon))
    ):
        raise ModelFileError(
            f"{name}: metadata field 'data.n_obs' ({n_obs}) does not match the stored data "
            f"({len(tail)} last values, validation origins up to {origins.max() if origins.size else 'none'})"
        )
    residuals = _check_array(arrays, "validation.residuals", None, ("float64",), name, allow_nan=True)
    if residuals.ndim != 2 or (len(residuals) and residuals.shape[1] != horizon):
        raise ModelFileError(
            f"{name}: validation.residuals has shape {residuals.shape}, expected (n, {horizon})"
        )
    naive2_errors = None  # files before 1.2: intervals without the floor
    if "calibration.naive2_errors" in arrays:
        naive2_errors = _check_array(arrays, "calibration.naive2_errors", None, ("float64",), name)
        if naive2_errors.ndim != 2 or naive2_errors.shape[1] != horizon or np.any(naive2_errors < 0):
            raise ModelFileError(
                f"{name}: calibration.naive2_errors must be non-negative numbers of shape (k, "
                f"{horizon}), got shape {naive2_errors.shape}"
            )
    metrics = validation.get("metrics") or {}
    baselines = None  # files before 1.3
    if "baselines" in meta:
        from lstmcli.forecasting.config import METHODS
        from lstmcli.forecasting.fits import BaselineFit

        stored = _require(meta, "baselines", dict, name)
        wanted = [v for k, v in METHODS.items() if k != "lstm"]
        before_arima = [v for v in wanted if v != "ARIMA"]  # files before 4.0
        before_es = [v for v in before_arima if v != "ES"]  # files before 2.0
        if sorted(stored) not in (sorted(wanted), sorted(before_arima), sorted(before_es)) or not all(
            isinstance(v, dict) for v in stored.values()
        ):
            raise ModelFileError(f"{name}: metadata field 'baselines' must hold {', '.join(wanted)}")
        baselines = {key: BaselineFit.from_dict(stored[key]) for key in wanted if key in stored}
    from lstmcli.forecasting.config import COMBINED_BASELINES

    needed = COMBINED_BASELINES.get(settings.combine, ())
    if needed and (baselines is None or not all(k in baselines for k in needed)):
        raise ModelFileError(
            f"{name}: settings.combine {settings.combine!r} needs the fitted {', '.join(needed)}"
        )
    training = _require(meta, "training", dict, name)
    train_result = TrainResult(
        stop_reason=str(training.get("stop_reason", "")),
        epochs_run=int(training.get("epochs_run") or 0),
        best_epoch=int(training.get("best_epoch") or 0),
        best_loss=float("nan") if training.get("best_loss") is None else float(training["best_loss"]),
        monitored=str(training.get("monitored", "")),
        seconds=float("nan"),
        history=list(training.get("history") or []),
    )
    return FittedState(
        config=settings,
        season=season,
        horizon=horizon,
        constant=None if constant is None else float(constant),
        preprocessing=Preprocessing(
            settings.normalize,
            pipeline,
            seasonal,
            float(alpha),
            feature_mean,
            feature_scale,
            static=static,
            known_mean=known_mean,
            known_scale=known_scale,
            known_lead=lead,
        ),  # fmt: skip
        ensemble=Ensemble(networks, lookbacks, strategy),
        member_epochs=member_epochs,
        target=target,
        feature_names=[str(f) for f in features],
        freq=freq,
        source=source,
        n_obs=n_obs,
        last_timestamp=last_timestamp,
        tail_values=tail,
        tail_features=tail_features,
        validation_origins=origins,
        validation=metrics,
        residuals=residuals,
        naive2_errors=naive2_errors,
        train_result=train_result,
        format_version=meta["format_version"],
        baselines=baselines,
        known=known,
        tail_known=tail_known,
    )


def _known_inputs(
    meta: dict[str, Any], name: str, horizon: int, strategy: str
) -> tuple[Any, int, np.ndarray, np.ndarray]:
    """The inputs known in advance (format 1.4; none in older files), their lead and scaling."""
    from lstmcli.forecasting.known import KnownInputs

    if "known" not in meta:
        return KnownInputs(), 1, np.zeros(0), np.zeros(0)
    node = _require(meta, "known", dict, name)
    known = KnownInputs.from_dict(node)
    lead = _require(meta, "known.lead", int, name)
    if lead != (horizon if strategy == "direct" else 1):
        raise ModelFileError(f"{name}: metadata field 'known.lead' ({lead}) does not match the strategy")
    try:
        mean = np.asarray(node["mean"], dtype=np.float64).reshape(known.width)
        scale = np.asarray(node["scale"], dtype=np.float64).reshape(known.width)
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(
            f"{name}: metadata field 'known' does not match its {known.width} inputs"
        ) from None
    if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
        raise ModelFileError(f"{name}: metadata field 'known' has a scale that is not a positive number")
    return known, int(lead), mean, scale
