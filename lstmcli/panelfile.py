"""The model file of a panel (format 4.0): one global ensemble (or one per series) and the state of
every series, in the same safe ``.npz`` as a single-series model (``modelfile``), which stays exactly as
it was.

Layout::

    lstm.* / head.* / ensemble.K.*      the shared networks, under PyTorch's names (as in every model file)
    panel.tail_values (sum K_s,)        each series' last K_s observations, one after the other
    panel.seasonal_indices (sum m_s,)   each series' seasonal indices ((1,) ones when not adjusted)
    panel.residuals (sum n_s, horizon)  each series' validation residuals (the intervals)
    panel.naive2_errors (sum k_s, horizon)  each series' in-sample Naive2 errors (the intervals' floor)
    panel.origins (sum o_s,) int64      each series' validation origins
    panel.<name>_offsets (S + 1,) int64 series s is rows offsets[s]:offsets[s + 1] of panel.<name>
    panel.n_obs, panel.last_timestamp (S,) int64   observations; last date in ns (int64 min: no dates)
    panel.level_alpha (S,)              the SES level constant
    panel.metrics (S, methods, measures)  each series' validation table (NaN: none)
    panel.pool_index (S, F) int64       series s's field f is metadata "panel.pool"[pool_index[s, f]]
    panel.baselines (S, B, 9)           each series' fitted baselines (Naive, Seasonal naive, Naive2,
                                        Theta, ES, ARIMA; "panel.baseline_methods" names them): level,
                                        alpha, intercept, slope, n, additive, trend, damping, log
                                        (``forecasting.fits.BaselineFit``; before 4.0 without ARIMA,
                                        before 3.0: the first eight, before 2.0: the first six, without ES)
    panel.baseline_seasonal (sum)       their seasonal figures, packed (offsets per series and method)
    metadata ()                         JSON: what every series shares (network, settings, season,
                                        horizon, lookbacks, training) as in a single-series file, and
                                        "panel": the id column, the ids (series s is ids[s]), the series
                                        skipped, the overall validation table, the axes of panel.metrics,
                                        the pooled fields and their distinct values ("pool")

The pooled fields are the transforms with their fitted parameters and, with local models, the network,
resolved settings, ensemble and training without the numbers that are arrays. Format 1.3 kept every
per-series field as JSON in "panel.series" (about 1 kB a series, 2.5 kB with local models, at 4 bytes a
character against a 64 MiB bound); 1.4 keeps some 0.5 kB a series in the metadata, and 1.3 files still
load. Saving refuses (one line, nothing written) a panel whose metadata or file reading would refuse.

A panel of local models (``mode`` "local" in "panel": one ensemble per series, ``train --id-col
--local``) has no shared weights: series s keeps its own under ``series.s.lstm.*`` / ``series.s.head.*``
/ ``series.s.ensemble.K.*`` (the same names behind the prefix), and also pools what differs from series
to series there (network, resolved settings, ensemble, training, feature scaling), with its epochs and
best loss in ``panel.epochs_run``, ``panel.best_epoch``, ``panel.best_loss`` and ``panel.best_epochs``
(packed); the top-level fields are the first series'. A file without "mode" is a global one.

No entry is pickled. Reading rebuilds each series as the single-series file it would be and validates
it with ``modelfile``'s own checks, so a panel file is checked exactly as strictly; any problem is one
``ModelFileError`` line. Older lstmcli (format 1.2 readers) refuse a panel file in one line, since its
per-series fields are not where a single-series file has them ("metadata lacks the field
'transforms'"); a 1.3 reader refuses a 1.4 file in one line ("metadata field 'panel.series' must hold
one entry per id"); a 1.x reader refuses a 2.0 file in one line (it needs a newer lstmcli: ES among the
baselines, with their damped trends), a 2.x reader a 3.0 file (ES may be fitted on the log scale), and
a 3.x reader a 4.0 file (ARIMA among the baselines).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.errors import ModelFileError
from lstmcli.forecasting.static import StaticEncoding
from lstmcli.modelfile import (
    _build_state,
    _check_array,
    _known_entry,
    _metadata,
    _read_metadata,
    model_file_errors,
    network_arrays,
)
from lstmcli.npzfile import open_archive, write_archive

if TYPE_CHECKING:
    from lstmcli.forecasting.state import PanelState

__all__ = ["PANEL_FORMAT_VERSION", "load_panel_state", "save_panel"]

PANEL_FORMAT_VERSION = "4.0"
_PACKED = ("tail_values", "seasonal_indices", "residuals", "naive2_errors")
_PANEL_ENTRY = re.compile(r"panel\.[a-z_0-9]+")
# The metadata string (4 bytes a character). Since format 1.4 it holds per series only the index of its
# pooled fields (below) and its transforms' parameters (some 120 characters): about 0.5 kB a series, room
# for some 130,000 series. Saving refuses what reading would refuse (``write_archive``).
_MAX_METADATA_BYTES = 64 << 20
# what each series keeps apart, moved from the top level of a single-series file into "panel.series"
_PER_SERIES = ("transforms", "level_alpha", "n_obs", "last_timestamp", "origins", "metrics")
# what a series of local models keeps apart as well (its own ensemble)
_PER_SERIES_LOCAL = ("network", "resolved", "ensemble", "training", "feature_scaling")
_SERIES_ENTRY = re.compile(r"series\.([0-9]+)\.(.+)")
# Format 1.4: the per-series fields as arrays keyed by series (series s is row s), not JSON per series.
# Numbers that differ from series to series are arrays; the rest ("pooled": transforms, and with local
# models the network, resolved settings, ensemble and training without their numbers) are JSON values
# stored once each in "panel.pool", series s using panel.pool_index[s, f] for field f.
_SCALARS = {"n_obs": np.int64, "level_alpha": np.float64, "last_timestamp": np.int64}
_SCALARS_LOCAL = {"epochs_run": np.int64, "best_epoch": np.int64, "best_loss": np.float64}
_PACKED_INTS = ("origins",)  # + "best_epochs" with local models
_NAT = np.iinfo(np.int64).min  # panel.last_timestamp of a series without dates


# ---------------------------------------------------------------------------------------------- writing
def save_panel(state: PanelState, path: str | os.PathLike[str]) -> None:
    """Write a fitted panel atomically (deterministic bytes: the same model gives the same file); a
    panel that reading would refuse is not written (one line, the old file intact)."""
    first = state.first
    local = state.mode == "local"
    if local:
        arrays = {
            f"series.{k}.{key}": value
            for k, s in enumerate(state.states)
            for key, value in network_arrays(s).items()
        }
    else:
        arrays = network_arrays(first)
    parts = {
        "tail_values": [s.tail_values for s in state.states],
        "seasonal_indices": [s.preprocessing.seasonal for s in state.states],
        "residuals": [s.residuals for s in state.states],
        "naive2_errors": [s.naive2_errors for s in state.states],
    }
    for key, values in parts.items():
        _pack(arrays, key, values, np.float64)
    if first.known.width:  # (format 1.5) each series' raw known inputs of its tail, and their scaling
        _pack(arrays, "tail_known", [s.tail_known for s in state.states], np.float64)
        arrays["panel.known_mean"] = np.stack([s.preprocessing.known_mean for s in state.states])
        arrays["panel.known_scale"] = np.stack([s.preprocessing.known_scale for s in state.states])
    if state.static:  # (S, inputs) each series' encoded static features
        arrays["panel.static"] = np.stack([s.preprocessing.static for s in state.states]).astype(np.float64)
    meta = _metadata(first)
    meta["format_version"] = PANEL_FORMAT_VERSION
    if local:
        meta["training"] = meta["training"] | {"history": []}
    for key in ("transforms", "validation"):
        del meta[key]
    meta.pop("baselines", None)
    del meta["resolved"]["level_alpha"], meta["data"]["n_obs"], meta["data"]["last_timestamp"]
    from lstmcli.modelfile import json_safe

    meta["panel"] = {
        "id_col": state.id_col,
        "ids": list(state.ids),
        "skipped": [list(pair) for pair in state.skipped],
        "validation": json_safe(state.validation),
    }
    meta["panel"] |= _series_arrays(state, arrays, local)
    if local:  # (a global file has no "mode")
        meta["panel"]["mode"] = "local"
        if state.train_result.stop_reason == "interrupted":  # the top-level training is the first series'
            meta["panel"]["stop_reason"] = "interrupted"
    if state.static:
        meta["panel"]["static"] = state.static
    arrays["metadata"] = np.array(json.dumps(meta, sort_keys=True, allow_nan=False))
    write_archive(
        path, arrays, {"metadata": _MAX_METADATA_BYTES},
        f" ({len(state.ids)} series); split the panel into several files (by id)",
    )  # fmt: skip


def _pack(arrays: dict[str, np.ndarray], key: str, values: list, dtype: type) -> None:
    """``panel.<key>``: the blocks one after the other; ``panel.<key>_offsets`` where each starts."""
    arrays[f"panel.{key}"] = np.concatenate([np.asarray(v, dtype=dtype) for v in values])
    arrays[f"panel.{key}_offsets"] = np.concatenate([[0], np.cumsum([len(v) for v in values])]).astype(
        np.int64
    )


def _series_arrays(state: PanelState, arrays: dict[str, np.ndarray], local: bool) -> dict[str, Any]:
    """Each series' own fields (``_PER_SERIES``, and ``_PER_SERIES_LOCAL`` with local models) into
    ``arrays`` keyed by series; returns what goes into the "panel" metadata (the pool and its axes)."""
    entries = [_metadata(s) for s in state.states]
    scalars = _SCALARS | (_SCALARS_LOCAL if local else {})
    columns: dict[str, list[Any]] = {key: [] for key in scalars}
    packed: dict[str, list[Any]] = {key: [] for key in _PACKED_INTS + (("best_epochs",) if local else ())}
    pooled = ("transforms",) + (_PER_SERIES_LOCAL if local else ())
    methods = sorted({m for e in entries for m in e["validation"]["metrics"]})
    measures = sorted({k for e in entries for row in e["validation"]["metrics"].values() for k in row})
    metrics = np.full((len(entries), len(methods), len(measures)), np.nan)
    pool: list[Any] = []
    where: dict[str, int] = {}
    index = np.zeros((len(entries), len(pooled)), dtype=np.int64)
    for k, m in enumerate(entries):
        last = m["data"]["last_timestamp"]
        columns["n_obs"].append(m["data"]["n_obs"])
        columns["level_alpha"].append(m["resolved"]["level_alpha"])
        columns["last_timestamp"].append(_NAT if last is None else np.datetime64(last, "ns").astype(np.int64))
        packed["origins"].append(m["validation"]["origins"])
        for i, method in enumerate(methods):
            for j, measure in enumerate(measures):
                value = m["validation"]["metrics"].get(method, {}).get(measure)
                metrics[k, i, j] = np.nan if value is None else value
        if local:  # the numbers of its training, its ensemble's epochs; the rest is pooled
            training = m["training"]
            for key in _SCALARS_LOCAL:
                columns[key].append(np.nan if training[key] is None else training[key])
            packed["best_epochs"].append(m["ensemble"]["best_epochs"])
            m["training"] = {
                key: v for key, v in training.items() if key not in _SCALARS_LOCAL and key != "history"
            }
            m["ensemble"] = {key: v for key, v in m["ensemble"].items() if key != "best_epochs"}
            m["resolved"] = {key: v for key, v in m["resolved"].items() if key != "level_alpha"}
        for f, field in enumerate(pooled):
            text = json.dumps(m[field], sort_keys=True, allow_nan=False)
            if text not in where:
                where[text] = len(pool)
                pool.append(m[field])
            index[k, f] = where[text]
    for key, dtype in scalars.items():
        arrays[f"panel.{key}"] = np.asarray(columns[key], dtype=dtype)
    for key, values in packed.items():
        _pack(arrays, key, values, np.int64)
    arrays["panel.metrics"] = metrics
    arrays["panel.pool_index"] = index
    out = {"metrics_axes": {"methods": methods, "measures": measures}, "pooled": list(pooled), "pool": pool}
    if entries and all("baselines" in m for m in entries):
        out["baseline_methods"] = _baseline_arrays([m["baselines"] for m in entries], arrays)
    return out


_BASELINE_NUMBERS = ("level", "alpha", "intercept", "slope", "n", "additive", "trend", "damping", "log")
_BASELINE_NUMBERS_BEFORE = (6, 8)  # before 2.0: no trend, no damping; before 3.0: no log


def _baseline_arrays(fits: list[dict[str, dict[str, Any]]], arrays: dict[str, np.ndarray]) -> list[str]:
    """Each series' fitted baselines (``forecasting.fits.BaselineFit``) as arrays: panel.baselines
    (S, methods, numbers) and their seasonal figures packed in panel.baseline_seasonal; returns the
    methods' names (the axis)."""
    methods = sorted(fits[0])
    numbers = np.array(
        [[[float(f[m][key]) for key in _BASELINE_NUMBERS] for m in methods] for f in fits], dtype=np.float64
    )
    arrays["panel.baselines"] = numbers
    _pack(arrays, "baseline_seasonal", [f[m]["seasonal"] for f in fits for m in methods], np.float64)
    return methods


