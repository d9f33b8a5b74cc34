"""Training losses: value and gradient w.r.t. the prediction, mean over all elements (PyTorch's
``reduction="mean"`` for ``MSELoss``, ``L1Loss`` and ``HuberLoss(delta=1)``)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

LossFn = Callable[[np.ndarray, np.ndarray], tuple[float, np.ndarray]]


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """L = mean((pred - target)²); dL/dpred = 2 (pred - target) / n."""
    diff = pred - target
    return float(np.mean(diff * diff)), diff * (2.0 / diff.size)


def mae(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """L = mean|pred - target|; dL/dpred = sign(pred - target) / n (0 at a tie, as PyTorch)."""
    diff = pred - target
    return float(np.mean(np.abs(diff))), np.sign(diff) * (1.0 / diff.size)


def huber(pred: np.ndarray, target: np.ndarray, delta: float = 1.0) -> tuple[float, np.ndarray]:
    """L = mean(½d² if |d| < δ else δ(|d| - ½δ)), d = pred - target: quadratic near 0, linear in the tails."""
    diff = pred - target
    absd = np.abs(diff)
    small = absd < delta
    value = np.where(small, 0.5 * diff * diff, delta * (absd - 0.5 * delta))
    grad = np.where(small, diff, delta * np.sign(diff)) * (1.0 / diff.size)
    return float(np.mean(value)), grad.astype(pred.dtype, copy=False)


LOSSES: dict[str, LossFn] = {"mse": mse, "mae": mae, "huber": huber}
