"""The compiled loops of an LSTM layer: every step of a pass in one call (Numba).

They are the optimised copy of ``engine.cell``'s ``step_forward`` and ``step_backward``, looped over
the steps in ``engine.layer``'s layout; tests/test_cell.py holds them equal.

Why compiled: NumPy pays a fixed cost of about 0.3 µs per call, and an LSTM step in NumPy is eight
calls forward and about six backward, each one more pass over the step's memory. That fixed cost was
2.5 µs per step at tiny sizes against torch's 0.3 µs (oneDNN runs the whole sequence in C++), and the
passes were 30-45 % of a step at hidden 128-256. Numba compiles the loops written here (the same
arrays, in the layout ``layer`` describes) to machine code, so that:

- a step is one call of the BLAS that NumPy itself uses (threadpoolctl's thread limits apply to it)
  and one fused element-wise pass over (H, N) whose values stay in registers, vectorised by LLVM;
- a whole pass (all T steps) is one call from Python.

The Adam update (``adam_update``) is compiled for the same reason: NumPy needs a dozen passes over
every parameter for it, the loop one.

Compiled machine code is cached next to this file (``cache=True``), so only the first run after an
install pays the compilation (about half a second per loop and dtype). Where that folder is read-only,
Numba uses the user's cache folder or ``NUMBA_CACHE_DIR``, and where none is writable ``jit_cache``
picks a private temporary folder, or compiles without a cache rather than failing.

tanh. A vectorised loop cannot call the C library's scalar ``tanhf``, so float32 uses a rational
approximation, ``x·P(x²)/Q(x²)`` on [-9, 9] (kept within [-1, 1]), fitted for this engine by
``benchmarks/derive_tanh.py``: within 6 ulp (3.1e-7) of the exact tanh, against NumPy's 1.4 ulp, far
below float32 training noise. float64 (gradient checks, ``--dtype float64``) uses the exact ``math.tanh``.
"""

from __future__ import annotations

import ctypes
import math

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from numba.extending import overload

from lstmcli.engine import jit_cache, threads
from lstmcli.errors import LstmcliError

# ---------------------------------------------------------------------------------------------- BLAS
# CBLAS constants (the C interface's enums).
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112

# Names under which a BLAS exports the 64-bit-integer CBLAS GEMM, by library: NumPy's own OpenBLAS
# (``scipy-openblas64``, PyPI wheels for Linux, Windows and Intel macOS), an ILP64 OpenBLAS, and Apple's
# Accelerate (NumPy's wheels for macOS 14+ on Apple silicon). ``{}`` is ``s`` or ``d``.
_GEMM_SYMBOLS = ("scipy_cblas_{}gemm64_", "cblas_{}gemm64_", "cblas_{}gemm$NEWLAPACK$ILP64")


class BlasNotFoundError(LstmcliError, ImportError):
    """NumPy's BLAS has no 64-bit-integer CBLAS GEMM that the compiled loops could call. Raised when
    this module is imported; a user can fix it (another NumPy), so the CLI prints it as one line."""


def _find_gemm(prefix: str) -> int:
    """Address of NumPy's BLAS GEMM for ``prefix`` ``s`` (float32) or ``d`` (float64)."""
    libraries = threads.blas_controller().lib_controllers
    for lib in libraries:
        dynlib = getattr(lib, "dynlib", None) or ctypes.CDLL(lib.filepath)
        for pattern in _GEMM_SYMBOLS:
            try:
                return ctypes.cast(getattr(dynlib, pattern.format(prefix)), ctypes.c_void_p).value
            except AttributeError:
                continue
    found = ", ".join(lib.filepath for lib in libraries) or "none"
    raise BlasNotFoundError(
        f"lstmcli needs NumPy built with a 64-bit-integer CBLAS (as NumPy's wheels from PyPI are); "
        f"BLAS libraries loaded: {found}"
    )


