"""One LSTM layer run over a sequence: the equations, written once.

For each time step t, with x_t (N, D) the layer's input and h_{t-1}, c_{t-1} (N, H) its previous state::

    z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh      (N, 4H) pre-activations, stacked i | f | g | o
    i_t = σ(z_t[0H:1H])     input gate: how much of the new memory is written
    f_t = σ(z_t[1H:2H])     forget gate: how much of the old cell state is kept
    g_t = tanh(z_t[2H:3H])  candidate, the "new memory"
    o_t = σ(z_t[3H:4H])     output gate: how much of the memory is shown
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                   cell state: the long-term memory
    h_t = o_t ⊙ tanh(c_t)                             hidden state: what the step outputs

The gate order i, f, g, o is PyTorch's, so ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` and
``bias_hh`` (4H,) are exactly ``nn.LSTM``'s parameters.

How the arithmetic is laid out (for speed; the gradient checks guard every line of it):

- Each step does one matrix product: the input, the previous hidden state and a constant 1 sit side by
  side in a row ``xh_t = [x_t, h_{t-1}, 1]`` (N, D+H+1), multiplied by ``A.T`` where
  ``A = [W_ih | W_hh | b_ih + b_hh]`` (4H, D+H+1). With the few input features of a forecasting model a
  separate ``x @ W_ih`` for all steps would be a product with inner dimension 1, which is slow.
- σ(z) = ½ + ½·tanh(z/2), so all four gates come from ONE tanh over (N, 4H): the rows of ``A`` are
  pre-scaled by ``s`` (½ for i, f, o and 1 for g) and the result is mapped by ``u·s + (1-s)``.
- Every buffer is allocated once per batch shape (``LayerWorkspace``) and the per-step views are built
  once, so the loop does nothing but ufuncs with ``out=``.
- The backward pass precomputes, for all steps at once, every factor that does not depend on the
  recurrence, leaving five small element-wise products and one (N, 4H) x (4H, H) product per step.
  The weight gradient is one product after the loop: ``dA = dZ^T @ XH`` over all T·N rows.
"""

from __future__ import annotations

import numpy as np

GATES = ("i", "f", "g", "o")  # PyTorch's stacking order of the 4H gate rows
GATE_NAMES = {"i": "input", "f": "forget", "g": "candidate", "o": "output"}


def gate_scale(hidden: int, dtype: np.dtype) -> np.ndarray:
    """Per-row factor s (4H,): ½ for the sigmoid gates i, f, o and 1 for the tanh candidate g."""
    s = np.full((4, hidden), 0.5, dtype=dtype)
    s[2] = 1.0
    return s.reshape(4 * hidden)


class LayerWorkspace:
    """Preallocated buffers of one layer for one (T, N) shape, time-major.

    - xh: (T+1, N, D+H+1) rows ``[x_t, h_{t-1}, 1]``; step t writes h_t into ``xh[t+1, :, D:D+H]``,
      so ``xh[1:, :, D:D+H]`` is the layer's output sequence and ``xh[:T]`` the rows of the weight GEMM.
    - gates: (T, N, 4H) i, f, g, o after their nonlinearities.
    - c: (T+1, N, H) cell states, c[0] = c_0 = 0.
    - tanh_c: (T, N, H).
    """

    def __init__(self, steps: int, batch: int, inputs: int, hidden: int, dtype: np.dtype) -> None:
        T, N, D, H = steps, batch, inputs, hidden
        self.shape = (T, N, D, H)
        self.xh = np.zeros((T + 1, N, D + H + 1), dtype=dtype)
        self.xh[:, :, D + H] = 1.0  # the constant that multiplies the bias column of A
        self.gates = np.empty((T, N, 4 * H), dtype=dtype)
        self.c = np.zeros((T + 1, N, H), dtype=dtype)
        self.tanh_c = np.empty((T, N, H), dtype=dtype)
        self.scratch = np.empty((N, H), dtype=dtype)
        # Views built once: creating a view costs about as much as a small ufunc.
        self.x = self.xh[:T, :, :D]  # (T, N, D) where the layer's input is written
        self.h = self.xh[1:, :, D : D + H]  # (T, N, H) the layer's output sequence
        self.step_views = [
            (
                self.xh[t],
                self.gates[t],
                self.gates[t, :, 0:H],
                self.gates[t, :, H : 2 * H],
                self.gates[t, :, 2 * H : 3 * H],
                self.gates[t, :, 3 * H : 4 * H],
                self.c[t],
                self.c[t + 1],
                self.tanh_c[t],
                self.xh[t + 1, :, D : D + H],
            )
            for t in range(T)
        ]
        self._backward: LayerBackwardBuffers | None = None

    def backward_buffers(self) -> LayerBackwardBuffers:
        if self._backward is None:
            self._backward = LayerBackwardBuffers(self)
        return self._backward


class LayerBackwardBuffers:
    """Buffers for the backward pass of one layer, allocated on the first backward of a shape."""

    def __init__(self, ws: LayerWorkspace) -> None:
        T, N, D, H = ws.shape
        dtype = ws.gates.dtype
        self.dz = np.empty((T, N, 4, H), dtype=dtype)  # gradients w.r.t. the pre-activations z
        self.dz_flat = self.dz.reshape(T * N, 4 * H)
        self.p3 = np.empty((T, N, 3, H), dtype=dtype)  # dz_{i,f,g} = p3 * dc
        self.q = np.empty((T, N, H), dtype=dtype)  # dz_o = q * dh
        self.r = np.empty((T, N, H), dtype=dtype)  # dc += r * dh
        self.dh = np.empty((N, H), dtype=dtype)
        self.dc = np.empty((N, H), dtype=dtype)
        self.dc_next = np.empty((N, H), dtype=dtype)
        self.step_views = [
            (
                self.dz[t, :, 0:3, :],
                self.dz[t, :, 3, :],
                self.dz[t].reshape(N, 4 * H),
                self.p3[t],
                self.q[t],
                self.r[t],
            )
            for t in range(T)
        ]


