"""Long series: `lstmcli train` on 50,000 and 1,000,000 hourly rows against training alone.

    python benchmarks/bench_long_series.py            # writes the "## Long series" section of RESULTS.md
    python benchmarks/bench_long_series.py --quick    # 50,000 rows only, prints only

Each size runs `lstmcli train DATA --epochs 1 --ensemble 1 --threads 1` twice: as it is (validation
from the held-out fifth: forecasts from its origins, the Naive2 baseline, the error table, intervals)
and with `--val-size 0` (training alone, the ratio's denominator). Everything around training should
cost time linear in the rows and small beside it (issue #24). The data is generated here (a daily and
a weekly cycle with noise); nothing is read from outside. Peak memory is the child's maximum RSS.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from results_file import RESULTS, machine_description, publish

REPO = Path(__file__).resolve().parent.parent
ENV = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
JOB = ["--epochs", "1", "--ensemble", "1", "--threads", "1", "--quiet"]


def write_series(path: Path, rows: int) -> None:
    """Hourly values from 2000-01-01: 100 + a daily and a weekly cycle + noise."""
    rng = np.random.default_rng(0)
    t = np.arange(rows)
    y = 100 + 10 * np.sin(2 * np.pi * t / 24) + 5 * np.sin(2 * np.pi * t / 168) + rng.normal(0, 1, rows)
    stamps = np.datetime64("2000-01-01T00", "h") + t
    with path.open("w") as f:
        f.write("time,value\n")
        f.writelines(f"{s},{v:.3f}\n" for s, v in zip(stamps.astype(str), y, strict=True))


def run(data: Path, model: Path, extra: list[str]) -> tuple[float, float]:
    """Seconds and peak memory (MB) of one `lstmcli train` in a fresh process (a fresh process per run
    so that the peak is that run's: RUSAGE_CHILDREN keeps the largest child so far, hence a wrapper)."""
    code = (
        "import resource, subprocess, sys, time; t = time.perf_counter(); "
        "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL); "
        "print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)"
    )
    cmd = [sys.executable, "-m", "lstmcli", "train", str(data), "-m", str(model), *JOB, *extra]
    out = subprocess.run(
        [sys.executable, "-c", code, *cmd], env=ENV, capture_output=True, text=True, check=True
    )
    seconds, rss_kb, rc = out.stdout.split()
    if rc != "0":
        raise SystemExit(f"lstmcli train failed on {data.name} ({' '.join(extra)})")
    return float(seconds), int(rss_kb) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="50,000 rows only; print, do not write RESULTS.md"
    )
    args = parser.parse_args()
    sizes = [50_000] if args.quick else [50_000, 1_000_000]
    started = time.perf_counter()
    lines = [
        "## Long series",
        "",
        "`python benchmarks/bench_long_series.py`: `lstmcli train` on generated hourly series with",
        "`--epochs 1 --ensemble 1 --threads 1`, against the same command with `--val-size 0` (training",
        "alone). The difference is what surrounds training: validation forecasts from up to 2,000 held-out",
        "origins, Naive2 and the error table over every one, intervals, and the second training `--retrain`",
        "does (on four fifths of the rows to choose the epochs, then on all of them).",
        "Before issue #24 item 2, 50,000 rows took 62 s (205 s under cProfile: 180 s of it Naive2's",
        "seasonality test, re-run over the whole history for each of 10,000 origins) and 1,000,000 rows over",
        "10 minutes and 2.3 GB.",
        "",
        "| rows | train (s) | training alone (s) | ratio | peak memory (MB) | alone (MB) |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for rows in sizes:
            data = Path(tmp) / f"hourly_{rows}.csv"
            write_series(data, rows)
            run(data, Path(tmp) / "warm.npz", ["--val-size", "0"])  # compiles and caches the kernels
            full, full_mb = run(data, Path(tmp) / "full.npz", [])
            alone, alone_mb = run(data, Path(tmp) / "alone.npz", ["--val-size", "0"])
            lines.append(
                f"| {rows:,} | {full:.1f} | {alone:.1f} | {full / alone:.2f} | {full_mb:.0f} | {alone_mb:.0f} |"
            )
            print(lines[-1], file=sys.stderr)
    lines += ["", f"Machine: {machine_description()}; {time.perf_counter() - started:.0f} s in all."]
    publish("\n".join(lines), None if args.quick else RESULTS)


if __name__ == "__main__":
    main()
