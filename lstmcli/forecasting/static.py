"""Static features of a global panel (``train --id-col --global --static-features region,size``): columns
that are constant within each series, fed to the shared network beside the series' values at every
step, as DeepAR's and ES-RNN's per-series inputs are.

A column of text is a category, one-hot encoded (one input per category seen in training, in sorted
order; a category the model never saw is all zeros); a numeric column is standardised by its mean and
spread over the series. The encoding is fitted once on the panel and kept in the model file, with each
series' encoded vector (``Preprocessing.static``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from lstmcli.errors import ModelFileError

__all__ = ["MAX_CATEGORIES", "StaticEncoding"]

MAX_CATEGORIES = 1000  # one input per category: more is an id, not a group (and a huge first layer)


@dataclass(frozen=True)
class StaticEncoding:
    """How each static column becomes network inputs: ``columns`` lists, in order, ``{"name", "kind":
    "category", "categories": [...]}`` or ``{"name", "kind": "number", "mean", "scale"}``."""

    columns: tuple[dict[str, Any], ...]

    @classmethod
    def fit(cls, values: Mapping[str, np.ndarray]) -> StaticEncoding:
        """From each column's value per series: (S,) float64 (numbers) or (S,) str (categories)."""
        columns = []
        for name, v in values.items():
            if v.dtype.kind == "f":
                scale = float(np.std(v))
                columns.append({"name": name, "kind": "number", "mean": float(np.mean(v)),
                                "scale": scale if scale > 0 else 1.0})  # fmt: skip
            else:
                columns.append({"name": name, "kind": "category", "categories": sorted({str(c) for c in v})})
        return cls(tuple(columns))

    @property
    def names(self) -> list[str]:
        """One name per network input: ``region=north`` for a category, the column's name for a number."""
        out = []
        for c in self.columns:
            out += [f"{c['name']}={k}" for k in c["categories"]] if c["kind"] == "category" else [c["name"]]
        return out

    def encode(self, values: Mapping[str, np.ndarray]) -> np.ndarray:
        """(S, len(names)) inputs of S series from each column's values (as ``fit`` takes them)."""
        parts = []
        for c in self.columns:
            v = values[c["name"]]
            if c["kind"] == "number":
                parts.append(((np.asarray(v, dtype=np.float64) - c["mean"]) / c["scale"])[:, None])
            else:
                text = np.asarray([str(x) for x in v])
                parts.append((text[:, None] == np.asarray(c["categories"])[None, :]).astype(np.float64))
        n = len(next(iter(values.values()))) if values else 0
        return np.concatenate(parts, axis=1) if parts else np.zeros((n, 0))

    def to_dict(self) -> list[dict[str, Any]]:
        return [dict(c) for c in self.columns]

    @classmethod
    def from_dict(cls, items: Any, name: str) -> StaticEncoding:
        """Rebuild from ``to_dict`` (a model file's metadata): every field checked, one-line errors."""
        bad = ModelFileError(f"{name}: metadata field 'panel.static' is not a list of static feature columns")
        if not isinstance(items, list):
            raise bad
        columns = []
        for c in items:
            if not isinstance(c, dict) or not isinstance(c.get("name"), str):
                raise bad
            if c.get("kind") == "category":
                cats = c.get("categories")
                if not isinstance(cats, list) or not cats or not all(isinstance(k, str) for k in cats):
                    raise bad
                columns.append({"name": c["name"], "kind": "category", "categories": list(cats)})
            elif c.get("kind") == "number":
                mean, scale = c.get("mean"), c.get("scale")
                if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (mean, scale)):
                    raise bad
                if not (np.isfinite(mean) and np.isfinite(scale) and scale > 0):
                    raise bad
                columns.append(
                    {"name": c["name"], "kind": "number", "mean": float(mean), "scale": float(scale)}
                )
            else:
                raise bad
        return cls(tuple(columns))
