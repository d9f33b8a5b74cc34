"""A batch run as column parts in Python threads (``network._BatchSplit``, on a thread budget of 2 or
more) computes the same network as the whole batch: bit for bit where it is used, and within rounding
when forced onto any shape; a shape whose parts would give other bits runs whole."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from lstmcli.engine import network, threads
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.threads import blas_threads
from lstmcli.engine.training import TrainConfig, fit


def make_net(hidden: int, layers: int, dropout: float = 0.0, dtype: str = "float32") -> LSTMNetwork:
    config = NetworkConfig(input_size=1, hidden_size=hidden, num_layers=layers, dropout=dropout, dtype=dtype)
    return LSTMNetwork(config, rng=np.random.default_rng(7))


def step(net: LSTMNetwork, x: np.ndarray, dy: np.ndarray, seed: int) -> tuple[np.ndarray, ...]:
    """One training forward and backward (with dropout drawn from ``seed``), and a prediction."""
    y, cache = net.forward(x, training=True, rng=np.random.default_rng(seed))
    net.backward(dy, cache)
    return y.copy(), net.flat_grads.copy(), net.predict(x).copy(), cache.split is not None


@pytest.mark.parametrize(("layers", "dropout"), [(1, 0.0), (2, 0.3)])
def test_column_parts_give_the_same_bits_as_the_whole_batch(layers, dropout, monkeypatch):
    """At the real thresholds: hidden 64, batch 256 may run as 2 parts on a budget of 2. The governor
    runs two whole passes of a shape first (a warm-up and the reference), then tries parts; here it
    keeps them whatever they measure."""
    monkeypatch.setattr(network, "SPLIT_GAIN", float("inf"))
    monkeypatch.setattr(network, "SPLIT_TRIAL_WARMUP", 0.0)
    net = make_net(64, layers, dropout)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 12, 1)).astype(np.float32)
    dy = rng.standard_normal((256, 1)).astype(np.float32)
    with blas_threads(1):
        whole = step(net, x, dy, seed=1)
    with blas_threads(2):
        runs = [step(net, x, dy, seed=1) for _ in range(4)]
    assert not whole[3]
    # the parts ran, unless this machine's BLAS gives other bits for a part's shape (then they must not)
    assert [run[3] for run in runs] == [False, False, True, True] or not all(net._split_same_bits.values())
    for result in runs:
        for a, b in zip(whole[:3], result[:3], strict=True):
            np.testing.assert_array_equal(a, b)


def test_parts_that_do_not_pay_are_dropped_and_tried_again_later(monkeypatch):
    """Parts are kept only while they measure faster than whole passes (``SPLIT_GAIN``); a machine whose
    other core is busy makes them slower. With a gain no pass can reach (and no warm-up), parts are
    tried (``STRIKES`` passes), then the batch runs whole until the governor's next try."""
    monkeypatch.setattr(network, "SPLIT_GAIN", 0.0)
    monkeypatch.setattr(network, "SPLIT_TRIAL_WARMUP", 0.0)
    net = make_net(64, 1)
    x = np.random.default_rng(0).standard_normal((256, 12, 1)).astype(np.float32)
    used = []
    strikes = threads.StepGovernor.STRIKES  # a try lasts that many passes that do not gain
    with blas_threads(2):
        for _ in range(2 + strikes + threads.StepGovernor.FIRST_RETRY):
            _, cache = net._forward(x, False, None, keep=False)
            used.append(cache.split is not None)
    if not all(net._split_same_bits.values()):
        pytest.skip("this machine's BLAS gives other bits for the parts' shape: they never run")
    expected = [False, False] + [True] * strikes + [False] * (threads.StepGovernor.FIRST_RETRY - 1) + [True]
    assert used == expected


@pytest.mark.parametrize("parts", [2, 3])
def test_forced_parts_match_the_whole_batch_in_float64(parts):
    """Whatever the bits, the parts compute the same network: uneven parts, two layers, dropout."""
    net = make_net(8, 2, dropout=0.25, dtype="float64")
    rng = np.random.default_rng(1)
    x = rng.standard_normal((50, 9, 1))
    dy = rng.standard_normal((50, 1))
    results = []
    for n in (1, parts):
        with blas_threads(parts):
            y, cache = net._forward(x, True, np.random.default_rng(5), keep=True, parts=n)
            assert (cache.split is not None) == (n > 1)
            net.backward(dy, cache)
            y_infer, _ = net._forward(x, False, None, keep=False, parts=n)
        results.append((y.copy(), net.flat_grads.copy(), y_infer.copy()))
    for a, b in zip(*results, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-14)


