"""Ensemble members trained in worker processes: the same networks as in one process, progress relayed,
stopping honoured, and an abandoned run leaves no worker behind."""

from __future__ import annotations

import numpy as np
import pytest

from lstmcli.engine.network import NetworkConfig
from lstmcli.engine.training import TrainConfig
from lstmcli.forecasting.members import (
    MemberJob,
    network_from,
    train_in_processes,
    train_member,
    worth_processes,
)


def jobs(n: int = 3, epochs: int = 5, hidden: int = 8) -> list[MemberJob]:
    rng = np.random.default_rng(0)
    out = []
    for k in range(n):
        x = rng.standard_normal((40, 6 + k, 1)).astype(np.float32)
        t = rng.standard_normal((40, 1)).astype(np.float32)
        out.append(
            MemberJob(
                k,
                NetworkConfig(input_size=1, hidden_size=hidden),
                TrainConfig(epochs=epochs, batch_size=16, patience=0),
                [7, k],
                x[:32],
                t[:32],
                x[32:],
                t[32:],
            )
        )
    return out


def test_workers_give_the_networks_of_one_process_and_relay_every_epoch():
    work = jobs()
    seen: dict[int, list[int]] = {job.index: [] for job in work}
    reporters = {job.index: (lambda r, k=job.index: seen[k].append(r.epoch)) for job in work}
    done: list[int] = []

    def on_done(index: int) -> None:  # each job's end is told after its last report
        assert seen[index] == [1, 2, 3, 4, 5]
        done.append(index)

    outcomes = train_in_processes(work, 2, reporters, should_stop=None, on_done=on_done)
    assert sorted(outcomes) == [0, 1, 2] and sorted(done) == [0, 1, 2]
    for job in work:
        net, result = train_member(job)
        flat, remote = outcomes[job.index]
        np.testing.assert_array_equal(network_from(job, flat).flat_params, net.flat_params)
        assert remote.best_loss == result.best_loss and remote.history == result.history
        assert seen[job.index] == [1, 2, 3, 4, 5]


def test_a_second_ctrl_c_terminates_the_workers_at_once():
    """Members that would train for ever: the KeyboardInterrupt of a second Ctrl-C (raised here by
    should_stop) must end the call within seconds, not wait for them."""
    calls = []

    def second_ctrl_c() -> bool:
        calls.append(1)
        if len(calls) > 5:
            raise KeyboardInterrupt
        return False

    # Were the workers not told to stop, the call would not return: they train for 10**6 epochs.
    with pytest.raises(KeyboardInterrupt):
        train_in_processes(jobs(epochs=10**6), 2, {}, should_stop=second_ctrl_c)


def test_processes_only_for_enough_work_and_cores():
    small, large = jobs(epochs=5), jobs(epochs=100_000, hidden=64)
    assert not worth_processes(small, 2)
    assert worth_processes(large, 2)
    assert not worth_processes(large, 1)
    assert not worth_processes(large[:1], 4)


class _DiesWhenUnpickled:
    """A seed that kills the worker process receiving it, as the out-of-memory killer would."""

    def __reduce__(self):
        import os

        return (os._exit, (3,))


def test_a_worker_that_dies_is_a_clear_training_error():
    from dataclasses import replace

    from lstmcli.errors import TrainingError

    work = jobs()
    work[1] = replace(work[1], seed=_DiesWhenUnpickled())
    with pytest.raises(TrainingError, match="worker process died"):
        train_in_processes(work, 2, {}, should_stop=None)


def test_without_worker_processes_members_train_in_this_one(monkeypatch):
    from lstmcli.forecasting import members
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.forecaster import Forecaster
    from tests.test_forecaster import _seasonal

    tried = []

    def no_semaphores():
        tried.append(1)
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(members, "MIN_PARALLEL_SECONDS", 0.0)
    monkeypatch.setattr(members, "_context", no_semaphores)
    config = ForecasterConfig(hidden=8, epochs=20, patience=5, ensemble=3)
    here = Forecaster(config).fit(_seasonal(), threads=2)
    one = Forecaster(config).fit(_seasonal(), threads=1)
    assert tried  # the workers were asked for, and the members trained here instead
    for a, b in zip(here.networks_, one.networks_, strict=True):
        np.testing.assert_array_equal(a.flat_params, b.flat_params)


ABANDONED_POOL = """
import os, sys, time
from concurrent.futures import ProcessPoolExecutor
from lstmcli.forecasting import executors, members
ctx = members._context()
stop = ctx.Event()
if sys.argv[1] == "members":
    initializer, initargs = members._init_worker, (ctx.SimpleQueue(), stop)
else:
    initializer, initargs = executors._init_pool_worker, (stop,)
pool = ProcessPoolExecutor(1, mp_context=ctx, initializer=initializer, initargs=initargs)
print(pool.submit(os.getpid).result(), flush=True)
pool.submit(time.sleep, 3600)  # a long task: it would keep the worker for an hour
os._exit(0)  # the command ends without shutting its pool down (killed, or interrupted mid-start)
"""


@pytest.mark.skipif(not hasattr(__import__("os"), "getppid"), reason="POSIX")
@pytest.mark.parametrize("pool", ["members", "executors"])
def test_a_worker_never_outlives_its_command(tmp_path, pool):
    """A worker the pool could not tell to stop (its command gone) ends with the command, not with its
    task: a command interrupted while its pool started a worker left that worker waiting for ever."""
    import os
    import subprocess
    import sys
    import time

    log = tmp_path / "out.txt"  # a file, not a pipe: a worker left behind holds it, the test goes on
    with log.open("w") as f:
        done = subprocess.run(
            [sys.executable, "-c", ABANDONED_POOL, pool],
            stdout=f,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
            timeout=300,
        )
    assert done.returncode == 0, log.read_text()
    pid = int(log.read_text().split()[0])

    def running() -> bool:
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except FileNotFoundError:
            return False
        except OSError:  # no /proc: ask the kernel
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            return True

    deadline = time.monotonic() + 120  # a bound on a hang, not a speed check
    while running() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not running()


def test_signals_wait_while_a_pool_starts_its_workers_then_arrive():
    """Ctrl-C or SIGTERM while the pool starts a worker arrives after the start, once, to the handler
    that was there (here a recorder), so the pool knows every worker it has when it is told to stop."""
    import os
    import signal

    from lstmcli.forecasting.members import signals_held

    got: list[int] = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
    try:
        with signals_held():
            os.kill(os.getpid(), signal.SIGTERM)
            held = list(got)  # the handler has had every chance to run here
        assert held == [] and got == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGINT) is not None  # handlers restored
    finally:
        signal.signal(signal.SIGTERM, previous)