# ---------------------------------------------------------------------------------------------- reading
def load_panel_state(path: str | os.PathLike[str]) -> PanelState:
    """Read and validate a panel model file; any problem is one ``ModelFileError`` line."""
    path = Path(path)
    name = path.name
    arrays = open_archive(path, _known, {"metadata": _MAX_METADATA_BYTES})
    meta = _read_metadata(arrays, name)
    panel = meta.get("panel")
    if not isinstance(panel, dict):
        raise ModelFileError(
            f"{name}: holds a model of one series, not a panel; read it with Forecaster.load"
        )
    with model_file_errors(name):
        return _build_panel(meta, panel, arrays, name)


def _known(key: str) -> bool:
    if (match := _SERIES_ENTRY.fullmatch(key)) is not None:
        return match.group(2).startswith(("lstm.", "head.", "ensemble.")) and _known_entry(match.group(2))
    return _known_entry(key) or _PANEL_ENTRY.fullmatch(key) is not None


def _build_panel(
    meta: dict[str, Any], panel: dict[str, Any], arrays: dict[str, np.ndarray], name: str
) -> PanelState:
    from lstmcli.forecasting.state import PanelState

    ids = panel.get("ids")
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, str) for i in ids)
        or len(set(ids)) != len(ids)
    ):
        raise ModelFileError(f"{name}: metadata field 'panel.ids' must list distinct series ids")
    id_col = panel.get("id_col")
    if not isinstance(id_col, str):
        raise ModelFileError(f"{name}: metadata field 'panel.id_col' must be a column name")
    mode = panel.get("mode", "global")
    if mode not in ("global", "local"):
        raise ModelFileError(f"{name}: metadata field 'panel.mode' must be 'global' or 'local', not {mode!r}")
    local = mode == "local"
    # format 1.3 kept each series' fields as JSON in "panel.series"; 1.4 keeps them in arrays
    series = (
        panel.get("series") if "series" in panel else _series_entries(panel, arrays, len(ids), name, local)
    )
    if (
        not isinstance(series, list)
        or len(series) != len(ids)
        or not all(isinstance(s, dict) for s in series)
    ):
        raise ModelFileError(f"{name}: metadata field 'panel.series' must hold one entry per id ({len(ids)})")
    packed = {key: _unpack(arrays, key, len(ids), name) for key in _PACKED}
    known = _known_arrays(meta, arrays, len(ids), name)
    static = _static(panel, arrays, len(ids), name)
    weights = {k: v for k, v in arrays.items() if k.startswith(("lstm.", "head.", "ensemble."))}
    own: list[dict[str, np.ndarray]] = [{} for _ in ids]
    for key, value in arrays.items():
        if (match := _SERIES_ENTRY.fullmatch(key)) is not None:
            k = int(match.group(1))
            if not local or k >= len(ids):
                raise ModelFileError(f"{name}: unexpected entry {key!r}")
            own[k][match.group(2)] = value
    states, shared = [], None
    for k, entry in enumerate(series):
        missing = [f for f in _PER_SERIES + (_PER_SERIES_LOCAL if local else ()) if f not in entry]
        if missing:
            raise ModelFileError(f"{name}: series {ids[k]!r} lacks the field '{missing[0]}' in metadata")
        one = dict(meta)  # the single-series file this series would be
        one["transforms"] = entry["transforms"]
        one["resolved"] = dict(meta.get("resolved") or {}) | {"level_alpha": entry["level_alpha"]}
        one["data"] = dict(meta.get("data") or {}) | {
            "n_obs": entry["n_obs"],
            "last_timestamp": entry["last_timestamp"],
        }
        one["validation"] = {"origins": entry["origins"], "metrics": entry["metrics"]}
        one.pop("baselines", None)
        if "baselines" in entry:
            one["baselines"] = entry["baselines"]
        if local:
            one |= {key: entry[key] for key in _PER_SERIES_LOCAL}
            one["resolved"] = (
                dict(entry["resolved"]) if isinstance(entry["resolved"], dict) else entry["resolved"]
            )
            if isinstance(one["resolved"], dict):
                one["resolved"]["level_alpha"] = entry["level_alpha"]
        files = (own[k] if local else weights) | {
            "data.tail_values": packed["tail_values"][k],
            "data.tail_features": np.zeros((len(packed["tail_values"][k]), 0)),
            "data.seasonal_indices": packed["seasonal_indices"][k],
            "validation.residuals": packed["residuals"][k],
            "calibration.naive2_errors": packed["naive2_errors"][k],
        }
        if static is not None:
            files["data.static"] = static[1][k]
        if known is not None:
            files["data.tail_known"] = known[0][k]
            one["known"] = dict(meta["known"]) | {"mean": known[1][k].tolist(), "scale": known[2][k].tolist()}
        try:
            state = _build_state(one, files, name)
        except ModelFileError as e:
            raise ModelFileError(f"series {ids[k]!r}: {str(e).removeprefix(f'{name}: ')}") from None
        if not local:
            if shared is None:
                shared = state.ensemble
            state.ensemble = shared  # one ensemble for all (each series' copy was only for its checks)
        states.append(state)
    first = states[0]
    skipped = [
        tuple(map(str, pair))
        for pair in panel.get("skipped") or []
        if isinstance(pair, list) and len(pair) == 2
    ]
    validation = panel.get("validation") if isinstance(panel.get("validation"), dict) else {}
    result = replace(
        first.train_result, stop_reason=_stop_reason(panel, first.train_result.stop_reason, name)
    )
    return PanelState(
        config=first.config, id_col=id_col, ids=list(ids), states=states, skipped=skipped, validation=validation,
        train_result=result, source=first.source, format_version=meta["format_version"], mode=mode,
        static=static[0].to_dict() if static is not None else [],
    )  # fmt: skip


