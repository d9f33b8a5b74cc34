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

The weight names and shapes are PyTorch's ``state_dict`` for ``nn.LSTM(batch_first=True)`` and
``nn.Linear``, under the prefixes ``lstm.`` and ``head.``. No entry is a pickled object: every array is
plain numeric or unicode and the file opens with ``np.load(path, allow_pickle=False)``.

Compatibility: adding keys is a minor version (older readers ignore unknown keys); renaming,
reshaping or reordering is a major version, which older lstmcli refuses with a message saying which
version it needs. Writing is atomic (temporary file in the same folder, then ``os.replace``), and the
bytes are deterministic: the same model gives the same file (``npzfile``: the archive, safe to open).
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli import __version__
from lstmcli.errors import LstmcliError, ModelFileError
from lstmcli.npzfile import atomic_write_bytes, npz_bytes, open_archive

if TYPE_CHECKING:
    from lstmcli.forecasting.forecaster import Forecaster

FORMAT = "lstmcli-model"
FORMAT_VERSION = "1.2"
_READS_MAJOR = 1
_MAX_LAYERS = 64  # far beyond any real model; bounds the work a hostile file can ask for
_MAX_HIDDEN = 1 << 16


# ---------------------------------------------------------------------------------------------- writing
def _metadata(model: Forecaster) -> dict[str, Any]:
    result = model.train_result_
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "lstmcli_version": __version__,
        "network": model.network_.config.to_dict(),
        "settings": model.config.to_dict(),
        "resolved": {
            "season": model.season_,
            "horizon": model.horizon_,
            "lookback": model.lookback_,
            "strategy": model.strategy_,
            "constant": getattr(model, "constant_", None),
            "level_alpha": float(getattr(model, "level_alpha_", 1.0)),
        },
        "transforms": model.pipeline_.to_dict(),
        "ensemble": {
            "members": len(_members(model)),
            "best_epochs": [int(e) for e in getattr(model, "member_epochs_", [])],
            "lookbacks": [int(L) for L in getattr(model, "lookbacks_", None) or [model.lookback_]],
        },
        "feature_scaling": {"mean": model.feature_mean_.tolist(), "scale": model.feature_scale_.tolist()},
        "data": {
            "source": Path(model.source_).name,
            "target": model.target_,
            "features": model.feature_names_,
            "freq": model.freq_,
            "n_obs": model.n_obs_,
            "last_timestamp": None if model.last_timestamp_ is None else str(model.last_timestamp_),
        },
        "validation": {
            "origins": [int(o) for o in model.validation_origins_],
            "metrics": _json_safe(model.validation_),
        },
        "training": {
            # wall-clock time is left out on purpose: the same training gives the same file
            "stop_reason": result.stop_reason,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "best_loss": _json_safe(result.best_loss),
            "monitored": result.monitored,
            "history": _json_safe(result.history),
        },
    }


