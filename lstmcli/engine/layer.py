"""One LSTM layer over a whole sequence, as the network runs it: ``engine.cell``'s equations in the
layout of the compiled loops (``engine.kernels``).

Same numbers as looping ``cell.step_forward`` / ``cell.step_backward`` over the steps (tests/test_cell.py),
laid out for speed:

- Every per-step array is feature-major, (features, N), so a block of H features is one contiguous run
  of H·N numbers and the element-wise pass runs along N in SIMD registers.
- Each step does one matrix product, ``z_t = A @ [x_t; h_{t-1}]`` with ``A = [W_ih | W_hh]`` (4H, D+H);
  the bias ``b_ih + b_hh`` is added in the element-wise pass. (With the one or few inputs of a
  forecasting model, a separate ``W_ih @ x`` for all steps would be a product with inner dimension 1,
  which is slow.) The product's inputs sit in ``xh_t = [x_t; h_{t-1}; 1]`` (D+H+1, N); the constant row
  makes the weight gradient one product after the loop: ``[dW_ih | dW_hh | db] = dZ @ XHᵀ``.
- The gates are stacked g | i | f | o (sigmoid gates together; the weights are permuted when ``A`` is
  built) and σ(z) = ½ + ½·tanh(z/2): the sigmoid rows of ``A`` are pre-scaled by ½, so every gate is one
  tanh.
- A step's values sit side by side as ``v_t = [g, i, f, o, tanh(c_t), c_{t-1}]`` (6H, N); the backward
  pass reads them back.
- Buffers are allocated once per batch shape (``LayerWorkspace``); the network keeps a few shapes.

The forward pass has two implementations over the same buffers: the compiled loop (training, validation,
global panels) and ``numpy_forward_steps``, the same equations one NumPy call per gate block and step,
used by the forecasts and traces of one series' model (``LSTMNetwork.predict(compiled=False)``). That pass
is small (one window, a few hundred steps in all), so it costs about as much as loading the compiled
loop would, and it needs neither Numba nor its cache: a first ``predict`` or ``inspect`` compiles
nothing. The two agree to float32 rounding, not bit for bit (the compiled loop fuses multiply-adds
and uses its own float32 tanh; NumPy rounds every operation and uses ``np.tanh``).
"""

from __future__ import annotations

import numpy as np

from lstmcli.engine.cell import GATES

SLOTS = ("g", "i", "f", "o")  # the compiled loops' gate order (see the module docstring)


def gate_rows(hidden: int) -> np.ndarray:
    """(4H,) indices: row k of the loops' gate stack is row ``gate_rows(H)[k]`` of PyTorch's."""
    return np.concatenate([np.arange(GATES.index(g) * hidden, (GATES.index(g) + 1) * hidden) for g in SLOTS])


def gate_scale(hidden: int, dtype: np.dtype) -> np.ndarray:
    """Per-row factor s (4H,) in the loops' order: 1 for the candidate g, ½ for the sigmoid gates."""
    s = np.full((4, hidden), 0.5, dtype=dtype)
    s[SLOTS.index("g")] = 1.0
    return s.reshape(4 * hidden)


