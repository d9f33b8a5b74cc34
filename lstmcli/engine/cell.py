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

Backpropagation through time, with dh_t the loss gradient reaching h_t (through h_{t+1} and from the
layer above) and dc_t the one reaching c_t::

    dc_t = dh_t ⊙ o_t ⊙ (1 - tanh²(c_t)) + dc_{t+1} ⊙ f_{t+1}
    dz_i = dc_t ⊙ g_t ⊙ i_t(1 - i_t)           dz_f = dc_t ⊙ c_{t-1} ⊙ f_t(1 - f_t)
    dz_g = dc_t ⊙ i_t ⊙ (1 - g_t²)             dz_o = dh_t ⊙ tanh(c_t) ⊙ o_t(1 - o_t)
    dh_{t-1} += dz_t W_hh;    [dW_ih | dW_hh | db] = Σ_t dz_tᵀ [x_t | h_{t-1} | 1]

How the arithmetic is laid out. NumPy pays a fixed cost per call (about half a microsecond) and another
per contiguous run of memory it walks, so the loop makes few calls, each over contiguous blocks:

- Inside the engine every per-step array is feature-major, (features, N): a block of H features is
  then one contiguous run of H·N numbers, however small H is. Each step does one matrix product,
  ``z_t = A @ xh_t`` with ``xh_t = [x_t; h_{t-1}; 1]`` (D+H+1, N) and ``A = [W_ih | W_hh | b_ih + b_hh]``
  (4H, D+H+1). With the few input features of a forecasting model a separate ``W_ih @ x`` for all steps
  would be a product with inner dimension 1, which is slow. (Layers whose D+H+1 is large add the bias
  after the product instead, so that the product gives the same bits on any number of threads: see
  ``SEPARATE_BIAS_ABOVE``.)
- Internally the gates are stacked g | i | f | o (the weights are permuted when ``A`` is built), so the
  three sigmoid gates are one contiguous block. σ(z) = ½ + ½·tanh(z/2): the sigmoid rows of ``A`` are
  pre-scaled by ½, one tanh covers all four gates, and the sigmoid block is then mapped by ``½u + ½``.
- A step's values sit side by side as ``v_t = [g, i, f, o, tanh(c_t), c_{t-1}]`` (6H, N), so one call
  forms both products of the cell update (i ⊙ g and f ⊙ c_{t-1}, through strided views), and in the
  backward pass two calls give every factor that does not depend on the recurrence.
- Every buffer is allocated once per batch shape (``LayerWorkspace``) and the per-step views are built
  once, so the loop does nothing but ufuncs with ``out=``.
- The backward pass computes those factors for a chunk of steps at a time (``p`` below), leaving four
  element-wise calls and one (H, 4H) x (4H, N) product per step. A chunk is as many steps as fit in
  about half of a core's L2 cache: all steps at once for small models (fewest calls), one at a time
  for large ones (the factors are used while still cached). The weight gradient is one product after
  the loop, ``dA = dZ @ XHᵀ`` over all T·N columns.
- Threads (``engine.threads``): each loop runs inside ``threads.step_products``, which keeps its
  products on one thread unless they are large (hidden 128 and up) and more threads measure faster,
  and moves the rest of a pass back to one thread when it falls behind (a busy core). A large batch
  may instead run as column parts, each loop in its own Python thread on one BLAS thread
  (``one_thread``; see ``network._BatchSplit``), with ``GradientOperands`` gathering the parts'
  columns for the weight-gradient GEMM.
