"""Unit parts (``kernels.forward_units`` / ``backward_units``, ``cell.UnitParts``): the hidden units cut
into parts, one thread each, meeting at a barrier every step. They must give the same bits as the whole
loop, stop together when one part falls behind (the pass then finishes on one thread), and never leave
a part waiting for one that failed."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from lstmcli.engine import cell, kernels, network, threads
from lstmcli.engine.network import LSTMNetwork, NetworkConfig
from lstmcli.engine.threads import StepGovernor, blas_threads

pytestmark = pytest.mark.skipif(not kernels.UNIT_PARTS_AVAILABLE, reason="no clock for the barrier here")
NEVER = 10**15  # nanoseconds: a pace no wait exceeds


def _layer(rng, T, N, D, H, dtype=np.float32):
    ws = cell.LayerWorkspace(T, N, D, H, np.dtype(dtype), keep=True)
    ws.x[...] = rng.standard_normal(ws.x.shape)
    a_scaled = (rng.standard_normal((4 * H, D + H + 1)) / np.sqrt(D + H)).astype(dtype)
    return ws, a_scaled


def _forward_in_parts(ws, a_scaled, parts, late_part=None, pace=NEVER, slack=NEVER):
    T, N, D, H = ws.shape
    unit_parts = ws.unit_parts(parts)

    def part_loop(k, lo, hi):
        if k == late_part:
            time.sleep(0.03)  # a core held by another process
        return kernels.forward_units(
            a_scaled, unit_parts.a_parts[k], unit_parts.z[k], ws.xh, ws.v, unit_parts.sync, k, parts,
            lo, hi, 0, T, D, H, pace, slack,
        )  # fmt: skip

    return unit_parts.run(part_loop)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("parts", "batch", "inputs", "hidden"), [(2, 32, 1, 256), (2, 5, 3, 70), (3, 16, 40, 96)]
)
def test_unit_parts_give_the_same_bits_as_the_whole_loop(parts, batch, inputs, hidden, dtype, monkeypatch):
    monkeypatch.setattr(cell, "_same_bits_in_unit_parts", {})
    for kind in ("forward", "backward"):
        assert cell.unit_parts_give_same_bits(kind, batch, inputs, hidden, dtype, parts), kind


def test_the_same_bits_check_catches_parts_that_differ(monkeypatch):
    """The check must be able to fail: parts whose product rounds one value differently."""
    monkeypatch.setattr(cell, "_same_bits_in_unit_parts", {})
    real = kernels.forward_units

    def off_by_an_ulp(a_scaled, a_part, z, xh, v, sync, part, parts, lo, *rest):
        stop = real(a_scaled, a_part, z, xh, v, sync, part, parts, lo, *rest)
        if part == 0:
            v[1, lo, 0] = np.nextafter(v[1, lo, 0], np.float32(2))
        return stop

    monkeypatch.setattr(kernels, "forward_units", off_by_an_ulp)
    assert not cell.unit_parts_give_same_bits("forward", 8, 1, 64, np.float32, 2)


@pytest.mark.parametrize(("parts", "late_part"), [(2, 1), (2, 0), (3, 2)])
def test_a_late_part_stops_every_part_after_the_same_step(parts, late_part, rng):
    """A part waits past its pace: every part returns after the same step (the one after the wait, see
    ``kernels._wait_for_parts``), and the pass finished on one thread from there has the whole loop's bits."""
    T, N, D, H = 12, 8, 2, 96
    ws, a_scaled = _layer(rng, T, N, D, H)
    with blas_threads(1):
        kernels.forward_steps(a_scaled, ws.xh, ws.v, 0, T, D, H)
        expected = ws.v.copy(), ws.h.copy()
        ws.v.fill(0.0)
        ws.h.fill(0.0)
        stopped = _forward_in_parts(ws, a_scaled, parts, late_part, pace=0, slack=1_000_000)
        assert stopped == 2  # the first wait (step 1) is too long: all stop after step 2
        kernels.forward_steps(a_scaled, ws.xh, ws.v, stopped, T, D, H)
    np.testing.assert_array_equal(ws.v, expected[0])
    np.testing.assert_array_equal(ws.h, expected[1])


