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
                # the geometric mean f̄, which memory decays by and the half-life is computed from
                "mean_forget": float(np.exp(np.mean(np.log(np.clip(f, 1e-12, 1.0))))),
                "half_life": half,
                "mean_input": float(np.mean(layer["i"][:, u])),
                "mean_output": float(np.mean(layer["o"][:, u])),
                "saturation": saturation,
                "role": role,
            }
        )
    return rows


_STEP_WORDS = {
    "log": "its logarithm",
    "dstandard": "scaled by its typical one-step change",
    "standard": "standardised",
    "minmax": "scaled to 0..1",
    "diff": "differenced",
    "sdiff": "differenced by a season",
}


def season_taken_out(preprocessing: Any) -> bool:
    """Whether the series was divided by seasonal indices before the network saw it."""
    seasonal = np.asarray(preprocessing.seasonal)
    return seasonal.size > 1 and not np.allclose(seasonal, 1.0)


def input_description(preprocessing: Any) -> str:
    """What the network is shown of the series, in words: the seasonal adjustment, the transforms and
    the window normalisation (``forecasting.preprocessing``), which the forecast undoes in reverse."""
    parts = []
    if season_taken_out(preprocessing):
        parts.append(
            "divided by its seasonal indices (the season is taken out before the network and put back after, "
            "so no unit needs to carry it)"
        )
    for step in preprocessing.pipeline.to_dict():
        name = step.get("name")
        if name == "power":
            parts.append(f"Box-Cox transformed (lambda {float(step.get('lam', 1.0)):g})")
        elif name in _STEP_WORDS:
            parts.append(_STEP_WORDS[name])
    window = {
        "window": "each window minus its last value, so an output of 0 forecasts no change",
        "ses": "each window minus its smoothed level",
    }.get(preprocessing.normalize)
    seen = "the series " + (", then ".join(parts) if parts else "as it is")
    return f"The network sees {seen}" + (f"; {window}" if window else "") + "."
