"""Plain-language summaries of a gate trace: what each unit keeps, for how long, and how decisively."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

SATURATION = 0.05  # a gate below 0.05 or above 0.95 is treated as fully closed or open


def memory_half_life(forget: np.ndarray) -> float | None:
    """Steps until half of a memory is left, from the forget gate values f (T,) of one unit.

    Memory decays by the product of f over the steps, so the per-step retention is the geometric mean
    f̄ = exp(mean(ln f)) and the half-life is ln 0.5 / ln f̄. None means f̄ rounds to 1 (no decay).
    """
    f_bar = float(np.exp(np.mean(np.log(np.clip(forget, 1e-12, 1.0)))))
    if f_bar >= 1.0 - 1e-12:
        return None
    return math.log(0.5) / math.log(f_bar)


def unit_summary(layer: dict[str, np.ndarray], season: int) -> list[dict[str, Any]]:
    """One row per unit of a traced layer (arrays i, f, g, o, c, h of shape (T, H))."""
    rows = []
    H = layer["f"].shape[1]
    for u in range(H):
        f = layer["f"][:, u]
        gates = np.concatenate([layer[k][:, u] for k in ("i", "f", "o")])
        half = memory_half_life(f)
        saturation = float(np.mean((gates < SATURATION) | (gates > 1 - SATURATION)))
        if float(np.mean(layer["o"][:, u])) < 0.1:
            role = "mostly silent (output gate closed)"
        elif half is None or half >= season > 1:
            role = "seasonal memory (keeps a season or more)"
        elif half >= 3:
            role = f"medium memory (~{half:.0f} steps)"
        else:
            role = "short memory (mostly the latest steps)"
        rows.append(
            {
                "unit": u,
                "mean_forget": float(np.mean(f)),
                "half_life": half,
                "mean_input": float(np.mean(layer["i"][:, u])),
                "mean_output": float(np.mean(layer["o"][:, u])),
                "saturation": saturation,
                "role": role,
            }
        )
    return rows
