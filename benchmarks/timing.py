"""Shared by the print-only probes: the best per-call time of a short function."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_microseconds(fn: Callable[[], object], calls: int = 2000, repeats: int = 5) -> float:
    """Microseconds per call of ``fn``: the best of ``repeats`` loops of ``calls`` calls, after one
    warm-up call (the best, since on a shared machine disturbances only ever add time)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - start) / calls)
    return best * 1e6
