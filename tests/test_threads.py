"""The BLAS thread policy: results never depend on the thread count, and the per-step governor uses
threads only while they pay (with a fake clock, so the decisions are tested, not the machine)."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.engine import kernels, network, threads
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.threads import StepGovernor, blas_threads


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def run_pass(
    gov: StepGovernor, clock: FakeClock, steps: int, single: float, multi: float
) -> tuple[bool, int]:
    """One pass of ``steps`` steps taking ``single`` or ``multi`` seconds each; returns whether it
    started on several threads and after how many steps it fell back to one (0: never)."""
    on_threads = gov.start()
    fell_back_at = 0
    for k in range(steps):
        clock.now += multi if on_threads and not fell_back_at else single
        if on_threads and gov.check() and not fell_back_at:
            fell_back_at = k + 1
    gov.finish(steps)
    return on_threads, fell_back_at


def test_threads_are_used_when_they_pay_after_a_warm_up_and_a_reference_pass():
    clock = FakeClock()
    gov = StepGovernor(clock)
    started = [run_pass(gov, clock, 10, single=1e-3, multi=0.6e-3)[0] for _ in range(6)]
    assert started == [False, False, True, True, True, True]
    assert gov.use_multi and gov.multi == pytest.approx(0.6e-3)


def test_threads_that_do_not_pay_are_tried_again_only_after_a_growing_number_of_passes():
    clock = FakeClock()
    gov = StepGovernor(clock)
    started = [run_pass(gov, clock, 10, single=1e-3, multi=0.95e-3)[0] for _ in range(80)]
    tries = [k + 1 for k, s in enumerate(started) if s]
    strikes = StepGovernor.STRIKES  # a try lasts that many passes that gain too little
    first = list(range(3, 3 + strikes))
    second = list(range(first[-1] + 8, first[-1] + 8 + strikes))  # backs off: 8 passes, then 16
    third = list(range(second[-1] + 16, second[-1] + 16 + strikes))
    assert tries[: 3 * strikes] == first + second + third
    assert not gov.use_multi


def test_one_slow_pass_on_threads_is_a_hiccup_but_several_in_a_row_drop_them():
    """A virtual machine now and then stretches one pass (1.2-3x); threads that pay are kept through
    it, and dropped only after ``STRIKES`` judged passes in a row that gained too little."""
    clock = FakeClock()
    gov = StepGovernor(clock)
    for _ in range(4):
        run_pass(gov, clock, 10, single=1e-3, multi=0.6e-3)
    assert gov.use_multi
    for _ in range(StepGovernor.STRIKES - 1):
        assert run_pass(gov, clock, 10, single=1e-3, multi=1.5e-3) == (True, 0)
        assert gov.use_multi
    run_pass(gov, clock, 10, single=1e-3, multi=0.6e-3)  # a good pass starts the count again
    for _ in range(StepGovernor.STRIKES - 1):
        run_pass(gov, clock, 10, single=1e-3, multi=1.5e-3)
    assert gov.use_multi
    run_pass(gov, clock, 10, single=1e-3, multi=1.5e-3)
    assert not gov.use_multi
    assert not run_pass(gov, clock, 10, single=1e-3, multi=0.6e-3)[0]  # next pass: one thread


def test_each_try_on_several_threads_is_judged_after_its_warm_up():
    """Column parts are slow for their first tens of milliseconds (new buffers, an idle core waking up):
    with ``trial_warmup`` the passes of that span are not judged, at the first try and at every retry."""
    clock = FakeClock()
    gov = StepGovernor(clock, trial_warmup=10e-3)

    def passes(seconds: list[float]) -> list[bool]:
        started = []
        for duration in seconds:
            started.append(gov.start())
            clock.now += duration
            gov.finish(1)
        return started

    # whole, whole, then parts: 5 ms cold, 4 ms cold, then 0.6 ms; judged from the first pass that
    # begins 10 ms into the try
    assert passes([1e-3, 1e-3, 5e-3, 4e-3, 0.6e-3, 0.6e-3, 0.6e-3]) == [False, False] + [True] * 5
    assert gov.use_multi
    strikes = StepGovernor.STRIKES
    assert passes([2e-3] * strikes) == [True] * strikes and not gov.use_multi  # slower: back to whole
    # the retry waits for 8 passes and 8 warm-ups (80 ms): 10 short passes are not enough, then it
    # warms up again before it is judged
    assert passes([1e-3] * 10 + [75e-3]) == [False] * 11
    assert passes([6e-3, 3e-3, 0.6e-3, 0.6e-3]) == [True] * 4 and not gov.use_multi  # not judged yet
    assert passes([0.6e-3]) == [True] and gov.use_multi  # the first pass begun 10 ms into the try
    long_passes = StepGovernor(FakeClock(), trial_warmup=10e-3)
    clock_2 = long_passes.clock
    started = [run_pass(long_passes, clock_2, 1, 20e-3, 12e-3)[0] for _ in range(5)]
    assert started == [False, False, True, True, True]  # a pass longer than the warm-up: the next decides
    without_warmup = StepGovernor(FakeClock())
    judged_at_once = [run_pass(without_warmup, without_warmup.clock, 1, 1e-3, 5e-3)[0] for _ in range(6)]
    assert judged_at_once == [False, False] + [True] * strikes + [False]


def test_a_try_warming_up_may_fall_further_behind_but_not_collapse():
    """While a try warms up, products 4x slower (an idle core waking up) are tolerated; 40x slower (a
    core held by another process) still send the pass back to one thread at its first step."""
    for warmup, slow, expected in ((1.0, 4e-3, 0), (1.0, 40e-3, 1), (0.0, 4e-3, 3)):
        clock = FakeClock()
        gov = StepGovernor(clock, trial_warmup=warmup)
        for _ in range(2):
            run_pass(gov, clock, 10, single=1e-3, multi=slow)
        on_threads, fell_back_at = run_pass(gov, clock, 10, single=1e-3, multi=slow)
        assert on_threads and fell_back_at == expected, (warmup, slow)


def test_a_pass_that_falls_behind_finishes_on_one_thread_and_threads_are_dropped():
    """A busy core: products on 2 threads take 40x longer. The pass notices within a step or two and
    the governor goes back to one thread, so the machine being busy costs one slow product."""
    clock = FakeClock()
    gov = StepGovernor(clock)
    for _ in range(4):
        run_pass(gov, clock, 50, single=1e-3, multi=0.6e-3)
    assert gov.use_multi
    on_threads, fell_back_at = run_pass(gov, clock, 50, single=1e-3, multi=40e-3)
    assert on_threads and fell_back_at == 1
    assert not gov.use_multi
    assert not run_pass(gov, clock, 50, single=1e-3, multi=40e-3)[0]  # next pass: one thread


def test_small_products_never_use_threads():
    with (
        blas_threads(2),
        threads.step_products(
            ("test",), np.ones((64, 66), np.float32), np.ones((66, 32), np.float32), 10
        ) as plan,
    ):
        assert plan == threads.LoopPlan()  # the whole pass on one thread


@pytest.mark.parametrize("unit_parts", [True, False], ids=["unit parts", "BLAS threads"])
@pytest.mark.parametrize(("layers", "hidden", "batch"), [(1, 128, 32), (2, 160, 48)])
def test_results_do_not_depend_on_the_thread_count(layers, hidden, batch, unit_parts, monkeypatch):
    """Bit for bit: the governor may switch threads from pass to pass, so it must not matter, whether
    the loops use the threads as unit parts or (where the barrier cannot time its waits) through BLAS."""
    monkeypatch.setattr(kernels, "UNIT_PARTS_AVAILABLE", unit_parts and kernels.UNIT_PARTS_AVAILABLE)
    monkeypatch.setattr(network, "MIN_SPLIT_FLOPS", float("inf"))
    monkeypatch.setattr(
        network, "MIN_PYTHON_PARTS_FLOPS", 0.0
    )  # short passes too  # the whole batch, governed
    monkeypatch.setattr(threads, "_governors", {})
    monkeypatch.setattr(threads, "TRIAL_WARMUP", 0.0)  # decisions at once (the warm-up is tested alone)
    monkeypatch.setattr(StepGovernor, "GAIN", 1e9)  # threads always "pay": the threaded path runs
    monkeypatch.setattr(StepGovernor, "FALL_BEHIND", 1e9)
    rng = np.random.default_rng(3)
    net = LSTMNetwork(NetworkConfig(input_size=2, hidden_size=hidden, num_layers=layers), rng=rng)
    x = rng.standard_normal((batch, 20, 2), dtype=np.float32)
    dy = rng.standard_normal((batch, 1), dtype=np.float32)
    outputs = []
    for n in (1, 2, 2, 2, 2):  # several 2-thread passes: the governor's probe and threaded passes
        with blas_threads(n):
            y, cache = net.forward(x)
            net.backward(dy, cache)
            outputs.append((y.copy(), net.flat_grads.copy(), net.predict(x).copy()))
    # the threaded path ran (unless this machine's BLAS gives other bits on threads for the shape)
    loops = [
        g for key, g in threads._governors.items() if ("unit parts" in key) == kernels.UNIT_PARTS_AVAILABLE
    ]
    assert any(g.use_multi or not g.allowed for g in loops)
    for y, g, p in outputs[1:]:
        np.testing.assert_array_equal(y, outputs[0][0])
        np.testing.assert_array_equal(g, outputs[0][1])
        np.testing.assert_array_equal(p, outputs[0][2])


def test_a_large_second_layer_uses_threads_and_keeps_its_bits(monkeypatch):
    """Layer 2 at hidden 256 has an inner dimension of 513 with the bias row, which OpenBLAS splits in
    another order on 2 threads: its product then had to stay on one thread. The loops add the bias in
    their element-wise pass, so the inner dimension is 512, and threads may run it."""
    monkeypatch.setattr(network, "MIN_SPLIT_FLOPS", float("inf"))
    monkeypatch.setattr(threads, "_governors", {})
    monkeypatch.setattr(threads, "TRIAL_WARMUP", 0.0)  # decisions at once (the warm-up is tested alone)
    monkeypatch.setattr(StepGovernor, "GAIN", 1e9)
    monkeypatch.setattr(StepGovernor, "FALL_BEHIND", 1e9)
    rng = np.random.default_rng(4)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=256, num_layers=2), rng=rng)
    x = rng.standard_normal((32, 3, 1), dtype=np.float32)
    outputs = []
    for n in (1, 2, 2, 2):
        with blas_threads(n):
            outputs.append(net.predict(x).copy())
    forward_loops = [
        g for key, g in threads._governors.items() if key[-6:-4] == ("forward", False) and key[-1] == 256
    ]
    assert len(forward_loops) == 2 and all(g.allowed for g in forward_loops)  # both layers may use threads
    for p in outputs[1:]:
        np.testing.assert_array_equal(p, outputs[0])


def test_large_products_give_the_same_bits_on_threads():
    """The weight-gradient shape (4H, T·N) by (T·N, D+H+1): OpenBLAS 0.3.31 on 2 threads sums some of
    these in another order; ``matmul`` must notice and keep them on one thread."""
    rng = np.random.default_rng(0)
    for inner in (504, 576, 624, 888):
        a = rng.standard_normal((640, inner)).astype(np.float32)
        b = rng.standard_normal((inner, 162)).astype(np.float32)
        with blas_threads(1):
            one = threads.matmul(a, b)
        with blas_threads(2):
            two = threads.matmul(a, b)
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize(("gain", "threaded"), [(1e9, True), (0.0, False)])
def test_once_per_pass_products_use_threads_only_while_they_measure_faster(gain, threaded, monkeypatch):
    """``matmul`` has a governor per shape too: a busy core would otherwise slow the large products."""
    monkeypatch.setattr(threads, "_governors", {})
    monkeypatch.setattr(threads, "TRIAL_WARMUP", 0.0)  # decisions at once (the warm-up is tested alone)
    monkeypatch.setattr(StepGovernor, "GAIN", gain)  # threads always / never "pay"
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 768)).astype(np.float32)
    b = rng.standard_normal((768, 130)).astype(np.float32)
    with blas_threads(2):
        results = [threads.matmul(a, b) for _ in range(6)]
    (gov,) = threads._governors.values()
    assert gov.passes == 6 and gov.use_multi == (threaded and gov.allowed)
    for r in results:
        np.testing.assert_array_equal(r, results[0])
