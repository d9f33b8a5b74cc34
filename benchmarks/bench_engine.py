"""Engine benchmark: one training step and one inference pass, lstmcli's NumPy LSTM vs PyTorch.

    PYTHONPATH=. python benchmarks/bench_engine.py           # full grid, writes RESULTS.md
    PYTHONPATH=. python benchmarks/bench_engine.py --quick                    # < 1 minute, prints only

The yardstick is ``torch.nn.LSTM(batch_first=True)`` + ``nn.Linear`` + ``torch.optim.Adam`` on the same
CPU, float32, the same windows. For every configuration (hidden 16-256, lookback 12-96, batch
32/64/256, 1 or 2 layers) both models start from the same weights
(lstmcli's ``state_dict()`` loads into torch with ``load_state_dict``) and are timed, interleaved, on:

- a training step: forward, MSE loss, backward, clip to global norm 1, Adam step (lstmcli: exactly the
  calls ``lstmcli/engine/training.py`` makes; torch: the usual ``zero_grad / backward /
  clip_grad_norm_ / step``);
- an inference pass: ``net.predict(x)`` vs ``head(lstm(x)[0][:, -1])`` under ``torch.inference_mode()``.

Each measurement is ``time.perf_counter`` around one call, warm-up calls excluded. Per round and
library the median of the repeats is taken; rounds alternate which library goes first, and the
reported time is the lowest round median (the machine is shared: a round disturbed by another job is
discarded rather than averaged in). The script also measures the machine's GEMM peak (square float32
products through NumPy's BLAS, and through torch for reference), the share of that peak each lstmcli
training step reaches, the per-time-step overhead at tiny sizes, and peak memory (see ``--help``).

Threads: lstmcli runs a network on one core with NumPy's BLAS held to one thread
(``lstmcli.engine.threads.one_blas_thread``, as training does); its cores go to ensemble members in
worker processes, which this grid does not measure. torch runs on ``torch.set_num_threads(n)`` for each
n of ``--threads`` (default 1; ``--threads 1,2`` adds torch on 2 threads against lstmcli still on one).
The results replace the "## Engine" section of ``benchmarks/RESULTS.md``; other sections are kept.
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from results_file import publish  # noqa: E402  (benchmarks/results_file.py, shared by the scripts)

from lstmcli.engine.losses import LOSSES  # noqa: E402
from lstmcli.engine.network import LSTMNetwork, NetworkConfig  # noqa: E402
from lstmcli.engine.optim import Adam, clip_global_norm  # noqa: E402
from lstmcli.engine.threads import one_blas_thread  # noqa: E402

SECTION = "## Engine: training step and inference vs PyTorch"

FULL_GRID = {
    "hidden": (16, 32, 64, 128, 256),
    "lookback": (12, 24, 48, 96),
    "batch": (32, 64, 256),
    "layers": (1, 2),
}
QUICK_GRID = {"hidden": (16, 64, 256), "lookback": (12, 48), "batch": (32,), "layers": (1, 2)}

# Targets of the speed issue (measured here, never asserted in tests).
TARGET_TRAIN_GEOMEAN = 0.8
TARGET_TRAIN_SMALL = 0.6  # hidden <= 32 and lookback <= 24
TARGET_TRAIN_WORST = 1.5
TARGET_INFER_GEOMEAN = 1.0
TARGET_INFER_WORST = 2.0
TARGET_STEP_US_TRAIN = 10.0
TARGET_STEP_US_INFER = 5.0
TARGET_PEAK_SHARE = 0.65


# ---------------------------------------------------------------------------------------------- machine
def machine_info() -> dict:
    import threadpoolctl
    import torch

    cpu = platform.processor() or platform.machine()
    flags: set[str] = set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    simd = [x for x in ("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile") if x in flags]
    blas = []
    for lib in threadpoolctl.threadpool_info():
        desc = f"{lib.get('internal_api')} {lib.get('version') or ''}".strip()
        if lib.get("architecture"):
            desc += f" ({lib['architecture']})"
        desc += f", {lib.get('num_threads')} threads by default, `{Path(lib.get('filepath', '')).name}`"
        blas.append(desc)
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu": cpu,
        "simd": simd,
        "cores": os.cpu_count(),
        "usable_cores": affinity,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch_blas": "MKL" if torch.backends.mkl.is_available() else "other",
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "blas": blas,
        "os": f"{platform.system()} {platform.release()}",
        "load_before": os.getloadavg()[0],
    }


def gemm_peak(threads: int, quick: bool) -> dict:
    """Best GFLOP/s of square float32 products (n = 1024, 2048) through NumPy's BLAS and through torch."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    best = {"numpy": 0.0, "torch": 0.0}
    rng = np.random.default_rng(0)
    for n in (1024,) if quick else (1024, 2048):
        a = rng.standard_normal((n, n), dtype=np.float32)
        b = rng.standard_normal((n, n), dtype=np.float32)
        c = np.empty((n, n), dtype=np.float32)
        ta, tb, tc = torch.from_numpy(a), torch.from_numpy(b), torch.from_numpy(c)
        flops = 2.0 * n**3
        with threadpool_limits(limits=threads, user_api="blas"):  # the BLAS itself at n threads
            products = {
                "numpy": lambda a=a, b=b, c=c: np.matmul(a, b, out=c),
                "torch": lambda a=ta, b=tb, c=tc: torch.mm(a, b, out=c),
            }
            for name, fn in products.items():
                fn()
                times = []
                for _ in range(3 if quick else 6):
                    t0 = time.perf_counter()
                    fn()
                    times.append(time.perf_counter() - t0)
                best[name] = max(best[name], flops / min(times) / 1e9)
    return best


