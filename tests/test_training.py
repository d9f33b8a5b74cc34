"""The training loop: learning, early stopping, divergence, interruption, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.training import TrainConfig, fit


def _sine_windows(n=200, lookback=12):
    t = np.arange(n)
    s = np.sin(2 * np.pi * t / 12)
    w = sliding_window_view(s, lookback + 1)
    return w[:, :lookback, None], w[:, lookback:]


def _train(seed=0, **kw):
    x, y = _sine_windows()
    rng = np.random.default_rng(seed)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=8), rng=rng)
    config = TrainConfig(**({"epochs": 15, "patience": 0, "seed": seed} | kw))
    result = fit(net, x[:150], y[:150], config, rng, x_val=x[150:], y_val=y[150:])
    return net, result


def test_training_learns_a_sine():
    net, result = _train(epochs=40)
    assert result.stop_reason == "completed" and result.epochs_run == 40
    assert result.history[-1]["train_loss"] < 0.1 * result.history[0]["train_loss"]
    assert result.best_loss == min(h["val_loss"] for h in result.history)


def test_same_seed_gives_bit_identical_weights():
    a, _ = _train(seed=5)
    b, _ = _train(seed=5)
    c, _ = _train(seed=6)
    assert a.flat_params.tobytes() == b.flat_params.tobytes()
    assert a.flat_params.tobytes() != c.flat_params.tobytes()


def test_early_stopping_restores_the_best_weights():
    x, y = _sine_windows()
    rng = np.random.default_rng(0)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=8), rng=rng)
    # validation targets that no sine model fits: the best epoch comes early, then patience runs out
    y_val = -y[150:] * 3
    result = fit(net, x[:150], y[:150], TrainConfig(epochs=200, patience=3), rng, x_val=x[150:], y_val=y_val)
    assert result.stop_reason == "early_stopping"
    assert result.epochs_run == result.best_epoch + 3
    restored = float(np.mean((net.predict(x[150:]) - y_val) ** 2))
    assert restored == pytest.approx(result.best_loss, rel=1e-5)


def test_divergence_stops_and_keeps_the_best_weights():
    x, y = _sine_windows()
    y = y.copy()
    y[-60] = np.inf  # a training target that makes the loss infinite once it is drawn
    rng = np.random.default_rng(0)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=8), rng=rng)
    before = net.flat_params.copy()
    result = fit(net, x, y, TrainConfig(epochs=5), rng)
    assert result.stop_reason == "diverged"
    assert np.isfinite(net.flat_params).all()
    np.testing.assert_array_equal(net.flat_params, before)  # no epoch finished: the initial weights


def test_should_stop_interrupts_within_a_batch():
    calls = []

    def stop():
        calls.append(1)
        return len(calls) >= 12  # after 12 batches: one full epoch (5 batches of 32) and change

    x, y = _sine_windows()
    rng = np.random.default_rng(0)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=8), rng=rng)
    result = fit(net, x[:150], y[:150], TrainConfig(epochs=100), rng, should_stop=stop)
    assert result.stop_reason == "interrupted"
    assert len(calls) == 12
    assert result.epochs_run == 2 and result.best_epoch == 2
