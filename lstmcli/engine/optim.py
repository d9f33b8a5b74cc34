"""Adam and global-norm gradient clipping, on the network's flat parameter vector.

Both follow PyTorch's arithmetic step by step (``torch.optim.Adam`` with ``foreach=False`` and
``torch.nn.utils.clip_grad_norm_``), so a parity test can compare them number for number.
"""

from __future__ import annotations

import math

import numpy as np


def clip_global_norm(grad: np.ndarray, max_norm: float) -> float:
    """Scale ``grad`` in place so that its L2 norm is at most ``max_norm``; return the norm before.

    As ``clip_grad_norm_``: coef = max_norm / (norm + 1e-6), applied only when it is below 1.
    A non-finite norm is returned unchanged (the caller treats it as divergence).
    """
    norm = float(np.sqrt(np.dot(grad, grad)))
    if max_norm > 0 and math.isfinite(norm):
        coef = max_norm / (norm + 1e-6)
        if coef < 1.0:
            grad *= grad.dtype.type(coef)
    return norm


class Adam:
    """Adam (Kingma & Ba, 2015) with bias correction; the step counter t is 1 on the first update.

    m ← β1 m + (1-β1) g;  v ← β2 v + (1-β2) g²;
    p ← p - (lr / (1-β1^t)) · m / (sqrt(v) / sqrt(1-β2^t) + ε)
    ``weight_decay`` adds λp to g first (PyTorch's L2 form, not AdamW).
    """

    def __init__(
        self,
        size: int,
        dtype: np.dtype,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.m = np.zeros(size, dtype=dtype)
        self.v = np.zeros(size, dtype=dtype)
        self.t = 0

    def step(self, param: np.ndarray, grad: np.ndarray) -> None:
        """Update ``param`` in place from ``grad`` (both flat, same size).

        One compiled pass over the arrays (``kernels.adam_update``), with the operations and roundings
        of PyTorch's step, where NumPy needs a dozen passes (measured in a training step at hidden 256,
        two layers, 0.8 million parameters: 3.1 ms in NumPy, 2.1 ms compiled)."""
        beta1, beta2 = self.betas
        self.t += 1
        if self.weight_decay:
            grad = grad + self.weight_decay * param
        scalars = np.array(
            [
                1.0 - beta1,
                beta2,
                1.0 - beta2,
                math.sqrt(1.0 - beta2**self.t),
                self.eps,
                -self.lr / (1.0 - beta1**self.t),
            ],
            dtype=param.dtype,
        )
        from lstmcli.engine import kernels  # here: importing the engine's modules does not import Numba

        kernels.adam_update(param, grad, self.m, self.v, scalars)

    def state(self) -> dict[str, np.ndarray | int]:
        return {"m": self.m, "v": self.v, "t": self.t}
