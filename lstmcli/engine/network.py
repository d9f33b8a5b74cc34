"""The forecasting network: stacked LSTM layers, dropout between them, a linear head on the last h.

Shapes (batch-first at the API, like ``nn.LSTM(batch_first=True)``): N windows, T steps, D input
features, H hidden units, O outputs (1 for one-step-ahead, ``horizon`` for direct multi-step).

Parameters live in ONE flat vector; ``params`` maps PyTorch's ``state_dict`` names to views of it, in
PyTorch's shapes (``lstm.weight_ih_l0`` (4H, D), ``lstm.weight_hh_l0`` (4H, H), ``lstm.bias_ih_l0``,
``lstm.bias_hh_l0`` (4H,), ..., ``head.weight`` (O, H), ``head.bias`` (O,)). Gradients mirror it
(``grads``, ``grad_flat``), so the optimiser, gradient clipping and checkpoints each touch one array.
Per layer the flat vector holds ``[W_ih | W_hh | b_ih]`` as one (4H, D+H+1) block, which is exactly
the shape of the weight-gradient GEMM in ``cell.layer_backward``; ``b_hh`` follows it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lstmcli.engine import threads
from lstmcli.engine.cell import (
    GATES,
    GradientOperands,
    LayerWorkspace,
    backward_steps,
    gate_rows,
    gate_scale,
    layer_backward,
    layer_forward,
)

_WORKSPACE_SHAPES_KEPT = 5  # train batch, last partial batch, validation, prediction, trace

# A batch runs as column parts in Python threads (``_BatchSplit``) only when a pass's per-step products
# (every step of every layer) add up to at least this many FLOPs and each part has at least this many
# columns. The compiled loops release the GIL, so the parts run side by side; what a split costs is a
# fixed hand-off between threads (0.1-0.3 ms per pass on the development machine, mostly the wake-up
# of an idle core) and skinnier products. Measured on 2 cores (benchmarks/RESULTS.md): passes from
# about 50 MFLOP (about a millisecond) gain 1.2-1.95x over the whole batch on one thread; smaller ones
# lose to the hand-off. A part also needs at least hidden/8 columns: from hidden 256 a step is mostly
# its product, and BLAS's own threads, which cut the product's rows, keep it less skinny than parts of
# 16 columns do (hidden 256, batch 32: inference 10-15 % faster whole, training the same).
MIN_SPLIT_FLOPS = 50e6
MIN_PART_COLUMNS = 16
PART_COLUMNS_PER_HIDDEN = 1 / 8
# Parts are kept while a pass in parts takes at most this share of a whole pass (timed per shape), judged
# after this many seconds of passes in parts: their first pass fills new buffers, and on the development
# machine (a virtual machine) handing a pass to a core that was idle is slow, up to 1 ms a pass, for the
# first 40-50 ms; passes in parts were then slower than whole ones at every size.
SPLIT_GAIN = 0.9
SPLIT_TRIAL_WARMUP = 0.1
# A training pass of the whole batch runs its loops as unit parts and its large products as row parts,
# all in Python threads (``threads.python_parts``), when its per-step products (every step of every
# layer) add up to at least this many FLOPs; other passes use BLAS's threads. Measured on 2 cores
# (benchmarks/RESULTS.md): 2-layer hidden-256 batch-32 training steps of 24-96 steps went from 1.41-1.56
# to 1.35-1.37 times torch's time.
# Below (one hidden-256 layer of 12-24 steps, about 200-400 MFLOP), and for inference, a pass first
# hands its part to a pool thread whose core has been idle, and on the development machine (a virtual
# machine) that took up to a millisecond; BLAS's threads, still spinning from the last call, answer
# at once: such passes were 1.2-1.6x slower in unit parts. In a training step the pool threads are
# busy from pass to pass (the layers' loops, the products, Adam) and answer at once.
MIN_PYTHON_PARTS_FLOPS = 800e6


@dataclass(frozen=True)
class NetworkConfig:
    """Architecture of the network (everything needed to rebuild it from a model file)."""

    input_size: int  # D: features per time step (1 = the target's own past only)
    hidden_size: int = 32  # H: units per LSTM layer
    num_layers: int = 1  # stacked LSTM layers
    output_size: int = 1  # O: 1 = one step ahead (recursive), or the horizon (direct multi-step)
    dropout: float = 0.0  # between LSTM layers, training only (as nn.LSTM's dropout)
    dtype: str = "float32"  # float64 for gradient checks or on request
    forget_bias: float = 1.0  # added to the forget gate's bias at init, so memory starts "open"

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size", "num_layers", "output_size"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> NetworkConfig:
        return cls(**d)


def parameter_shapes(config: NetworkConfig) -> dict[str, tuple[int, ...]]:
    """PyTorch ``state_dict`` names and shapes of the network's parameters, in storage order."""
    H = config.hidden_size
    shapes: dict[str, tuple[int, ...]] = {}
    for layer in range(config.num_layers):
        D = config.input_size if layer == 0 else H
        shapes[f"lstm.weight_ih_l{layer}"] = (4 * H, D)
        shapes[f"lstm.weight_hh_l{layer}"] = (4 * H, H)
        shapes[f"lstm.bias_ih_l{layer}"] = (4 * H,)
        shapes[f"lstm.bias_hh_l{layer}"] = (4 * H,)
    shapes["head.weight"] = (config.output_size, H)
    shapes["head.bias"] = (config.output_size,)
    return shapes


