"""Centred finite differences in float64, the independent check of every analytic gradient."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def numerical_gradient(f: Callable[[], float], p: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """dF/dp by centred differences, perturbing ``p`` (a view into the model) in place."""
    grad = np.zeros(p.shape)
    it = np.nditer(p, flags=["multi_index"])
    for _ in it:
        idx = it.multi_index
        old = p[idx]
        p[idx] = old + eps
        plus = f()
        p[idx] = old - eps
        minus = f()
        p[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def relative_error(numeric: np.ndarray, analytic: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||): scale-free, and not dominated by entries that are nearly zero."""
    denom = max(float(np.linalg.norm(numeric) + np.linalg.norm(analytic)), 1e-12)
    return float(np.linalg.norm(numeric - analytic)) / denom
