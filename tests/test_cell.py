"""The textbook cell (``engine/cell.py``) against independent references — golden values from PyTorch,
finite differences, ``torch.nn.LSTMCell`` — and the network's compiled loops against the cell, step by
step, forward and backward; its NumPy forward pass (``predict``/``trace`` with ``compiled=False``) too."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.engine.cell import step_backward, step_forward
from lstmcli.engine.network import LSTMNetwork, NetworkConfig, parameter_shapes
from tests.gradcheck import numerical_gradient, relative_error

WEIGHTS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _layer_weights(params: dict[str, np.ndarray], layer: int) -> list[np.ndarray]:
    return [params[f"lstm.{name}_l{layer}"] for name in WEIGHTS]


def cell_network_forward(params, config, x):
    """The network's forward pass built from ``step_forward``: (N, O) outputs and every step's caches."""
    N, T, _ = x.shape
    H = config.hidden_size
    seq, caches = x, []
    for layer in range(config.num_layers):
        h, c = np.zeros((N, H)), np.zeros((N, H))
        hs, layer_caches = [], []
        for t in range(T):
            h, c, cache = step_forward(seq[:, t], h, c, *_layer_weights(params, layer))
            hs.append(h)
            layer_caches.append(cache)
        seq = np.stack(hs, axis=1)
        caches.append(layer_caches)
    return seq[:, -1] @ params["head.weight"].T + params["head.bias"], caches


def cell_network_backward(params, config, dy, caches):
    """Backpropagation through time built from ``step_backward``: gradients under PyTorch's names."""
    H = config.hidden_size
    last = caches[-1][-1]
    grads = {"head.weight": dy.T @ (last.o * last.tanh_c), "head.bias": dy.sum(axis=0)}
    N = dy.shape[0]
    dh_from_above = [None] * len(caches[-1])
    dh_from_above[-1] = dy @ params["head.weight"]
    for layer in range(config.num_layers - 1, -1, -1):
        dh, dc = np.zeros((N, H)), np.zeros((N, H))
        sums = dict.fromkeys(WEIGHTS, 0.0)
        dx = []
        for t in range(len(caches[layer]) - 1, -1, -1):
            if dh_from_above[t] is not None:
                dh = dh + dh_from_above[t]
            g = step_backward(dh, dc, caches[layer][t])
            dh, dc = g.dh_prev, g.dc_prev
            sums["weight_ih"] += g.weight_ih
            sums["weight_hh"] += g.weight_hh
            sums["bias_ih"] += g.bias
            sums["bias_hh"] += g.bias
            dx.append(g.dx)
        for name, value in sums.items():
            grads[f"lstm.{name}_l{layer}"] = value
        dh_from_above = dx[::-1]
    return grads


def test_golden_step_values():
    """np.linspace weights and inputs through four steps; the expected numbers were computed with
    torch.nn.LSTM loaded with the same weights (as tests/test_engine.py's golden test)."""
    config = NetworkConfig(input_size=2, hidden_size=3, num_layers=1, output_size=1, dtype="float64")
    params = {}
    for k, (name, shape) in enumerate(parameter_shapes(config).items()):
        params[name] = np.linspace(-0.5 + 0.1 * k, 0.4 - 0.05 * k, int(np.prod(shape))).reshape(shape)
    x = np.linspace(-1.0, 1.0, 8).reshape(1, 4, 2)
    h, c = np.zeros((1, 3)), np.zeros((1, 3))
    for t in range(4):
        h, c, _ = step_forward(x[:, t], h, c, *_layer_weights(params, 0))
    np.testing.assert_allclose(
        h[0], [0.019932146318160225, 0.08413187934456323, 0.1728473468847525], rtol=1e-10
    )
    np.testing.assert_allclose(
        c[0], [0.028938184268695846, 0.11438382044925491, 0.22443647900470573], rtol=1e-10
    )


def test_step_backward_matches_finite_differences(rng):
    N, D, H = 3, 2, 4
    inputs = {"x": rng.normal(size=(N, D)), "h": rng.normal(size=(N, H)), "c": rng.normal(size=(N, H))}
    weights = {
        "weight_ih": rng.normal(size=(4 * H, D)),
        "weight_hh": rng.normal(size=(4 * H, H)),
        "bias_ih": rng.normal(size=4 * H),
        "bias_hh": rng.normal(size=4 * H),
    }
    dh_out, dc_out = rng.normal(size=(N, H)), rng.normal(size=(N, H))

    def loss() -> float:  # a weighted sum of both outputs, so both gradients reach every input
        h, c, _ = step_forward(inputs["x"], inputs["h"], inputs["c"], *weights.values())
        return float(np.sum(h * dh_out) + np.sum(c * dc_out))

    _, _, cache = step_forward(inputs["x"], inputs["h"], inputs["c"], *weights.values())
    dh_before, dc_before = dh_out.copy(), dc_out.copy()
    g = step_backward(dh_out, dc_out, cache)
    np.testing.assert_array_equal(dh_out, dh_before)  # the caller's arrays are left alone
    np.testing.assert_array_equal(dc_out, dc_before)
    analytic = {
        "x": g.dx, "h": g.dh_prev, "c": g.dc_prev,
        "weight_ih": g.weight_ih, "weight_hh": g.weight_hh, "bias_ih": g.bias, "bias_hh": g.bias,
    }  # fmt: skip
    for name, array in {**inputs, **weights}.items():
        assert relative_error(numerical_gradient(loss, array), analytic[name]) < 1e-7, name