def _gemm_function(prefix: str, scalar: types.Type) -> types.ExternalFunction:
    """NumPy's BLAS GEMM as a function compiled code can call, ``cblas_?gemm`` with 64-bit integers.

    The compiled code refers to it by name, resolved when the code is loaded, so that the machine code
    can be cached (a ctypes function object in the code could not be)."""
    name = f"lstmcli_{prefix}gemm"
    llvm.add_symbol(name, _find_gemm(prefix))
    size, pointer, enum = types.int64, types.voidptr, types.intc
    return types.ExternalFunction(
        name,
        types.void(
            enum, enum, enum, size, size, size, scalar, pointer, size, pointer, size, scalar, pointer, size
        ),
    )


_sgemm = _gemm_function("s", types.float32)
_dgemm = _gemm_function("d", types.float64)


def _gemm(transpose_a, m, n, k, a, lda, b, c):  # noqa: ANN001, ANN202  (compiled through the overload)
    """``c[:m, :n] = op(a)[:m, :k] @ b[:k, :n]`` for row-major 2-D arrays; op(a) = aᵀ if transpose_a."""
    raise NotImplementedError("only callable from compiled code")


@overload(_gemm)
def _gemm_for(transpose_a, m, n, k, a, lda, b, c):  # noqa: ANN001, ANN202
    gemm = _sgemm if a.dtype == types.float32 else _dgemm
    one, zero = (np.float32(1.0), np.float32(0.0)) if a.dtype == types.float32 else (1.0, 0.0)

    def call(transpose_a, m, n, k, a, lda, b, c):  # noqa: ANN001, ANN202
        trans = _TRANS if transpose_a else _NO_TRANS
        gemm(
            _ROW_MAJOR,
            trans,
            _NO_TRANS,
            m,
            n,
            k,
            one,
            a.ctypes,
            lda,
            b.ctypes,
            b.strides[0] // b.itemsize,
            zero,
            c.ctypes,
            c.strides[0] // c.itemsize,
        )

    return call


# ---------------------------------------------------------------------------------------------- tanh
# tanh(x) = x·P(x²)/Q(x²) on [-9, 9] (float32 rounds tanh to ±1 beyond 9.01); see benchmarks/derive_tanh.py.
_TANH_CLAMP = np.float32(9.0)
_ONE = np.float32(1.0)
_P = [np.float32(p) for p in (
    0.999999993397094, 0.13084009629484972, 0.003103955646729604, 1.1154301122123683e-05,
    -2.022518916438115e-08, 5.2779265271803975e-11, -8.488643175700151e-14,
)]  # fmt: skip
_Q = [np.float32(q) for q in (1.0, 0.4641733673342032, 0.024495176250254495, 0.00025461443236716167)]
_P0, _P1, _P2, _P3, _P4, _P5, _P6 = _P
_Q0, _Q1, _Q2, _Q3 = _Q


def tanh(x):  # noqa: ANN001, ANN201  (compiled through the overload; float in, float out)
    """The engine's tanh of one number: the rational approximation for float32, exact for float64."""
    return np.tanh(x)  # what the compiled float32 version approximates (for calls from Python)


@overload(tanh, jit_options={"fastmath": {"contract"}, "error_model": "numpy"})
def _tanh_for(x):  # noqa: ANN001, ANN202
    if x == types.float32:

        def rational(x):  # noqa: ANN001, ANN202
            x = min(max(x, -_TANH_CLAMP), _TANH_CLAMP)
            u = x * x
            p = (((((_P6 * u + _P5) * u + _P4) * u + _P3) * u + _P2) * u + _P1) * u + _P0
            q = ((_Q3 * u + _Q2) * u + _Q1) * u + _Q0
            return min(max(x * p / q, -_ONE), _ONE)  # the fit overshoots 1 by an ulp near the clamp

        return rational
    return lambda x: math.tanh(x)


_CACHE = jit_cache.cache_enabled()  # before the first compiled function below


@njit(cache=_CACHE, fastmath={"contract"}, error_model="numpy")
def tanh_array(x: np.ndarray, out: np.ndarray) -> None:
    """``out = tanh(x)`` element-wise (1-D), as the loops compute it (for tests and the tanh fit)."""
    for n in range(x.shape[0]):
        out[n] = tanh(x[n])