def _stop_reason(panel: dict[str, Any], first: str, name: str) -> str:
    """The panel's outcome: "interrupted" when a local fit was stopped, else its first series'."""
    reason = panel.get("stop_reason", first)
    if reason not in (first, "interrupted"):
        raise ModelFileError(
            f"{name}: metadata field 'panel.stop_reason' must be 'interrupted', got {reason!r}"
        )
    return reason


def _known_arrays(
    meta: dict[str, Any], arrays: dict[str, np.ndarray], n: int, name: str
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray] | None:
    """(format 1.5) Each series' raw known inputs of its tail and their mean and scale (n, K); None
    for a panel without inputs known in advance (checked further as each series' file is)."""
    if "known" not in meta:
        return None
    node = meta["known"]
    if not isinstance(node, dict) or not isinstance(node.get("mean"), list):
        raise ModelFileError(f"{name}: metadata field 'known' must describe the inputs known in advance")
    width = len(node["mean"])
    tails = _unpack(arrays, "tail_known", n, name)
    shape = (n, width)
    mean = _check_array(arrays, "panel.known_mean", shape, ("float64",), name)
    scale = _check_array(arrays, "panel.known_scale", shape, ("float64",), name)
    if width == 0 or any(t.ndim != 2 or t.shape[1] != width for t in tails):
        raise ModelFileError(f"{name}: panel.tail_known must hold {width} inputs a row")
    return tails, mean, scale


