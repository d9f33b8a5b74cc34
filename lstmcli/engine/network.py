"""The forecasting network: stacked LSTM layers, dropout between them, a linear head on the last h.

Shapes (batch-first at the API, like ``nn.LSTM(batch_first=True)``): N windows, T steps, D input
features, H hidden units, O outputs (1 for one-step-ahead, ``horizon`` for direct multi-step).

Parameters live in ONE flat vector; ``params`` maps PyTorch's ``state_dict`` names to views of it, in
PyTorch's shapes (``lstm.weight_ih_l0`` (4H, D), ``lstm.weight_hh_l0`` (4H, H), ``lstm.bias_ih_l0``,
``lstm.bias_hh_l0`` (4H,), ..., ``head.weight`` (O, H), ``head.bias`` (O,)). Gradients mirror it
(``grads``, ``grad_flat``), so the optimiser, gradient clipping and checkpoints each touch one array.
Per layer the flat vector holds ``[W_ih | W_hh | b_ih]`` as one (4H, D+H+1) block, which is exactly
the shape of the weight-gradient GEMM in ``layer.layer_backward``; ``b_hh`` follows it. The layers run
as ``engine.layer`` lays them out; ``engine.cell`` is the same step written plainly.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lstmcli.engine.cell import GATES
from lstmcli.engine.layer import LayerWorkspace, gate_rows, gate_scale, layer_backward, layer_forward

_WORKSPACE_SHAPES_KEPT = 5  # train batch, last partial batch, validation, prediction, trace


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
        """The config ``to_dict`` wrote; keys it does not know (added by a newer minor format) are ignored,
        as the model file's versioning promises."""
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in d.items() if k in known})


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


@dataclass
class ForwardCache:
    """What ``backward`` needs from ``forward``: the workspaces are reused by the next forward."""

    workspaces: list[LayerWorkspace]  # per layer
    masks: list[np.ndarray | None]  # dropout mask applied to the input of layer l (None for l = 0)
    h_last: np.ndarray  # (N, H) last hidden state of the top layer (a view of the workspace)


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
        self._scaled = [np.empty_like(block) for block in self._params.blocks]

    def release_buffers(self) -> None:
        """Drop the per-shape work buffers (they are made again when needed): a trained network kept
        for forecasting (a panel holds thousands) does not need its training batches' activations."""
        self._workspaces.clear()

    def __getstate__(self) -> dict[str, object]:
        """Pickled (to a worker process or a Dask worker, and back) as its configuration and flat
        weights only: the named views and the per-shape buffers are views into shared arrays, which a
        pickled copy would cut apart (a forecast would then read stale buffers)."""
        return {"config": self.config, "flat": self._params.flat}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__(state["config"], rng=np.random.default_rng(0))  # type: ignore[misc]
        self._params.flat[...] = state["flat"]

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
        """(4H, D+H+1): s ⊙ [W_ih | W_hh | b_ih + b_hh] with the rows in the loops' gate order, the
        left operand of each step's product (``layer.layer_forward``); rebuilt into a buffer kept per
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
        compiled: bool = True,
    ) -> tuple[np.ndarray, ForwardCache]:
        """``forward``; with ``keep=False`` the workspaces keep only what the next step needs (no
        ``backward`` or ``trace`` possible afterwards), which keeps long sequences in cache.
        ``compiled=False``: the layers' steps in NumPy (``layer.numpy_forward_steps``)."""
        x = np.asarray(x)
        if x.ndim != 3 or x.shape[2] != self.config.input_size:
            raise ValueError(f"expected windows of shape (N, T, {self.config.input_size}), got {x.shape}")
        N, T, _ = x.shape
        masks = self._dropout_masks(T, N, self.config.dropout if training else 0.0, rng)
        workspaces = self._workspaces_for(T, N, keep)
        for layer, ws in enumerate(workspaces):
            if layer == 0:
                ws.x[...] = x.transpose(1, 2, 0)  # (T, D, N), cast to the network's dtype
            elif masks[layer] is not None:
                np.multiply(workspaces[layer - 1].h, masks[layer], out=ws.x)
            else:
                ws.x[...] = workspaces[layer - 1].h
            layer_forward(ws, self._scaled_weights(layer), compiled)
        h_last = workspaces[-1].h[-1].T  # (N, H)
        y = h_last @ self.params["head.weight"].T + self.params["head.bias"]
        return y, ForwardCache(workspaces, masks, h_last)

    def _dropout_masks(
        self, steps: int, batch: int, dropout: float, rng: np.random.Generator | None
    ) -> list[np.ndarray | None]:
        """Per layer, the (T, H, N) mask on its input (None for the first layer, or without dropout)."""
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

    def predict(self, x: np.ndarray, *, compiled: bool = True) -> np.ndarray:
        """(N, T, D) windows -> (N, O) outputs, no dropout. ``compiled=False`` runs the steps in NumPy
        (no Numba: for a handful of windows, see ``engine.layer``); the outputs agree with the compiled
        loop's to float32 rounding, not bit for bit."""
        y, _ = self._forward(x, training=False, rng=None, keep=False, compiled=compiled)
        return y

    # ----------------------------------------------------------------------------- backward
    def backward(self, dy: np.ndarray, cache: ForwardCache) -> dict[str, np.ndarray]:
        """Gradients of the loss w.r.t. every parameter, given dL/dy (N, O) from the last ``forward``.

        Returns ``grads`` (views into ``flat_grads``, overwritten by the next call).
        """
        dy = np.asarray(dy, dtype=self.dtype)
        grads = self.grads
        np.matmul(dy.T, cache.h_last, out=grads["head.weight"])
        np.sum(dy, axis=0, out=grads["head.bias"])
        dh_last = self.params["head.weight"].T @ dy.T  # (H, N), the loops' feature-major layout
        dh_seq = None
        L = self.config.num_layers
        for layer in range(L - 1, -1, -1):
            grad_block = self._grads.blocks[layer]
            ws = cache.workspaces[layer]
            top = dh_last if layer == L - 1 else None
            dz = layer_backward(ws, self._params.blocks[layer], top, dh_seq, grad_block)
            grads[f"lstm.bias_hh_l{layer}"][...] = grad_block[:, -1]  # b_ih and b_hh enter z alike
            if layer > 0:
                T, N, D, H = ws.shape
                # the gradient of the layer's input, every step in one product: (D, T·N) as (T, D, N)
                dh_seq = np.matmul(self.params[f"lstm.weight_ih_l{layer}"].T, dz).reshape(D, T, N)
                mask = cache.masks[layer]
                if mask is not None:
                    dh_seq *= mask.transpose(1, 0, 2)
        return grads

    # ----------------------------------------------------------------------------- tracing
    def trace(
        self, x: np.ndarray, *, compiled: bool = True
    ) -> tuple[np.ndarray, list[dict[str, np.ndarray]]]:
        """Forward pass that also returns every gate and state of every layer and step.

        - x: (N, T, D) windows (or (T, D) for one window)

        Returns ``(y, layers)``: y (N, O) as ``predict`` gives it, and per layer a dict with keys
        ``i``, ``f``, ``g``, ``o``, ``c``, ``h``, each (N, T, H) (or (T, H) for one window). These are the
        very values the training forward computes (same code), copied out of the workspace; with
        ``compiled=False`` those of ``predict(compiled=False)``.
        """
        x = np.asarray(x)
        single = x.ndim == 2
        if single:
            x = x[None]
        y, cache = self._forward(x, False, None, keep=True, compiled=compiled)
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
