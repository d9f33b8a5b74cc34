"""The compiled loops (``lstmcli/engine/kernels.py``): their tanh, their GEMM binding, and their steps
against NumPy written out step by step, and the Adam update against its NumPy sequence."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from lstmcli.engine import kernels, layer, optim


def _ulp_error(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    exact = np.tanh(x.astype(np.float64))
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(values.astype(np.float64) - exact) / spacing


def test_float32_tanh_is_within_6_ulp_everywhere():
    x = np.concatenate([np.linspace(-20, 20, 400_001), np.geomspace(1e-38, 10, 20_000)]).astype(np.float32)
    x = np.concatenate([x, -x])
    out = np.empty_like(x)
    kernels.tanh_array(x, out)
    assert out.dtype == np.float32
    assert _ulp_error(out, x).max() <= 6.0
    assert (np.abs(out) <= 1.0).all()
    np.testing.assert_array_equal(np.sign(out), np.sign(x))  # odd, and exactly 0 at 0


def test_float32_tanh_keeps_nan_and_saturates_at_infinity():
    """A NaN must stay NaN (training detects divergence from it); ±inf gives ±1 to float32 rounding."""
    x = np.array([np.nan, np.inf, -np.inf, 1e30, -1e30], np.float32)
    out = np.empty_like(x)
    kernels.tanh_array(x, out)
    assert np.isnan(out[0])
    np.testing.assert_allclose(out[1:], [1, -1, 1, -1], atol=1.2e-7, rtol=0)


def test_float64_tanh_is_the_exact_one():
    x = np.linspace(-25, 25, 10_001)
    out = np.empty_like(x)
    kernels.tanh_array(x, out)
    np.testing.assert_allclose(out, np.tanh(x), rtol=1e-15, atol=1e-300)


@njit
def _product(transpose_a, m, n, k, a, lda, b, c):  # noqa: ANN001, ANN202
    kernels._gemm(transpose_a, m, n, k, a, lda, b, c)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transpose", [False, True])
def test_gemm_binding_matches_numpy(rng, dtype, transpose):
    """The loops' direct BLAS call on row-major views, with a leading dimension wider than k."""
    m, n, k = 7, 5, 6
    a = rng.normal(size=(k, m + 2) if transpose else (m, k + 3)).astype(dtype)
    b = rng.normal(size=(k + 1, n)).astype(dtype)  # only its first k rows are read
    c = np.full((m + 1, n), 99.0, dtype=dtype)  # only its first m rows are written
    _product(transpose, m, n, k, a, a.shape[1], b, c)
    expected = (a[:, :m].T if transpose else a[:, :k]) @ b[:k]
    np.testing.assert_allclose(c[:m], expected, rtol=1e-5 if dtype == np.float32 else 1e-13)
    assert (c[m] == 99.0).all()


def _forward_numpy(a_scaled: np.ndarray, x: np.ndarray, H: int) -> tuple[np.ndarray, np.ndarray]:
    """The layer's steps in float64 NumPy with the engine's conventions: (T, D, N) in, h and c out."""
    T, D, N = x.shape
    a = a_scaled.astype(np.float64)
    h, c = np.zeros((H, N)), np.zeros((H, N))
    hs, cs = [], []
    for t in range(T):
        z = a[:, : D + H] @ np.concatenate([x[t], h]) + a[:, D + H :]
        g = np.tanh(z[:H])
        i, f, o = (0.5 + 0.5 * np.tanh(z[k * H : (k + 1) * H]) for k in (1, 2, 3))
        c = f * c + i * g
        h = o * np.tanh(c)
        hs.append(h)
        cs.append(c)
    return np.array(hs), np.array(cs)