def test_a_late_part_stops_the_backward_loop_too(rng):
    T, N, D, H = 12, 8, 2, 64
    ws, _ = _layer(rng, T, N, D, H)
    ws.v[...] = rng.uniform(-1, 1, ws.v.shape)
    weight_hh = (rng.standard_normal((4 * H, H)) / 8).astype(np.float32)
    dh0, seq = (
        rng.standard_normal((H, N)).astype(np.float32),
        rng.standard_normal((H, T, N)).astype(np.float32),
    )
    results = []
    unit_parts = ws.unit_parts(2)
    for in_parts in (False, True):
        dz, dh, dc_next = np.zeros((T, 4 * H, N), np.float32), dh0.copy(), np.zeros((H, N), np.float32)
        with blas_threads(1):
            if in_parts:

                def part_loop(k, lo, hi, dz=dz, dh=dh, dc_next=dc_next):
                    if k == 1:
                        time.sleep(0.03)
                    return kernels.backward_units(
                        weight_hh, ws.v, dz, dh, dc_next, seq, unit_parts.sync, k, 2, lo, hi, T - 1, -1, H,
                        0, 1_000_000,
                    )  # fmt: skip

                stopped = unit_parts.run(part_loop)
                assert stopped == T - 3  # steps T-1 and T-2 done, with their products
                kernels.backward_steps(weight_hh, ws.v, dz, dh, dc_next, seq, stopped, -1, H)
            else:
                kernels.backward_steps(weight_hh, ws.v, dz, dh, dc_next, seq, T - 1, -1, H)
        results.append((dz, dh))
    np.testing.assert_array_equal(results[0][0], results[1][0])
    np.testing.assert_array_equal(results[0][1], results[1][1])


def test_a_part_that_fails_does_not_leave_the_others_waiting(rng):
    """A part that raises before it reaches the loop (an exception, or Ctrl-C on the main thread): the
    others are told to return, and the error reaches the caller instead of a hang."""
    ws, a_scaled = _layer(rng, 6, 4, 1, 64)
    T, N, D, H = ws.shape
    unit_parts = ws.unit_parts(2)
    errors = []

    def part_loop(k, lo, hi):
        if k == 0:
            time.sleep(0.01)  # part 1 is already waiting for part 0 at the first barrier
            raise KeyboardInterrupt
        return kernels.forward_units(
            a_scaled, unit_parts.a_parts[k], unit_parts.z[k], ws.xh, ws.v, unit_parts.sync, k, 2,
            lo, hi, 0, T, D, H, NEVER, NEVER,
        )  # fmt: skip

    def caller():
        try:
            unit_parts.run(part_loop)
        except KeyboardInterrupt as error:
            errors.append(error)

    runner = threading.Thread(target=caller, daemon=True)
    runner.start()
    runner.join(timeout=20)
    assert not runner.is_alive(), "a part is still waiting for the one that failed"
    assert len(errors) == 1


def test_a_network_whose_part_falls_behind_keeps_its_bits_and_drops_the_parts(monkeypatch):
    """Through the network: a unit-parts pass in which one part is late (a busy core) finishes on one
    thread with the same bits, and the governor goes back to one thread for that loop."""
    monkeypatch.setattr(network, "MIN_SPLIT_FLOPS", float("inf"))
    monkeypatch.setattr(
        network, "MIN_PYTHON_PARTS_FLOPS", 0.0
    )  # short passes too  # the whole batch, governed
    monkeypatch.setattr(threads, "_governors", {})
    monkeypatch.setattr(threads, "TRIAL_WARMUP", 0.0)
    monkeypatch.setattr(StepGovernor, "GAIN", 1e9)  # unit parts always "pay" when they keep up
    real = kernels.forward_units
    late = {"passes": 0}

    def late_second_part(a_scaled, a_part, z, xh, v, sync, part, parts, *rest):
        if part == 1 and late["passes"] > 0:
            late["passes"] -= 1
            time.sleep(0.1)  # far past the governor's slack (5 ms)
        return real(a_scaled, a_part, z, xh, v, sync, part, parts, *rest)

    monkeypatch.setattr(kernels, "forward_units", late_second_part)
    rng = np.random.default_rng(5)
    net = LSTMNetwork(NetworkConfig(input_size=1, hidden_size=128), rng=rng)
    x = rng.standard_normal((32, 40, 1), dtype=np.float32)

    def training_forward():
        return net.forward(x)[0].copy()  # a training pass: inference keeps BLAS's threads

    with blas_threads(2):
        outputs = [training_forward()]
        (gov,) = [g for key, g in threads._governors.items() if "unit parts" in key]
        for _ in range(20):  # one-thread references, then unit parts (a pass that met a slow wake-up
            outputs.append(training_forward())  # of the pool thread counts as fallen behind)
            if gov.use_multi:
                break
        assert gov.use_multi
        late["passes"] = 1
        outputs.append(training_forward())
        assert not gov.use_multi and gov.next_try > gov.passes  # dropped, to be tried again later
        outputs.append(training_forward())
    for y in outputs[1:]:
        np.testing.assert_array_equal(y, outputs[0])