class _FlatParameters:
    """A flat vector plus named views in PyTorch's layout (see the module docstring)."""

    def __init__(self, config: NetworkConfig, flat: np.ndarray) -> None:
        H = config.hidden_size
        self.flat = flat
        self.views: dict[str, np.ndarray] = {}
        self.blocks: list[np.ndarray] = []  # per layer: the (4H, D+H+1) block [W_ih | W_hh | b_ih]
        offset = 0
        for layer in range(config.num_layers):
            D = config.input_size if layer == 0 else H
            size = 4 * H * (D + H + 1)
            block = flat[offset : offset + size].reshape(4 * H, D + H + 1)
            offset += size
            self.blocks.append(block)
            self.views[f"lstm.weight_ih_l{layer}"] = block[:, :D]
            self.views[f"lstm.weight_hh_l{layer}"] = block[:, D : D + H]
            self.views[f"lstm.bias_ih_l{layer}"] = block[:, D + H]
            self.views[f"lstm.bias_hh_l{layer}"] = flat[offset : offset + 4 * H]
            offset += 4 * H
        O = config.output_size
        self.views["head.weight"] = flat[offset : offset + O * H].reshape(O, H)
        offset += O * H
        self.views["head.bias"] = flat[offset : offset + O]
        offset += O
        assert offset == flat.size, (offset, flat.size)


def parameter_count(config: NetworkConfig) -> int:
    return sum(int(np.prod(shape)) for shape in parameter_shapes(config).values())


class _BatchSplit:
    """The workspaces of one (T, N) shape cut into column parts, each part run by its own Python thread.

    Why: on several cores, a step's element-wise work runs on one core whatever BLAS's thread count,
    and BLAS's own threads gain little on the skinny per-step products of a middle-sized network; but
    the recurrence is independent per column, so each part can run every step of every layer on its
    own core, with a one-thread BLAS (the compiled loops of ``kernels`` release the GIL for a whole
    pass). Each part has its own contiguous buffers: column views of one buffer scale far less. What
    couples the columns is done on the whole batch, in the same order as without the split: dropout
    masks, the head, and per layer the weight-gradient GEMM and the gradient to the layer below
    (``GradientOperands`` gathers every part's columns).
    """

    def __init__(self, config: NetworkConfig, steps: int, batch: int, keep: bool, parts: int) -> None:
        H, dtype = config.hidden_size, np.dtype(config.dtype)
        inputs = [config.input_size if layer == 0 else H for layer in range(config.num_layers)]
        # Every part but the last is a whole number of 16-column tiles, so the last part ends in the
        # same partial tile as the whole batch: BLAS then adds in the same order in every column.
        edges = [min(batch, round(batch * k / parts / 16) * 16) for k in range(parts)] + [batch]
        self.columns = [slice(a, b) for a, b in zip(edges, edges[1:], strict=False)]
        self.workspaces = [
            [LayerWorkspace(steps, c.stop - c.start, d, H, dtype, keep) for d in inputs] for c in self.columns
        ]
        self.h_last = np.empty((H, batch), dtype=dtype)  # the top layer's h_T, every column
        self.operands = [GradientOperands(steps, batch, d, H, dtype) for d in inputs] if keep else []


