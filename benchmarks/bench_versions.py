"""Refactor check: this version's speed against a previous one, same machine, same run.

    PYTHONPATH=. python benchmarks/bench_versions.py --reference /work/ref            # writes RESULTS.md
    PYTHONPATH=. python benchmarks/bench_versions.py --reference /work/ref --quick    # ~2 min, prints only

The promise checked: the default ``train`` command and the engine at 1 thread run within 5 % of the
previous version. ``--reference DIR`` is a checkout of the older lstmcli, ``--candidate DIR`` the one
under test (default: this repository). Each timing runs in a fresh subprocess with ``PYTHONPATH=DIR``
and ``cwd=DIR``, so that tree's lstmcli is the one imported (the worker checks it), and with Numba's
cache and Python's bytecode in a temporary folder per tree, so neither tree is written to.

- **Engine grid, 1 thread.** For each configuration (hidden × lookback × batch × layers, one input
  feature, float32), a training step (forward, MSE loss, backward, clip to global norm 1, Adam step:
  the calls ``lstmcli/engine/training.py`` makes) and an inference pass (``net.predict``), with BLAS
  held to one thread through ``threadpoolctl.threadpool_limits(1, "blas")``. The worker uses only
  what both versions have: ``LSTMNetwork(NetworkConfig(...), rng=...)``, ``forward``, ``backward``,
  ``predict``, ``flat_params``/``flat_grads``, ``losses.LOSSES`` and ``optim.Adam``/``clip_global_norm``.
  Two calls per configuration and pass are warm-up (Numba's compilation or cache load is excluded);
  the time of a configuration in one subprocess is the median of its repeats, in wall time and in the
  process's CPU time (``time.process_time``). On one thread the two agree on a quiet machine; on a
  shared one the wall time also counts the moments another job held the core, which the CPU time
  leaves out, so the CPU-time ratios are the steadier comparison of the two versions' work.
- **The default command.** ``python -m lstmcli train sample_data/ice_cream.csv -m <tmp>/m.npz -q``,
  wall time from the shell, with the default thread setting and with ``--threads 1``, after one
  untimed run per tree that fills the caches.

Interleaving: the grid is cut into chunks (one per layer count, hidden size and batch); each round runs every
chunk once per tree, reference and candidate back to back, and who goes first alternates from chunk to
chunk and round to round (ABBA...). A configuration's ratio is candidate / reference per round, and
the reported ratio the median over rounds, so a disturbance from another job that hits one round of
one tree moves one ratio, not the median. Over configurations: the geometric mean and the worst.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SECTION = "## Refactor check: this version vs the previous one"
KINDS = ("train", "train_cpu", "infer", "infer_cpu")  # wall time and this process's CPU time per call
PROMISE = 1.05  # candidate / reference, at most

FULL = {"hidden": (16, 32, 64, 128, 256), "lookback": (12, 24, 48), "batch": (32, 256), "layers": (1, 2)}
QUICK = {"hidden": (16, 64), "lookback": (12,), "batch": (32,), "layers": (1, 2)}


# ---------------------------------------------------------------------------------------------- worker
def worker(spec: dict) -> dict:
    """Runs in a subprocess of one tree: times spec's configurations; returns seconds per configuration."""
    import numba
    import numpy as np
    from threadpoolctl import threadpool_info, threadpool_limits

    import lstmcli
    from lstmcli.engine.losses import LOSSES
    from lstmcli.engine.network import LSTMNetwork, NetworkConfig
    from lstmcli.engine.optim import Adam, clip_global_norm

    def median_times(fn, budget: float) -> tuple[float, float]:
        """Median wall time and median CPU time of this process per call (after 2 warm-up calls)."""
        fn()  # warm-up: compilation or cache load, first touch of the buffers
        t0 = time.perf_counter()
        fn()
        once = time.perf_counter() - t0
        reps = int(min(spec["max_reps"], max(spec["min_reps"], budget / max(once, 1e-7))))
        wall, cpu = [], []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            c1, t1 = time.process_time(), time.perf_counter()
            wall.append(t1 - t0)
            cpu.append(c1 - c0)
        return float(np.median(wall)), float(np.median(cpu))

    out = []
    with threadpool_limits(limits=1, user_api="blas"):
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        for c in spec["configs"]:
            rng = np.random.default_rng(0)
            config = NetworkConfig(input_size=1, hidden_size=c["hidden"], num_layers=c["layers"])
            net = LSTMNetwork(config, rng=rng)
            x = rng.standard_normal((c["batch"], c["lookback"], 1), dtype=np.float32)
            y = rng.standard_normal((c["batch"], 1), dtype=np.float32)
            adam = Adam(net.flat_params.size, net.flat_params.dtype, lr=1e-3)
            loss = LOSSES["mse"]

            def train_step(net=net, x=x, y=y, adam=adam, rng=rng, loss=loss) -> None:
                pred, cache = net.forward(x, training=True, rng=rng)
                value, dpred = loss(pred, y)
                net.backward(dpred, cache)
                norm = clip_global_norm(net.flat_grads, 1.0)
                if not (math.isfinite(value) and math.isfinite(norm)):
                    raise FloatingPointError("diverged in the benchmark")
                adam.step(net.flat_params, net.flat_grads)

            train = median_times(train_step, spec["budget"])
            infer = median_times(lambda net=net, x=x: net.predict(x), spec["budget"] * 0.4)
            out.append({"train": train[0], "train_cpu": train[1], "infer": infer[0], "infer_cpu": infer[1]})
    return {
        "lstmcli": str(Path(lstmcli.__file__).resolve().parent),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "blas": [f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in blas],
        "results": out,
    }