def layer_forward(
    ws: LayerWorkspace, a_scaled_t: np.ndarray, scale: np.ndarray, one_minus_s: np.ndarray
) -> None:
    """Run one layer over all T steps; the input must already be in ``ws.x``.

    - a_scaled_t: (D+H+1, 4H), ``(s[:, None] * A).T`` with A = [W_ih | W_hh | b_ih + b_hh]
    - scale: (4H,) the gate factor s of ``gate_scale``; one_minus_s: (4H,) ``1 - s``

    Fills ``ws.gates``, ``ws.c``, ``ws.tanh_c`` and the hidden states ``ws.h`` (T, N, H). Initial state
    h_0 = c_0 = 0 (as ``nn.LSTM`` with no ``hx``).
    """
    mul, add, tanh, matmul = np.multiply, np.add, np.tanh, np.matmul
    scratch = ws.scratch
    for xh_t, gates_t, i, f, g, o, c_prev, c_t, tanh_c_t, h_t in ws.step_views:
        matmul(xh_t, a_scaled_t, out=gates_t)  # s ⊙ z_t
        tanh(gates_t, out=gates_t)
        mul(gates_t, scale, out=gates_t)
        add(gates_t, one_minus_s, out=gates_t)  # σ for i, f, o; tanh for g
        mul(f, c_prev, out=c_t)
        mul(i, g, out=scratch)
        add(c_t, scratch, out=c_t)  # c_t = f ⊙ c_{t-1} + i ⊙ g
        tanh(c_t, out=tanh_c_t)
        mul(o, tanh_c_t, out=h_t)  # h_t = o ⊙ tanh(c_t)


def layer_backward(
    ws: LayerWorkspace,
    weight_hh: np.ndarray,
    dh_last: np.ndarray | None,
    dh_seq: np.ndarray | None,
    grad_a: np.ndarray,
) -> LayerBackwardBuffers:
    """Backpropagate through time over one layer after ``layer_forward``.

    - weight_hh: (4H, H) the recurrent weights (dh_{t-1} = dz_t @ W_hh)
    - dh_last: (N, H) loss gradient w.r.t. the last hidden state h_T, or None
    - dh_seq: (T, N, H) loss gradient w.r.t. every h_t from the layer above, or None
    - grad_a: (4H, D+H+1) written with dL/dA = [dW_ih | dW_hh | db]; db is the gradient of b_ih and of
      b_hh alike

    Returns the buffers, whose ``dz`` (T, N, 4, H) the caller turns into the gradient of the layer's
    input (``dz @ W_ih``) when there is a layer below.
    """
    T, N, D, H = ws.shape
    bb = ws.backward_buffers()
    gates = ws.gates.reshape(T, N, 4, H)
    i, f, g, o = gates[:, :, 0], gates[:, :, 1], gates[:, :, 2], gates[:, :, 3]
    c_prev = ws.c[:T]

    # Everything that does not depend on the recurrence, for all steps at once.
    # dσ/dz = σ(1-σ) and dtanh/dz = 1 - tanh², so with dc the gradient reaching c_t:
    #   dz_i = dc·g·i(1-i),  dz_f = dc·c_{t-1}·f(1-f),  dz_g = dc·i·(1-g²),  dz_o = dh·tanh(c_t)·o(1-o)
    #   dc   = dc_{next}·f_{t+1} + dh·o·(1-tanh²(c_t))
    np.multiply(g, i * (1.0 - i), out=bb.p3[:, :, 0])
    np.multiply(c_prev, f * (1.0 - f), out=bb.p3[:, :, 1])
    np.multiply(i, 1.0 - g * g, out=bb.p3[:, :, 2])
    np.multiply(ws.tanh_c, o * (1.0 - o), out=bb.q)
    np.multiply(o, 1.0 - ws.tanh_c * ws.tanh_c, out=bb.r)

    mul, add, matmul = np.multiply, np.add, np.matmul
    dh, dc, dc_next = bb.dh, bb.dc, bb.dc_next
    forget = ws.gates[:, :, H : 2 * H]
    if dh_last is not None:
        dh[...] = dh_last
    else:
        dh.fill(0.0)
    if dh_seq is not None:
        add(dh, dh_seq[T - 1], out=dh)
    dc_next.fill(0.0)
    for t in range(T - 1, -1, -1):
        dz_ifg, dz_o, dz_t, p3, q, r = bb.step_views[t]
        mul(dh, r, out=dc)
        add(dc, dc_next, out=dc)  # dc_t
        mul(p3, dc[:, None, :], out=dz_ifg)
        mul(dh, q, out=dz_o)
        if t == 0:
            break  # h_0 and c_0 are constants: no gradient flows further back
        mul(dc, forget[t], out=dc_next)  # dc_{t-1} = dc_t ⊙ f_t
        matmul(dz_t, weight_hh, out=dh)  # dh_{t-1} from the recurrence
        if dh_seq is not None:
            add(dh, dh_seq[t - 1], out=dh)

    xh_rows = ws.xh[:T].reshape(T * N, D + H + 1)
    np.matmul(bb.dz_flat.T, xh_rows, out=grad_a)  # one GEMM for all the weight gradients
    return bb