# ---------------------------------------------------------------------------------------------- loops
_JIT = {
    "cache": _CACHE,
    "nogil": True,  # a pass releases the GIL: a caller's other threads (a Dask worker's) keep running
    "fastmath": {"contract"},
    "error_model": "numpy",
    "boundscheck": False,
}
# Without fused multiply-add: the loops whose results must equal, bit for bit, a sequence of NumPy calls.
_JIT_EXACT = {**_JIT, "fastmath": False}


@njit(**_JIT)
def forward_steps(a_scaled, xh, v, inputs, hidden):  # noqa: ANN001, ANN201
    """Every step of ``layer.layer_forward`` (see its layout), in place.

    - a_scaled: (4H, D+H+1) scaled weights in the loops' gate order g | i | f | o; its last column is
      the bias, added in the element-wise pass (so the product's inner dimension is D+H)
    - xh: (T+1, D+H+1, N) product inputs; step t reads ``xh[t]`` and writes h_t into ``xh[t+1, D:D+H]``
    - v: (rows, 6H, N) step values ``[g, i, f, o, tanh(c_t), c_{t-1}]`` of step t in row ``t % rows``;
      c_t goes into the last block of the next row
    """
    D, H = inputs, hidden
    K = D + H
    rows = v.shape[0]
    N = xh.shape[2]
    half = v.dtype.type(0.5)
    for t in range(xh.shape[0] - 1):
        vt, nxt, h_next = v[t % rows], v[(t + 1) % rows], xh[t + 1]
        _gemm(False, 4 * H, N, K, a_scaled, a_scaled.shape[1], xh[t], vt)  # s ⊙ z_t without the bias
        for j in range(H):  # the element-wise pass, over the product in place
            bg, bi, bf, bo = (
                a_scaled[j, K],
                a_scaled[H + j, K],
                a_scaled[2 * H + j, K],
                a_scaled[3 * H + j, K],
            )
            g_row, i_row, f_row, o_row = vt[j], vt[H + j], vt[2 * H + j], vt[3 * H + j]
            tanh_c_row, c_prev_row, c_row, h_row = vt[4 * H + j], vt[5 * H + j], nxt[5 * H + j], h_next[D + j]
            for n in range(N):
                g = tanh(g_row[n] + bg)
                i = half + half * tanh(i_row[n] + bi)  # σ(z) = ½ + ½ tanh(z/2); the rows hold z/2
                f = half + half * tanh(f_row[n] + bf)
                o = half + half * tanh(o_row[n] + bo)
                c = f * c_prev_row[n] + i * g
                tanh_c = tanh(c)
                g_row[n], i_row[n], f_row[n], o_row[n] = g, i, f, o
                tanh_c_row[n], c_row[n] = tanh_c, c
                h_row[n] = o * tanh_c


@njit(**_JIT)
def backward_steps(weight_hh, v, dz, dh, dc_next, dh_seq, hidden):  # noqa: ANN001, ANN201
    """Backpropagation through time over every step of ``layer.layer_backward``, from the last.

    - weight_hh: (4H, H) W_hh with its rows in the loops' gate order
    - v: (T+1, 6H, N) the forward pass's step values
    - dz: (T, 4H, N) written with ``[dz_g, dz_i, dz_f, dz_o]`` of each step
    - dh: (H, N) on entry, the gradient reaching h_T (from the head, or zeros); each step replaces it by
      the one reaching h_{t-1} via W_hh
    - dc_next: (H, N) zeros on entry; then dc_t ⊙ f_t, carried to the step before
    - dh_seq: (H, T, N) gradient reaching every h_t from the layer above (as the input-gradient product
      leaves it: each unit's row of a step is contiguous, so the add is vectorised), or an empty
      (0, 0, 0) array
    """
    H = hidden
    N = dz.shape[2]
    one = v.dtype.type(1.0)
    for t in range(dz.shape[0] - 1, -1, -1):
        vt, dzt = v[t], dz[t]
        if dh_seq.shape[0] > 0:
            for j in range(H):
                dh_row, seq_row = dh[j], dh_seq[j, t]
                for n in range(N):
                    dh_row[n] += seq_row[n]
        for j in range(H):
            g_row, i_row, f_row, o_row = vt[j], vt[H + j], vt[2 * H + j], vt[3 * H + j]
            tanh_c_row, c_prev_row = vt[4 * H + j], vt[5 * H + j]
            dzg, dzi, dzf, dzo = dzt[j], dzt[H + j], dzt[2 * H + j], dzt[3 * H + j]
            dh_row, dc_next_row = dh[j], dc_next[j]
            for n in range(N):
                g, i, f, o, tanh_c = g_row[n], i_row[n], f_row[n], o_row[n], tanh_c_row[n]
                d = dh_row[n]
                dzo[n] = d * tanh_c * o * (one - o)
                dc = d * o * (one - tanh_c * tanh_c) + dc_next_row[n]
                dzg[n] = dc * i * (one - g * g)
                dzi[n] = dc * g * i * (one - i)
                dzf[n] = dc * c_prev_row[n] * f * (one - f)
                dc_next_row[n] = dc * f  # reaches c_{t-1} through the forget gate
        if t > 0:  # h_0 is a constant: no gradient flows further back
            _gemm(True, H, N, 4 * H, weight_hh, H, dzt, dh)  # dh_{t-1} = W_hhᵀ dz_t


