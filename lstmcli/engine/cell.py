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

How the work is laid out. The loops themselves are compiled (``engine.kernels``, Numba): a whole
pass is one call from Python, each step one product through NumPy's own BLAS and one fused element-wise
pass. This module owns the buffers and says what the loops compute:

- Inside the engine every per-step array is feature-major, (features, N), so a block of H features is
  one contiguous run of H·N numbers and the element-wise pass runs along N in SIMD registers.
- Each step does one matrix product, ``z_t = A @ [x_t; h_{t-1}]`` with ``A = [W_ih | W_hh]`` (4H, D+H),
  and adds the bias ``b_ih + b_hh`` in the element-wise pass. With the few input features of a
  forecasting model a separate ``W_ih @ x`` for all steps would be a product with inner dimension 1,
  which is slow. The product's inputs sit in ``xh_t = [x_t; h_{t-1}; 1]`` (D+H+1, N): the constant row
  is for the weight gradient, ``[dW_ih | dW_hh | db] = dZ @ XHᵀ``, one product after the loop.
- Internally the gates are stacked g | i | f | o (the weights are permuted when ``A`` is built).
  σ(z) = ½ + ½·tanh(z/2): the sigmoid rows of ``A`` are pre-scaled by ½, so every gate is one tanh.
- A step's values sit side by side as ``v_t = [g, i, f, o, tanh(c_t), c_{t-1}]`` (6H, N); the
  backward pass reads them back.
- Every buffer is allocated once per batch shape (``LayerWorkspace``).
- Threads (``engine.threads``): each loop runs inside ``threads.step_products``, which keeps it on
  one thread unless its products are large (hidden 128 and up) and more threads measure faster, and
  moves the rest of a pass back to one thread when it falls behind (a busy core). On several threads
  a long training pass (``threads.python_parts``, chosen by ``network``) runs its loops as unit parts
  (``UnitParts``, ``kernels.forward_units``): each Python thread owns a
  slice of the hidden units, its rows of A and of the step's product, its units' element-wise work,
  and backward its rows of dh; the parts meet at a barrier every step. BLAS's own threads would split
  only the product and leave the element-wise pass on one core. A large batch may instead run as
  column parts, each part's loops in its own Python thread on one BLAS thread (``one_thread``; see
  ``network._BatchSplit``; the compiled loops release the GIL), with ``GradientOperands`` gathering
  the parts' columns for the weight-gradient GEMM.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from lstmcli.engine import kernels, threads

GATES = ("i", "f", "g", "o")  # PyTorch's stacking order of the 4H gate rows
GATE_NAMES = {"i": "input", "f": "forget", "g": "candidate", "o": "output"}
SLOTS = ("g", "i", "f", "o")  # the engine's own order (sigmoid gates together), see the docstring


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
        self.x = self.xh[:T, :D]
        self.h = self.xh[1:, D : D + H]
        self._backward: LayerBackwardBuffers | None = None
        self._operands: GradientOperands | None = None
        self._unit_parts: UnitParts | None = None

    def gate(self, name: str) -> np.ndarray:
        """(T, H, N) view of one gate's values over all steps (``keep=True`` only)."""
        T, N, D, H = self.shape
        k = SLOTS.index(name)
        return self.v[:T, k * H : (k + 1) * H]

    def backward_buffers(self) -> LayerBackwardBuffers:
        if self._backward is None:
            self._backward = LayerBackwardBuffers(self)
        return self._backward

    def unit_parts(self, parts: int) -> UnitParts:
        if self._unit_parts is None or self._unit_parts.parts != parts:
            T, N, D, H = self.shape
            self._unit_parts = UnitParts(parts, N, D, H, self.v.dtype)
        return self._unit_parts

    def gradient_operands(self) -> GradientOperands:
        if self._operands is None:
            T, N, D, H = self.shape
            self._operands = GradientOperands(T, N, D, H, self.v.dtype)
        return self._operands


