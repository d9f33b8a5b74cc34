"""Static features for the global panel model (issue #19): M3 monthly with and without its category.

    cd /work/main && PYTHONPATH=. python benchmarks/panel_static.py --seeds 0

The 1,428 M3 monthly series, one origin each (the official test rows are the horizon), fitted by ONE
global network ensemble (``backtest_panel``, lstmcli's default settings) twice: without static
features, and with the M3 category (micro, industry, macro, finance, demographic, other) one-hot as a
static feature at every step (``--static-features category``). Scored as ``lstmcli backtest --id-col``
scores (sMAPE and MASE averaged over the series, OWA against Naive2 on the means), per category and
overall, with wall and CPU time.

The full M3 file in ``../shared/datasets`` has no category column. M3 numbers its monthly series by
category in blocks (the counts of the M3 paper: 474, 334, 312, 145, 111, 52); the script checks those
blocks against every monthly series of ``m3_dev_series.csv`` (which lists the category of 50 of them)
and stops if one disagrees. Writes the "## Panels: static features" section of RESULTS.md with --write.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from lstmcli.data.loader import load_long_csv  # noqa: E402
from lstmcli.forecasting.backtest import backtest_panel  # noqa: E402
from lstmcli.forecasting.config import ForecasterConfig  # noqa: E402

DATASETS = REPO.parent / "shared" / "datasets"
# M3 monthly: series N1402 .. N2829, numbered by category in these blocks (first id of each)
BLOCKS = [(1402, "micro"), (1876, "industry"), (2210, "macro"), (2522, "finance"), (2667, "demographic"),
          (2778, "other")]  # fmt: skip
LAST = 2829


def category(series_id: str) -> str:
    n = int(series_id.lstrip("N"))
    if not BLOCKS[0][0] <= n <= LAST:
        raise ValueError(f"{series_id} is not an M3 monthly series")
    return [name for first, name in BLOCKS if n >= first][-1]


def check_blocks(datasets: Path) -> int:
    """Every monthly series the dev list labels must fall in its category's block."""
    checked = 0
    with open(datasets / "m3" / "m3_dev_series.csv", newline="") as f:
        for row in csv.DictReader(f):
            if row["frequency"] == "monthly":
                if category(row["series_id"]) != row["category"]:
                    sys.exit(
                        f"{row['series_id']}: the blocks say {category(row['series_id'])}, the list {row['category']}"
                    )
                checked += 1
    return checked


def score(result, cats: list[str]) -> dict[str, dict[str, float]]:
    """Per category and overall: LSTM sMAPE, MASE, OWA against Naive2 on the means."""
    rows = result.per_row()
    out = {}
    for name in [*sorted(set(cats)), "all"]:
        keep = [r for r, c in zip(rows, cats, strict=True) if name in ("all", c)]
        mean = {
            m: {k: float(np.mean([r[m][k] for r in keep])) for k in ("sMAPE", "MASE")}
            for m in ("LSTM", "Naive2")
        }
        owa = 0.5 * (
            mean["LSTM"]["sMAPE"] / mean["Naive2"]["sMAPE"] + mean["LSTM"]["MASE"] / mean["Naive2"]["MASE"]
        )
        out[name] = {"n": len(keep), "sMAPE": mean["LSTM"]["sMAPE"], "MASE": mean["LSTM"]["MASE"], "OWA": owa}
    return out


def _cpu() -> float:
    """CPU seconds of this process and of its finished worker processes."""
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--datasets", type=Path, default=DATASETS)
    ap.add_argument("--per-category", type=int, default=None, help="only the first K series of each category")
    ap.add_argument("--write", action="store_true", help="write the section of benchmarks/RESULTS.md")
    args = ap.parse_args()
    checked = check_blocks(args.datasets)
    series = load_long_csv(args.datasets / "m3" / "m3_monthly_full.csv", id_col="series_id")
    if args.per_category:
        seen: dict[str, int] = {}
        kept = []
        for s in series:  # (in file order, which is the id order)
            c = category(s.series_id)
            seen[c] = seen.get(c, 0) + 1
            if seen[c] <= args.per_category:
                kept.append(s)
        series = kept
    cats = [category(s.series_id) for s in series]
    print(f"{len(series)} series; category blocks agree with the {checked} labelled monthly dev series")
    lines = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        cfg = ForecasterConfig(seed=seed)
        for label, static in (("none", None), ("category", {"category": cats})):
            wall, cpu = time.perf_counter(), time.process_time()
            result = backtest_panel(
                series, cfg, season=12, path="m3_monthly_full.csv", threads=0, static=static
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            table = score(result, cats)
            print(f"seed {seed}, static {label}: wall {wall:.0f} s, CPU {cpu:.0f} s (with worker processes)")
            for name, row in table.items():
                print(
                    f"  {name:12s} n={row['n']:5d} sMAPE {row['sMAPE']:.3f} MASE {row['MASE']:.3f} OWA {row['OWA']:.3f}"
                )
                lines.append((seed, label, name, row, wall, cpu))
    if args.write:
        write_results(lines, len(series))


def write_results(lines: list, n: int) -> None:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from results_file import machine_description, replace_section

    names = sorted({name for _, _, name, *_ in lines}, key=lambda k: (k == "all", k))
    runs = sorted({(seed, label) for seed, label, *_ in lines})
    head = "| category | n | " + " | ".join(f"OWA {label} (seed {seed})" for seed, label in runs) + " |"
    rule = "|---|---|" + "---|" * len(runs)
    body = []
    for name in names:
        cells = {(s, lab): row for s, lab, nm, row, *_ in lines if nm == name}
        count = next(iter(cells.values()))["n"]
        body.append(f"| {name} | {count} | " + " | ".join(f"{cells[r]['OWA']:.3f}" for r in runs) + " |")
    times = "; ".join(f"static {lab} seed {s}: wall {w:.0f} s, CPU {c:.0f} s" for s, lab, nm, _, w, c in lines
                      if nm == "all")  # fmt: skip
    text = "\n".join([
        f"`PYTHONPATH=. python benchmarks/panel_static.py {' '.join(sys.argv[1:])}` — M3 monthly ({n} series), one global model with "
        "default settings, without and with the M3 category one-hot as a static feature; OWA of the LSTM "
        f"against Naive2 (lower is better). Machine: {machine_description()}, shared with other jobs. " + times + ".",
        "", head, rule, *body,
    ])  # fmt: skip
    replace_section("## Panels: static features", text)


if __name__ == "__main__":
    main()
