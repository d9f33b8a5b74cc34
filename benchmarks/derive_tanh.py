"""Derive the float32 tanh of the compiled loops (``lstmcli/engine/kernels.py``) and measure its error.

    PYTHONPATH=. python benchmarks/derive_tanh.py

A vectorised loop cannot call the C library's scalar ``tanhf`` (Numba without Intel's SVML has no
vector tanh), so the loops use tanh(x) ≈ x·P(x²)/Q(x²) with P of degree 6 and Q of degree 3 in x²,
clamped to [-9, 9] (beyond 9.01 float32 rounds tanh to ±1). The coefficients come from a weighted
linear least-squares fit of x·P - tanh·Q = 0 (Q's constant term fixed to 1), re-weighted by each
point's error (Lawson's iteration) towards the smallest maximum relative error, in float64 on the
variable (x/9)², which keeps the powers well scaled. It prints the coefficients, the fit's error in
float64, and the error in ulp of the compiled float32 function next to NumPy's own float32 tanh.
It prints only; the coefficients in kernels.py were pasted from its output.
"""

from __future__ import annotations

import numpy as np

CLAMP = 9.0
P_TERMS, Q_TERMS = 7, 4  # x·(p0 + p1 u + ... + p6 u^6) / (1 + q1 u + q2 u^2 + q3 u^3), u = x²
ITERATIONS = 200


def fit() -> tuple[np.ndarray, np.ndarray, float]:
    x = np.concatenate([np.geomspace(1e-4, 1.0, 3000), np.linspace(1.0, CLAMP, 12000)])
    t = np.tanh(x)
    s = (x / CLAMP) ** 2
    q_prev = np.ones_like(x)
    weight = np.ones_like(x)
    best: tuple[float, np.ndarray, np.ndarray] | None = None
    for _ in range(ITERATIONS):
        # Linearised: x·P(s) - t·Q(s) = 0, divided by t·Q_prev(s) so that residuals are relative errors.
        columns = [x * s**k for k in range(P_TERMS)] + [-t * s**k for k in range(1, Q_TERMS)]
        scale = weight / (t * q_prev)
        coef, *_ = np.linalg.lstsq(np.stack(columns, 1) * scale[:, None], t * scale, rcond=None)
        p, q = coef[:P_TERMS], np.concatenate([[1.0], coef[P_TERMS:]])
        q_prev = np.polyval(q[::-1], s)
        error = (x * np.polyval(p[::-1], s) / q_prev - t) / t
        worst = float(np.abs(error).max())
        if best is None or worst < best[0]:
            best = (worst, p.copy(), q.copy())
        weight = weight * (1.0 + np.abs(error) / worst)
        weight /= weight.mean()
    assert best is not None
    worst, p, q = best
    # back from s = (x/9)² to u = x²
    return p / CLAMP ** (2 * np.arange(P_TERMS)), q / CLAMP ** (2 * np.arange(Q_TERMS)), worst


def ulp_error(values: np.ndarray, x: np.ndarray) -> np.ndarray:
    exact = np.tanh(x.astype(np.float64))
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(values.astype(np.float64) - exact) / spacing


def main() -> None:
    p, q, worst = fit()
    print(f"P (coefficients of u^0..u^{P_TERMS - 1}, u = x²): {[float(c) for c in p]}")
    print(f"Q (coefficients of u^0..u^{Q_TERMS - 1}): {[float(c) for c in q]}")
    print(f"maximum relative error of the fit in float64 on [0, {CLAMP}]: {worst:.2e}")

    from lstmcli.engine import kernels  # the compiled function, with the coefficients it really has

    x = np.concatenate([np.linspace(-12, 12, 4_000_001), np.geomspace(1e-30, 1, 100_000)]).astype(np.float32)
    compiled = np.empty_like(x)
    kernels.tanh_array(x, compiled)
    for name, values in (("lstmcli (compiled loops)", compiled), ("NumPy np.tanh", np.tanh(x))):
        ulp = ulp_error(values, x)
        print(
            f"{name}: float32 error {ulp.max():.2f} ulp at most, {ulp.mean():.2f} on average; "
            f"largest absolute error {np.abs(values - np.tanh(x.astype(np.float64))).max():.1e}"
        )


if __name__ == "__main__":
    main()
