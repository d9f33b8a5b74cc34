"""What a fitted model gives back: a ``Forecast`` (``Forecaster.predict``, a panel's ``predict``) and the
``Trace`` of every gate behind it (``Forecaster.trace``, ``inspect``). Plain data, no computation."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["Forecast", "Trace"]


@dataclass
class Forecast:
    """A forecast in the data's units; ``timestamps`` continue the series' dates when it has them."""

    values: np.ndarray  # (horizon,)
    timestamps: np.ndarray | None  # (horizon,) datetime64[ns], or None for a series without dates
    start_step: int  # 1-based step number of the first forecast (for series without dates)
    intervals: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # level -> (lo, hi)
    warnings: list[str] = field(default_factory=list)
    # (k, horizon): the forecasts a combination averaged, the networks' first (None: no combination)
    members: np.ndarray | None = None
    method: str = "lstm"  # what made it: "lstm" (the model's own) or a baseline's --method key


@dataclass
class Trace:
    """Every gate and state of every layer for the window behind the latest forecast (``inspect``)."""

    inputs: np.ndarray  # (T, D) the window exactly as fed to the network, after transforms
    layers: list[dict[str, np.ndarray]]  # per layer: i, f, g, o, c, h, each (T, H)
    output: np.ndarray  # (O,) the network's raw output for that window, before inverse transforms
    timestamps: np.ndarray | None  # (T,) dates of the window's steps, or None
    input_names: list[str] = field(default_factory=list)  # (D,) what each input channel is