# ---------------------------------------------------------------------------------------------- parent
class Tree:
    def __init__(self, name: str, path: Path, tmp: Path) -> None:
        self.name, self.path = name, path.resolve()
        self.commit = _git(self.path, "rev-parse", "--short", "HEAD") or "unknown"
        if _git(self.path, "status", "--porcelain", "--untracked-files=no", "--", "lstmcli"):
            self.commit += " with uncommitted changes to lstmcli/"
        self.env = os.environ | {
            "PYTHONPATH": str(self.path),
            "NUMBA_CACHE_DIR": str(tmp / f"numba-{name}"),
            "PYTHONPYCACHEPREFIX": str(tmp / f"pycache-{name}"),
            "NO_COLOR": "1",
        }

    def run(self, cmd: list[str], stdin: str | None = None) -> subprocess.CompletedProcess:
        done = subprocess.run(
            cmd, cwd=self.path, env=self.env, input=stdin, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: {' '.join(cmd)} exited with {done.returncode}:\n{done.stderr}")
        return done


def _git(path: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True, check=False)
    return done.stdout.strip() if done.returncode == 0 else ""


def _label(c: dict) -> str:
    return f"L{c['layers']} H{c['hidden']} T{c['lookback']} N{c['batch']}"


def engine_grid(trees: list[Tree], grid: dict, rounds: int, budget: float, log) -> tuple[list, dict]:
    chunks = [
        [{"layers": layers, "hidden": h, "lookback": t, "batch": n} for t in grid["lookback"]]
        for layers in grid["layers"]
        for h in grid["hidden"]
        for n in grid["batch"]
    ]
    times: dict[tuple[str, str], dict[str, list[float]]] = {}  # (config, pass) -> tree -> per round
    info: dict = {}
    for r in range(rounds):
        for k, chunk in enumerate(chunks):
            spec = json.dumps({"configs": chunk, "budget": budget, "min_reps": 3, "max_reps": 50})
            order = trees if (r + k) % 2 == 0 else trees[::-1]
            for tree in order:
                done = tree.run([sys.executable, str(Path(__file__).resolve()), "--worker"], spec)
                got = json.loads(done.stdout)
                if Path(got["lstmcli"]) != tree.path / "lstmcli":
                    raise SystemExit(f"{tree.name}: imported {got['lstmcli']}, not {tree.path / 'lstmcli'}")
                info[tree.name] = {key: got[key] for key in ("numpy", "numba", "blas")}
                for c, res in zip(chunk, got["results"], strict=True):
                    for kind in KINDS:
                        times.setdefault((_label(c), kind), {}).setdefault(tree.name, []).append(res[kind])
            for c in chunk:
                ref, cand = (times[(_label(c), "train")][t.name][-1] for t in trees)
                log(
                    f"[round {r + 1}/{rounds}] {_label(c):20s} train {ref * 1e3:8.3f} -> {cand * 1e3:8.3f} ms"
                )
    rows = []
    for chunk in chunks:
        for c in chunk:
            row = {"config": _label(c), **c}
            for kind in KINDS:
                per_tree = times[(_label(c), kind)]
                ref, cand = per_tree[trees[0].name], per_tree[trees[1].name]
                row[kind] = {
                    "reference": statistics.median(ref),
                    "candidate": statistics.median(cand),
                    "ratio": statistics.median(b / a for a, b in zip(ref, cand, strict=True)),
                    "round_ratios": [b / a for a, b in zip(ref, cand, strict=True)],
                }
            rows.append(row)
    return rows, info


def cli_train(trees: list[Tree], runs: int, tmp: Path, log) -> list[dict]:
    variants = {"default threads": [], "--threads 1": ["--threads", "1"]}

    def command(tree: Tree, extra: list[str]) -> list[str]:
        model = tmp / f"m-{tree.name}.npz"
        sample = "sample_data/ice_cream.csv"
        return [sys.executable, "-m", "lstmcli", "train", sample, "-m", str(model), "-q", *extra]

    for tree in trees:  # untimed: fills Numba's cache and the bytecode of each tree
        for extra in variants.values():
            tree.run(command(tree, extra))
    times: dict[str, dict[str, list[float]]] = {v: {t.name: [] for t in trees} for v in variants}
    for r in range(runs):
        for k, (variant, extra) in enumerate(variants.items()):
            for tree in trees if (r + k) % 2 == 0 else trees[::-1]:
                t0 = time.perf_counter()
                tree.run(command(tree, extra))
                times[variant][tree.name].append(time.perf_counter() - t0)
            ref, cand = (times[variant][t.name][-1] for t in trees)
            log(f"[run {r + 1}/{runs}] train, {variant:15s} {ref:6.2f} -> {cand:6.2f} s")
    rows = []
    for variant, per_tree in times.items():
        ref, cand = per_tree[trees[0].name], per_tree[trees[1].name]
        rows.append(
            {
                "variant": variant,
                "reference": {"best": min(ref), "median": statistics.median(ref)},
                "candidate": {"best": min(cand), "median": statistics.median(cand)},
                "ratio": statistics.median(b / a for a, b in zip(ref, cand, strict=True)),
                "times": {"reference": ref, "candidate": cand},
            }
        )
    return rows


# ---------------------------------------------------------------------------------------------- report
def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def _ms(s: float) -> str:
    ms = s * 1e3
    return f"{ms:.3f}" if ms < 1 else f"{ms:.2f}" if ms < 100 else f"{ms:.0f}"


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _verdict(value: float) -> str:
    return "within 5 %" if value <= PROMISE else "**over 5 %**"


def report(run: dict) -> str:
    trees, grid, cli = run["trees"], run["grid"], run["cli"]
    L = [SECTION, ""]
    L.append(
        f"Generated by `{run['command']}` on {run['finished']} UTC in {run['seconds'] / 60:.0f} min "
        f"({len(grid)} engine configurations, {run['rounds']} interleaved rounds; "
        f"{run['cli_runs']} interleaved runs of each command)."
    )
    L.append("")
    L.append("The promise: the default `train` and the engine at 1 thread within 5 % of the previous version "
             "(ratio = this version's time / the previous one's, ≤ 1.05; below 1: faster).")  # fmt: skip
    L.append("")
    L.append(f"- Reference: `{trees['reference']['path']}` at {trees['reference']['commit']}")
    L.append(f"- Candidate: `{trees['candidate']['path']}` at {trees['candidate']['commit']}")
    versions = run["versions"].get("candidate") or next(iter(run["versions"].values()), {})
    L.append(
        f"- Machine: {run['cpu']}, {run['cores']} cores; Python {run['python']}, NumPy "
        f"{versions.get('numpy', '?')}, Numba {versions.get('numba', '?')}, "
        f"BLAS {', '.join(versions.get('blas', [])) or '?'} (threadpoolctl); "
        f"`OPENBLAS_CORETYPE` {run['coretype'] or 'not set'}"
    )
    L.append(
        f"- 1-minute load average {run['load_before']:.1f} at the start, {run['load_after']:.1f} at the end"
        + (f"; {run['note']}" if run.get("note") else "")
    )
    L.append("")
    L.append("| what | configurations | geometric mean | worst | |")
    L.append("|---|---:|---:|---|---|")
    for kind, name in (
        ("train", "engine, training step, 1 thread, wall time"),
        ("train_cpu", "engine, training step, 1 thread, CPU time"),
        ("infer", "engine, inference, 1 thread, wall time"),
        ("infer_cpu", "engine, inference, 1 thread, CPU time"),
    ):
        if not grid:
            break
        ratios = [row[kind]["ratio"] for row in grid]
        worst = max(grid, key=lambda row: row[kind]["ratio"])
        g = _geomean(ratios)
        above = sum(x > PROMISE for x in ratios)
        L.append(f"| {name} | {len(ratios)} | {g:.3f} | {worst[kind]['ratio']:.3f} ({worst['config']}); "
                 f"{above} above 1.05 | {_verdict(g)} |")  # fmt: skip
    for row in cli:
        L.append(f"| `lstmcli train` ice cream, defaults, {row['variant']} | 1 | {row['ratio']:.3f} | "
                 f"{row['ratio']:.3f} | {_verdict(row['ratio'])} |")  # fmt: skip
    if cli:
        L.append("")
        L.append("`python -m lstmcli train sample_data/ice_cream.csv -m <tmp>/m.npz -q`, wall time in seconds "
                 "(start-up included; ratio: median of the per-run ratios):")  # fmt: skip
        L.append("")
        L.append("| threads | reference best / median | candidate best / median | ratio |")
        L.append("|---|---:|---:|---:|")
        for row in cli:
            a, b = row["reference"], row["candidate"]
            L.append(f"| {row['variant']} | {a['best']:.2f} / {a['median']:.2f} | "
                     f"{b['best']:.2f} / {b['median']:.2f} | {row['ratio']:.3f} |")  # fmt: skip
    if grid:
        L.append("")
        L.append("Engine at 1 thread, wall times in ms (median over rounds of each subprocess's median); "
                 "ratio: median of the per-round ratios, of wall time and of CPU time. On one thread the two "
                 "ratios agree unless another job held the core during some rounds: where they differ, the "
                 "CPU-time ratio is the comparison of the two versions' work.")  # fmt: skip
        L.append("")
        L.append("| layers | hidden | lookback | batch | train ref | train cand | ratio | CPU ratio | "
                 "infer ref | infer cand | ratio | CPU ratio |")  # fmt: skip
        L.append("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for row in grid:
            t, tc, i, ic = (row[kind] for kind in KINDS)
            L.append(f"| {row['layers']} | {row['hidden']} | {row['lookback']} | {row['batch']} | "
                     f"{_ms(t['reference'])} | {_ms(t['candidate'])} | {t['ratio']:.3f} | {tc['ratio']:.3f} | "
                     f"{_ms(i['reference'])} | {_ms(i['candidate'])} | {i['ratio']:.3f} | {ic['ratio']:.3f} |")  # fmt: skip
    L.append("")
    return "\n".join(L)


# ---------------------------------------------------------------------------------------------- main
def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in text.split(","))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--reference", type=Path, help="checkout of the previous lstmcli")
    p.add_argument("--candidate", type=Path, default=REPO, help="checkout under test (default: this one)")
    p.add_argument("--quick", action="store_true", help="4 configurations, 2 rounds, 2 runs; prints only")
    p.add_argument("--rounds", type=int, default=None, help="engine rounds per tree (default 3; 2 quick)")
    p.add_argument("--cli-runs", type=int, default=None, help="timed runs per command and tree (default 5)")
    p.add_argument("--budget", type=float, default=0.25, help="seconds of repeats per training-step timing")
    for key in FULL:
        p.add_argument(f"--{key}", type=_ints, default=None, help=f"comma list (default {FULL[key]})")
    p.add_argument("--no-engine", action="store_true", help="skip the engine grid")
    p.add_argument("--no-cli", action="store_true", help="skip the whole-command timings")
    p.add_argument("--note", default="", help="a remark for the machine line (e.g. that it was shared)")
    p.add_argument("--out", type=Path, default=None, help="file whose section is replaced (default "
                   "benchmarks/RESULTS.md; --quick prints only)")  # fmt: skip
    p.add_argument("--json", type=Path, default=None, help="also write the raw numbers here")
    p.add_argument("--from-json", type=Path, default=None, help="re-render the section from a --json file")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)

    if args.worker:
        print(json.dumps(worker(json.loads(sys.stdin.read()))))
        return 0
    from results_file import publish  # benchmarks/results_file.py (not needed by the worker)

    if args.from_json is not None:
        publish(report(json.loads(args.from_json.read_text())), args.out or HERE / "RESULTS.md")
        return 0
    if args.reference is None:
        p.error("--reference DIR is required")

    start = time.perf_counter()
    grid = {k: getattr(args, k) or (QUICK if args.quick else FULL)[k] for k in FULL}
    rounds = args.rounds or (2 if args.quick else 3)
    cli_runs = args.cli_runs or (2 if args.quick else 5)

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-versions-") as tmp_name:
        tmp = Path(tmp_name)
        trees = [Tree("reference", args.reference, tmp), Tree("candidate", args.candidate, tmp)]
        rows, versions = ([], {}) if args.no_engine else engine_grid(trees, grid, rounds, args.budget, log)
        cli = [] if args.no_cli else cli_train(trees, cli_runs, tmp, log)
    run = {
        "command": "PYTHONPATH=. python benchmarks/bench_versions.py "
        + " ".join(argv if argv is not None else sys.argv[1:]),
        "finished": f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}",
        "seconds": time.perf_counter() - start,
        "rounds": rounds,
        "cli_runs": cli_runs,
        "trees": {t.name: {"path": str(t.path), "commit": t.commit} for t in trees},
        "cpu": _cpu(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "coretype": os.environ.get("OPENBLAS_CORETYPE", ""),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
        "note": args.note,
        "versions": versions,
        "grid": rows,
        "cli": cli,
    }
    if args.json is not None:
        args.json.write_text(json.dumps(run, indent=1))
    out = args.out if args.out is not None else (None if args.quick else HERE / "RESULTS.md")
    publish(report(run), out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