def test_the_check_notices_parts_that_give_other_bits_and_the_batch_then_runs_whole(monkeypatch):
    real_forward = network.layer_forward

    def nudged(ws, a_scaled, one_thread=False):  # a part's arithmetic off by one rounding
        real_forward(ws, a_scaled, one_thread)
        if one_thread:
            ws.h[-1] *= np.float32(1 + 2**-20)

    monkeypatch.setattr(network, "layer_forward", nudged)
    net = make_net(64, 1)
    x = np.random.default_rng(0).standard_normal((256, 6, 1)).astype(np.float32)
    with blas_threads(2):
        _, cache = net.forward(x)
    assert cache.split is None
    assert net._split_same_bits == {(6, 256, True, 2): False}


def test_small_batches_and_small_models_run_whole():
    """Too little work per pass to pay for the hand-off, or (hidden 256 at batch 32) parts skinnier
    than hidden/8 columns, where BLAS's own threads do better."""
    for hidden, batch in ((64, 96), (16, 512), (256, 32)):
        net = make_net(hidden, 1)
        x = np.zeros((batch, 4, 1), np.float32)
        with blas_threads(2):
            _, cache = net.forward(x)
        assert cache.split is None, (hidden, batch)


def test_one_thread_budget_never_splits(monkeypatch):
    monkeypatch.setattr(network, "MIN_SPLIT_FLOPS", 0.0)
    monkeypatch.setattr(network, "MIN_PART_COLUMNS", 1)
    net = make_net(4, 1)
    with blas_threads(1):
        _, cache = net.forward(np.zeros((64, 3, 1), np.float32))
    assert cache.split is None


def test_trace_reads_one_workspace_per_layer_on_a_budget_that_splits():
    net = make_net(64, 2)
    x = np.random.default_rng(0).standard_normal((256, 5, 1)).astype(np.float32)
    with blas_threads(1):
        y_whole = net.predict(x).copy()
    with blas_threads(2):
        y, layers = net.trace(x)
    np.testing.assert_array_equal(y, y_whole)
    assert len(layers) == 2 and layers[1]["h"].shape == (256, 5, 64)


def test_training_on_two_threads_gives_the_same_model_as_on_one(monkeypatch):
    """``fit`` end to end (shuffled batches, validation, Adam) with every batch in parts."""
    monkeypatch.setattr(network, "MIN_SPLIT_FLOPS", 0.0)
    monkeypatch.setattr(network, "MIN_PART_COLUMNS", 16)
    rng = np.random.default_rng(2)
    series = np.sin(np.arange(400) * 2 * np.pi / 12) + 0.1 * rng.standard_normal(400)
    windows = np.lib.stride_tricks.sliding_window_view(series, 13).astype(np.float32)
    x, y = windows[:, :12, None], windows[:, 12:]
    weights, split_used = [], []
    for budget in (1, 2):
        net = make_net(32, 2, dropout=0.1)
        config = TrainConfig(epochs=3, batch_size=64, patience=0, seed=0)
        fit(
            net,
            x[:320],
            y[:320],
            config,
            np.random.default_rng(0),
            x_val=x[320:],
            y_val=y[320:],
            threads=budget,
        )
        weights.append(net.flat_params.copy())
        split_used.append(bool(net._splits) or not all(net._split_same_bits.values()))
    assert split_used[1] and not split_used[0]
    np.testing.assert_array_equal(weights[0], weights[1])


def test_run_in_threads_returns_after_every_part_and_raises_the_first_error():
    finished = []

    def work(k: int) -> None:
        if k == 0:
            raise RuntimeError("part 0 failed")
        time.sleep(0.05)
        finished.append(k)

    with pytest.raises(RuntimeError, match="part 0"):
        threads.run_in_threads(work, 3)
    assert sorted(finished) == [1, 2]  # the other parts were waited for, not left running

    def helper_fails(k: int) -> None:
        if k == 1:
            raise ValueError("part 1 failed")

    with pytest.raises(ValueError, match="part 1"):
        threads.run_in_threads(helper_fails, 2)


def test_parts_run_with_the_callers_numpy_error_state():
    seen = {}

    def work(k: int) -> None:
        seen[k] = (np.geterr()["over"], threading.current_thread() is threading.main_thread())

    with np.errstate(over="ignore"):
        threads.run_in_threads(work, 2)
    assert seen == {0: ("ignore", True), 1: ("ignore", False)}


@pytest.mark.parametrize(("rows", "inner", "cols"), [(1024, 3072, 258), (256, 1024, 6144), (200, 700, 300)])
def test_products_by_rows_equal_the_whole_product(rows, inner, cols):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((rows, inner)).astype(np.float32)
    b = rng.standard_normal((inner, cols)).astype(np.float32)
    for _ in range(2):  # the first call checks the shape, the second uses the verdict
        out = threads.matmul_by_rows(a, b, np.empty((rows, cols), np.float32), parts=2)
        np.testing.assert_array_equal(out, np.matmul(a, b))
