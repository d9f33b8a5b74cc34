"""Parity with PyTorch: same weights in, same outputs, gradients and optimiser steps out.

Runs only where torch is installed (the `torch` extra); skipped otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.engine.losses import LOSSES
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.optim import Adam, clip_global_norm

torch = pytest.importorskip("torch")


def _torch_model(net: LSTMNetwork, dtype):
    c = net.config
    lstm = torch.nn.LSTM(c.input_size, c.hidden_size, num_layers=c.num_layers, batch_first=True).to(dtype)
    head = torch.nn.Linear(c.hidden_size, c.output_size).to(dtype)
    state = {k: torch.tensor(v) for k, v in net.state_dict().items()}
    # The names are PyTorch's own: load_state_dict takes them unchanged (strict=True).
    lstm.load_state_dict({k.removeprefix("lstm."): v for k, v in state.items() if k.startswith("lstm.")})
    head.load_state_dict({k.removeprefix("head."): v for k, v in state.items() if k.startswith("head.")})
    return lstm, head


def _torch_forward(lstm, head, x):
    out, _ = lstm(x)
    return head(out[:, -1])


TORCH_LOSSES = {"mse": torch.nn.MSELoss(), "mae": torch.nn.L1Loss(), "huber": torch.nn.HuberLoss(delta=1.0)}


@pytest.mark.parametrize(
    ("layers", "inputs", "hidden", "outputs", "loss"),
    [(1, 1, 8, 1, "mse"), (2, 3, 6, 4, "huber"), (3, 2, 5, 2, "mae")],
)
def test_outputs_and_gradients_match_torch(rng, layers, inputs, hidden, outputs, loss):
    config = NetworkConfig(
        input_size=inputs, hidden_size=hidden, num_layers=layers, output_size=outputs, dtype="float64"
    )
    net = LSTMNetwork(config, rng=rng)
    lstm, head = _torch_model(net, torch.float64)
    x = rng.normal(size=(7, 9, inputs))
    target = rng.normal(size=(7, outputs))

    y, cache = net.forward(x)
    value, dy = LOSSES[loss](y, target)
    grads = net.backward(dy, cache)

    y_t = _torch_forward(lstm, head, torch.tensor(x))
    loss_t = TORCH_LOSSES[loss](y_t, torch.tensor(target))
    loss_t.backward()
    np.testing.assert_allclose(y, y_t.detach().numpy(), rtol=1e-10, atol=1e-12)
    assert value == pytest.approx(loss_t.item(), rel=1e-10)
    torch_grads = {f"lstm.{k}": p.grad for k, p in lstm.named_parameters()}
    torch_grads |= {f"head.{k}": p.grad for k, p in head.named_parameters()}
    assert set(torch_grads) == set(grads)
    for name, g in grads.items():
        np.testing.assert_allclose(g, torch_grads[name].numpy(), rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(("compiled", "batch"), [(True, 16), (False, 1), (False, 16)])
def test_float32_outputs_match_torch(rng, compiled, batch):
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=32, num_layers=2), rng=rng)
    lstm, head = _torch_model(net, torch.float32)
    x = rng.normal(size=(batch, 24, 1)).astype(np.float32)
    np.testing.assert_allclose(
        net.predict(x, compiled=compiled),
        _torch_forward(lstm, head, torch.tensor(x)).detach().numpy(),
        rtol=1e-4,
        atol=1e-5,
    )


@pytest.mark.parametrize("compiled", [True, False])
def test_trace_matches_torch_hidden_states(rng, compiled):
    net = LSTMNetwork(NetworkConfig(input_size=2, hidden_size=4, num_layers=2, dtype="float64"), rng=rng)
    lstm, _ = _torch_model(net, torch.float64)
    x = rng.normal(size=(3, 6, 2))
    _, layers = net.trace(x, compiled=compiled)
    out, (h_n, c_n) = lstm(torch.tensor(x))
    np.testing.assert_allclose(layers[-1]["h"], out.detach().numpy(), rtol=1e-10, atol=1e-12)
    for layer, entry in enumerate(layers):
        np.testing.assert_allclose(entry["h"][:, -1], h_n[layer].detach().numpy(), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(entry["c"][:, -1], c_n[layer].detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
def test_adam_steps_with_clipping_match_torch(rng, weight_decay):
    """Three full training steps (forward, BPTT, clip, Adam) against torch.optim.Adam."""
    config = NetworkConfig(input_size=1, hidden_size=5, num_layers=2, output_size=2, dtype="float64")
    net = LSTMNetwork(config, rng=rng)
    lstm, head = _torch_model(net, torch.float64)
    params_t = list(lstm.parameters()) + list(head.parameters())
    opt_t = torch.optim.Adam(params_t, lr=0.01, weight_decay=weight_decay, foreach=False)
    adam = Adam(net.flat_params.size, net.dtype, lr=0.01, weight_decay=weight_decay)
    for _ in range(3):
        x = rng.normal(size=(4, 6, 1))
        target = rng.normal(size=(4, 2))
        y, cache = net.forward(x)
        net.backward(LOSSES["mse"](y, target)[1], cache)
        norm = clip_global_norm(net.flat_grads, 0.05)
        adam.step(net.flat_params, net.flat_grads)

        opt_t.zero_grad()
        TORCH_LOSSES["mse"](_torch_forward(lstm, head, torch.tensor(x)), torch.tensor(target)).backward()
        norm_t = torch.nn.utils.clip_grad_norm_(params_t, 0.05)
        opt_t.step()
        assert norm == pytest.approx(norm_t.item(), rel=1e-10)
    state = {f"lstm.{k}": v for k, v in lstm.state_dict().items()}
    state |= {f"head.{k}": v for k, v in head.state_dict().items()}
    for name, value in net.params.items():
        np.testing.assert_allclose(value, state[name].numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