class LayerWorkspace:
    """Preallocated buffers of one layer for one (T, N) shape; time first, then features, then batch.

    - xh: (T+1, D+H+1, N) columns ``[x_t; h_{t-1}; 1]``; step t writes h_t into ``xh[t+1, D:D+H]``, so
      ``h = xh[1:, D:D+H]`` (T, H, N) is the layer's output sequence and ``x = xh[:T, :D]`` its input.
    - v: (T+1, 6H, N) rows ``[g, i, f, o, tanh(c_t), c_{t-1}]`` of step t; step t writes c_t into the
      last block of row t+1 (row 0 holds c_0 = 0). ``c = v[:, 5H:]`` (T+1, H, N) with c[t+1] the cell
      state after step t.

    With ``keep=False`` (inference: nothing is needed after the pass but h) ``v`` has only two rows,
    used in turn, so its working set stays in cache however long the sequence.
    """

    def __init__(
        self, steps: int, batch: int, inputs: int, hidden: int, dtype: np.dtype, keep: bool = True
    ) -> None:
        T, N, D, H = steps, batch, inputs, hidden
        self.shape = (T, N, D, H)
        self.keep = keep
        self.xh = np.zeros((T + 1, D + H + 1, N), dtype=dtype)
        self.xh[:, D + H] = 1.0  # the constant that multiplies the bias column of A
        self.v = np.zeros((T + 1 if keep else 2, 6 * H, N), dtype=dtype)
        self.c = self.v[:, 5 * H :]
        self.x = self.xh[:T, :D]
        self.h = self.xh[1:, D : D + H]
        self._backward: BackwardBuffers | None = None

    def gate(self, name: str) -> np.ndarray:
        """(T, H, N) view of one gate's values over all steps (``keep=True`` only)."""
        T, N, D, H = self.shape
        k = SLOTS.index(name)
        return self.v[:T, k * H : (k + 1) * H]

    def backward_buffers(self) -> BackwardBuffers:
        if self._backward is None:
            self._backward = BackwardBuffers(self.shape, self.v.dtype)
        return self._backward


class BackwardBuffers:
    """Buffers of the backward pass of one layer, allocated on its first backward.

    - dz: (T, 4H, N) rows ``[dz_g, dz_i, dz_f, dz_o]``, the gradient of each step's pre-activations
    - dh, dc_next: (H, N) the gradient reaching h_{t-1}, and dc_t ⊙ f_t, carried from step to step
    - dz_cols (4H, T, N) and xh_rows (T, N, D+H+1): the weight-gradient product's operands, dz in
      PyTorch's gate order and xh transposed (the fastest orientation for OpenBLAS at these sizes)
    """

    def __init__(self, shape: tuple[int, int, int, int], dtype: np.dtype) -> None:
        T, N, D, H = shape
        self.dz = np.empty((T, 4 * H, N), dtype=dtype)
        self.dh = np.empty((H, N), dtype=dtype)
        self.dc_next = np.empty((H, N), dtype=dtype)
        self.weight_hh = np.empty((4 * H, H), dtype=dtype)  # W_hh with its rows in the loops' order
        self.no_sequence = np.empty((0, 0, 0), dtype=dtype)  # the loop's "no gradient from above"
        self.dz_cols = np.empty((4 * H, T, N), dtype=dtype)
        self.xh_rows = np.empty((T, N, D + H + 1), dtype=dtype)


def layer_forward(ws: LayerWorkspace, a_scaled: np.ndarray, compiled: bool = True) -> None:
    """Run one layer over all T steps; the input must already be in ``ws.x``.

    - a_scaled: (4H, D+H+1), ``s[:, None] * A[gate_rows(H)]`` with A = [W_ih | W_hh | b_ih + b_hh] and s
      the ``gate_scale``; C-contiguous

    Fills ``ws.v`` (gates, tanh(c), c) and the hidden states ``ws.h`` (T, H, N). Initial state
    h_0 = c_0 = 0 (as ``nn.LSTM`` with no ``hx``). ``compiled=False``: ``numpy_forward_steps`` instead of
    the compiled loop (see the module docstring); Numba is imported only by the compiled path.
    """
    T, N, D, H = ws.shape
    ws.c[0].fill(0.0)  # c_0 (rows are reused when the workspace does not keep every step)
    if compiled:
        from lstmcli.engine import kernels

        kernels.forward_steps(a_scaled, ws.xh, ws.v, D, H)
    else:
        numpy_forward_steps(a_scaled, ws.xh, ws.v, D, H)