def _json_safe(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.floating):
        return _json_safe(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def save_model(model: Forecaster, path: str | os.PathLike[str]) -> None:
    """Write a fitted forecaster to ``path`` atomically."""
    arrays: dict[str, np.ndarray] = dict(model.network_.state_dict())
    for k, member in enumerate(_members(model)[1:], start=1):
        arrays |= {f"ensemble.{k}.{name}": value for name, value in member.state_dict().items()}
    arrays["data.seasonal_indices"] = np.asarray(getattr(model, "seasonal_", np.ones(1)), dtype=np.float64)
    arrays["data.tail_values"] = np.asarray(model.tail_values_, dtype=np.float64)
    arrays["data.tail_features"] = np.asarray(model.tail_features_, dtype=np.float64)
    arrays["validation.residuals"] = np.asarray(model.residuals_, dtype=np.float64)
    if getattr(model, "naive2_errors_", None) is not None:
        arrays["calibration.naive2_errors"] = np.asarray(model.naive2_errors_, dtype=np.float64)
    arrays["metadata"] = np.array(json.dumps(_metadata(model), sort_keys=True, allow_nan=False))
    atomic_write_bytes(path, npz_bytes(arrays))


def _members(model: Forecaster) -> list:
    """The ensemble's networks, the first being ``network_``."""
    members = list(getattr(model, "networks_", None) or [])
    return members if members and members[0] is model.network_ else [model.network_]


# ---------------------------------------------------------------------------------------------- reading
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


def _build_model(meta: dict[str, Any], arrays: dict[str, np.ndarray], name: str) -> Forecaster:
    """The forecaster described by validated metadata and arrays."""
    from lstmcli.data.transforms import Pipeline
    from lstmcli.engine.network import LSTMNetwork, NetworkConfig, parameter_shapes
    from lstmcli.engine.training import TrainResult
    from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig

    net_config = NetworkConfig.from_dict(_require(meta, "network", dict, name))
    if net_config.num_layers > _MAX_LAYERS or net_config.hidden_size > _MAX_HIDDEN:
        raise ModelFileError(
            f"{name}: implausible network size in metadata ({net_config.num_layers} layers of "
            f"{net_config.hidden_size} units)"
        )
    settings = ForecasterConfig.from_dict(_require(meta, "settings", dict, name))
    pipeline = Pipeline.from_dict(_require(meta, "transforms", list, name))
    dtype = net_config.dtype
    params = {
        key: _check_array(arrays, key, shape, (dtype,), name)
        for key, shape in parameter_shapes(net_config).items()
    }
    model = Forecaster(settings)
    model.network_ = LSTMNetwork(net_config, params=params)
    model.networks_ = [model.network_]
    ensemble = meta.get("ensemble") if isinstance(meta.get("ensemble"), dict) else {}
    n_members = ensemble.get("members", 1)
    if not isinstance(n_members, int) or isinstance(n_members, bool) or not 1 <= n_members <= 1000:
        raise ModelFileError(
            f"{name}: metadata field 'ensemble.members' must be a whole number from 1 to 1000"
        )
    for k in range(1, n_members):
        member = {
            key: _check_array(arrays, f"ensemble.{k}.{key}", shape, (dtype,), name)
            for key, shape in parameter_shapes(net_config).items()
        }
        model.networks_.append(LSTMNetwork(net_config, params=member))
    epochs = ensemble.get("best_epochs", [])
    model.member_epochs_ = [int(e) for e in epochs] if isinstance(epochs, list) else []
    if "data.seasonal_indices" in arrays:
        seasonal = _check_array(arrays, "data.seasonal_indices", None, ("float64",), name)
        if seasonal.ndim != 1 or seasonal.size < 1 or np.any(seasonal <= 0):
            raise ModelFileError(
                f"{name}: data.seasonal_indices must be positive numbers, got shape {seasonal.shape}"
            )
        model.seasonal_ = seasonal
    model.pipeline_ = pipeline
    resolved = _require(meta, "resolved", dict, name)
    model.season_ = int(_require(meta, "resolved.season", int, name))
    model.horizon_ = int(_require(meta, "resolved.horizon", int, name))
    model.lookback_ = int(_require(meta, "resolved.lookback", int, name))
    model.strategy_ = _require(meta, "resolved.strategy", str, name)
    constant = resolved.get("constant")
    if constant is not None and not (isinstance(constant, int | float) and math.isfinite(constant)):
        raise ModelFileError(f"{name}: metadata field 'resolved.constant' must be a number or null")
    model.constant_ = None if constant is None else float(constant)
    alpha = resolved.get("level_alpha", 1.0)
    if not (isinstance(alpha, int | float) and not isinstance(alpha, bool) and 0.0 < alpha <= 1.0):
        raise ModelFileError(f"{name}: metadata field 'resolved.level_alpha' must be a number in (0, 1]")
    model.level_alpha_ = float(alpha)
    if (
        model.strategy_ not in ("recursive", "direct")
        or min(model.season_, model.horizon_, model.lookback_) < 1
    ):
        raise ModelFileError(f"{name}: invalid resolved settings {resolved}")
    lookbacks = ensemble.get("lookbacks", [model.lookback_] * n_members)
    if (
        not isinstance(lookbacks, list)
        or len(lookbacks) != n_members
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in lookbacks)
        or lookbacks[0] != model.lookback_
    ):
        raise ModelFileError(f"{name}: metadata field 'ensemble.lookbacks' must list one lookback per member")
    model.lookbacks_ = [int(v) for v in lookbacks]
    features = _require(meta, "data.features", list, name)
    model.target_ = str(_require(meta, "data.target", str, name))
    model.feature_names_ = [str(f) for f in features]
    model.freq_ = _require(meta, "data.freq", (str, type(None)), name)
    model.source_ = str(_require(meta, "data.source", str, name))
    model.n_obs_ = int(_require(meta, "data.n_obs", int, name))
    last = _require(meta, "data.last_timestamp", (str, type(None)), name)
    try:
        model.last_timestamp_ = None if last is None else np.datetime64(last, "ns")
    except ValueError:
        raise ModelFileError(f"{name}: metadata field 'data.last_timestamp' is not a date") from None
    n_features = len(features)
    if net_config.input_size != 1 + n_features:
        raise ModelFileError(
            f"{name}: the network takes {net_config.input_size} inputs but {n_features} features are listed"
        )
    scaling = _require(meta, "feature_scaling", dict, name)
    try:
        model.feature_mean_ = np.asarray(scaling["mean"], dtype=np.float64).reshape(n_features)
        model.feature_scale_ = np.asarray(scaling["scale"], dtype=np.float64).reshape(n_features)
    except (KeyError, TypeError, ValueError):
        raise ModelFileError(
            f"{name}: metadata field 'feature_scaling' does not match the {n_features} features"
        ) from None
    tail = _check_array(arrays, "data.tail_values", None, ("float64",), name)
    if tail.ndim != 1 or len(tail) < max(model.lookbacks_):
        raise ModelFileError(
            f"{name}: data.tail_values has shape {tail.shape}, expected at least ({max(model.lookbacks_)},)"
        )
    model.tail_values_ = tail
    model.tail_features_ = _check_array(
        arrays, "data.tail_features", (len(tail), n_features), ("float64",), name
    )
    residuals = _check_array(arrays, "validation.residuals", None, ("float64",), name, allow_nan=True)
    if residuals.ndim != 2 or (len(residuals) and residuals.shape[1] != model.horizon_):
        raise ModelFileError(
            f"{name}: validation.residuals has shape {residuals.shape}, expected (n, {model.horizon_})"
        )
    model.residuals_ = residuals
    model.naive2_errors_ = None  # files before 1.2: intervals without the floor
    if "calibration.naive2_errors" in arrays:
        floor = _check_array(arrays, "calibration.naive2_errors", None, ("float64",), name)
        if floor.ndim != 2 or floor.shape[1] != model.horizon_ or np.any(floor < 0):
            raise ModelFileError(
                f"{name}: calibration.naive2_errors must be non-negative numbers of shape (k, "
                f"{model.horizon_}), got shape {floor.shape}"
            )
        model.naive2_errors_ = floor
    validation = _require(meta, "validation", dict, name)
    model.validation_ = validation.get("metrics") or {}
    model.validation_origins_ = np.asarray(validation.get("origins") or [], dtype=np.int64)
    training = _require(meta, "training", dict, name)
    model.train_result_ = TrainResult(
        stop_reason=str(training.get("stop_reason", "")),
        epochs_run=int(training.get("epochs_run") or 0),
        best_epoch=int(training.get("best_epoch") or 0),
        best_loss=float("nan") if training.get("best_loss") is None else float(training["best_loss"]),
        monitored=str(training.get("monitored", "")),
        seconds=float("nan"),
        history=list(training.get("history") or []),
    )
    model.format_version_ = meta["format_version"]
    model.metadata_ = meta
    return model


def load_model(path: str | os.PathLike[str]) -> Forecaster:
    """Read and validate a model file; any problem is a ``ModelFileError`` with a one-line message.

    The file is untrusted input: beyond the checks of each key, any inconsistency that surfaces while
    the model is rebuilt, or a first one-step forecast that is not finite, is reported as a damaged
    file rather than escaping as an unrelated exception later.
    """
    path = Path(path)
    name = path.name
    arrays = open_archive(path)
    meta = _read_metadata(arrays, name)
    try:
        model = _build_model(meta, arrays, name)
        with np.errstate(all="ignore"):
            first = model.predict(1).values
        if not np.isfinite(first).all():
            raise ModelFileError(f"{name}: the stored model produces a non-finite forecast")
    except ModelFileError as e:
        message = str(e)
        raise ModelFileError(message if message.startswith(f"{name}: ") else f"{name}: {message}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError, LstmcliError) as e:
        raise ModelFileError(
            f"{name}: invalid metadata ({type(e).__name__}: {' '.join(str(e).split())})"
        ) from None
    return model