@pytest.mark.parametrize("layers", [1, 2, 3])
def test_the_compiled_network_equals_the_cell_step_by_step(rng, layers):
    """The network's compiled loops (``engine.layer``, ``engine.kernels``) compute what the textbook
    cell computes: outputs, every gate and state, and every gradient, in float64 (exact tanh)."""
    config = NetworkConfig(input_size=2, hidden_size=5, num_layers=layers, output_size=3, dtype="float64")
    net = LSTMNetwork(config, rng=rng)
    x = rng.normal(size=(4, 7, 2))
    expected_y, caches = cell_network_forward(net.params, config, x)

    y, traced = net.trace(x)
    np.testing.assert_allclose(y, expected_y, rtol=1e-12, atol=1e-12)
    for layer, steps in enumerate(caches):
        for gate in "ifgo":
            expected = np.stack([getattr(k, gate) for k in steps], axis=1)
            np.testing.assert_allclose(traced[layer][gate], expected, rtol=1e-12, atol=1e-12)

    dy = rng.normal(size=y.shape)
    _, cache = net.forward(x)
    grads = net.backward(dy, cache)
    expected_grads = cell_network_backward(net.params, config, dy, caches)
    assert set(grads) == set(expected_grads)
    for name, value in expected_grads.items():
        np.testing.assert_allclose(grads[name], value, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize(("layers", "batch"), [(1, 1), (2, 1), (3, 4)])
def test_the_numpy_forward_pass_equals_the_cell_step_by_step(rng, layers, batch):
    """``compiled=False`` (``layer.numpy_forward_steps``, what a single series' forecast and trace run)
    computes what the textbook cell computes: outputs, every gate and state, in float64."""
    config = NetworkConfig(input_size=2, hidden_size=5, num_layers=layers, output_size=3, dtype="float64")
    net = LSTMNetwork(config, rng=rng)
    x = rng.normal(size=(batch, 7, 2))
    expected_y, caches = cell_network_forward(net.params, config, x)
    np.testing.assert_allclose(net.predict(x, compiled=False), expected_y, rtol=1e-12, atol=1e-12)
    y, traced = net.trace(x, compiled=False)
    np.testing.assert_allclose(y, expected_y, rtol=1e-12, atol=1e-12)
    for layer, steps in enumerate(caches):
        for name in "ifgo":
            expected = np.stack([getattr(k, name) for k in steps], axis=1)
            np.testing.assert_allclose(traced[layer][name], expected, rtol=1e-12, atol=1e-12, err_msg=name)
        h = np.stack([k.o * k.tanh_c for k in steps], axis=1)
        np.testing.assert_allclose(traced[layer]["h"], h, rtol=1e-12, atol=1e-12)
        c = np.stack([k.f * k.c_prev + k.i * k.g for k in steps], axis=1)
        np.testing.assert_allclose(traced[layer]["c"], c, rtol=1e-12, atol=1e-12)


def test_the_numpy_and_compiled_float32_passes_agree_to_float32_rounding(rng):
    """Not bit for bit (the compiled loop fuses multiply-adds and has its own tanh), but within a few
    units in the last place of float32, and the same from one call to the next."""
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=32, num_layers=2, output_size=12), rng=rng)
    x = rng.normal(size=(1, 48, 1)).astype(np.float32)
    numpy_y = net.predict(x, compiled=False)
    np.testing.assert_allclose(numpy_y, net.predict(x), rtol=0, atol=2e-6)
    assert np.array_equal(numpy_y, net.predict(x, compiled=False))
    _, traced = net.trace(x[0], compiled=False)
    _, compiled_trace = net.trace(x[0])
    for layer, entry in enumerate(traced):
        for name, values in entry.items():
            np.testing.assert_allclose(values, compiled_trace[layer][name], rtol=0, atol=2e-6, err_msg=name)


def test_the_cell_matches_torch_lstm_cell(rng):
    torch = pytest.importorskip("torch")
    N, D, H = 3, 2, 4
    cell = torch.nn.LSTMCell(D, H).double()
    weights = [getattr(cell, name).detach().numpy() for name in WEIGHTS]
    x = rng.normal(size=(N, D))
    h0, c0 = rng.normal(size=(N, H)), rng.normal(size=(N, H))
    h, c, _ = step_forward(x, h0, c0, *weights)
    th, tc = cell(torch.tensor(x), (torch.tensor(h0), torch.tensor(c0)))
    np.testing.assert_allclose(h, th.detach().numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(c, tc.detach().numpy(), rtol=1e-12, atol=1e-14)