# ---------------------------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Config:
    hidden: int
    lookback: int
    batch: int
    layers: int
    inputs: int = 1

    @property
    def small(self) -> bool:
        return self.hidden <= 32 and self.lookback <= 24

    def train_flops(self) -> float:
        """Matrix-product FLOPs of one training step (forward, BPTT, weight and input gradients)."""
        H, T, N, D, L = self.hidden, self.lookback, self.batch, self.inputs, self.layers
        total = 0.0
        for layer in range(L):
            d = D if layer == 0 else H
            k = d + H + 1
            total += 2 * T * N * 4 * H * k  # forward: z_t = A [x_t; h_{t-1}; 1]
            total += 2 * (T - 1) * N * 4 * H * H  # backward through the recurrence: W_hhᵀ dz_t
            total += 2 * T * N * 4 * H * k  # weight gradient: dZ XHᵀ
            if layer > 0:
                total += 2 * T * N * 4 * H * d  # gradient of the layer's input
        return total

    def label(self) -> str:
        return f"L{self.layers} H{self.hidden} T{self.lookback} N{self.batch}"


class LstmcliCase:
    def __init__(self, cfg: Config, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.net = LSTMNetwork(
            NetworkConfig(input_size=cfg.inputs, hidden_size=cfg.hidden, num_layers=cfg.layers), rng=self.rng
        )
        self.x = self.rng.standard_normal((cfg.batch, cfg.lookback, cfg.inputs), dtype=np.float32)
        self.y = self.rng.standard_normal((cfg.batch, 1), dtype=np.float32)
        self.adam = Adam(self.net.flat_params.size, self.net.dtype, lr=1e-3)
        self.loss = LOSSES["mse"]

    def train_step(self) -> None:
        # the calls of lstmcli/engine/training.py, in order
        net = self.net
        pred, cache = net.forward(self.x, training=True, rng=self.rng)
        value, dpred = self.loss(pred, self.y)
        net.backward(dpred, cache)
        norm = clip_global_norm(net.flat_grads, 1.0)
        if not (math.isfinite(value) and math.isfinite(norm)):
            raise FloatingPointError("lstmcli diverged in the benchmark")
        self.adam.step(net.flat_params, net.flat_grads)

    def infer(self) -> None:
        self.net.predict(self.x)


class TorchCase:
    def __init__(self, cfg: Config, ref: LstmcliCase) -> None:
        import torch

        self.torch = torch
        self.lstm = torch.nn.LSTM(cfg.inputs, cfg.hidden, num_layers=cfg.layers, batch_first=True)
        self.head = torch.nn.Linear(cfg.hidden, 1)
        state = {k: torch.from_numpy(v) for k, v in ref.net.state_dict().items()}
        self.lstm.load_state_dict(
            {k.removeprefix("lstm."): v for k, v in state.items() if k.startswith("lstm.")}
        )
        self.head.load_state_dict(
            {k.removeprefix("head."): v for k, v in state.items() if k.startswith("head.")}
        )
        self.params = list(self.lstm.parameters()) + list(self.head.parameters())
        self.opt = torch.optim.Adam(self.params, lr=1e-3)
        self.loss = torch.nn.MSELoss()
        self.x = torch.from_numpy(ref.x.copy())
        self.y = torch.from_numpy(ref.y.copy())

    def train_step(self) -> None:
        self.opt.zero_grad()
        out, _ = self.lstm(self.x)
        loss = self.loss(self.head(out[:, -1]), self.y)
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.params, 1.0)
        self.opt.step()

    def infer(self) -> None:
        with self.torch.inference_mode():
            out, _ = self.lstm(self.x)
            self.head(out[:, -1])


