"""Probe for a dependency decision: the cell's element-wise work as one Numba kernel instead of 7 NumPy calls.

    PYTHONPATH=. python benchmarks/probe_numba_cell.py  # prints only

Written while the engine was NumPy calls per step (before ``lstmcli/engine/kernels.py``, which came out
of it): after its product, a forward step made 7 NumPy calls (tanh over the 4H gate rows, the sigmoid
map of 3H rows, the cell update, tanh of the cell, the output). At small sizes their fixed cost (about
0.3 µs each) was most of a step, which is why one-thread inference was slower than PyTorch's fused
oneDNN loop. This script times a Numba kernel doing the same arithmetic in one pass with the C
library's scalar ``tanh`` against those 7 calls (on the engine's layout), and prints whether Numba found
Intel's SVML. It also prints Numba's import time and the first call's (compile or cache load). What it
found (4-30x slower without SVML) is why the engine's loops use their own vectorisable tanh.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_microseconds  # noqa: E402  (benchmarks/timing.py)

SHAPES = [(16, 32), (32, 64), (64, 64), (128, 32), (256, 32), (256, 64)]  # (hidden, batch)


def numpy_cell(six: np.ndarray, products: np.ndarray, hidden: int) -> None:
    """The former engine's 7 calls on its (6H, N) step rows [g, i, f, o, tanh c, c_prev]."""
    half = six.dtype.type(0.5)
    gates, sigmoid = six[: 4 * hidden], six[hidden : 4 * hidden]
    blocks = six.reshape(6, hidden, -1)
    np.tanh(gates, gates)
    np.multiply(sigmoid, half, sigmoid)
    np.add(sigmoid, half, sigmoid)
    np.multiply(blocks[1:3], blocks[0::5], products)
    np.add(products[0], products[1], blocks[5])  # c_t (the engine writes it into the next step's row)
    np.tanh(blocks[5], blocks[4])
    np.multiply(blocks[3], blocks[4], blocks[4])  # h_t (the engine writes it into xh)


def main() -> None:
    start = time.perf_counter()
    import numba

    imported = time.perf_counter() - start

    @numba.njit(fastmath=True, nogil=True)
    def fused_cell(z, c_prev, c_out, h_out, hidden):  # noqa: ANN001, ANN202  (Numba infers the types)
        for j in range(hidden):
            for n in range(z.shape[1]):
                g = np.tanh(z[j, n])
                i = 0.5 * np.tanh(z[hidden + j, n]) + 0.5
                f = 0.5 * np.tanh(z[2 * hidden + j, n]) + 0.5
                o = 0.5 * np.tanh(z[3 * hidden + j, n]) + 0.5
                c = f * c_prev[j, n] + i * g
                c_out[j, n] = c
                h_out[j, n] = o * np.tanh(c)

    tiny = np.zeros((16, 4), np.float32)
    start = time.perf_counter()
    fused_cell(tiny, tiny[:4], tiny[4:8], tiny[8:12], 4)
    first_call = time.perf_counter() - start
    print(f"numba {numba.__version__}: import {imported:.2f} s, first call {first_call:.2f} s, "
          f"SVML in use: {numba.config.USING_SVML}")  # fmt: skip
    print("hidden batch | NumPy, 7 calls (µs) | Numba, one fused call (µs)")
    rng = np.random.default_rng(0)
    with threadpool_limits(1):
        for hidden, batch in SHAPES:
            z = rng.standard_normal((4 * hidden, batch)).astype(np.float32)
            c_prev = rng.standard_normal((hidden, batch)).astype(np.float32)
            c_out, h_out = np.empty_like(c_prev), np.empty_like(c_prev)
            six = np.empty((6 * hidden, batch), np.float32)
            products = np.empty((2, hidden, batch), np.float32)

            def refill(six=six, z=z, c_prev=c_prev, hidden=hidden) -> None:
                six[: 4 * hidden] = z
                six[5 * hidden :] = c_prev

            def numpy_step(six=six, products=products, hidden=hidden, refill=refill) -> None:
                refill()
                numpy_cell(six, products, hidden)

            numpy_us = best_microseconds(numpy_step) - best_microseconds(refill)
            numba_us = best_microseconds(lambda: fused_cell(z, c_prev, c_out, h_out, hidden))  # noqa: B023
            numpy_step()
            np.testing.assert_allclose(h_out, six[4 * hidden : 5 * hidden], rtol=1e-5, atol=1e-6)
            print(f"{hidden:6d} {batch:5d} | {numpy_us:19.2f} | {numba_us:26.2f}")


if __name__ == "__main__":
    main()
