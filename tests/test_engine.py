"""The NumPy LSTM engine against independent references: finite differences and golden values (the
compiled loops against the textbook cell: tests/test_cell.py)."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.engine.cell import GATES
from lstmcli.engine.losses import LOSSES
from lstmcli.engine.network import LSTMNetwork, NetworkConfig, parameter_shapes
from lstmcli.engine.optim import Adam, clip_global_norm
from tests.gradcheck import numerical_gradient, relative_error


@pytest.mark.parametrize(
    ("layers", "inputs", "outputs", "loss"),
    [(1, 1, 1, "mse"), (2, 3, 4, "mse"), (3, 2, 2, "huber"), (2, 1, 3, "mae")],
)
def test_gradients_match_finite_differences(rng, layers, inputs, outputs, loss):
    config = NetworkConfig(
        input_size=inputs, hidden_size=4, num_layers=layers, output_size=outputs, dtype="float64"
    )
    net = LSTMNetwork(config, rng=rng)
    x = rng.normal(size=(3, 5, inputs))
    target = rng.normal(size=(3, outputs))
    loss_fn = LOSSES[loss]

    y, cache = net.forward(x)
    _, dy = loss_fn(y, target)
    analytic = {k: v.copy() for k, v in net.backward(dy, cache).items()}

    def loss_value():
        return loss_fn(net.predict(x), target)[0]

    for name, param in net.params.items():
        numeric = numerical_gradient(loss_value, param)
        assert relative_error(numeric, analytic[name]) < 1e-6, name


def test_gradients_with_dropout_match_finite_differences(rng):
    """With a fixed dropout mask the network is a smooth function: its gradient must be exact too."""
    config = NetworkConfig(input_size=2, hidden_size=3, num_layers=2, dropout=0.4, dtype="float64")
    net = LSTMNetwork(config, rng=rng)
    x = rng.normal(size=(2, 4, 2))
    target = rng.normal(size=(2, 1))
    seed = 7

    def run():
        return net.forward(x, training=True, rng=np.random.default_rng(seed))

    y, cache = run()
    assert cache.masks[1] is not None and (cache.masks[1] == 0).any()
    analytic = {k: v.copy() for k, v in net.backward(LOSSES["mse"](y, target)[1], cache).items()}
    for name, param in net.params.items():
        numeric = numerical_gradient(lambda: LOSSES["mse"](run()[0], target)[0], param)
        assert relative_error(numeric, analytic[name]) < 1e-6, name


def _linspace_network():
    """Deterministic weights from np.linspace (no randomness): the golden test's fixture."""
    config = NetworkConfig(input_size=2, hidden_size=3, num_layers=1, output_size=1, dtype="float64")
    params = {}
    for k, (name, shape) in enumerate(parameter_shapes(config).items()):
        size = int(np.prod(shape))
        params[name] = np.linspace(-0.5 + 0.1 * k, 0.4 - 0.05 * k, size).reshape(shape)
    net = LSTMNetwork(config, params=params)
    x = np.linspace(-1.0, 1.0, 8).reshape(1, 4, 2)
    return net, x


def test_golden_forward_values():
    """Fixed weights and inputs, expected values written out: fails if anyone reorders the gates.

    The expected numbers were computed with torch.nn.LSTM + nn.Linear loaded with the same weights.
    """
    net, x = _linspace_network()
    y, layers = net.trace(x[0])
    np.testing.assert_allclose(y, [0.03678284871236264], rtol=1e-10)
    np.testing.assert_allclose(
        layers[0]["h"][-1], [0.019932146318160225, 0.08413187934456323, 0.1728473468847525], rtol=1e-10
    )
    np.testing.assert_allclose(
        layers[0]["c"][-1], [0.028938184268695846, 0.11438382044925491, 0.22443647900470573], rtol=1e-10
    )


def test_trace_returns_the_training_forward_values(rng):
    config = NetworkConfig(input_size=1, hidden_size=4, num_layers=2)
    net = LSTMNetwork(config, rng=rng)
    x = rng.normal(size=(3, 6, 1)).astype(np.float32)
    y, layers = net.trace(x)
    np.testing.assert_array_equal(y, net.predict(x))
    assert len(layers) == 2
    for layer in layers:
        assert set(layer) == set(GATES) | {"c", "h"}
        for name in ("i", "f", "o"):
            assert ((layer[name] > 0) & (layer[name] < 1)).all()
        assert (np.abs(layer["g"]) <= 1).all() and (np.abs(layer["h"]) < 1).all()
        # the state equations hold between the traced values (to float32 rounding: the engine forms
        # f·c + i·g with a fused multiply-add, NumPy below with two roundings)
        c_prev = np.concatenate([np.zeros((3, 1, 4), np.float32), layer["c"][:, :-1]], axis=1)
        expected = layer["f"] * c_prev + layer["i"] * layer["g"]
        np.testing.assert_allclose(layer["c"], expected, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(layer["h"], layer["o"] * np.tanh(layer["c"]), rtol=1e-5, atol=1e-7)
    head = layers[1]["h"][:, -1] @ net.params["head.weight"].T + net.params["head.bias"]
    np.testing.assert_allclose(head, y, rtol=1e-6)


def test_float32_stays_float32(rng):
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=8), rng=rng)
    x = rng.normal(size=(5, 10, 1))  # float64 input is cast, not propagated
    y, cache = net.forward(x)
    assert y.dtype == np.float32
    grads = net.backward(np.ones_like(y), cache)
    assert all(g.dtype == np.float32 for g in grads.values())
    assert net.flat_params.dtype == np.float32


def test_same_seed_same_weights():
    config = NetworkConfig(input_size=1, hidden_size=6, num_layers=2)
    a = LSTMNetwork(config, rng=np.random.default_rng(3)).flat_params
    b = LSTMNetwork(config, rng=np.random.default_rng(3)).flat_params
    c = LSTMNetwork(config, rng=np.random.default_rng(4)).flat_params
    assert a.tobytes() == b.tobytes()
    assert a.tobytes() != c.tobytes()


def test_forget_bias_initialisation(rng):
    config = NetworkConfig(input_size=1, hidden_size=4, forget_bias=1.0)
    b = LSTMNetwork(config, rng=rng).params["lstm.bias_ih_l0"]
    assert (b[4:8] > 0.4).all()  # U(-0.5, 0.5) + 1
    assert (np.abs(b[:4]) <= 0.5).all()


def test_load_params_rejects_wrong_shapes(rng):
    config = NetworkConfig(input_size=1, hidden_size=4)
    params = LSTMNetwork(config, rng=rng).state_dict()
    params["lstm.weight_hh_l0"] = np.zeros((16, 3))
    with pytest.raises(ValueError, match=r"lstm.weight_hh_l0 has shape \(16, 3\), expected \(16, 4\)"):
        LSTMNetwork(config, params=params)


def test_adam_first_step_uses_bias_correction_t1():
    """With t = 1 the bias-corrected first step moves every weight by lr·sign(g) (nearly exactly)."""
    param = np.array([1.0, -2.0, 3.0])
    grad = np.array([0.5, -3.0, 1e-3])
    Adam(3, np.dtype(np.float64), lr=0.1).step(param, grad)
    np.testing.assert_allclose(param, [0.9, -1.9, 2.9], rtol=1e-6)


def test_clip_global_norm():
    g = np.array([3.0, 4.0])
    assert clip_global_norm(g, 1.0) == pytest.approx(5.0)
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-5)
    g = np.array([0.3, 0.4])
    clip_global_norm(g, 1.0)
    np.testing.assert_array_equal(g, [0.3, 0.4])
