"""The same `train --id-col` on one machine and through a Dask cluster (issue #20): the same model file,
byte for byte, and the wall and CPU time of each.

    PYTHONPATH=. python benchmarks/dask_cluster.py --write      # needs pip install -e ".[dask]"

A synthetic monthly panel (fixed seed) is trained four ways with the same settings: one core
(``--threads 1``), worker processes on every core (``--threads 0``), a ``LocalCluster`` of one
single-threaded worker per core (``--scheduler local``), and, with ``--mode global``, the same for one
global model. CPU time is the commands' own and their children's (the cluster's worker processes are
the command's descendants with ``--scheduler local``, sampled from /proc). ``--write`` replaces the "## Dask" section of
RESULTS.md; without it the section is printed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from proctree import cpu_and_rss, descendants  # noqa: E402


def panel_csv(path: Path, series: int, length: int) -> None:
    import numpy as np

    rng = np.random.default_rng(20)
    t = np.arange(length)
    months = [f"{2010 + m // 12}-{m % 12 + 1:02d}-01" for m in t]
    with open(path, "w") as f:
        f.write("id,date,y\n")
        for k in range(series):
            level, amp, trend = rng.uniform(50, 500), rng.uniform(0.05, 0.3), rng.uniform(-0.2, 1.0)
            y = (
                level * (1 + amp * np.sin(2 * np.pi * (t + k) / 12))
                + trend * t
                + rng.normal(0, level * 0.03, length)
            )
            f.writelines(f"s{k:04d},{d},{v:.3f}\n" for d, v in zip(months, y, strict=True))


def timed(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of ``python -m lstmcli *args`` and every process under it (its worker
    processes and a LocalCluster's), sampled from /proc every 0.1 s (the last sample of each process)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "lstmcli", *args], stdout=subprocess.DEVNULL, cwd=REPO)
    last: dict[int, float] = {}
    while proc.poll() is None:
        for pid in descendants(proc.pid):
            got = cpu_and_rss(pid)
            if got is not None:
                last[pid] = got[0]
        time.sleep(0.1)
    wall = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"lstmcli {' '.join(args)} failed ({proc.returncode})")
    return wall, sum(last.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--series", type=int, default=48)
    parser.add_argument("--length", type=int, default=72)
    parser.add_argument("--write", action="store_true", help="replace the '## Dask' section of RESULTS.md")
    args = parser.parse_args()
    settings = ["--epochs", "30", "--ensemble", "3", "--hidden", "16", "--patience", "0", "-q"]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder) / "panel.csv"
        panel_csv(data, args.series, args.length)
        for mode in ("--local", "--global"):
            digests = set()
            for name, how in (
                ("one core (--threads 1)", ["--threads", "1"]),
                ("worker processes (--threads 0)", ["--threads", "0"]),
                ("LocalCluster (--scheduler local)", ["--scheduler", "local"]),
            ):
                model = Path(folder) / "model.npz"
                wall, cpu = timed(
                    ["train", str(data), "--id-col", "id", mode, "-m", str(model), *settings, *how]
                )
                digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
                digests.add(digest)
                rows.append(f"| {mode} | {name} | {wall:.1f} | {cpu:.1f} | `{digest}` |")
                print(rows[-1], file=sys.stderr)
            rows.append(
                f"| {mode} | same bytes all three ways | {'yes' if len(digests) == 1 else 'NO'} | | |"
            )
    load = os.getloadavg()[0]
    section = "\n".join([
        "## Dask",
        "",
        f"`benchmarks/dask_cluster.py`: `train --id-col` on a synthetic panel of {args.series} monthly series of "
        f"{args.length} points ({' '.join(settings[:-1])}), on {platform.machine()} with {os.cpu_count()} cores "
        f"(load average {load:.1f} at the end"
        + (": the machine was shared and busy, so the times say little beyond the order of magnitude"
           if load > (os.cpu_count() or 1) else "")
        + "; the CPU time counts the command and every process under it, sampled from /proc every 0.1 s).",
        "",
        "| mode | where | wall s | CPU s | model file sha256 |",
        "|---|---|---:|---:|---|",
        *rows,
        "",
        "`--scheduler local` starts a cluster (its scheduler, nannies and worker processes, each importing",
        "the engine) and sends every chunk of series, or every member, as a task with its data: on a small",
        "machine it costs more CPU than it spreads. Its point is a cluster of many machines",
        "(`--scheduler tcp://host:8786`), whose result is the same file.",
        "",
        f"Command: `PYTHONPATH=. python benchmarks/dask_cluster.py --series {args.series} --length {args.length} --write`",
    ])  # fmt: skip
    from results_file import publish

    publish(section, REPO / "benchmarks" / "RESULTS.md" if args.write else None)


if __name__ == "__main__":
    main()