def numpy_forward_steps(
    a_scaled: np.ndarray, xh: np.ndarray, v: np.ndarray, inputs: int, hidden: int
) -> None:
    """``kernels.forward_steps`` in NumPy, same arguments and layout: per step one product and a
    dozen calls over the step's (4H, N) values. About 10 µs a step at hidden 32 and one window, against
    about 1 µs compiled: for the few hundred steps of one series' forecast, far less than importing
    Numba and loading its cache (about 0.2 s), and no compile on a first run."""
    D, H = inputs, hidden
    K = D + H
    rows = v.shape[0]
    weights, bias = a_scaled[:, :K], a_scaled[:, K : K + 1]
    for t in range(xh.shape[0] - 1):
        vt, nxt = v[t % rows], v[(t + 1) % rows]
        gates = vt[: 4 * H]  # g | i | f | o, as the compiled loop stores them
        np.matmul(weights, xh[t, :K], out=gates)  # s ⊙ z_t without the bias
        np.add(gates, bias, out=gates)
        np.tanh(gates, out=gates)
        sigmoid = vt[H : 4 * H]  # σ(z) = ½ + ½ tanh(z/2); the rows hold z/2
        np.multiply(sigmoid, 0.5, out=sigmoid)
        np.add(sigmoid, 0.5, out=sigmoid)
        g, i, f, o = vt[:H], vt[H : 2 * H], vt[2 * H : 3 * H], vt[3 * H : 4 * H]
        tanh_c, c_prev, c = vt[4 * H : 5 * H], vt[5 * H :], nxt[5 * H :]
        np.multiply(i, g, out=tanh_c)  # i ⊙ g, parked where tanh(c_t) goes
        np.multiply(f, c_prev, out=c)  # c_t = f ⊙ c_{t-1} + i ⊙ g
        np.add(c, tanh_c, out=c)
        np.tanh(c, out=tanh_c)
        np.multiply(o, tanh_c, out=xh[t + 1, D:K])  # h_t


def layer_backward(
    ws: LayerWorkspace,
    block: np.ndarray,
    dh_last: np.ndarray | None,
    dh_seq: np.ndarray | None,
    grad_block: np.ndarray,
) -> np.ndarray:
    """Backpropagate through time over one layer after ``layer_forward`` (``keep=True``).

    - block: (4H, D+H+1) the layer's weights ``[W_ih | W_hh | b_ih]`` in PyTorch's order
    - dh_last: (H, N) loss gradient w.r.t. the last hidden state h_T, or None
    - dh_seq: (H, T, N) loss gradient w.r.t. every h_t from the layer above, or None
    - grad_block: (4H, D+H+1) written with dL/dA = [dW_ih | dW_hh | db]; db is the gradient of b_ih and
      of b_hh alike

    Returns dz (4H, T·N) in PyTorch's gate order, from which the caller computes the gradient of the
    layer's input (``W_ihᵀ @ dz``) when there is a layer below.
    """
    T, N, D, H = ws.shape
    bb = ws.backward_buffers()
    np.take(block[:, D : D + H], gate_rows(H), axis=0, out=bb.weight_hh, mode="clip")
    if dh_last is not None:
        bb.dh[...] = dh_last
    else:
        bb.dh.fill(0.0)
    bb.dc_next.fill(0.0)
    sequence = bb.no_sequence if dh_seq is None else dh_seq
    from lstmcli.engine import kernels

    kernels.backward_steps(bb.weight_hh, ws.v, bb.dz, bb.dh, bb.dc_next, sequence, H)
    # The weight gradient: one product over every step and column.
    dz = bb.dz.reshape(T, 4, H, N)
    dz_cols = bb.dz_cols.reshape(4, H, T, N)
    for k, name in enumerate(SLOTS):
        np.copyto(dz_cols[GATES.index(name)], dz[:, k].transpose(1, 0, 2))
    np.copyto(bb.xh_rows, ws.xh[:T].transpose(0, 2, 1))
    dz_matrix = bb.dz_cols.reshape(4 * H, T * N)
    np.matmul(dz_matrix, bb.xh_rows.reshape(T * N, D + H + 1), out=grad_block)
    return dz_matrix