"""

from __future__ import annotations

import numpy as np

from lstmcli.engine import threads

GATES = ("i", "f", "g", "o")  # PyTorch's stacking order of the 4H gate rows
GATE_NAMES = {"i": "input", "f": "forget", "g": "candidate", "o": "output"}
SLOTS = ("g", "i", "f", "o")  # the engine's own order (sigmoid gates together), see the docstring

# Bytes of backward factors and gradients worked on per chunk of steps (see the module docstring).
_CHUNK_BYTES = 1 << 20


def gate_rows(hidden: int) -> np.ndarray:
    """(4H,) indices: row k of the engine's gate stack is row ``gate_rows(H)[k]`` of PyTorch's."""
    return np.concatenate([np.arange(GATES.index(g) * hidden, (GATES.index(g) + 1) * hidden) for g in SLOTS])


def gate_scale(hidden: int, dtype: np.dtype) -> np.ndarray:
    """Per-row factor s (4H,) in the engine's order: 1 for the candidate g, ½ for the sigmoid gates."""
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
        rows = T + 1 if keep else 2
        self.v = np.zeros((rows, 6 * H, N), dtype=dtype)
        self.c = self.v[:, 5 * H :]
        self.products = np.empty((2, H, N), dtype=dtype)  # i ⊙ g and f ⊙ c_{t-1}
        # Views built once: creating a view costs about as much as a small ufunc.
        self.x = self.xh[:T, :D]
        self.h = self.xh[1:, D : D + H]
        blocks = self.v.reshape(rows, 6, H, N)
        self.step_views = [
            (
                self.xh[t],
                self.v[r, : 4 * H],  # z_t, then the gates
                self.v[r, H : 4 * H],  # i, f, o
                blocks[r, 1:3],  # i, f
                blocks[r, 0::5],  # g, c_{t-1}: one call gives i ⊙ g and f ⊙ c_{t-1}
                blocks[(t + 1) % rows, 5],  # c_t
                blocks[r, 4],  # tanh(c_t)
                blocks[r, 3],  # o
                self.xh[t + 1, D : D + H],  # h_t
            )
            for t, r in ((t, t % rows) for t in range(T))
        ]
        self._backward: LayerBackwardBuffers | None = None
        self._operands: GradientOperands | None = None

    def gate(self, name: str) -> np.ndarray:
        """(T, H, N) view of one gate's values over all steps (``keep=True`` only)."""
        T, N, D, H = self.shape
        k = SLOTS.index(name)
        return self.v[:T, k * H : (k + 1) * H]

    def backward_buffers(self) -> LayerBackwardBuffers:
        if self._backward is None:
            self._backward = LayerBackwardBuffers(self)
        return self._backward

    def gradient_operands(self) -> GradientOperands:
        if self._operands is None:
            T, N, D, H = self.shape
            self._operands = GradientOperands(T, N, D, H, self.v.dtype)
        return self._operands


