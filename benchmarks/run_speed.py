"""Every speed measurement of issue #6, one after the other: the one command that regenerates them.

    PYTHONPATH=. python benchmarks/run_speed.py          # ~15 min; rewrites the 2 speed sections of RESULTS.md
    PYTHONPATH=. python benchmarks/run_speed.py --quick  # ~2 min; prints them only

Runs, each in its own process (so one library's threads or caches never carry over into the next
script), and each rewriting only its own section of RESULTS.md:

- ``bench_engine.py``: training step and inference against PyTorch over the grid (both on one thread),
  GEMM peak and share, per-step overhead, peak memory (3 interleaved rounds, as the published runs use);
- ``bench_cli.py``: whole commands from the shell (``--help``, ``train`` against the same PyTorch job,
  ``predict``, ``inspect``).

The accuracy section is not speed and takes about an hour: ``benchmarks/accuracy.py``. The check of a
refactor against an older checkout needs that checkout: ``benchmarks/bench_versions.py --reference DIR``.
Run on a quiet machine: the scripts share its cores with whatever else is running.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small grids, one round; print instead of writing")
    p.add_argument("--json", type=Path, default=None, help="bench_engine's raw numbers to this file too")
    args = p.parse_args(argv)

    engine = ["--quick"] if args.quick else ["--rounds", "3"]
    if args.json is not None:
        engine += ["--json", str(args.json)]
    runs = [
        ("bench_engine.py", engine),
        ("bench_cli.py", ["--quick"] if args.quick else []),
    ]
    env = os.environ | {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    }
    for script, extra in runs:
        start = time.perf_counter()
        print(f"== {script} {' '.join(extra)}", file=sys.stderr, flush=True)
        done = subprocess.run([sys.executable, str(HERE / script), *extra], cwd=REPO, env=env, check=False)
        if done.returncode != 0:
            message = f"error: {script} exited with {done.returncode}; the sections after it were not run"
            print(message, file=sys.stderr)
            return done.returncode
        print(f"== {script}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
