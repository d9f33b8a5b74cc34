"""The BLAS thread policy.

An LSTM step multiplies small matrices ((4H, D+H+1) by (D+H+1, N) forward, (H, 4H) by (4H, N) back).
Split across threads they gain little or lose, and OpenBLAS threads wait for each other at every
product: when another process holds a core, each product can wait a whole scheduler time slice.
Measured on a 2-core machine with other jobs running (benchmarks/RESULTS.md): a 130 µs per-step product
took 4-8 ms on 2 threads. So the rule is:

- every per-step product runs on ONE thread, always;
- the products done once per backward pass over all T·N columns (the weight gradient, and the gradient
  sent to the layer below) get the thread budget, when they are large enough to gain
  (``MIN_PARALLEL_FLOPS``). Those take milliseconds, so even a busy core costs them a fraction, not
  a multiple, of their time.

``blas_threads(n)`` sets the budget for a block (1 by default) and pins BLAS to one thread inside it;
``matmul`` is the product that may use the budget. threadpoolctl is the well-kept library that changes
the thread count of whichever BLAS NumPy loaded; its controller is built once (inspecting the loaded
libraries costs ~100 µs) and switching a count through it costs about 1 µs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from threadpoolctl import ThreadpoolController

DEFAULT_THREADS = 1
# Below this many FLOPs a product is not split: on 2 cores, 2 threads start to win around 5 MFLOP.
MIN_PARALLEL_FLOPS = 20e6

_controller: ThreadpoolController | None = None
_budget: int | None = None  # threads the large products may use; None: leave the library's setting


def _blas() -> ThreadpoolController:
    global _controller
    if _controller is None:
        _controller = ThreadpoolController().select(user_api="blas")
    return _controller


def _set(threads: int) -> None:
    for lib in _blas().lib_controllers:
        lib.set_num_threads(threads)


@contextmanager
def blas_threads(threads: int | None = DEFAULT_THREADS) -> Iterator[None]:
    """Inside the block BLAS runs on one thread, and ``matmul`` may use up to ``threads`` for its large
    products (None leaves the library's own setting alone)."""
    global _budget
    saved = _budget
    if threads is None:
        _budget = None
        try:
            yield
        finally:
            _budget = saved
        return
    with _blas().limit(limits=1):
        _budget = max(1, int(threads))
        try:
            yield
        finally:
            _budget = saved


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``a @ b`` (2-D), on the thread budget of ``blas_threads`` when the product is large enough."""
    threads = _budget
    if threads is None or threads == 1 or 2.0 * a.shape[0] * a.shape[1] * b.shape[1] < MIN_PARALLEL_FLOPS:
        return np.matmul(a, b, out=out)
    _set(threads)
    try:
        return np.matmul(a, b, out=out)
    finally:
        _set(1)