class UnitParts:
    """The hidden units of a layer cut into ``parts`` (``layer_forward``, "unit parts"): each part's
    units ``lo`` .. ``hi``-1, its rows of A and its product of a step (forward), and the parts'
    ``sync`` counters (``kernels.forward_units``)."""

    def __init__(self, parts: int, batch: int, inputs: int, hidden: int, dtype: np.dtype) -> None:
        N, D, H = batch, inputs, hidden
        self.parts = parts
        edges = [H * k // parts for k in range(parts + 1)]
        self.units = list(zip(edges, edges[1:], strict=False))
        self.a_parts = [np.empty((4 * (hi - lo), D + H + 1), dtype=dtype) for lo, hi in self.units]
        self.z = [np.empty((4 * (hi - lo), N), dtype=dtype) for lo, hi in self.units]
        self.sync = np.zeros(kernels.sync_slots(parts), dtype=np.int64)

    def run(self, part_loop: Callable[[int, int, int], int]) -> int:
        """``part_loop(k, lo, hi)`` for every part side by side, each in its own thread; returns the step
        the parts stopped at (every part returns the same one)."""
        self.sync[...] = 0
        stopped = [0] * self.parts

        def run_part(k: int) -> None:
            stopped[k] = part_loop(k, *self.units[k])

        def abandon() -> None:  # a part failed: the others must not wait for it
            self.sync[kernels.SYNC_ABANDON] = 1

        threads.run_in_threads(run_part, self.parts, on_error=abandon)
        return stopped[0]


class LayerBackwardBuffers:
    """Buffers for the backward pass of one layer, allocated on the first backward of a shape.

    - dz: (T, 4H, N) rows ``[dz_g, dz_i, dz_f, dz_o]``, the gradient of each step's pre-activations
    - dh, dc_next: (H, N) the gradient reaching h_{t-1} and dc_t ⊙ f_t, carried from step to step
    """

    def __init__(self, ws: LayerWorkspace) -> None:
        T, N, D, H = ws.shape
        dtype = ws.v.dtype
        self.dz = np.empty((T, 4 * H, N), dtype=dtype)
        self.dh = np.empty((H, N), dtype=dtype)
        self.dc_next = np.empty((H, N), dtype=dtype)
        self.weight_hh = np.empty((4 * H, H), dtype=dtype)  # W_hh with its rows in the engine's order
        self.no_sequence = np.empty((0, 0, 0), dtype=dtype)  # the loop's "no gradient from above"


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
        dz = bb.dz.reshape(T, 4, H, N)
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


def layer_forward(ws: LayerWorkspace, a_scaled: np.ndarray, one_thread: bool = False) -> None:
    """Run one layer over all T steps; the input must already be in ``ws.x``.

    - a_scaled: (4H, D+H+1), ``s[:, None] * A[gate_rows(H)]`` with A = [W_ih | W_hh | b_ih + b_hh] and s
      the ``gate_scale``; C-contiguous
    - one_thread: keep the per-step products on one BLAS thread whatever the budget (the loop runs
      beside others in Python threads, see ``network``)

    Fills ``ws.v`` (gates, tanh(c), c) and the hidden states ``ws.h`` (T, H, N). Initial state
    h_0 = c_0 = 0 (as ``nn.LSTM`` with no ``hx``).
    """
    T, N, D, H = ws.shape
    ws.c[0].fill(0.0)  # c_0 (rows are reused when the workspace does not keep every step)
    left, right = a_scaled[:, :-1], ws.xh[0, :-1]  # the shapes of a step's product, for the threads policy
    key = ("forward", ws.keep, *ws.shape)
    units = _unit_parts_plan("forward", N, D, H, ws.v.dtype)
    with threads.step_products(key, left, right, T, one_thread, units) as plan:
        if plan.unit_parts > 1:
            pace, slack = _nanoseconds(plan.pace), _nanoseconds(plan.slack)
            stopped = _forward_in_unit_parts(ws, a_scaled, plan.unit_parts, pace, slack)
            if stopped < T:  # a part fell behind (a busy core): the rest on one thread
                plan.fell_behind()
                kernels.forward_steps(a_scaled, ws.xh, ws.v, stopped, T, D, H)
        elif plan.after_step is None:
            kernels.forward_steps(a_scaled, ws.xh, ws.v, 0, T, D, H)
        else:  # a pass on BLAS's threads, watched step by step
            for t in range(T):
                kernels.forward_steps(a_scaled, ws.xh, ws.v, t, t + 1, D, H)
                plan.after_step()


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
    - dh_seq: (H, T, N) loss gradient w.r.t. every h_t from the layer above, or None
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
    np.take(block[:, D : D + H], gate_rows(H), axis=0, out=bb.weight_hh, mode="clip")
    if dh_last is not None:
        bb.dh[...] = dh_last
    else:
        bb.dh.fill(0.0)
    bb.dc_next.fill(0.0)
    sequence = bb.no_sequence if dh_seq is None else dh_seq
    key = ("backward", *ws.shape)
    units = _unit_parts_plan("backward", N, D, H, ws.v.dtype)
    with threads.step_products(key, bb.weight_hh.T, bb.dz[0], T, one_thread, units) as plan:
        if plan.unit_parts > 1:
            pace, slack = _nanoseconds(plan.pace), _nanoseconds(plan.slack)
            stopped = _backward_in_unit_parts(
                ws, bb.weight_hh, bb.dz, bb.dh, bb.dc_next, sequence, plan.unit_parts, pace, slack
            )
            if stopped > -1:  # a part fell behind (a busy core): the rest on one thread
                plan.fell_behind()
                kernels.backward_steps(bb.weight_hh, ws.v, bb.dz, bb.dh, bb.dc_next, sequence, stopped, -1, H)
        elif plan.after_step is None:
            kernels.backward_steps(bb.weight_hh, ws.v, bb.dz, bb.dh, bb.dc_next, sequence, T - 1, -1, H)
        else:  # a pass on BLAS's threads, watched step by step
            for t in range(T - 1, -1, -1):
                kernels.backward_steps(bb.weight_hh, ws.v, bb.dz, bb.dh, bb.dc_next, sequence, t, t - 1, H)
                plan.after_step()
    return bb


# ---------------------------------------------------------------------------------------------- unit parts
# Hidden units per part at least (fewer: the parts' products are too skinny to gain).
MIN_UNITS_PER_PART = 32


def _nanoseconds(seconds: float) -> int:
    """For the barrier's int64 arithmetic (pace · steps + slack): "never" is 1000 s, which leaves room
    for millions of steps."""
    return int(min(seconds, 1e3) * 1e9)


def _forward_in_unit_parts(
    ws: LayerWorkspace, a_scaled: np.ndarray, parts: int, pace: int, slack: int
) -> int:
    """Every step of ``layer_forward`` in ``parts`` unit parts (pace and slack in nanoseconds, see
    ``kernels._wait_for_parts``); returns the step the parts stopped at (T: all done)."""
    T, N, D, H = ws.shape
    up = ws.unit_parts(parts)
    return up.run(
        lambda k, lo, hi: kernels.forward_units(
            a_scaled, up.a_parts[k], up.z[k], ws.xh, ws.v, up.sync, k, parts, lo, hi, 0, T, D, H, pace, slack
        )
    )


def _backward_in_unit_parts(
    ws: LayerWorkspace,
    weight_hh: np.ndarray,
    dz: np.ndarray,
    dh: np.ndarray,
    dc_next: np.ndarray,
    sequence: np.ndarray,
    parts: int,
    pace: int,
    slack: int,
) -> int:
    """Every step of ``backward_steps`` in ``parts`` unit parts, from the last; returns the step the
    parts stopped before (-1: all done)."""
    T, N, D, H = ws.shape
    up = ws.unit_parts(parts)
    return up.run(
        lambda k, lo, hi: kernels.backward_units(
            weight_hh, ws.v, dz, dh, dc_next, sequence, up.sync, k, parts, lo, hi, T - 1, -1, H, pace, slack
        )
    )


def _unit_parts_plan(kind: str, batch: int, inputs: int, hidden: int, dtype: np.dtype) -> tuple | None:
    """(parts, check) for ``threads.step_products``: a loop may run in unit parts on the thread budget
    inside ``threads.python_parts()`` (the network decides, per pass), where the compiled barrier can
    time its waits (``kernels.UNIT_PARTS_AVAILABLE``) and each part has at least
    ``MIN_UNITS_PER_PART`` units; None otherwise (BLAS's threads). Never more parts than cores: a part
    waiting at the barrier spins, and would take the core of the part it waits for."""
    parts = min(threads.budget() or 1, threads.available_cores(), hidden // MIN_UNITS_PER_PART)
    if parts < 2 or not threads.in_python_parts() or not kernels.UNIT_PARTS_AVAILABLE:
        return None
    return parts, lambda: unit_parts_give_same_bits(kind, batch, inputs, hidden, dtype, parts)


_same_bits_in_unit_parts: dict[tuple, bool] = {}


def unit_parts_give_same_bits(
    kind: str, batch: int, inputs: int, hidden: int, dtype: np.dtype, parts: int
) -> bool:
    """Whether ``kind`` ("forward" or "backward") steps in unit parts give the same bits as the whole
    loop, checked once per shape on random numbers over 3 steps. A part's product has fewer rows
    (forward: its rows of A; backward: its rows of dh), and a BLAS could pick another kernel, adding in
    another order, for the skinnier product (as ``threads.same_results_on_threads`` checks for thread
    counts); the element-wise passes compute the same expressions either way."""
    key = (kind, batch, inputs, hidden, np.dtype(dtype).str, parts)
    found = _same_bits_in_unit_parts.get(key)
    if found is not None:
        return found
    T, N, D, H = 3, batch, inputs, hidden
    rng = np.random.default_rng(0)
    ws = LayerWorkspace(T, N, D, H, np.dtype(dtype), keep=True)
    ws.x[...] = rng.standard_normal(ws.x.shape)
    a_scaled = (rng.standard_normal((4 * H, D + H + 1)) / np.sqrt(D + H)).astype(dtype)
    never = _nanoseconds(float("inf"))
    results = []
    with threads.blas_threads(1):
        if kind == "forward":
            kernels.forward_steps(a_scaled, ws.xh, ws.v, 0, T, D, H)
            results.append((ws.v.copy(), ws.xh.copy()))
            ws.v.fill(0.0)
            ws.h.fill(0.0)
            _forward_in_unit_parts(ws, a_scaled, parts, never, never)
            results.append((ws.v, ws.xh))
        else:
            ws.v[...] = rng.uniform(-1, 1, ws.v.shape)
            weight_hh = (rng.standard_normal((4 * H, H)) / np.sqrt(H)).astype(dtype)
            dz, dh0 = np.empty((T, 4 * H, N), dtype), rng.standard_normal((H, N)).astype(dtype)
            no_sequence = np.empty((0, 0, 0), dtype)
            for in_parts in (False, True):
                dh, dc_next = dh0.copy(), np.zeros_like(dh0)
                if in_parts:
                    _backward_in_unit_parts(ws, weight_hh, dz, dh, dc_next, no_sequence, parts, never, never)
                else:
                    kernels.backward_steps(weight_hh, ws.v, dz, dh, dc_next, no_sequence, T - 1, -1, H)
                results.append((dz.copy(), dh))
    found = all(np.array_equal(a, b) for a, b in zip(*results, strict=True))
    _same_bits_in_unit_parts[key] = found
    return found
