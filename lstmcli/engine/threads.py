"""The BLAS thread policy.

An LSTM step multiplies small matrices (N x (D+H+1) by (D+H+1) x 4H). Split across threads they get
slower, and OpenBLAS threads that spin-wait for a core another process is using can make a training
run several times slower (measured: 36 µs vs 116 µs per step on a 2-core machine with a second job
running; benchmarks/RESULTS.md). So the engine runs its products on one thread by default.
threadpoolctl is the well-kept library that changes the thread count of whichever BLAS NumPy loaded,
at run time and only for a block.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

DEFAULT_THREADS = 1


@contextmanager
def blas_threads(threads: int | None = DEFAULT_THREADS) -> Iterator[None]:
    """Limit BLAS to ``threads`` threads inside the block (None leaves the library's own setting)."""
    if threads is None:
        yield
        return
    with threadpool_limits(limits=threads, user_api="blas"):
        yield
