"""Whole-command timings, as a user would measure them from the shell.

    python benchmarks/bench_cli.py            # writes the "## Command line" section of RESULTS.md
    python benchmarks/bench_cli.py --quick    # fewer rounds, prints only

- start-up: `lstmcli --help` against `python -c "import numpy"` (the floor any NumPy tool pays);
- `lstmcli predict` and `lstmcli inspect` on a model trained on the ice-cream sample;
- a whole `lstmcli train` run against the same job written in PyTorch (torch_train_job.py): same
  data, windows, network, optimiser, epochs and validation, one thread each, start-up included;
- `lstmcli train` with its defaults on all cores (ensemble members in worker processes) against
  `--threads 1`.

Each pair is interleaved (A, B, A, B, ...) and the medians compared, so a busy machine slows both.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import RESULTS, machine_description, publish

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "sample_data" / "ice_cream.csv"
ENV = os.environ | {"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "NO_COLOR": "1"}
# The job torch_train_job.py does: one network, standard scaling, windows relative to their last value,
# one-step targets, early-stopping bookkeeping on the validation loss but no stopping, no retraining.
JOB = [
    "--lookback", "24", "--hidden", "32", "--batch-size", "32", "--lr", "0.003", "--ensemble", "1",
    "--no-retrain", "--transform", "standard", "--deseasonalize", "none", "--normalize", "window",
    "--monitor", "loss", "--strategy", "recursive", "--val-size", "0.2", "--loss", "mse",
]  # fmt: skip


def timed(cmd: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    return elapsed


def interleaved(a: list[str], b: list[str], rounds: int, cwd: Path) -> tuple[float, float]:
    ta, tb = [], []
    for _ in range(rounds):
        ta.append(timed(a, cwd))
        tb.append(timed(b, cwd))
    return statistics.median(ta), statistics.median(tb)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--quick", action="store_true", help="fewer rounds and epochs; print, do not write RESULTS.md"
    )
    p.add_argument("--epochs", type=int, default=100, help="epochs of the whole-training comparison")
    args = p.parse_args()
    rounds = 3 if args.quick else 9
    epochs = 20 if args.quick else args.epochs
    py = sys.executable
    lstmcli = [py, "-m", "lstmcli"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        help_s, numpy_s = interleaved([*lstmcli, "--help"], [py, "-c", "import numpy"], rounds, cwd)
        rows.append(("`lstmcli --help` vs `python -c 'import numpy'`", help_s, numpy_s, "≤ 2.5"))

        train = [
            *lstmcli,
            "train",
            str(SAMPLE),
            *JOB,
            "--threads",
            "1",
            "--epochs",
            str(epochs),
            "--patience",
            "0",
            "--quiet",
        ]
        torch_job = [
            py,
            str(REPO / "benchmarks" / "torch_train_job.py"),
            str(SAMPLE),
            "--epochs",
            str(epochs),
        ]
        train_s, torch_s = interleaved(train, torch_job, max(2, rounds // 3), cwd)
        rows.append(
            (
                f"`lstmcli train` ice cream, {epochs} epochs vs the same job in PyTorch",
                train_s,
                torch_s,
                "≤ 1",
            )
        )

        # The defaults (5 networks, retraining), all cores (members side by side in worker processes)
        # against one core: what --threads 0 buys a user on this machine.
        defaults = [*lstmcli, "train", str(SAMPLE), "--quiet", "-m", "defaults.npz"]
        all_s, one_s = interleaved([*defaults, "--threads", "0"], [*defaults, "--threads", "1"], rounds, cwd)
        rows.append(("`lstmcli train` ice cream, defaults, all cores vs `--threads 1`", all_s, one_s, "< 1"))

        predict_s = statistics.median(
            timed([*lstmcli, "predict", "--format", "json"], cwd) for _ in range(rounds)
        )
        inspect_s = statistics.median(
            timed([*lstmcli, "inspect", "--format", "json"], cwd) for _ in range(rounds)
        )

    lines = [
        f"Machine: {machine_description()}. Medians of {rounds} interleaved runs, wall time from the shell,"
        " start-up included; one BLAS/OpenMP thread except in the all-cores row.",
        "",
        "| what | lstmcli (s) | reference (s) | ratio | target |",
        "|---|---:|---:|---:|---:|",
    ]
    for what, a, b, target in rows:
        lines.append(f"| {what} | {a:.3f} | {b:.3f} | {a / b:.2f} | {target} |")
    lines += [
        "",
        f"`lstmcli predict` (12 months, JSON): {predict_s:.3f} s; `lstmcli inspect` (JSON): {inspect_s:.3f} s"
        " (target: well under a second).",
    ]
    publish("## Command line\n\n" + "\n".join(lines), None if args.quick else RESULTS)


if __name__ == "__main__":
    main()
