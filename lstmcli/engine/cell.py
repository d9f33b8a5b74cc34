"""The LSTM cell, one time step, as a textbook writes it: plain NumPy, a forward and a backward function.

With x_t (N, D) the step's input and h_{t-1}, c_{t-1} (N, H) the previous state::

    z_t = x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh     (N, 4H) pre-activations, stacked i | f | g | o
    i_t = σ(z_t[:, 0H:1H])     input gate: how much of the new memory is written
    f_t = σ(z_t[:, 1H:2H])     forget gate: how much of the old cell state is kept
    g_t = tanh(z_t[:, 2H:3H])  candidate, the "new memory" on offer
    o_t = σ(z_t[:, 3H:4H])     output gate: how much of the memory is shown
    c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t                   cell state: the long-term memory
    h_t = o_t ⊙ tanh(c_t)                             hidden state: what the step outputs

The gate order i, f, g, o is PyTorch's, so ``weight_ih`` (4H, D), ``weight_hh`` (4H, H), ``bias_ih`` and
``bias_hh`` (4H,) are exactly ``nn.LSTM``'s parameters.

Backpropagation through time, with dh_t the loss gradient reaching h_t (from the step after it and from
whatever reads h_t) and dc_t the one reaching c_t from the step after it::

    dc    = dh_t ⊙ o_t ⊙ (1 - tanh²(c_t)) + dc_t
    dz_i  = dc ⊙ g_t ⊙ i_t(1 - i_t)          dz_f = dc ⊙ c_{t-1} ⊙ f_t(1 - f_t)
    dz_g  = dc ⊙ i_t ⊙ (1 - g_t²)            dz_o = dh_t ⊙ tanh(c_t) ⊙ o_t(1 - o_t)
    dx_t  = dz W_ih       dh_{t-1} = dz W_hh       dc_{t-1} = dc ⊙ f_t
    dW_ih = dzᵀ x_t       dW_hh = dzᵀ h_{t-1}      db_ih = db_hh = Σ_n dz

These two functions are the reference. The network runs the same equations through ``engine.layer``,
whose loop over the steps is compiled (``engine.kernels``) and lays the numbers out differently for
speed; tests/test_cell.py holds the two equal, and these functions against finite differences.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

GATES = ("i", "f", "g", "o")  # PyTorch's stacking order of the 4H gate rows
GATE_NAMES = {"i": "input", "f": "forget", "g": "candidate", "o": "output"}


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


@dataclass(frozen=True)
class StepCache:
    """What ``step_backward`` needs from ``step_forward``; all (N, H) but x (N, D)."""

    x: np.ndarray
    h_prev: np.ndarray
    c_prev: np.ndarray
    i: np.ndarray
    f: np.ndarray
    g: np.ndarray
    o: np.ndarray
    tanh_c: np.ndarray
    weight_ih: np.ndarray  # (4H, D)
    weight_hh: np.ndarray  # (4H, H)


def step_forward(
    x: np.ndarray,
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    weight_ih: np.ndarray,
    weight_hh: np.ndarray,
    bias_ih: np.ndarray,
    bias_hh: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, StepCache]:
    """One step: x (N, D), h_prev and c_prev (N, H) -> h_t (N, H), c_t (N, H) and the cache."""
    H = h_prev.shape[1]
    z = x @ weight_ih.T + bias_ih + h_prev @ weight_hh.T + bias_hh  # (N, 4H)
    i = sigmoid(z[:, 0 * H : 1 * H])
    f = sigmoid(z[:, 1 * H : 2 * H])
    g = np.tanh(z[:, 2 * H : 3 * H])
    o = sigmoid(z[:, 3 * H : 4 * H])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, StepCache(x, h_prev, c_prev, i, f, g, o, tanh_c, weight_ih, weight_hh)


@dataclass(frozen=True)
class StepGradients:
    """Gradients of one step: to its inputs (dx, dh_prev, dc_prev) and to the parameters."""

    dx: np.ndarray  # (N, D)
    dh_prev: np.ndarray  # (N, H)
    dc_prev: np.ndarray  # (N, H)
    weight_ih: np.ndarray  # (4H, D)
    weight_hh: np.ndarray  # (4H, H)
    bias: np.ndarray  # (4H,): the gradient of bias_ih and of bias_hh alike


def step_backward(dh: np.ndarray, dc: np.ndarray, cache: StepCache) -> StepGradients:
    """Backward through one step: dh, dc (N, H) the gradients reaching h_t and c_t (the caller's arrays
    are not changed)."""
    k = cache
    dc = dh * k.o * (1.0 - k.tanh_c**2) + dc
    dz = np.concatenate(
        [
            dc * k.g * k.i * (1.0 - k.i),  # input gate
            dc * k.c_prev * k.f * (1.0 - k.f),  # forget gate
            dc * k.i * (1.0 - k.g**2),  # candidate
            dh * k.tanh_c * k.o * (1.0 - k.o),  # output gate
        ],
        axis=1,
    )  # (N, 4H)
    return StepGradients(
        dx=dz @ k.weight_ih,
        dh_prev=dz @ k.weight_hh,
        dc_prev=dc * k.f,
        weight_ih=dz.T @ k.x,
        weight_hh=dz.T @ k.h_prev,
        bias=dz.sum(axis=0),
    )
