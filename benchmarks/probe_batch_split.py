"""Probe behind ``network._BatchSplit``: an LSTM loop's batch as two column halves in two Python threads.

    PYTHONPATH=. python benchmarks/probe_batch_split.py

The recurrence is independent per batch column, so two threads could each run the whole loop on half
of the columns, each with a one-thread BLAS (NumPy releases the GIL inside BLAS calls and long ufunc
loops). This script measures, for per-step shapes of the engine, (1) the speed-up of a step-like
sequence (one product and three ufuncs) on two half batches in two threads over the same halves one
after the other, with the halves as column views of one buffer or as separate contiguous buffers, and (2) whether a half-batch product gives the same bits as the whole-batch product,
which it must (or be checked per shape) for models not to depend on the thread count. It prints only.
"""

from __future__ import annotations

import threading
import time

import numpy as np
from threadpoolctl import threadpool_limits

SHAPES = [(128, 32), (128, 64), (256, 32), (256, 64), (256, 256)]  # (hidden, batch)
STEPS = 300


def step_like(a: np.ndarray, x: np.ndarray, out: np.ndarray, steps: int) -> None:
    for _ in range(steps):
        np.matmul(a, x, out=out)
        np.tanh(out, out=out)
        np.multiply(out, 0.5, out=out)
        np.add(out, 0.5, out=out)


def main() -> None:
    for contiguous in (False, True):
        print("column views of one buffer:" if not contiguous else "separate buffers per half:")
        run(contiguous)


def run(contiguous: bool) -> None:
    rng = np.random.default_rng(0)
    print("hidden batch | halves one after the other (ms) | halves in 2 threads (ms) | speed-up | same bits")
    with threadpool_limits(1):
        for hidden, batch in SHAPES:
            k = hidden + 2
            a = rng.standard_normal((4 * hidden, k)).astype(np.float32)
            x = rng.standard_normal((k, batch)).astype(np.float32)
            out = np.empty((4 * hidden, batch), np.float32)
            half = batch // 2
            if contiguous:  # each half its own buffers (two sub-batch workspaces)
                parts = [(np.ascontiguousarray(x[:, c]), np.empty((4 * hidden, half), np.float32)) for c in
                         (slice(0, half), slice(half, batch))]  # fmt: skip
            else:  # column views of the same buffers (one workspace)
                parts = [(x[:, :half], out[:, :half]), (x[:, half:], out[:, half:])]
            step_like(a, parts[0][0], parts[0][1], 5)  # warm-up
            start = time.perf_counter()
            for xs, os in parts:
                step_like(a, xs, os, STEPS)
            sequential = time.perf_counter() - start
            workers = [threading.Thread(target=step_like, args=(a, xs, os, STEPS)) for xs, os in parts]
            start = time.perf_counter()
            for w in workers:
                w.start()
            for w in workers:
                w.join()
            threaded = time.perf_counter() - start
            whole = a @ x
            halves = np.empty_like(whole)
            for cols in (slice(0, half), slice(half, batch)):
                np.matmul(a, x[:, cols], out=halves[:, cols])
            same = bool(np.array_equal(whole, halves))
            print(
                f"{hidden:6d} {batch:5d} | {sequential * 1e3:31.1f} | {threaded * 1e3:24.1f} |"
                f" {sequential / threaded:8.2f} | {same}"
            )


if __name__ == "__main__":
    main()