def _static(
    panel: dict[str, Any], arrays: dict[str, np.ndarray], n: int, name: str
) -> tuple[StaticEncoding, np.ndarray] | None:
    """The static features' encoding and each series' encoded inputs (n, S); None without."""
    if "static" not in panel:
        return None
    encoding = StaticEncoding.from_dict(panel["static"], name)
    width = len(encoding.names)
    return encoding, _check_array(arrays, "panel.static", (n, width), ("float64",), name)


def _series_entries(
    panel: dict[str, Any], arrays: dict[str, np.ndarray], n: int, name: str, local: bool
) -> list[dict[str, Any]]:
    """Each series' fields as format 1.3 kept them in "panel.series", from the arrays of format 1.4
    (every array checked for its dtype, shape and values; the fields are then checked as in 1.3)."""
    scalars = _SCALARS | (_SCALARS_LOCAL if local else {})
    columns = {
        key: _check_array(arrays, f"panel.{key}", (n,), (np.dtype(dtype).name,), name, allow_nan=key == "best_loss")
        for key, dtype in scalars.items()
    }  # fmt: skip
    packed = {
        key: _unpack(arrays, key, n, name, "int64")
        for key in _PACKED_INTS + (("best_epochs",) if local else ())
    }
    axes = panel.get("metrics_axes")
    methods, measures = (
        (axes.get("methods"), axes.get("measures")) if isinstance(axes, dict) else (None, None)
    )
    if not all(isinstance(a, list) and all(isinstance(v, str) for v in a) for a in (methods, measures)):
        raise ModelFileError(
            f"{name}: metadata field 'panel.metrics_axes' must list the methods and measures"
        )
    metrics = _check_array(
        arrays, "panel.metrics", (n, len(methods), len(measures)), ("float64",), name, allow_nan=True
    )
    pooled, pool = panel.get("pooled"), panel.get("pool")
    expected = ["transforms", *(_PER_SERIES_LOCAL if local else ())]
    if pooled != expected or not isinstance(pool, list):
        raise ModelFileError(f"{name}: metadata field 'panel.pooled' must be {expected} with a 'panel.pool'")
    index = _check_array(arrays, "panel.pool_index", (n, len(expected)), ("int64",), name)
    if index.size and (index.min() < 0 or index.max() >= len(pool)):
        raise ModelFileError(f"{name}: panel.pool_index must index the {len(pool)} entries of 'panel.pool'")
    baselines = _baseline_entries(panel, arrays, n, name)
    entries = []
    for k in range(n):
        stamp = int(columns["last_timestamp"][k])
        table = {
            method: {m: None if np.isnan(v) else float(v) for m, v in zip(measures, metrics[k, i], strict=True)}
            for i, method in enumerate(methods)
            if not np.isnan(metrics[k, i]).all()
        }  # fmt: skip
        entry = {field: pool[index[k, f]] for f, field in enumerate(expected)} | {
            "level_alpha": float(columns["level_alpha"][k]),
            "n_obs": int(columns["n_obs"][k]),
            "last_timestamp": None if stamp == _NAT else str(np.datetime64(stamp, "ns")),
            "origins": [int(o) for o in packed["origins"][k]],
            "metrics": table,
        }
        if baselines is not None:
            entry["baselines"] = baselines[k]
        if local:
            if not all(isinstance(entry[key], dict) for key in ("training", "ensemble")):
                raise ModelFileError(f"{name}: series {k}: its pooled training and ensemble must be objects")
            loss = float(columns["best_loss"][k])
            entry["training"] = entry["training"] | {
                "epochs_run": int(columns["epochs_run"][k]),
                "best_epoch": int(columns["best_epoch"][k]),
                "best_loss": None if np.isnan(loss) else loss,
                "history": [],
            }
            entry["ensemble"] = entry["ensemble"] | {
                "best_epochs": [int(e) for e in packed["best_epochs"][k]]
            }
        entries.append(entry)
    return entries