@dataclass
class ForwardCache:
    """What ``backward`` needs from ``forward``: the workspaces are reused by the next forward."""

    workspaces: list[LayerWorkspace]  # per layer (empty when the batch ran in parts)
    masks: list[np.ndarray | None]  # dropout mask applied to the input of layer l (None for l = 0)
    h_last: np.ndarray  # (N, H) last hidden state of the top layer (a view of the workspace)
    split: _BatchSplit | None = None  # the parts' workspaces when the batch ran in parts
    python_parts: bool = False  # the pass used the budget through Python threads only (``_forward``)
    timed: threads.StepGovernor | None = None  # times this pass for the whole-or-parts choice


class LSTMNetwork:
    """Stacked LSTM + linear head with exact backpropagation through time.

    Parameters
    ----------
    config : NetworkConfig
    rng : np.random.Generator, optional
        Draws the initial weights (PyTorch's default: U(-1/sqrt(H), 1/sqrt(H)) for every LSTM and head
        parameter). Required unless ``params`` is given.
    params : dict of name -> array, optional
        Weights in PyTorch's names and shapes (e.g. from a model file or ``nn.Module.state_dict()``).
    """

    def __init__(
        self,
        config: NetworkConfig,
        rng: np.random.Generator | None = None,
        params: dict[str, np.ndarray] | None = None,
    ) -> None:
        self.config = config
        self.dtype = np.dtype(config.dtype)
        n = parameter_count(config)
        self._params = _FlatParameters(config, np.zeros(n, dtype=self.dtype))
        self._grads = _FlatParameters(config, np.zeros(n, dtype=self.dtype))
        if params is not None:
            self.load_params(params)
        else:
            if rng is None:
                raise ValueError("LSTMNetwork needs an rng to initialise its weights, or params")
            self._init_weights(rng)
        H = config.hidden_size
        self._gate_rows = gate_rows(H)
        self._scale = gate_scale(H, self.dtype)
        self._workspaces: dict[tuple[int, int, bool], list[LayerWorkspace]] = {}
        self._splits: dict[tuple[int, int, bool, int], _BatchSplit] = {}
        self._split_same_bits: dict[tuple[int, int, bool, int], bool] = {}
        self._split_governors: dict[tuple[int, int, bool, int], threads.StepGovernor] = {}
        self._scaled = [np.empty_like(block) for block in self._params.blocks]

    # ----------------------------------------------------------------------------- parameters
    @property
    def params(self) -> dict[str, np.ndarray]:
        """Name -> view of the weights, in PyTorch's ``state_dict`` names and shapes."""
        return self._params.views

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Name -> view of the gradients after ``backward`` (same names and shapes as ``params``)."""
        return self._grads.views

    @property
    def flat_params(self) -> np.ndarray:
        return self._params.flat

    @property
    def flat_grads(self) -> np.ndarray:
        return self._grads.flat

    def _init_weights(self, rng: np.random.Generator) -> None:
        H = self.config.hidden_size
        bound = 1.0 / np.sqrt(H)
        for view in self.params.values():  # a fixed order, so a seed fixes every weight
            view[...] = rng.uniform(-bound, bound, size=view.shape)
        if self.config.forget_bias:
            for layer in range(self.config.num_layers):
                self.params[f"lstm.bias_ih_l{layer}"][H : 2 * H] += self.config.forget_bias

    def load_params(self, params: dict[str, np.ndarray]) -> None:
        """Copy weights in (names and shapes must match ``parameter_shapes``; extra names are an error)."""
        expected = parameter_shapes(self.config)
        missing = [k for k in expected if k not in params]
        extra = [k for k in params if k not in expected]
        if missing or extra:
            raise ValueError(f"parameter names differ: missing {missing}, unexpected {extra}")
        for name, shape in expected.items():
            value = np.asarray(params[name])
            if value.shape != shape:
                raise ValueError(f"{name} has shape {value.shape}, expected {shape}")
            self.params[name][...] = value

    def state_dict(self) -> dict[str, np.ndarray]:
        """Contiguous copies of the weights under PyTorch's names (what a model file stores)."""
        return {name: np.ascontiguousarray(view).copy() for name, view in self.params.items()}

    # ----------------------------------------------------------------------------- forward
    def _workspaces_for(self, steps: int, batch: int, keep: bool) -> list[LayerWorkspace]:
        key = (steps, batch, keep)
        found = self._workspaces.get(key)
        if found is None:
            if len(self._workspaces) >= _WORKSPACE_SHAPES_KEPT:
                self._workspaces.pop(next(iter(self._workspaces)))
            H = self.config.hidden_size
            found = [
                LayerWorkspace(steps, batch, self.config.input_size if layer == 0 else H, H, self.dtype, keep)
                for layer in range(self.config.num_layers)
            ]
            self._workspaces[key] = found
        return found

    def _scaled_weights(self, layer: int) -> np.ndarray:
        """(4H, D+H+1): s ⊙ [W_ih | W_hh | b_ih + b_hh] with the rows in the engine's gate order, the
        left operand of each step's product (``cell.layer_forward``); rebuilt into a buffer kept per
        layer at every forward, since the weights change between steps."""
        out = self._scaled[layer]
        rows = self._gate_rows
        np.take(self._params.blocks[layer], rows, axis=0, out=out, mode="clip")  # "clip": no buffering
        np.add(out[:, -1], self.params[f"lstm.bias_hh_l{layer}"][rows], out=out[:, -1])
        np.multiply(out, self._scale[:, None], out=out)
        return out

    def forward(
        self,
        x: np.ndarray,
        *,
        training: bool = False,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, ForwardCache]:
        """Run the network on a batch of windows.

        - x: (N, T, D) windows, batch-first
        - training: apply dropout between layers (needs ``rng``)

        Returns ``(y, cache)`` with y (N, O) the head's output. The cache refers to buffers that the
        next call overwrites: call ``backward`` (or copy what you need) before the next forward.
        """
        return self._forward(x, training, rng, keep=True)

    def _forward(
        self,
        x: np.ndarray,
        training: bool,
        rng: np.random.Generator | None,
        keep: bool,
        parts: int | None = None,
    ) -> tuple[np.ndarray, ForwardCache]:
        """``forward``; with ``keep=False`` the workspaces keep only what the next step needs (no
        ``backward`` or ``trace`` possible afterwards), which keeps long sequences in cache. ``parts``:
        run the batch as that many column parts in threads (None: as ``_parts_for`` decides)."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.config.input_size:
            raise ValueError(f"expected windows of shape (N, T, {self.config.input_size}), got {x.shape}")
        N, T, _ = x.shape
        timed = None
        if parts is None:
            parts, timed = self._parts_for(T, N, keep)  # the pass is timed from here
        masks = self._dropout_masks(T, N, self.config.dropout if training else 0.0, rng)
        scaled = [self._scaled_weights(layer) for layer in range(self.config.num_layers)]
        if parts == 1:
            workspaces = self._workspaces_for(T, N, keep)
            # A whole pass of a shape that may run in parts stays on one core, so that it is the
            # reference the parts must beat (BLAS threads of a whole pass would also keep spinning on
            # the core the next pass's parts need).
            one_thread = timed is not None
            python_parts = keep and not one_thread and self._pass_flops(T, N) >= MIN_PYTHON_PARTS_FLOPS
            with threads.blas_threads(1) if one_thread else threads.python_parts(python_parts):
                self._forward_columns(x, slice(None), workspaces, masks, scaled, one_thread)
            h_last = workspaces[-1].h[-1].T  # (N, H)
            cache = ForwardCache(workspaces, masks, h_last, python_parts=python_parts)
        else:
            split = self._split_for(T, N, keep, parts)

            def run_part(k: int) -> None:
                columns, workspaces = split.columns[k], split.workspaces[k]
                self._forward_columns(x, columns, workspaces, masks, scaled, one_thread=True)
                split.h_last[:, columns] = workspaces[-1].h[-1]

            threads.run_in_threads(run_part, parts)
            h_last = split.h_last.T  # laid out as the whole batch's, so the head gives the same bits
            cache = ForwardCache([], masks, h_last, split)
        y = h_last @ self.params["head.weight"].T + self.params["head.bias"]
        if timed is not None:
            if keep:
                cache.timed = timed  # a training pass ends with its backward
            else:
                timed.finish(1)
        return y, cache

    def _forward_columns(
        self,
        x: np.ndarray,
        columns: slice,
        workspaces: list[LayerWorkspace],
        masks: list[np.ndarray | None],
        scaled: list[np.ndarray],
        one_thread: bool,
    ) -> None:
        """Every layer over the windows ``x[columns]``, in workspaces sized for them."""
        for layer, ws in enumerate(workspaces):
            if layer == 0:
                ws.x[...] = x[columns].transpose(1, 2, 0)  # (T, D, N), cast to the network's dtype
            else:
                below, mask = workspaces[layer - 1].h, masks[layer]
                if mask is not None:
                    np.multiply(below, mask[:, :, columns], out=ws.x)
                else:
                    ws.x[...] = below
            layer_forward(ws, scaled[layer], one_thread)

    def _dropout_masks(
        self, steps: int, batch: int, dropout: float, rng: np.random.Generator | None
    ) -> list[np.ndarray | None]:
        """Per layer, the (T, H, N) mask on its input (None for the first layer, or without dropout),
        drawn for the whole batch, layer after layer, whether or not the batch then runs in parts."""
        L, H = self.config.num_layers, self.config.hidden_size
        if dropout <= 0.0 or L == 1:
            return [None] * L
        if rng is None:
            raise ValueError("training with dropout needs an rng")
        masks: list[np.ndarray | None] = [None]
        for _ in range(1, L):
            kept = rng.random((steps, H, batch)) >= dropout
            masks.append((kept / (1.0 - dropout)).astype(self.dtype))
        return masks

    def _parts_for(self, steps: int, batch: int, keep: bool) -> tuple[int, threads.StepGovernor | None]:
        """How many column parts a batch runs as, and the governor timing the pass (None when there is
        no choice). A batch may run in parts when the thread budget is at least 2, the batch and its
        products are large enough (``MIN_SPLIT_FLOPS``, ``MIN_PART_COLUMNS``), and the parts were checked
        to give the same bits as the whole batch (so a model never depends on the thread count); it then
        does while a ``StepGovernor`` per shape measures passes in parts faster than whole ones, which
        they are not when the other core is busy (a part then waits for it)."""
        budget = threads.budget()
        H = self.config.hidden_size
        parts = min(budget or 1, batch // max(MIN_PART_COLUMNS, math.ceil(H * PART_COLUMNS_PER_HIDDEN)))
        if parts < 2 or self._pass_flops(steps, batch) < MIN_SPLIT_FLOPS:
            return 1, None
        key = (steps, batch, keep, parts)
        same = self._split_same_bits.get(key)
        if same is None:
            same = self._split_same_bits[key] = self._split_gives_same_bits(steps, batch, keep, parts)
        if not same:
            return 1, None
        governor = self._split_governors.get(key)
        if governor is None:
            if len(self._split_governors) >= _WORKSPACE_SHAPES_KEPT:
                self._split_governors.pop(next(iter(self._split_governors)))
            governor = self._split_governors[key] = threads.StepGovernor(trial_warmup=SPLIT_TRIAL_WARMUP)
            governor.GAIN = SPLIT_GAIN
        return (parts if governor.start() else 1), governor

    def _pass_flops(self, steps: int, batch: int) -> float:
        """FLOPs of a forward pass's per-step products, every step of every layer."""
        H, D, L = self.config.hidden_size, self.config.input_size, self.config.num_layers
        return 2.0 * 4 * H * (D + H + (L - 1) * 2 * H) * batch * steps

    def _split_gives_same_bits(self, steps: int, batch: int, keep: bool, parts: int) -> bool:
        """Whether the batch in ``parts`` gives the same outputs (and gradients) as the whole batch,
        checked on random windows. A part's per-step product has fewer columns than the whole batch's,
        and BLAS may then pick kernels that add in another order (seen on the development machine only
        below the split thresholds, e.g. hidden 64 at batch 100): each shape is checked once, as
        ``threads.same_results_on_threads`` does for thread counts.

        The check runs at most 8 steps: the per-step products and element-wise work do not depend on
        the sequence length, and the once-per-pass products of the parts are checked against the
        whole-batch product at their real shape by ``threads.matmul_by_rows``. So the check costs a
        few steps, not a second copy of a large training batch's buffers."""
        short = min(steps, 8)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((batch, short, self.config.input_size)).astype(self.dtype)
        dy = rng.standard_normal((batch, self.config.output_size)).astype(self.dtype)
        saved_grads = self.flat_grads.copy()
        results = []
        # On one BLAS thread (threads never change bits): BLAS's threads, once woken, keep spinning for
        # about 0.1 s on the core the parts are about to be timed on.
        try:
            with threads.blas_threads(1):
                for n in (1, parts):
                    y, cache = self._forward(x, False, None, keep, parts=n)
                    results.append(y.copy())
                    if keep:
                        self.backward(dy, cache)
                        results.append(self.flat_grads.copy())
        finally:
            self.flat_grads[...] = saved_grads
            self._workspaces.pop((short, batch, keep), None)  # this shape will run in parts
            if short != steps:
                self._splits.pop((short, batch, keep, parts), None)
        half = len(results) // 2
        return all(np.array_equal(a, b) for a, b in zip(results[:half], results[half:], strict=True))

    def _split_for(self, steps: int, batch: int, keep: bool, parts: int) -> _BatchSplit:
        key = (steps, batch, keep, parts)
        found = self._splits.get(key)
        if found is None:
            if len(self._splits) >= _WORKSPACE_SHAPES_KEPT:
                self._splits.pop(next(iter(self._splits)))
            found = self._splits[key] = _BatchSplit(self.config, steps, batch, keep, parts)
        return found

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(N, T, D) windows -> (N, O) outputs, no dropout."""
        y, _ = self._forward(x, training=False, rng=None, keep=False)
        return y

    # ----------------------------------------------------------------------------- backward
    def backward(self, dy: np.ndarray, cache: ForwardCache) -> dict[str, np.ndarray]:
        """Gradients of the loss w.r.t. every parameter, given dL/dy (N, O) from the last ``forward``.

        Returns ``grads`` (views into ``flat_grads``, overwritten by the next call).
        """
        one_core = cache.timed is not None and cache.split is None  # as its forward (see ``_forward``)
        with threads.blas_threads(1) if one_core else threads.python_parts(cache.python_parts):
            grads = self._backward(dy, cache)
        if cache.timed is not None:
            cache.timed.finish(1)
            cache.timed = None
        return grads

    def _backward(self, dy: np.ndarray, cache: ForwardCache) -> dict[str, np.ndarray]:
        dy = np.asarray(dy, dtype=self.dtype)
        grads = self.grads
        np.matmul(dy.T, cache.h_last, out=grads["head.weight"])
        np.sum(dy, axis=0, out=grads["head.bias"])
        dh_last = self.params["head.weight"].T @ dy.T  # (H, N), the engine's feature-major layout
        dh_seq = None
        L = self.config.num_layers
        for layer in range(L - 1, -1, -1):
            grad_block = self._grads.blocks[layer]
            top = dh_last if layer == L - 1 else None
            split = cache.split
            if split is None:
                block = self._params.blocks[layer]
                operands = layer_backward(cache.workspaces[layer], block, top, dh_seq, grad_block)
            else:
                operands = self._backward_parts(split, layer, top, dh_seq)
                operands.weight_gradient(grad_block, parts=len(split.columns))
            grads[f"lstm.bias_hh_l{layer}"][...] = grad_block[:, -1]  # b_ih and b_hh enter z alike
            if layer > 0:
                T, N, D, H = operands.shape
                # gradient of the layer's input, all steps in one GEMM: (D, T·N) viewed as (T, D, N)
                w_ih_t, dz = self.params[f"lstm.weight_ih_l{layer}"].T, operands.dz_cols.reshape(4 * H, T * N)
                if split is None:
                    dx = threads.matmul(w_ih_t, dz)
                else:
                    dx = threads.matmul_by_rows(
                        w_ih_t, dz, np.empty((D, T * N), self.dtype), len(split.columns)
                    )
                dh_seq = dx.reshape(D, T, N)  # (H, T, N) of the layer below, the loop's layout
                mask = cache.masks[layer]
                if mask is not None:
                    dh_seq *= mask.transpose(1, 0, 2)
        return grads

    def _backward_parts(
        self, split: _BatchSplit, layer: int, dh_last: np.ndarray | None, dh_seq: np.ndarray | None
    ) -> GradientOperands:
        """The sequential part of one layer's backward pass, each column part in its own thread; returns
        the weight-gradient operands with every part's columns gathered."""
        block, operands = self._params.blocks[layer], split.operands[layer]

        def run_part(k: int) -> None:
            columns, ws = split.columns[k], split.workspaces[k][layer]
            part_last = None if dh_last is None else dh_last[:, columns]
            part_seq = None if dh_seq is None else dh_seq[:, :, columns]
            operands.gather(ws, backward_steps(ws, block, part_last, part_seq, one_thread=True), columns)

        threads.run_in_threads(run_part, len(split.columns))
        return operands

    # ----------------------------------------------------------------------------- tracing
    def trace(self, x: np.ndarray) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
        """Forward pass that also returns every gate and state of every layer and step.

        - x: (N, T, D) windows (or (T, D) for one window)

        Returns ``(y, layers)``: y (N, O) as ``predict`` gives it, and per layer a dict with keys
        ``i``, ``f``, ``g``, ``o``, ``c``, ``h``, each (N, T, H) (or (T, H) for one window). These are the
        very values the training forward computes (same code), copied out of the workspace.
        """
        x = np.asarray(x)
        single = x.ndim == 2
        if single:
            x = x[None]
        y, cache = self._forward(x, False, None, keep=True, parts=1)  # one workspace per layer to read
        layers = []
        for ws in cache.workspaces:
            # the workspace is (T, H, N): to (N, T, H)
            entry = {name: ws.gate(name).transpose(2, 0, 1).copy() for name in GATES}
            entry["c"] = ws.c[1:].transpose(2, 0, 1).copy()
            entry["h"] = ws.h.transpose(2, 0, 1).copy()
            if single:
                entry = {k: v[0] for k, v in entry.items()}
            layers.append(entry)
        return (y[0] if single else y.copy()), layers