def _samples(fn, reps: int) -> list[float]:
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def _reps(fn, budget: float, lo: int, hi: int) -> int:
    """Warm up (2 calls, or 1 if it takes over a second; excluded) and pick a repeat count that fits
    the time budget."""
    t0 = time.perf_counter()
    fn()
    once = time.perf_counter() - t0
    if once < 1.0:
        t0 = time.perf_counter()
        fn()
        once = time.perf_counter() - t0
    return int(min(hi, max(lo, budget / max(once, 1e-7))))


# Seconds between one library's timed calls and the other's, with several threads: both leave their
# idle worker threads spinning on the cores after a call (GOMP's for torch for about 30 ms, OpenBLAS's for
# about 0.1 s), and measured on this machine the other library's first calls after a switch took up to
# 40x their time (torch: 2.5 ms inference passes took 64-96 ms; OpenBLAS: 0.13 ms products 4-8 ms).
# Neither library meets that in a user's process, so a switch waits until the spinning has stopped.
SWITCH_GAP = 0.2


def _switch() -> None:
    """Wait before the other library runs (see ``SWITCH_GAP``; torch on one thread spins nothing)."""
    import torch

    time.sleep(SWITCH_GAP if torch.get_num_threads() > 1 else 0.002)


def compare(fns: dict[str, object], rounds: int, budget: float, lo: int, hi: int) -> dict[str, float]:
    """Interleaved timing: per round each function runs its repeats; the order alternates by round.
    Returns, per function, the lowest round median (seconds)."""
    reps = {}
    for name, fn in fns.items():
        _switch()
        reps[name] = _reps(fn, budget, lo, hi)
    medians: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            _switch()
            medians[name].append(float(np.median(_samples(fns[name], reps[name]))))
    return {name: min(m) for name, m in medians.items()}


@dataclass
class Result:
    cfg: Config
    threads: int
    train: dict[str, float] = field(default_factory=dict)
    infer: dict[str, float] = field(default_factory=dict)

    @property
    def train_ratio(self) -> float:
        return self.train["lstmcli"] / self.train["torch"]

    @property
    def infer_ratio(self) -> float:
        return self.infer["lstmcli"] / self.infer["torch"]


def run_grid(
    configs: list[Config], threads: int, rounds: int, quick: bool, progress: bool, on_result=None
) -> list[Result]:
    import torch

    torch.set_num_threads(threads)
    budget, lo, hi = (0.03, 2, 20) if quick else (0.25, 2, 60)
    results = []
    with one_blas_thread():
        for k, cfg in enumerate(configs):
            ours = LstmcliCase(cfg)
            theirs = TorchCase(cfg, ours)
            res = Result(cfg, threads)
            res.train = compare(
                {"lstmcli": ours.train_step, "torch": theirs.train_step}, rounds, budget, lo, hi
            )
            res.infer = compare({"lstmcli": ours.infer, "torch": theirs.infer}, rounds, budget * 0.4, lo, hi)
            results.append(res)
            if on_result is not None:
                on_result(res)
            if progress:
                print(
                    f"[{threads}t {k + 1:3d}/{len(configs)}] {cfg.label():22s} train {res.train['lstmcli'] * 1e3:9.3f} ms"
                    f" vs {res.train['torch'] * 1e3:9.3f} ms ({res.train_ratio:4.2f})  infer"
                    f" {res.infer['lstmcli'] * 1e3:8.3f} vs {res.infer['torch'] * 1e3:8.3f} ms ({res.infer_ratio:4.2f})",
                    file=sys.stderr,
                    flush=True,
                )
            del ours, theirs
            gc.collect()
    return results


def step_overhead(threads: int, rounds: int, quick: bool) -> dict[str, dict[str, float]]:
    """Per-time-step, per-layer cost at a tiny size (hidden 4, batch 1): the slope of the step time
    between lookback 8 and 64 (1 layer), and between 1 and 2 layers at lookback 64."""
    import torch

    torch.set_num_threads(threads)
    short, long_ = 8, 64
    times: dict[tuple[int, int], dict[str, dict[str, float]]] = {}
    with one_blas_thread():
        for layers, T in ((1, short), (1, long_), (2, long_)):
            cfg = Config(hidden=4, lookback=T, batch=1, layers=layers)
            ours, theirs = LstmcliCase(cfg), None
            theirs = TorchCase(cfg, ours)
            budget, lo, hi = (0.03, 5, 100) if quick else (0.3, 20, 2000)
            times[(layers, T)] = {
                "train": compare(
                    {"lstmcli": ours.train_step, "torch": theirs.train_step}, rounds, budget, lo, hi
                ),
                "infer": compare({"lstmcli": ours.infer, "torch": theirs.infer}, rounds, budget, lo, hi),
            }
    out: dict[str, dict[str, float]] = {}
    for kind in ("train", "infer"):
        for lib in ("lstmcli", "torch"):
            per_step = (times[(1, long_)][kind][lib] - times[(1, short)][kind][lib]) / (long_ - short)
            per_layer = (times[(2, long_)][kind][lib] - times[(1, long_)][kind][lib]) / long_
            out[f"{kind}/{lib}"] = {
                "per_step_us": per_step * 1e6,
                "per_step_layer2_us": per_layer * 1e6,
                "fixed_us": (times[(1, short)][kind][lib] - short * per_step) * 1e6,
            }
    return out


