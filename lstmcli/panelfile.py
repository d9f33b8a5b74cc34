"""The model file of a panel (format 1.4; 1.4 adds each series' fitted baselines, "baselines" in its
"panel.series" entry, as a single-series file of format 1.3 keeps them; 1.3 files still load): one global ensemble and the state of every series, in the
same safe ``.npz`` as a single-series model (``modelfile``), which stays exactly as it was.

Layout::

    lstm.* / head.* / ensemble.K.*      the shared networks, under PyTorch's names (as in every model file)
    panel.tail_values (sum K_s,)        each series' last K_s observations, one after the other
    panel.seasonal_indices (sum m_s,)   each series' seasonal indices ((1,) ones when not adjusted)
    panel.residuals (sum n_s, horizon)  each series' validation residuals (the intervals)
    panel.naive2_errors (sum k_s, horizon)  each series' in-sample Naive2 errors (the intervals' floor)
    panel.<name>_offsets (S + 1,) int64 series s is rows offsets[s]:offsets[s + 1] of panel.<name>
    metadata ()                         JSON: what every series shares (network, settings, season,
                                        horizon, lookbacks, training) as in a single-series file, and
                                        "panel": the id column, the ids (series s is ids[s]), the series
                                        skipped, the overall validation table, and per series its
                                        transforms and their fitted parameters, SES level constant,
                                        n_obs, last timestamp, validation origins and error table

A panel of local models (``mode`` "local" in "panel": one ensemble per series, ``train --id-col
--local``) has no shared weights: series s keeps its own under ``series.s.lstm.*`` / ``series.s.head.*``
/ ``series.s.ensemble.K.*`` (the same names behind the prefix), and its "panel.series" entry also holds
what differs from series to series there (network, resolved settings, ensemble, training, feature
scaling); the top-level fields are the first series'. A file without "mode" is a global one, written
byte for byte as before.

No entry is pickled. Reading rebuilds each series as the single-series file it would be and validates
it with ``modelfile``'s own checks, so a panel file is checked exactly as strictly; any problem is one
``ModelFileError`` line. Older lstmcli (format 1.2 readers) refuse a panel file in one line, since its
per-series fields are not where a single-series file has them ("metadata lacks the field
'transforms'"); a single-series file is byte for byte what it was.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lstmcli.errors import ModelFileError
from lstmcli.modelfile import (
    _build_state,
    _check_array,
    _known_entry,
    _metadata,
    _read_metadata,
    model_file_errors,
    network_arrays,
)
from lstmcli.npzfile import atomic_write_bytes, npz_bytes, open_archive

if TYPE_CHECKING:
    from lstmcli.forecasting.state import PanelState

__all__ = ["PANEL_FORMAT_VERSION", "load_panel_state", "save_panel"]

PANEL_FORMAT_VERSION = "1.4"
_PACKED = ("tail_values", "seasonal_indices", "residuals", "naive2_errors")
_PANEL_ENTRY = re.compile(r"panel\.[a-z_0-9]+")
# one JSON document for every series (about 1 kB a series, 2.5 kB with local models): room for some
# 60,000 series (25,000 local)
_MAX_METADATA_BYTES = 64 << 20
# what each series keeps apart, moved from the top level of a single-series file into "panel.series"
_PER_SERIES = ("transforms", "level_alpha", "n_obs", "last_timestamp", "origins", "metrics")
# what a series of local models keeps apart as well (its own ensemble)
_PER_SERIES_LOCAL = ("network", "resolved", "ensemble", "training", "feature_scaling")
_SERIES_ENTRY = re.compile(r"series\.([0-9]+)\.(.+)")


# ---------------------------------------------------------------------------------------------- writing
def save_panel(state: PanelState, path: str | os.PathLike[str]) -> None:
    """Write a fitted panel atomically (deterministic bytes: the same model gives the same file)."""
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
        arrays[f"panel.{key}"] = np.concatenate([np.asarray(v, dtype=np.float64) for v in values])
        arrays[f"panel.{key}_offsets"] = np.concatenate([[0], np.cumsum([len(v) for v in values])]).astype(
            np.int64
        )
    meta = _metadata(first)
    meta["format_version"] = PANEL_FORMAT_VERSION
    if local:
        meta["training"] = meta["training"] | {"history": []}
    for key in ("transforms", "validation"):
        del meta[key]
    meta.pop("baselines", None)
    del meta["resolved"]["level_alpha"], meta["data"]["n_obs"], meta["data"]["last_timestamp"]
    series = []
    for s in state.states:
        m = _metadata(s)
        series.append(dict(zip(_PER_SERIES, (
            m["transforms"], m["resolved"]["level_alpha"], m["data"]["n_obs"], m["data"]["last_timestamp"],
            m["validation"]["origins"], m["validation"]["metrics"],
        ), strict=True)))  # fmt: skip
        if "baselines" in m:
            series[-1]["baselines"] = m["baselines"]
        if local:  # (each series' epoch history is left out: some 5 kB a series)
            series[-1] |= {key: m[key] for key in _PER_SERIES_LOCAL} | {
                "training": m["training"] | {"history": []}
            }
    from lstmcli.modelfile import _json_safe

    meta["panel"] = {
        "id_col": state.id_col,
        "ids": list(state.ids),
        "skipped": [list(pair) for pair in state.skipped],
        "validation": _json_safe(state.validation),
        "series": series,
    }
    if local:  # (a global file has no "mode": its bytes stay what they were)
        meta["panel"]["mode"] = "local"
    arrays["metadata"] = np.array(json.dumps(meta, sort_keys=True, allow_nan=False))
    atomic_write_bytes(path, npz_bytes(arrays))


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

    ids, series = panel.get("ids"), panel.get("series")
    if (
        not isinstance(ids, list)
        or not ids
        or not all(isinstance(i, str) for i in ids)
        or len(set(ids)) != len(ids)
    ):
        raise ModelFileError(f"{name}: metadata field 'panel.ids' must list distinct series ids")
    if (
        not isinstance(series, list)
        or len(series) != len(ids)
        or not all(isinstance(s, dict) for s in series)
    ):
        raise ModelFileError(f"{name}: metadata field 'panel.series' must hold one entry per id ({len(ids)})")
    id_col = panel.get("id_col")
    if not isinstance(id_col, str):
        raise ModelFileError(f"{name}: metadata field 'panel.id_col' must be a column name")
    mode = panel.get("mode", "global")
    if mode not in ("global", "local"):
        raise ModelFileError(f"{name}: metadata field 'panel.mode' must be 'global' or 'local', not {mode!r}")
    local = mode == "local"
    packed = {key: _unpack(arrays, key, len(ids), name) for key in _PACKED}
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
    return PanelState(
        config=first.config, id_col=id_col, ids=list(ids), states=states, skipped=skipped, validation=validation,
        train_result=first.train_result, source=first.source, format_version=meta["format_version"], mode=mode,
    )  # fmt: skip


def _unpack(arrays: dict[str, np.ndarray], key: str, n: int, name: str) -> list[np.ndarray]:
    """The ``n`` per-series blocks of ``panel.<key>`` cut by its offsets, both checked."""
    data = _check_array(arrays, f"panel.{key}", None, ("float64",), name, allow_nan=key == "residuals")
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
    return bool(open_archive(Path(path), lambda key: key == "panel.tail_values_offsets", {}))