class LayerBackwardBuffers:
    """Buffers for the backward pass of one layer, allocated on the first backward of a shape.

    - dz: (T, 5H, N) rows ``[dz_g, dz_i, dz_f, dz_o, dc_t]``: dc_t sits next to dz_o so that one call
      gives dz_o = dh ⊙ p_o and dh ⊙ r, the first term of dc_t.
    - p: (chunk, 5H, N) factors ``[p_g, p_i, p_f, p_o, r]`` of the current chunk of steps, with
      dz_{g,i,f} = dc ⊙ p_{g,i,f}, dz_o = dh ⊙ p_o and r = o ⊙ (1 - tanh²(c)).
    """

    def __init__(self, ws: LayerWorkspace) -> None:
        T, N, D, H = ws.shape
        dtype = ws.v.dtype
        chunk = int(min(T, max(1, _CHUNK_BYTES // (10 * H * N * dtype.itemsize))))
        self.dz = np.empty((T, 5 * H, N), dtype=dtype)
        self.p = np.empty((chunk, 5 * H, N), dtype=dtype)
        self.dh = np.empty((H, N), dtype=dtype)
        self.dc_next = np.empty((H, N), dtype=dtype)  # dc_{t+1} ⊙ f_{t+1}
        self.weight_hh = np.empty((4 * H, H), dtype=dtype)  # W_hh with its rows in the engine's order
        # Chunks from the last step backwards: (first step, end step) of each.
        self.chunks = [(max(0, end - chunk), end) for end in range(T, 0, -chunk)]
        dz_blocks = self.dz.reshape(T, 5, H, N)
        p_blocks = self.p.reshape(chunk, 5, H, N)
        self.step_views = []
        for start, end in self.chunks:
            for t in range(end - 1, start - 1, -1):
                self.step_views.append(
                    (
                        t,
                        p_blocks[t - start, 3:5],  # p_o, r
                        dz_blocks[t, 3:5],  # dz_o, dc_t
                        dz_blocks[t, 4],  # dc_t
                        p_blocks[t - start, 0:3],  # p_g, p_i, p_f
                        dz_blocks[t, 4][None],
                        dz_blocks[t, 0:3],  # dz_g, dz_i, dz_f
                        ws.v[t, 2 * H : 3 * H],  # f_t
                        self.dz[t, : 4 * H],
                    )
                )


class GradientOperands:
    """The operands of the weight-gradient GEMM of one layer, all T·N columns side by side.

    - dz_cols (4H, T, N): dz in PyTorch's gate order; (4H, T·N) as a matrix
    - xh_rows (T, N, D+H+1): xh transposed; (T·N, D+H+1) as a matrix

    One copy each after the loop (this orientation is the fastest for OpenBLAS at small and middle
    sizes). When a batch runs as column parts (``network``), each part copies its columns in, so the GEMM
    sums over the same columns in the same order as for the whole batch.
    """

    def __init__(self, steps: int, batch: int, inputs: int, hidden: int, dtype: np.dtype) -> None:
        T, N, D, H = steps, batch, inputs, hidden
        self.shape = (T, N, D, H)
        self.dz_cols = np.empty((4 * H, T, N), dtype=dtype)
        self.xh_rows = np.empty((T, N, D + H + 1), dtype=dtype)

    def gather(self, ws: LayerWorkspace, bb: LayerBackwardBuffers, columns: slice = slice(None)) -> None:
        """Copy a workspace's dz and xh into ``columns`` of the batch (all of it by default)."""
        T, N, D, H = ws.shape
        dz = bb.dz.reshape(T, 5, H, N)
        dz_cols = self.dz_cols.reshape(4, H, T, self.shape[1])
        for k, name in enumerate(SLOTS):
            np.copyto(dz_cols[GATES.index(name), :, :, columns], dz[:, k].transpose(1, 0, 2))
        np.copyto(self.xh_rows[:, columns], ws.xh[:T].transpose(0, 2, 1))

    def weight_gradient(self, grad_block: np.ndarray, parts: int = 1) -> None:
        """grad_block (4H, D+H+1) = dL/dA = [dW_ih | dW_hh | db]: one GEMM over every step and column,
        on BLAS's threads (``threads.matmul``), or with ``parts`` > 1 in that many Python threads."""
        T, N, D, H = self.shape
        dz, xh = self.dz_cols.reshape(4 * H, T * N), self.xh_rows.reshape(T * N, D + H + 1)
        if parts > 1:
            threads.matmul_by_rows(dz, xh, grad_block, parts)
        else:
            threads.matmul(dz, xh, grad_block)


# Per-step products below this many FLOPs go through np.dot, whose fixed cost is about 0.3 µs lower
# than np.matmul's (a third of a tiny step's product); above it np.matmul is as fast or faster.
_DOT_BELOW_FLOPS = 1e6


def _product_for(a: np.ndarray, b: np.ndarray):  # noqa: ANN202  (np.dot or np.matmul)
    """The product function for a loop of ``a @ b_t`` with outputs given positionally (C-contiguous)."""
    return np.dot if 2.0 * a.shape[0] * a.shape[1] * b.shape[1] < _DOT_BELOW_FLOPS else np.matmul


def _backward_factors(ws: LayerWorkspace, bb: LayerBackwardBuffers, start: int, end: int) -> None:
    """Fill ``bb.p[:end-start]`` with ``[p_g, p_i, p_f, p_o, r]`` for steps start..end-1."""
    T, N, D, H = ws.shape
    k = end - start
    one = ws.v.dtype.type(1.0)
    v = ws.v[start:end].reshape(k, 6, H * N)  # g, i, f, o, tanh(c), c_{t-1}
    p = bb.p[:k].reshape(k, 5, H * N)
    np.subtract(one, v[:, 1:4], out=p[:, 1:4])
    np.multiply(p[:, 1:4], v[:, 1:4], out=p[:, 1:4])  # σ' = σ(1-σ) for i, f, o
    np.multiply(v[:, 0:5:4], v[:, 0:5:4], out=p[:, 0:5:4])
    np.subtract(one, p[:, 0:5:4], out=p[:, 0:5:4])  # 1 - x² for g and tanh(c)
    np.multiply(p[:, 0:2], v[:, 1::-1], out=p[:, 0:2])  # p_g = i·(1-g²), p_i = g·σ'(i)
    np.multiply(p[:, 2:5], v[:, 5:2:-1], out=p[:, 2:5])  # p_f = c_{t-1}·σ'(f), p_o = tanh(c)·σ'(o), r


# Per-step products with an inner dimension K = D+H+1 above this add the bias after the product, so
# that K = D+H. Why: OpenBLAS cuts an inner dimension between its block size Q and 2Q in two, on one
# thread rounded to its kernel's unroll and on several threads not, so the two add in different orders
# and give other bits (on the development machine: K = 500, 513, 520, 600, 769 differ; K up to 480 and
# 512, 640, 768 do not). A second layer has D+H = 2H, which is cut alike on both when H is a multiple
# of 16 (512 at hidden 256), so its product may use a second core. Any shape is still checked once
# (``threads.same_results_on_threads``) and stays on one thread if its bits differ. Below the threshold
# nothing is cut, and the product keeps the bias as its constant row (one call fewer per step).
SEPARATE_BIAS_ABOVE = 384


def _product_then_bias(a_scaled: np.ndarray, batch: int):  # noqa: ANN202  (a product function)
    """``product(a_scaled, xh_t, out)`` as one product over the rows of xh_t but its last (the constant
    1) and an add of the bias column (laid out once as a (4H, N) block, so the add is contiguous)."""
    weights = a_scaled[:, :-1]
    bias = np.ascontiguousarray(np.broadcast_to(a_scaled[:, -1:], (a_scaled.shape[0], batch)))

    def product(_: np.ndarray, xh_t: np.ndarray, out: np.ndarray) -> None:
        np.matmul(weights, xh_t[:-1], out)
        np.add(out, bias, out)

    return product


def layer_forward(ws: LayerWorkspace, a_scaled: np.ndarray, one_thread: bool = False) -> None:
    """Run one layer over all T steps; the input must already be in ``ws.x``.

    - a_scaled: (4H, D+H+1), ``s[:, None] * A[gate_rows(H)]`` with A = [W_ih | W_hh | b_ih + b_hh] and s
      the ``gate_scale``
    - one_thread: keep the per-step products on one BLAS thread whatever the budget (the loop runs
      beside others in Python threads, see ``network``)

    Fills ``ws.v`` (gates, tanh(c), c) and the hidden states ``ws.h`` (T, H, N). Initial state
    h_0 = c_0 = 0 (as ``nn.LSTM`` with no ``hx``).
    """
    T, N, D, H = ws.shape
    mul, add, tanh = np.multiply, np.add, np.tanh
    if a_scaled.shape[1] > SEPARATE_BIAS_ABOVE:
        product = _product_then_bias(a_scaled, N)
        left, right = a_scaled[:, :-1], ws.xh[0, :-1]  # the shapes the threads policy sees
    else:
        product = _product_for(a_scaled, ws.xh[0])
        left, right = a_scaled, ws.xh[0]
    half = a_scaled.dtype.type(0.5)
    ws.c[0].fill(0.0)  # c_0 (rows are reused when the workspace does not keep every step)
    products = ws.products
    ig, fc = products
    key = ("forward", ws.keep, *ws.shape)
    with threads.step_products(key, left, right, T, one_thread) as after_step:
        for xh_t, gates_t, sigmoid_t, i_f, g_cprev, c_t, tanh_c_t, o, h_t in ws.step_views:
            product(a_scaled, xh_t, gates_t)  # s ⊙ z_t
            tanh(gates_t, gates_t)
            mul(sigmoid_t, half, sigmoid_t)
            add(sigmoid_t, half, sigmoid_t)  # σ for i, f, o
            mul(i_f, g_cprev, products)
            add(ig, fc, c_t)  # c_t = f ⊙ c_{t-1} + i ⊙ g
            tanh(c_t, tanh_c_t)
            mul(o, tanh_c_t, h_t)  # h_t = o ⊙ tanh(c_t)
            if after_step is not None:
                after_step()


def layer_backward(
    ws: LayerWorkspace,
    block: np.ndarray,
    dh_last: np.ndarray | None,
    dh_seq: np.ndarray | None,
    grad_block: np.ndarray,
) -> GradientOperands:
    """Backpropagate through time over one layer after ``layer_forward``.

    - block: (4H, D+H+1) the layer's weights ``[W_ih | W_hh | b_ih]`` in PyTorch's order
    - dh_last: (H, N) loss gradient w.r.t. the last hidden state h_T, or None
    - dh_seq: (T, H, N) loss gradient w.r.t. every h_t from the layer above, or None
    - grad_block: (4H, D+H+1) written with dL/dA = [dW_ih | dW_hh | db]; db is the gradient of b_ih and
      of b_hh alike

    Returns the GEMM operands, whose ``dz_cols`` (4H, T·N) the caller turns into the gradient of the
    layer's input (``W_ihᵀ @ dz``) when there is a layer below.
    """
    bb = backward_steps(ws, block, dh_last, dh_seq)
    operands = ws.gradient_operands()
    operands.gather(ws, bb)
    operands.weight_gradient(grad_block)
    return operands


def backward_steps(
    ws: LayerWorkspace,
    block: np.ndarray,
    dh_last: np.ndarray | None,
    dh_seq: np.ndarray | None,
    one_thread: bool = False,
) -> LayerBackwardBuffers:
    """The sequential part of ``layer_backward``: dz_t for every step, into the returned ``dz``.

    ``one_thread`` as in ``layer_forward``. dh_last and dh_seq may be column views of a larger batch.
    """
    T, N, D, H = ws.shape
    bb = ws.backward_buffers()
    mul, add = np.multiply, np.add
    np.take(block[:, D : D + H], gate_rows(H), axis=0, out=bb.weight_hh, mode="clip")
    weight_hh_t = bb.weight_hh.T  # (H, 4H): dh_{t-1} = W_hhᵀ dz_t
    product = _product_for(weight_hh_t, bb.dz[0, : 4 * H])
    dh, dc_next = bb.dh, bb.dc_next
    dh_b = dh[None]
    if dh_last is not None:
        dh[...] = dh_last
    else:
        dh.fill(0.0)
    if dh_seq is not None:
        add(dh, dh_seq[T - 1], out=dh)
    dc_next.fill(0.0)
    views = iter(bb.step_views)
    key = ("backward", *ws.shape)
    with threads.step_products(key, weight_hh_t, bb.dz[0, : 4 * H], T, one_thread) as after_step:
        for start, end in bb.chunks:
            _backward_factors(ws, bb, start, end)
            for _ in range(end - start):
                t, p_or, dz_or, dc, p_gif, dc_b, dz_gif, f_t, dz_t = next(views)
                mul(dh_b, p_or, dz_or)  # dz_o, and dh ⊙ r into dc
                add(dc, dc_next, dc)  # dc_t
                mul(p_gif, dc_b, dz_gif)
                if t == 0:
                    break  # h_0 and c_0 are constants: no gradient flows further back
                mul(dc, f_t, dc_next)  # reaches c_{t-1} through the forget gate
                product(weight_hh_t, dz_t, dh)  # dh_{t-1} from the recurrence
                if dh_seq is not None:
                    add(dh, dh_seq[t - 1], dh)
                if after_step is not None:
                    after_step()
    return bb