# ---------------------------------------------------------------------------------------------- memory
def _proc_status() -> dict[str, int]:
    out = {}
    with open("/proc/self/status", encoding="utf-8") as f:
        for line in f:
            if line.startswith(("VmHWM", "VmRSS")):
                key, value = line.split(":")
                out[key] = int(value.split()[0]) * 1024
    return out


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w", encoding="utf-8") as f:
        f.write("5")


def memory_worker(lib: str, configs: list[Config]) -> list[dict]:
    """Runs in its own process: per configuration, build the model and run 2 training steps, then report
    the peak-RSS growth (/proc/self/status VmHWM after resetting it) and, for lstmcli, tracemalloc's peak
    (NumPy reports its allocations to tracemalloc)."""
    import ctypes
    import tracemalloc

    import torch

    torch.set_num_threads(1)
    libc = ctypes.CDLL("libc.so.6")
    # warm up both libraries (code paths, thread pools, allocator arenas) outside the measurements
    w = LstmcliCase(Config(16, 12, 32, 2))
    w.train_step()
    TorchCase(Config(16, 12, 32, 2), w).train_step()
    del w
    out = []
    for cfg in configs:
        gc.collect()
        libc.malloc_trim(0)
        ref = LstmcliCase(cfg, seed=1) if lib == "torch" else None  # the weights and inputs (not measured)
        gc.collect()
        base = _proc_status()["VmRSS"]
        _reset_peak_rss()
        entry = {"cfg": cfg.__dict__}
        with one_blas_thread():
            if lib == "lstmcli":
                tracemalloc.start()
                case = LstmcliCase(cfg, seed=1)
                case.train_step()
                case.train_step()
                entry["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
            else:
                case = TorchCase(cfg, ref)
                case.train_step()
                case.train_step()
        entry["rss_peak_delta"] = _proc_status()["VmHWM"] - base
        out.append(entry)
        del case, ref
    return out


def measure_memory(configs: list[Config]) -> dict[str, list[dict]]:
    out = {}
    for lib in ("lstmcli", "torch"):
        proc = subprocess.run(
            [sys.executable, __file__, "--memory-worker", lib],
            input=json.dumps([c.__dict__ for c in configs]),
            capture_output=True,
            text=True,
            check=True,
            env=os.environ | {"PYTHONPATH": str(REPO)},
        )
        out[lib] = json.loads(proc.stdout)
    return out


# ---------------------------------------------------------------------------------------------- report
def geomean(values: list[float]) -> float:
    return float(np.exp(np.mean(np.log(values)))) if values else float("nan")


def _ms(s: float) -> str:
    ms = s * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def _mib(b: float) -> str:
    return f"{b / 2**20:.1f}"


def _infer_step_us(t: dict) -> float:
    """lstmcli's measured per-step inference cost at tiny sizes (NaN when it was not measured)."""
    o = t.get("overhead") or {}
    return o.get("infer/lstmcli", {}).get("per_step_us", float("nan"))


def summarize(results: list[Result], peaks: dict[int, dict], overhead: dict[int, dict]) -> dict:
    s: dict = {"threads": {}}
    one_thread = {r.cfg: r for r in results if r.threads == 1}
    for threads in sorted({r.threads for r in results}):
        rs = [r for r in results if r.threads == threads]
        small = [r for r in rs if r.cfg.small]
        worst_train = max(rs, key=lambda r: r.train_ratio)
        worst_infer = max(rs, key=lambda r: r.infer_ratio)
        h256 = [r for r in rs if r.cfg.hidden == 256]
        peak = peaks[1]["numpy"]  # lstmcli runs on one thread whatever torch's count
        shares = [r.cfg.train_flops() / r.train["lstmcli"] / 1e9 / peak for r in h256]
        s["threads"][threads] = {
            "n": len(rs),
            "train_geomean": geomean([r.train_ratio for r in rs]),
            "train_small": geomean([r.train_ratio for r in small]),
            "train_worst": (worst_train.train_ratio, worst_train.cfg.label()),
            "infer_geomean": geomean([r.infer_ratio for r in rs]),
            "infer_worst": (worst_infer.infer_ratio, worst_infer.cfg.label()),
            "over_train": [r for r in rs if r.train_ratio > TARGET_TRAIN_WORST],
            "over_infer": [r for r in rs if r.infer_ratio > TARGET_INFER_WORST],
            "peak_share_h256_best": max(shares) if shares else float("nan"),
            "peak_share_h256_median": float(np.median(shares)) if shares else float("nan"),
            "overhead": overhead.get(threads),
        }
        # On a shared machine torch's threads collapse whenever another job holds a core; the configurations
        # where torch at n threads was no slower than at 1 thread were measured undisturbed.
        calm = [
            r
            for r in rs
            if threads > 1 and r.cfg in one_thread and r.train["torch"] <= one_thread[r.cfg].train["torch"]
        ]
        calm_i = [
            r
            for r in rs
            if threads > 1 and r.cfg in one_thread and r.infer["torch"] <= one_thread[r.cfg].infer["torch"]
        ]
        if calm and calm_i:
            s["threads"][threads]["calm"] = {
                "n_train": len(calm),
                "train_geomean": geomean([r.train_ratio for r in calm]),
                "train_worst": max(r.train_ratio for r in calm),
                "n_infer": len(calm_i),
                "infer_geomean": geomean([r.infer_ratio for r in calm_i]),
                "infer_worst": max(r.infer_ratio for r in calm_i),
            }
    return s


def _mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _utc_now() -> str:
    return f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"


def report(
    info: dict,
    peaks: dict[int, dict],
    results: list[Result],
    overhead: dict[int, dict],
    memory: dict | None,
    rounds: int,
    command: str,
    seconds: float,
) -> str:
    s = summarize(results, peaks, overhead)
    L: list[str] = [SECTION, ""]
    L.append(
        f"Generated by `{command}` on {info.get('finished') or _utc_now()} UTC in {seconds / 60:.0f} min "
        f"({len(results)} timed configurations, {rounds} interleaved rounds)."
    )
    L.append("")
    L.append("### Machine")
    L.append("")
    L.append(
        f"- CPU: {info['cpu']} ({', '.join(info['simd'])}); {info['cores']} cores ({info['usable_cores']} usable)"
    )
    L.append(f"- OS {info['os']}, Python {info['python']}, NumPy {info['numpy']}, torch {info['torch']} "
             f"(BLAS {info['torch_blas']}, oneDNN {'on' if info['mkldnn'] else 'off'})")  # fmt: skip
    L.append("- BLAS libraries loaded (threadpoolctl.threadpool_info()): " + "; ".join(info["blas"]))
    if "load_before" in info:
        L.append(
            f"- 1-minute load average when the run started: {info['load_before']:.1f}, when it ended: "
            f"{info.get('load_after', float('nan')):.1f} (the machine is shared with other jobs)"
        )
    for threads, p in sorted(peaks.items()):
        L.append(
            f"- GEMM peak at {threads} thread{'s' if threads > 1 else ''} (square float32 products, best of n=1024/2048, "
            "at the start and the end of the run):"
            f" {p['numpy']:.0f} GFLOP/s through NumPy's OpenBLAS, {p['torch']:.0f} GFLOP/s through torch"
        )
    L.append("")
    L.append("### Targets")
    L.append("")
    L.append("Ratios are lstmcli time / PyTorch time (below 1: lstmcli is faster). lstmcli runs on one thread "
             "in every row; *torch threads* is torch's count.")  # fmt: skip
    L.append("")
    L.append("| target | torch threads | measured | |")
    L.append("|---|---|---|---|")
    for threads, t in s["threads"].items():
        L.append(f"| training step, geometric mean over the grid ≤ {TARGET_TRAIN_GEOMEAN} | {threads} | "
                 f"{t['train_geomean']:.2f} | {_mark(t['train_geomean'] <= TARGET_TRAIN_GEOMEAN)} |")  # fmt: skip
        L.append(f"| training step, small models (hidden ≤ 32, lookback ≤ 24) ≤ {TARGET_TRAIN_SMALL} | {threads} | "
                 f"{t['train_small']:.2f} | {_mark(t['train_small'] <= TARGET_TRAIN_SMALL)} |")  # fmt: skip
        worst, label = t["train_worst"]
        L.append(f"| training step, no configuration above {TARGET_TRAIN_WORST} | {threads} | worst {worst:.2f} "
                 f"({label}); {len(t['over_train'])} above | {_mark(worst <= TARGET_TRAIN_WORST)} |")  # fmt: skip
        L.append(f"| inference, geometric mean ≤ {TARGET_INFER_GEOMEAN} | {threads} | {t['infer_geomean']:.2f} | "
                 f"{_mark(t['infer_geomean'] <= TARGET_INFER_GEOMEAN)} |")  # fmt: skip
        worst, label = t["infer_worst"]
        L.append(f"| inference, no configuration above {TARGET_INFER_WORST} | {threads} | worst {worst:.2f} ({label}); "
                 f"{len(t['over_infer'])} above | {_mark(worst <= TARGET_INFER_WORST)} |")  # fmt: skip
        share = t["peak_share_h256_best"]
        L.append(f"| share of the GEMM peak at hidden 256 ≥ {TARGET_PEAK_SHARE:.0%} (best configuration; median) | "
                 f"{threads} | {share:.0%}; {t['peak_share_h256_median']:.0%} | {_mark(share >= TARGET_PEAK_SHARE)} |")  # fmt: skip
        o = t["overhead"]
        if o:
            tr, inf = o["train/lstmcli"], o["infer/lstmcli"]
            L.append(f"| per-step overhead at tiny sizes, training ≤ {TARGET_STEP_US_TRAIN:.0f} µs per step per layer | "
                     f"{threads} | {tr['per_step_us']:.1f} µs per step (2nd layer {tr['per_step_layer2_us']:.1f}) | "
                     f"{_mark(max(tr['per_step_us'], tr['per_step_layer2_us']) <= TARGET_STEP_US_TRAIN)} |")  # fmt: skip
            L.append(f"| per-step overhead at tiny sizes, inference ≤ {TARGET_STEP_US_INFER:.0f} µs | {threads} | "
                     f"{inf['per_step_us']:.1f} µs per step (2nd layer {inf['per_step_layer2_us']:.1f}) | "
                     f"{_mark(max(inf['per_step_us'], inf['per_step_layer2_us']) <= TARGET_STEP_US_INFER)} |")  # fmt: skip
    for threads, t in s["threads"].items():
        c = t.get("calm")
        if c:
            L.append("")
            L.append(
                f"At {threads} threads, only the configurations where torch at {threads} threads was no slower than at "
                f"1 thread (so not disturbed by another job): training {c['n_train']} configurations, geometric mean "
                f"{c['train_geomean']:.2f}, worst {c['train_worst']:.2f}; inference {c['n_infer']} configurations, "
                f"geometric mean {c['infer_geomean']:.2f}, worst {c['infer_worst']:.2f}. When the load average above "
                "is near or over the core count, the full-grid figures at 2 threads mostly measure torch's collapse."
            )
    L.append("")
    if overhead:
        L.append("### Per-step overhead at tiny sizes")
        L.append("")
        L.append("Hidden 4, batch 1, one input feature: the slope of the time between lookback 8 and 64 (per "
                 "step), the extra time of a second layer at lookback 64 (per step), and what is left at "
                 "lookback 0 (fixed cost per call).")  # fmt: skip
        L.append("")
        L.append(
            "| torch threads | pass | library | µs per step | µs per step, 2nd layer | fixed µs per call |"
        )
        L.append("|---|---|---|---|---|---|")
        for threads, o in sorted(overhead.items()):
            for kind in ("train", "infer"):
                for lib in ("lstmcli", "torch"):
                    e = o[f"{kind}/{lib}"]
                    L.append(f"| {threads} | {'training step' if kind == 'train' else 'inference'} | {lib} | "
                             f"{e['per_step_us']:.1f} | {e['per_step_layer2_us']:.1f} | {e['fixed_us']:.0f} |")  # fmt: skip
        L.append("")
    if memory:
        L.append("### Peak memory of a training step")
        L.append("")
        L.append(
            "Each library in its own process, one configuration after the other: the growth of the peak "
            "resident set (VmHWM, reset through /proc/self/clear_refs before building the model) over the "
            "resident set before it, across building the model and optimiser and two training steps. For "
            "lstmcli, tracemalloc's peak over the same span too (NumPy reports its allocations to "
            "tracemalloc; it counts exactly the arrays, while RSS also counts allocator slack and pages "
            "only touched). torch's CPU allocator has no statistics of its own. The inputs are allocated "
            "before the measurement for torch and inside it for lstmcli (a few KiB at most)."
        )
        L.append("")
        L.append("| configuration | lstmcli tracemalloc MiB | lstmcli RSS MiB | torch RSS MiB | lstmcli/torch (RSS) | "
                 "lstmcli bytes per N·T·H·L |")  # fmt: skip
        L.append("|---|---|---|---|---|---|")
        torch_by = {json.dumps(e["cfg"], sort_keys=True): e for e in memory["torch"]}
        ratios = []
        for e in memory["lstmcli"]:
            c = Config(**e["cfg"])
            t = torch_by[json.dumps(e["cfg"], sort_keys=True)]
            ratio = e["rss_peak_delta"] / max(t["rss_peak_delta"], 1)
            ratios.append(ratio)
            per = e["tracemalloc_peak"] / (c.batch * c.lookback * c.hidden * c.layers)
            L.append(f"| {c.label()} | {_mib(e['tracemalloc_peak'])} | {_mib(e['rss_peak_delta'])} | "
                     f"{_mib(t['rss_peak_delta'])} | {ratio:.2f} | {per:.0f} |")  # fmt: skip
        L.append("")
        L.append(f"Geometric mean of lstmcli/torch peak RSS growth: {geomean(ratios):.2f}.")
        L.append("")
    for threads in sorted({r.threads for r in results}):
        rs = [r for r in results if r.threads == threads]
        peak = peaks[1]["numpy"]
        L.append(f"### All configurations, lstmcli on 1 thread, torch on {threads}")
        L.append("")
        L.append(f"Times in ms (lowest round median). Share of peak: matrix-product FLOPs of lstmcli's training step "
                 f"/ time / {peak:.0f} GFLOP/s (NumPy's GEMM peak at 1 thread).")  # fmt: skip
        L.append("")
        L.append("| layers | hidden | lookback | batch | train lstmcli | train torch | ratio | share of peak | "
                 "infer lstmcli | infer torch | ratio |")  # fmt: skip
        L.append("|---|---|---|---|---|---|---|---|---|---|---|")
        for r in rs:
            c = r.cfg
            share = c.train_flops() / r.train["lstmcli"] / 1e9 / peak
            L.append(
                f"| {c.layers} | {c.hidden} | {c.lookback} | {c.batch} | {_ms(r.train['lstmcli'])} | "
                f"{_ms(r.train['torch'])} | {r.train_ratio:.2f} | {share:.0%} | {_ms(r.infer['lstmcli'])} | "
                f"{_ms(r.infer['torch'])} | {r.infer_ratio:.2f} |"
            )
        L.append("")
    L.extend(notes(s, peaks))
    return "\n".join(L) + "\n"


def notes(s: dict, peaks: dict[int, dict]) -> list[str]:
    """Why the numbers are what they are (written from the measurements; the figures are filled in)."""
    t1 = s["threads"].get(1)
    L = ["### Why, and where targets are missed", ""]
    if t1:
        L.append(
            f"- **Small and middle sizes** (geometric means {t1['train_geomean']:.2f} training, "
            f"{t1['infer_geomean']:.2f} inference at 1 thread). Each pass over the steps of a layer is one call "
            "of a loop compiled by Numba (`lstmcli/engine/kernels.py`): per step, one GEMM through the BLAS "
            "NumPy loaded and one fused element-wise pass, with no Python or NumPy call in between. That "
            f"costs about {_infer_step_us(t1):.1f} µs per step at tiny sizes, against torch's 0.3 µs in "
            "oneDNN's sequence loop and its fixed cost per call (about 0.07 ms inference, 0.8 ms training)."
        )
        L.append(
            f"- **Hidden 128-256** (share of the GEMM peak at hidden 256: best {t1['peak_share_h256_best']:.0%}, "
            f"median {t1['peak_share_h256_median']:.0%} at 1 thread). Here a step is mostly its product, so "
            f"lstmcli is bounded by its BLAS: NumPy's OpenBLAS reaches {peaks[1]['numpy']:.0f} GFLOP/s on "
            f"square products against {peaks[1]['torch']:.0f} GFLOP/s for torch's MKL, and less on the skinny "
            "per-step shapes ((4H, D+H) x (D+H, N) with N = 32: about 150 against 210 GFLOP/s on the Intel "
            "Xeon this was measured on in November 2026, where the square peaks were 180-200 against 215; "
            "MKL packs the weights once per sequence, OpenBLAS at every product, measured by `probe_mkl_gemm.py`, removed in issue #18, see "
            "`benchmarks/README.md`). "
            "The rest is the element-wise pass of each step and, in training, the copies that lay dz and "
            "xh out for the one weight-gradient GEMM after the loop."
        )
    if any(threads > 1 for threads in s["threads"]):
        L.append(
            "- **torch on several threads.** lstmcli runs one network on one core with NumPy's BLAS held to "
            "one thread (`lstmcli/engine/threads.py`); the other cores train ensemble members in worker "
            "processes (`lstmcli/forecasting/members.py`), which this grid does not measure. The rows with "
            "torch on more threads show what torch gains for a single network from the other cores (and, on "
            "a shared machine, how its OpenMP threads slow down when another job holds a core)."
        )
    L.append(
        "- **Memory.** A training step keeps, per window, time step and layer, the step values "
        "[g, i, f, o, tanh c, c] (6H), the product input [x; h; 1] (D+H+1), and in the backward pass dz (4H) "
        "plus dz and xh laid out for the weight-gradient GEMM (4H + D+H+1): about 16H float32 numbers, "
        "linear in batch x lookback x hidden. Inference keeps only two rows of step values."
    )
    L.append("")
    return L


# ---------------------------------------------------------------------------------------------- main
def grid(spec: dict) -> list[Config]:
    return [
        Config(hidden=h, lookback=t, batch=n, layers=layers)
        for layers in spec["layers"]
        for h in spec["hidden"]
        for t in spec["lookback"]
        for n in spec["batch"]
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small grid, one round, < 1 minute; prints only")
    p.add_argument("--rounds", type=int, default=None, help="interleaved rounds (default 2; 1 with --quick)")
    p.add_argument("--threads", default="1", help="torch's thread counts, e.g. 1,2 (default 1; lstmcli: 1)")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--out", type=Path, default=None, help="markdown file whose engine section is replaced "
                   "(default benchmarks/RESULTS.md for full runs; --quick prints only)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also dump the raw results as JSON")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--from-json", type=Path, nargs="+", default=None,
                   help="re-render the report from --json dumps (several: merged, e.g. one per thread count)")  # fmt: skip
    p.add_argument("--memory-worker", choices=("lstmcli", "torch"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.from_json:
        dumps = [json.loads(f.read_text()) for f in args.from_json]
        d = dumps[0]
        results = [
            Result(Config(**r["cfg"]), r["threads"], r["train"], r["infer"])
            for x in dumps
            for r in x["results"]
        ]
        peaks = {int(k): v for x in dumps for k, v in x["peaks"].items()}
        overhead = {int(k): v for x in dumps for k, v in x["overhead"].items()}
        memory = next((x["memory"] for x in dumps if x.get("memory")), None)
        last = dumps[-1]["machine"]  # the run's end: a re-rendered report keeps when it was measured
        info = d["machine"] | {
            "load_after": last.get("load_after", float("nan")),
            "finished": last.get("finished"),
        }
        seconds = sum(x.get("seconds") or 0.0 for x in dumps)
        command = "` then `".join(x["command"] for x in dumps)
        section = report(info, peaks, results, overhead, memory, d["rounds"], command, seconds)
        publish(section, args.out)
        return 0

    if args.memory_worker:
        configs = [Config(**c) for c in json.loads(sys.stdin.read())]
        print(json.dumps(memory_worker(args.memory_worker, configs)))
        return 0

    start = time.perf_counter()
    rounds = args.rounds or (1 if args.quick else 2)
    thread_counts = [int(t) for t in args.threads.split(",")]
    info = machine_info()
    configs = grid(QUICK_GRID if args.quick else FULL_GRID)
    peaks = {t: gemm_peak(t, args.quick) for t in sorted({1, *thread_counts})}  # 1: lstmcli's share
    results: list[Result] = []
    overhead: dict[int, dict] = {}
    memory = None
    command = (
        "PYTHONPATH=. python benchmarks/bench_engine.py"
        + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    )

    def save(_: Result | None = None) -> None:  # the raw numbers so far (a long run can be cut short)
        if args.json:
            dump = {
                "machine": info | {"load_after": os.getloadavg()[0], "finished": _utc_now()},
                "peaks": peaks,
                "overhead": overhead,
                "memory": memory,
                "rounds": rounds,
                "command": command,
                "seconds": time.perf_counter() - start,
                "results": [
                    {"cfg": r.cfg.__dict__, "threads": r.threads, "train": r.train, "infer": r.infer}
                    for r in results
                ],
            }
            args.json.write_text(json.dumps(dump, indent=1))

    for threads in thread_counts:
        overhead[threads] = step_overhead(threads, max(rounds, 2), args.quick)
        run_grid(
            configs,
            threads,
            rounds,
            args.quick,
            progress=not args.quiet,
            on_result=lambda r: (results.append(r), save()),
        )
    if not args.no_memory:
        mem_configs = [c for c in configs if c.batch != 64] if not args.quick else configs[:2]
        memory = measure_memory(mem_configs)
    for t in peaks:  # the peak again at the end: the best of both (another job may hold a core)
        peaks[t] = {lib: max(v, gemm_peak(t, args.quick)[lib]) for lib, v in peaks[t].items()}
    seconds = time.perf_counter() - start
    info["load_after"] = os.getloadavg()[0]
    save()
    section = report(info, peaks, results, overhead, memory, rounds, command, seconds)
    out = args.out if args.out is not None else (None if args.quick else REPO / "benchmarks" / "RESULTS.md")
    publish(section, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