# ---------------------------------------------------------------------------------------------- Adam
@njit(**_JIT_EXACT)
def adam_update(param, grad, m, v, scalars):  # noqa: ANN001, ANN201
    """One Adam step (``optim.Adam.step``) over every element, in one pass.

    ``scalars`` (dtype of the arrays): 1-β1, β2, 1-β2, sqrt(1-β2^t), ε, -lr/(1-β1^t). Each operation is
    rounded as PyTorch's ``foreach=False`` step rounds it (no ``fastmath``: no fused multiply-add), so
    the result is the same, bit for bit, as those operations one array at a time.
    """
    one_minus_beta1, beta2, one_minus_beta2, correction2_sqrt, eps, neg_step = (
        scalars[0], scalars[1], scalars[2], scalars[3], scalars[4], scalars[5],
    )  # fmt: skip
    for k in range(param.shape[0]):
        g = grad[k]
        m_k = m[k] + (g - m[k]) * one_minus_beta1  # m.lerp_(g, 1-β1)
        v_k = v[k] * beta2 + (g * g) * one_minus_beta2  # v.mul_(β2).addcmul_(g, g, 1-β2)
        m[k] = m_k
        v[k] = v_k
        denom = math.sqrt(v_k) / correction2_sqrt + eps
        param[k] += (m_k / denom) * neg_step


jit_cache.quick_cache_loads(tanh_array, forward_steps, backward_steps, adam_update)


LOOPS = ("forward", "adam", "backward")  # the float32 loops a training run calls, by name


def warm_up(loops: tuple[str, ...] = LOOPS) -> None:
    """Load (or compile) the float32 ``loops`` now rather than at the first pass: a process that forks
    workers (``forecasting.members``) does it once, and every worker starts with the machine code.
    The arrays have the layouts of the engine's calls (each layout is compiled on its own): all
    C-contiguous."""
    T, N, D, H = 2, 2, 1, 2  # not 1: NumPy calls an array with a single element contiguous either way
    v = np.zeros((T + 1, 6 * H, N), np.float32)
    if "forward" in loops:
        a = np.zeros((4 * H, D + H + 1), np.float32)
        xh = np.zeros((T + 1, D + H + 1, N), np.float32)
        forward_steps(a, xh, v, D, H)
    if "adam" in loops:
        flat = np.zeros(4, np.float32)
        adam_update(flat, flat, flat, flat, np.ones(6, np.float32))
    if "backward" in loops:
        weight_hh, dz = np.zeros((4 * H, H), np.float32), np.zeros((T, 4 * H, N), np.float32)
        for dh_seq in (np.zeros((0, 0, 0), np.float32), np.zeros((H, T, N), np.float32)):  # from above or not
            plane = np.zeros((H, N), np.float32)
            backward_steps(weight_hh, v, dz, plane, plane.copy(), dh_seq, H)
