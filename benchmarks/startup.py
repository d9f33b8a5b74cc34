"""Start-up time of `predict` and `inspect` from the shell: warm (Numba's cache filled) and cold (the
first run after an install: an empty cache, so the loops compile), wall and CPU time.

    python benchmarks/startup.py [--rounds 9] [--cold 3] [--before OTHER_TREE]

Trains the ice-cream sample once (into a temporary folder), then runs each command in a fresh
``python -m lstmcli`` process, the commands interleaved round by round so that a busy spell of the
machine falls on all of them alike. Each cold run gets its own empty ``NUMBA_CACHE_DIR``, and the
warm run right after it uses that cache. ``--before`` times another source tree of lstmcli (say a
``git archive`` of main) in the same rounds, interleaved, for a before/after table. CPU time is the child's user + system time
(``resource.getrusage``), which a shared machine disturbs less than the wall time. Prints a
Markdown table of medians for benchmarks/RESULTS.md ("First run and warm runs").
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COMMANDS = {
    "predict --format json": ["predict", "--format", "json"],
    "predict (table and chart)": ["predict"],
    "inspect --format json": ["inspect", "--format", "json"],
    "inspect (tables)": ["inspect"],
}


def run(args: list[str], cache: Path, tree: Path = REPO) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m lstmcli`` process (the lstmcli of ``tree``)."""
    env = os.environ | {"NUMBA_CACHE_DIR": str(cache), "COLUMNS": "120", "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lstmcli", *args], env=env, check=True, stdout=subprocess.DEVNULL, cwd=tree
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="warm runs of each command")
    parser.add_argument("--cold", type=int, default=3, help="cold runs (each with a new empty cache)")
    parser.add_argument("--before", type=Path, help="another lstmcli source tree to time alongside")
    opts = parser.parse_args()
    trees = {"after": REPO} | ({"before": opts.before.resolve()} if opts.before else {})
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        model = tmp_path / "ice.npz"
        warm_cache = tmp_path / "cache"
        subprocess.run(
            [sys.executable, "-m", "lstmcli", "train", str(REPO / "sample_data" / "ice_cream.csv"), "-m",
             str(model), "-q", "--format", "json"],
            env=os.environ | {"NUMBA_CACHE_DIR": str(warm_cache)}, check=True, stdout=subprocess.DEVNULL,
        )  # fmt: skip
        warm: dict[tuple[str, str], list[tuple[float, float]]] = {}
        for _ in range(opts.rounds):
            for name, args in COMMANDS.items():
                for label, tree in trees.items():
                    cache = warm_cache if label == "after" else tmp_path / f"cache-{label}"
                    warm.setdefault((label, name), []).append(run([*args, "-m", str(model)], cache, tree))
        cold: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
        for k in range(opts.cold):
            for name, args in COMMANDS.items():
                if "json" not in name:
                    continue
                for label, tree in trees.items():
                    cache = tmp_path / f"cold-{k}-{label}-{name.split()[0]}"
                    first = run([*args, "-m", str(model)], cache, tree)
                    second = run([*args, "-m", str(model)], cache, tree)
                    cold.setdefault((label, name), []).append((*first, *second))
    load = os.getloadavg()[0]
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}; 1-minute load average {load:.1f} at the end; "
          f"medians of {opts.rounds} warm and {opts.cold} cold runs\n")  # fmt: skip
    print(
        "| command | tree | warm wall (s) | warm CPU (s) | cold wall (s) | cold CPU (s) | cold / warm (wall, CPU) |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name in COMMANDS:
        for label in trees:
            runs = warm[label, name]
            row = f"| `{name}` | {label} | {statistics.median(w for w, _ in runs):.3f} | "
            row += f"{statistics.median(c for _, c in runs):.3f} |"
            pairs = cold.get((label, name))
            if pairs:  # each cold run against the warm run right after it, which shares its busy spell
                row += f" {statistics.median(r[0] for r in pairs):.3f} |"
                row += f" {statistics.median(r[1] for r in pairs):.3f} |"
                row += f" {statistics.median(r[0] / r[2] for r in pairs):.2f},"
                row += f" {statistics.median(r[1] / r[3] for r in pairs):.2f} |"
            else:
                row += " | | |"
            print(row)


if __name__ == "__main__":
    main()