def _baseline_entries(
    panel: dict[str, Any], arrays: dict[str, np.ndarray], n: int, name: str
) -> list[dict[str, dict[str, Any]]] | None:
    """Each series' fitted baselines as a single-series file keeps them (checked there); None for a
    file without them."""
    methods = panel.get("baseline_methods")
    if methods is None:
        return None
    if not isinstance(methods, list) or not methods or not all(isinstance(m, str) for m in methods):
        raise ModelFileError(f"{name}: metadata field 'panel.baseline_methods' must list method names")
    numbers = _check_array(arrays, "panel.baselines", None, ("float64",), name)
    if numbers.shape not in {
        (n, len(methods), k) for k in (len(_BASELINE_NUMBERS), *_BASELINE_NUMBERS_BEFORE)
    }:
        raise ModelFileError(
            f"{name}: panel.baselines has shape {numbers.shape}, expected {(n, len(methods), len(_BASELINE_NUMBERS))}"
        )
    seasonal = _unpack(arrays, "baseline_seasonal", n * len(methods), name)
    return [
        {
            m: dict(zip(_BASELINE_NUMBERS, numbers[k, i].tolist(), strict=False))
            | {
                "n": int(numbers[k, i, 4]),
                "additive": bool(numbers[k, i, 5]),
                "log": bool(numbers.shape[2] > 8 and numbers[k, i, 8]),
                "seasonal": seasonal[k * len(methods) + i].tolist(),
            }
            for i, m in enumerate(methods)
        }
        for k in range(n)
    ]


def _unpack(
    arrays: dict[str, np.ndarray], key: str, n: int, name: str, dtype: str = "float64"
) -> list[np.ndarray]:
    """The ``n`` per-series blocks of ``panel.<key>`` cut by its offsets, both checked."""
    data = _check_array(arrays, f"panel.{key}", None, (dtype,), name, allow_nan=key == "residuals")
    offsets = arrays.get(f"panel.{key}_offsets")
    if (
        offsets is None
        or offsets.dtype != np.int64
        or offsets.shape != (n + 1,)
        or offsets[0] != 0
        or offsets[-1] != len(data)
        or np.any(np.diff(offsets) < 0)
    ):
        raise ModelFileError(
            f"{name}: panel.{key}_offsets must be {n + 1} non-decreasing int64 from 0 to {len(data)}"
        )
    return [data[offsets[k] : offsets[k + 1]] for k in range(n)]


def is_panel_file(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a panel model file (reads only the smallest panel entry's header)."""
    return bool(open_archive(Path(path), lambda key: key == "panel.tail_values_offsets", {}, probe=True))
