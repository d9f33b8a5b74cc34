"""Probe for the next step of the 2-thread engine: a batch's column halves in two worker processes.

    PYTHONPATH=. python benchmarks/probe_process_split.py [--steps 20]

Written before the engine's loops were compiled (``lstmcli/engine/kernels.py``), which release the GIL
for a whole pass, so Python threads now get about what processes did; kept as the record, and to
re-measure the comparison. Why it was written: at batch 32-64 the column parts of
``network._BatchSplit`` lost in Python threads, because the
threads hand the GIL to each other at every NumPy call (``probe_batch_split.py``), so two threads
gain only what BLAS threads give the per-step products (1.2-1.4x where torch gains 1.5-2x). Worker
processes have no GIL to share. This script measures what they would give, for a whole training step
(forward, backward, the gradients of the two halves added) and an inference pass:

- *1 thread*: ``LSTMNetwork`` on the whole batch, one BLAS thread;
- *2 threads*: the same on a budget of 2 (the engine's policy today: governed BLAS threads, or the
  batch split in Python threads from batch 128);
- *2 processes*: each of two worker processes (spawned once, one BLAS thread each) runs the whole
  step on its half of the columns. The weights live in shared memory, written by the parent and read
  in place by both workers; each step costs two round trips through a pipe (start the forward; then,
  once the parent has the outputs of both halves, start the backward), and each worker writes its
  part of the gradient into shared memory, which the parent adds.

It measures the potential only: the two halves' gradients are added after two GEMMs, which gives
other bits than one GEMM over the whole batch (a real design has to fix one split for every thread
count), and the loss gradient is a constant. It prints only; nothing in the engine uses it.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import time
from multiprocessing import shared_memory

import numpy as np

from lstmcli.engine import threads
from lstmcli.engine.network import LSTMNetwork, NetworkConfig, _FlatParameters, parameter_count

CONFIGS = [  # (layers, hidden, lookback, batch)
    (1, 64, 48, 32),
    (1, 128, 48, 32),
    (1, 256, 24, 64),
    (2, 64, 48, 64),
    (2, 128, 48, 32),
    (2, 128, 96, 64),
    (2, 256, 24, 32),
    (2, 256, 48, 64),
    (1, 32, 96, 256),
    (2, 64, 48, 256),
]


def _attach(name: str, count: int) -> tuple[shared_memory.SharedMemory, np.ndarray]:
    shm = shared_memory.SharedMemory(name=name)
    return shm, np.ndarray((count,), dtype=np.float32, buffer=shm.buf)


def _worker(conn, config: NetworkConfig, params_name: str, grads_name: str, x_part: np.ndarray) -> None:
    """One half of the batch: forward on request, then backward on request, gradients into shared memory."""
    with threads.blas_threads(1):
        n = parameter_count(config)
        shm_p, flat = _attach(params_name, n)
        shm_g, grads = _attach(grads_name, n)
        net = LSTMNetwork(
            config, params={k: v.copy() for k, v in _FlatParameters(config, flat).views.items()}
        )
        net._params = _FlatParameters(config, flat)  # read the weights in place, as the parent writes them
        net._grads = _FlatParameters(config, grads)  # and write the gradient where the parent reads it
        dy = np.ones((x_part.shape[0], config.output_size), np.float32)
        while True:
            request = conn.recv()
            if request == "stop":
                break
            y, cache = net._forward(x_part, False, None, keep=request == "train", parts=1)
            conn.send(y.shape)
            if request == "train":
                conn.recv()  # the parent has both halves' outputs (here: the loss gradient is fixed)
                net.backward(dy, cache)
                conn.send(True)
        del net
        shm_p.close()
        shm_g.close()


def _best_ms(fn, repeats: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def measure(layers: int, hidden: int, lookback: int, batch: int, repeats: int) -> dict[str, float]:
    config = NetworkConfig(input_size=1, hidden_size=hidden, num_layers=layers)
    rng = np.random.default_rng(0)
    net = LSTMNetwork(config, rng=rng)
    x = rng.standard_normal((batch, lookback, 1)).astype(np.float32)
    dy = np.ones((batch, 1), np.float32)
    out: dict[str, float] = {}

    def train_step() -> None:
        y, cache = net.forward(x)
        net.backward(dy, cache)

    for budget in (1, 2):
        with threads.blas_threads(budget):
            out[f"train {budget}t"] = _best_ms(train_step, repeats)
            out[f"infer {budget}t"] = _best_ms(lambda: net.predict(x), repeats)

    n = parameter_count(config)
    shm_p = shared_memory.SharedMemory(create=True, size=4 * n)
    shm_g = [shared_memory.SharedMemory(create=True, size=4 * n) for _ in range(2)]
    flat = np.ndarray((n,), dtype=np.float32, buffer=shm_p.buf)
    flat[...] = net.flat_params
    grads = [np.ndarray((n,), dtype=np.float32, buffer=s.buf) for s in shm_g]
    half = batch // 2
    ctx = mp.get_context("spawn")
    pipes, workers = [], []
    try:
        for k, columns in enumerate((slice(0, half), slice(half, batch))):
            parent_end, child_end = ctx.Pipe()
            proc = ctx.Process(
                target=_worker, args=(child_end, config, shm_p.name, shm_g[k].name, x[columns].copy())
            )
            proc.start()
            pipes.append(parent_end)
            workers.append(proc)
        total = np.empty(n, np.float32)

        def step(kind: str) -> None:
            flat[...] = net.flat_params  # the weights of this step (Adam would have changed them)
            for p in pipes:
                p.send(kind)
            for p in pipes:
                p.recv()
            if kind == "train":
                for p in pipes:
                    p.send(True)
                for p in pipes:
                    p.recv()
                np.add(grads[0], grads[1], out=total)

        with threads.blas_threads(1):
            out["train 2p"] = _best_ms(lambda: step("train"), repeats)
            out["infer 2p"] = _best_ms(lambda: step("infer"), repeats)
    finally:
        for p in pipes:
            p.send("stop")
        for proc in workers:
            proc.join(timeout=30)
        for s in (shm_p, *shm_g):
            s.close()
            s.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed repeats per measurement (median)")
    args = parser.parse_args()
    print("config              | train ms: 1 thread / 2 threads / 2 processes (gain over 1 thread) "
          "| inference ms: same")  # fmt: skip
    for layers, hidden, lookback, batch in CONFIGS:
        r = measure(layers, hidden, lookback, batch, args.steps)
        label = f"L{layers} H{hidden} T{lookback} N{batch}"
        print(
            f"{label:19s} | {r['train 1t']:7.2f} / {r['train 2t']:7.2f} "
            f"({r['train 1t'] / r['train 2t']:.2f}x) / "
            f"{r['train 2p']:7.2f} ({r['train 1t'] / r['train 2p']:.2f}x) | {r['infer 1t']:6.2f} / "
            f"{r['infer 2t']:6.2f} ({r['infer 1t'] / r['infer 2t']:.2f}x) / {r['infer 2p']:6.2f} "
            f"({r['infer 1t'] / r['infer 2p']:.2f}x)",
            flush=True,
        )


if __name__ == "__main__":
    main()
