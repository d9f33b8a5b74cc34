"""Probe for a dependency decision: the engine's per-step product through MKL instead of NumPy's OpenBLAS.

    pip install mkl                                   # 221 MB wheel, 656 MB installed; not a dependency
    PYTHONPATH=. python benchmarks/probe_mkl_gemm.py  # prints only; --lib PATH to point at libmkl_rt

At hidden 128 and up, a step of the engine is one skinny product, (4H, H+2) x (H+2, N) with N the
batch, and OpenBLAS runs it at about 70 % of the speed of the MKL inside PyTorch: that gap is most of
what keeps the one-thread targets of issue #6 missed. This script times that product three ways on one
thread: ``np.matmul`` (OpenBLAS), MKL's ``cblas_sgemm`` called through ctypes (as the engine would:
pointers taken once, outside the loop), and MKL's packed API (``cblas_sgemm_pack`` once, as the
weights do not change within a pass, then ``cblas_sgemm_compute`` per step: what oneDNN's RNN does).
It checks each result against NumPy's to float32 rounding.
"""

from __future__ import annotations

import argparse
import ctypes
import os
import sys
from functools import partial
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import best_microseconds  # noqa: E402  (benchmarks/timing.py)

SHAPES = [(64, 32), (64, 64), (128, 32), (128, 64), (256, 32), (256, 64)]  # (hidden, batch)
ROW_MAJOR, NO_TRANS, A_MATRIX, PACKED = 101, 111, 161, 151


def load_mkl(path: str | None) -> ctypes.CDLL:
    os.environ.setdefault("MKL_THREADING_LAYER", "SEQUENTIAL")
    candidates = [path] if path else [str(Path(sys.prefix) / "lib" / "libmkl_rt.so.3"), "libmkl_rt.so.3"]
    for candidate in candidates:
        try:
            mkl = ctypes.CDLL(candidate, mode=ctypes.RTLD_GLOBAL)
            break
        except OSError:
            continue
    else:
        sys.exit("libmkl_rt.so.3 not found: pip install mkl, or give --lib")
    f, i, p = ctypes.c_float, ctypes.c_int, ctypes.c_void_p
    mkl.cblas_sgemm.argtypes = [i, i, i, i, i, i, f, p, i, p, i, f, p, i]
    mkl.cblas_sgemm_pack_get_size.restype = ctypes.c_size_t
    mkl.cblas_sgemm_pack_get_size.argtypes = [i, i, i, i]
    mkl.cblas_sgemm_pack.argtypes = [i, i, i, i, i, i, f, p, i, p]
    mkl.cblas_sgemm_compute.argtypes = [i, i, i, i, i, i, p, i, p, i, f, p, i]
    return mkl


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lib", help="path of libmkl_rt.so.3 (default: the one pip installed here)")
    mkl = load_mkl(parser.parse_args().lib)
    rng = np.random.default_rng(0)
    print("hidden batch | OpenBLAS µs (GFLOP/s) | MKL sgemm µs (GFLOP/s) | MKL packed µs (GFLOP/s)")
    with threadpool_limits(1):
        for hidden, batch in SHAPES:
            m, k, n = 4 * hidden, hidden + 2, batch
            a = rng.standard_normal((m, k)).astype(np.float32)
            b = rng.standard_normal((k, n)).astype(np.float32)
            c = np.empty((m, n), np.float32)
            pa, pb, pc = a.ctypes.data, b.ctypes.data, c.ctypes.data
            size = mkl.cblas_sgemm_pack_get_size(A_MATRIX, m, n, k)
            raw = np.empty(size + 64, np.uint8)  # MKL wants its packed buffer 64-byte aligned
            packed = raw[(-raw.ctypes.data) % 64 :][:size].ctypes.data
            mkl.cblas_sgemm_pack(ROW_MAJOR, A_MATRIX, NO_TRANS, m, n, k, 1.0, pa, k, packed)
            runs = {
                "openblas": partial(np.matmul, a, b, c),
                "sgemm": partial(mkl.cblas_sgemm, ROW_MAJOR, NO_TRANS, NO_TRANS, m, n, k, 1.0, pa, k, pb, n, 0.0, pc, n),
                "packed": partial(mkl.cblas_sgemm_compute, ROW_MAJOR, PACKED, NO_TRANS, m, n, k, packed, k, pb, n, 0.0, pc, n),
            }  # fmt: skip
            cells = []
            for name, fn in runs.items():
                us = best_microseconds(fn)
                np.testing.assert_allclose(c, a @ b, rtol=1e-4, atol=1e-3, err_msg=name)
                cells.append(f"{us:8.1f} ({2.0 * m * n * k / us / 1e3:3.0f})")
            print(f"{hidden:6d} {batch:5d} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
