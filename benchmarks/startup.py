"""Start-up time of `predict`, `inspect` and `train` from the shell: warm (Numba's cache filled) and cold
(the first run after an install: an empty cache), wall and CPU time, against issue #23's targets.

    python benchmarks/startup.py --write              # rewrites RESULTS.md's "First run and warm runs"
    python benchmarks/startup.py [--rounds 9] [--cold 3] [--train 2] [--before OTHER_TREE]   # prints it

Trains the ice-cream sample once (into a temporary folder), then runs each command in a fresh
``python -m lstmcli`` process, the commands interleaved round by round so that a busy spell of the
machine falls on all of them alike. Each cold run gets its own empty ``NUMBA_CACHE_DIR``, and the
warm run right after it uses that cache (for `train`: the first training of the sample against the
second, same settings). ``--before`` times another source tree of lstmcli (say a ``git archive`` of
main) in the same rounds, interleaved. CPU time is the child's user + system time
(``resource.getrusage``; a `train` that trains its members in worker processes counts theirs too),
which a shared machine disturbs less than the wall time; the targets are wall times on a quiet
machine, so the verdicts below read the fastest wall time of each command (the least disturbed run).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
HEADING = "## First run and warm runs (issue #23)"
COMMANDS = {
    "predict --format json": ["predict", "--format", "json"],
    "predict (table and chart)": ["predict"],
    "inspect --format json": ["inspect", "--format", "json"],
    "inspect (tables)": ["inspect"],
}
WARM_TARGET = 0.5  # seconds, a warm predict or inspect of a single-series model (quiet machine)
COLD_TARGET = 1.5  # a first run at most this times a warm one


def run(args: list[str], cache: Path, tree: Path = REPO, cwd: Path | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one ``python -m lstmcli`` process (the lstmcli of ``tree``)."""
    env = os.environ | {"NUMBA_CACHE_DIR": str(cache), "COLUMNS": "120", "PYTHONPATH": str(tree)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "lstmcli", *args], env=env, check=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL, cwd=cwd or tree,
    )  # fmt: skip
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def python_alone(tree: Path) -> tuple[float, float]:
    """``python -c "import numpy"``: the floor every command stands on."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True, cwd=tree)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def measure(opts: argparse.Namespace) -> tuple[dict, dict, dict, list[float]]:
    trees = {"after": REPO} | ({"before": opts.before.resolve()} if opts.before else {})
    loads = [os.getloadavg()[0]]
    warm: dict[tuple[str, str], list[tuple[float, float]]] = {}
    cold: dict[tuple[str, str], list[tuple[float, float, float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        # each tree reads a model it wrote (an older tree may not read a newer format: 2.0 since ES)
        models = {label: tmp_path / f"ice-{label}.npz" for label in trees}
        train = ["train", str(REPO / "sample_data" / "ice_cream.csv"), "-q", "--format", "json"]
        for label, tree in trees.items():
            run([*train, "-m", str(models[label])], tmp_path / "cache-model", tree)
        for k in range(opts.train):  # a first train (empty cache) and the one after it
            for label, tree in trees.items():
                cache = tmp_path / f"train-{k}-{label}"
                first = run([*train, "-m", str(tmp_path / f"t{k}{label}a.npz")], cache, tree)
                second = run([*train, "-m", str(tmp_path / f"t{k}{label}b.npz")], cache, tree)
                cold.setdefault((label, "train (defaults)"), []).append((*first, *second))
        for _ in range(opts.rounds):
            for label, tree in trees.items():
                warm.setdefault((label, "python -c 'import numpy'"), []).append(python_alone(tree))
            for name, args in COMMANDS.items():
                for label, tree in trees.items():
                    warm.setdefault((label, name), []).append(
                        run([*args, "-m", str(models[label])], tmp_path / f"cache-{label}", tree)
                    )
        for k in range(opts.cold):
            for i, (name, args) in enumerate(COMMANDS.items()):
                for label, tree in trees.items():
                    cache = tmp_path / f"cold-{k}-{label}-{i}"
                    first = run([*args, "-m", str(models[label])], cache, tree)
                    second = run([*args, "-m", str(models[label])], cache, tree)
                    cold.setdefault((label, name), []).append((*first, *second))
    loads.append(os.getloadavg()[0])
    return trees, warm, cold, loads


def report(
    opts: argparse.Namespace, trees: dict, warm: dict, cold: dict, loads: list[float], seconds: float
) -> str:
    from results_file import machine_description

    command = (
        "python benchmarks/startup.py"
        + "".join(
            f" --{k} {v}" for k, v in (("rounds", opts.rounds), ("cold", opts.cold), ("train", opts.train))
        )
        + (" --before OTHER_TREE" if opts.before else "")
        + (" --write" if opts.write else "")
    )
    lines = [
        HEADING,
        "",
        f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} in "
        f"{seconds / 60:.0f} min; {machine_description()}; 1-minute load average {loads[0]:.1f} at the "
        f"start, {loads[1]:.1f} at the end (2 cores: above 2, other work was waiting for a core).",
        "",
        "Each command in a fresh `python -m lstmcli` process, as a user runs it, on the ice-cream model "
        "(`train` defaults: 5 members, float32); warm: Numba's cache filled; cold: a new empty "
        "`NUMBA_CACHE_DIR` (the first run after an install), each against the warm run right after it. "
        "Minimum and median of wall time and of the process's CPU time (user + system, children "
        f"included); {opts.rounds} warm rounds and {opts.cold} cold runs of each command, "
        f"{opts.train} of `train`, all interleaved.",
        "",
        "| command | tree | warm wall min / median (s) | warm CPU min / median (s) | cold wall median (s) "
        "| cold CPU median (s) | cold / warm (wall, CPU; medians of the pairs) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    names = ["python -c 'import numpy'", *COMMANDS, "train (defaults)"]
    for name in names:
        for label in trees:
            runs = warm.get((label, name))
            pairs = cold.get((label, name))
            if runs is None and pairs:  # train: its warm runs are the second of each pair
                runs = [(p[2], p[3]) for p in pairs]
            row = f"| `{name}` | {label} | {min(w for w, _ in runs):.3f} / {statistics.median(w for w, _ in runs):.3f} |"
            row += f" {min(c for _, c in runs):.3f} / {statistics.median(c for _, c in runs):.3f} |"
            if pairs:
                row += f" {statistics.median(r[0] for r in pairs):.3f} | {statistics.median(r[1] for r in pairs):.3f} |"
                row += f" {statistics.median(r[0] / r[2] for r in pairs):.2f}, {statistics.median(r[1] / r[3] for r in pairs):.2f} |"
            else:
                row += " | | |"
            lines.append(row)
    lines += [
        "",
        "Against the targets (this tree; the fastest wall and CPU time of each command, median ratios). "
        "The targets are wall times on a quiet machine; where the load average was above the 2 cores, "
        "the CPU time (which a quiet run's wall time is close to, for these one-thread commands) decides, "
        "and the wall time is not conclusive:",
        "",
    ]
    busy = max(loads) > 2
    for name in COMMANDS:
        best = min(w for w, _ in warm["after", name])
        cpu = min(c for _, c in warm["after", name])
        if best <= WARM_TARGET:
            verdict = "met"
        elif busy and cpu <= WARM_TARGET:
            verdict = "met in CPU time (wall time not conclusive at this load)"
        else:
            verdict = "not met"
        text = f"- `{name}` warm: wall {best:.3f} s, CPU {cpu:.3f} s, target {WARM_TARGET} s: {verdict}"
        pairs = cold.get(("after", name))
        if pairs:
            text += "; " + _first_run_verdict(pairs, busy)
        lines.append(text)
    pairs = cold.get(("after", "train (defaults)"))
    if pairs:
        lines.append("- `train` " + _first_run_verdict(pairs, busy))
    return "\n".join(lines) + "\n"


def _first_run_verdict(pairs: list, busy: bool) -> str:
    """First run / warm run, medians of the pairs (cold wall, cold CPU, warm wall, warm CPU): the wall
    time decides on a quiet machine (what a user waits for; a `train` with worker processes uses more
    CPU than wall time on two cores), the CPU time on a busy one."""
    wall = statistics.median(r[0] / r[2] for r in pairs)
    cpu = statistics.median(r[1] / r[3] for r in pairs)
    ratio = cpu if busy else wall
    return (
        f"first run / warm run {wall:.2f} (wall), {cpu:.2f} (CPU), target {COLD_TARGET} in "
        f"{'CPU' if busy else 'wall'} time: {'met' if ratio <= COLD_TARGET else 'not met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="warm runs of each command")
    parser.add_argument("--cold", type=int, default=3, help="cold runs (each with a new empty cache)")
    parser.add_argument("--train", type=int, default=2, help="first and second trainings of the sample")
    parser.add_argument("--before", type=Path, help="another lstmcli source tree to time alongside")
    parser.add_argument("--write", action="store_true", help="write the section into benchmarks/RESULTS.md")
    opts = parser.parse_args()
    start = time.perf_counter()
    trees, warm, cold, loads = measure(opts)
    section = report(opts, trees, warm, cold, loads, time.perf_counter() - start)
    from results_file import RESULTS, publish

    publish(section, RESULTS if opts.write else None)


if __name__ == "__main__":
    main()