@pytest.mark.parametrize("keep", [True, False])
def test_float32_steps_follow_the_equations(rng, keep):
    """The compiled float32 loop against the equations in float64: the approximate tanh stays within
    float32 noise."""
    T, N, D, H = 9, 20, 2, 5
    x = rng.normal(size=(T, D, N))
    a_scaled = (rng.normal(size=(4 * H, D + H + 1)) * layer.gate_scale(H, np.float64)[:, None]).astype(
        np.float32
    )
    expected_h, expected_c = _forward_numpy(a_scaled, x.astype(np.float32), H)
    ws = layer.LayerWorkspace(T, N, D, H, np.dtype(np.float32), keep=keep)
    ws.x[...] = x
    layer.layer_forward(ws, a_scaled)
    np.testing.assert_allclose(ws.h, expected_h, atol=2e-6, rtol=0)
    if keep:
        np.testing.assert_allclose(ws.c[1:], expected_c, atol=2e-6, rtol=0)


def test_a_blas_without_a_64_bit_gemm_is_named_in_the_error(monkeypatch):
    """lstmcli needs NumPy's BLAS to export a 64-bit-integer CBLAS GEMM; if not, the error says which
    libraries were loaded instead of failing later in compiled code."""
    monkeypatch.setattr(kernels, "_GEMM_SYMBOLS", ("no_such_{}gemm_symbol",))
    with pytest.raises(kernels.BlasNotFoundError, match=r"64-bit-integer CBLAS.*BLAS libraries loaded: /"):
        kernels._find_gemm("s")


def test_float32_loops_do_no_float64_arithmetic():
    """float32 end to end: a Python float literal in a loop (``0.5 * x``) would silently widen every
    operation to float64. Compiled afresh (cached code cannot be inspected), the float32 loops' LLVM IR
    must hold no float64 operation and no widening."""
    options = {**kernels._JIT, "cache": False}
    forward = njit(**options)(kernels.forward_steps.py_func)
    backward = njit(**options)(kernels.backward_steps.py_func)
    f32 = np.float32
    a, xh, v = np.zeros((4, 3), f32), np.zeros((2, 3, 1), f32), np.zeros((2, 6, 1), f32)
    forward(a, xh, v, 1, 1)
    plane = np.zeros((1, 1), f32)
    backward(a[:, :1], v, np.zeros((1, 4, 1), f32), plane, plane.copy(), np.zeros((0, 0, 0), f32), 1)
    adam = njit(**{**kernels._JIT_EXACT, "cache": False})(kernels.adam_update.py_func)
    flat = np.zeros(4, f32)
    adam(flat, flat, flat, flat, np.ones(6, f32))
    for loop in (forward, backward, adam):
        (ir,) = loop.inspect_llvm().values()
        assert " float" in ir and "fpext" not in ir and "x double>" not in ir
        for op in ("fadd", "fsub", "fmul", "fdiv"):
            assert f"{op} double" not in ir and f"{op} contract double" not in ir, (loop, op)


def _numpy_adam(param, grad, m, v, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    """PyTorch's ``foreach=False`` Adam step, one NumPy operation at a time (the engine's former step)."""
    beta1, beta2 = betas
    m += (grad - m) * (1.0 - beta1)
    v *= beta2
    v += (grad * grad) * (1.0 - beta2)
    denom = np.sqrt(v) / math.sqrt(1.0 - beta2**t) + eps
    param += (m / denom) * (-lr / (1.0 - beta1**t))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_adam_equals_numpy_step_by_step(rng, dtype):
    """The one-pass update rounds every operation as the NumPy sequence does: same bits after several
    steps."""
    size = 4099  # not a whole number of vectors
    param = rng.normal(size=size).astype(dtype)
    expected, m, v = param.copy(), np.zeros(size, dtype), np.zeros(size, dtype)
    adam = optim.Adam(size, np.dtype(dtype), lr=1e-2)
    for t in range(1, 6):
        grad = (rng.normal(size=size) * 10.0 ** rng.integers(-6, 2, size)).astype(dtype)
        adam.step(param, grad)
        _numpy_adam(expected, grad, m, v, t, lr=1e-2)
    np.testing.assert_array_equal(param, expected)
    np.testing.assert_array_equal(adam.m, m)
    np.testing.assert_array_equal(adam.v, v)
