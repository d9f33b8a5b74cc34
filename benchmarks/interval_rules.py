"""Interval rules on the M1 and M3 groups (issue #21), scored without refitting anything.

    PYTHONPATH=. python benchmarks/panel_accuracy.py --group all --seeds 0,1 --modes local \\
        --checkpoint runs/lstm.jsonl [--sample N]
    PYTHONPATH=. python benchmarks/interval_rules.py --checkpoint runs/lstm.jsonl --out benchmarks/RESULTS.md

``panel_accuracy.py`` keeps, for every series, the validation residuals and the Naive2 floor errors the
product computed its interval widths from; this script computes the widths again under each rule below
and scores their coverage of the official test rows (over all forecast points of a group) and MSIS at
95 % (M4's). The point forecasts are the run's; only the half-widths change. The widths the run saved
must equal one of the rules' (the product's rule when it ran): the script says which, per run.

Rules (each at 80 and 95 %):
- *per series*: ``conformal_width`` on each series' own residuals, with its Naive2 floor (the product's
  rule before issue #21's second part; still a single series' rule);
- *per series, no floor*: the same without the floor;
- *panel*: ``panel_widths``, the product's rule for the series of a panel since then: scale-free errors
  pooled per step over the series of the group, each series weighing the same;
- *panel, weigh origins*: the same with each validation residual weighing the same (long series more);
- *panel, step 1 and Naive2's growth*: the panel's step-1 width, later steps grown as the series' pooled
  in-sample Naive2 errors grow (no validated step but the first: free of the stage-1 models' errors at
  long steps and of which series validated them, but Naive2's errors grow faster than a trend model's);
- *panel, geometric mean*: the geometric mean of *panel* and the previous rule, step by step.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from panel_accuracy import GROUPS, sample_positions  # noqa: E402

from lstmcli.data.loader import load_long_csv  # noqa: E402
from lstmcli.forecasting.intervals import conformal_width, panel_widths, series_scale  # noqa: E402
from lstmcli.forecasting.metrics import mase_scale  # noqa: E402

LEVELS = (80, 95)


def _array(rows: list | None) -> np.ndarray | None:
    if rows is None:
        return None
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64).reshape(
        len(rows), -1
    )


def _msis(actual, lo, hi, scale, alpha=0.05) -> float:
    penalty = (2.0 / alpha) * (np.maximum(lo - actual, 0.0) + np.maximum(actual - hi, 0.0))
    return float(np.mean((hi - lo) + penalty) / scale)


def rules(entries: list[dict], scales: np.ndarray, h: int) -> dict[str, dict[int, list[np.ndarray]]]:
    """{rule: {level: [half-width per series]}}."""
    res = [_array(e.get("res")) for e in entries]
    floor = [_array(e.get("floor")) for e in entries]
    out: dict[str, dict[int, list[np.ndarray]]] = {}
    for level in LEVELS:
        c = level / 100
        out.setdefault("per series", {})[level] = [
            conformal_width(r, c, h, f) for r, f in zip(res, floor, strict=True)
        ]
        out.setdefault("per series, no floor", {})[level] = [conformal_width(r, c, h) for r in res]
        out.setdefault("panel", {})[level] = panel_widths(res, floor, c, h)
        out.setdefault("panel, weigh origins", {})[level] = panel_widths(res, floor, c, h, weigh="origin")
        grown = _step_one_growth(out["panel"][level], res, floor, h)
        out.setdefault("panel, step 1 and Naive2's growth", {})[level] = grown
        out.setdefault("panel, geometric mean", {})[level] = [
            np.sqrt(a * b) for a, b in zip(out["panel"][level], grown, strict=True)
        ]
    return out


def _step_one_growth(
    panel: list[np.ndarray], res: list[np.ndarray | None], floor: list[np.ndarray | None], h: int
) -> list[np.ndarray]:
    """Each series' *panel* width at step 1, times the growth of the pooled scale-free Naive2 errors
    from step 1 to each step (never shrinking)."""
    scales = np.array([series_scale(r, f) for r, f in zip(res, floor, strict=True)])
    growth = np.ones(h)
    for j in range(h):
        means = [
            float(np.nanmean(np.abs(f[:, j]))) / sc
            for f, sc in zip(floor, scales, strict=True)
            if f is not None and f.ndim == 2 and j < f.shape[1] and np.isfinite(f[:, j]).any()
        ]
        if means:
            growth[j] = float(np.mean(means))
    growth = np.maximum.accumulate(growth / growth[0])
    return [w[0] * growth for w in panel]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    p.add_argument("--checkpoint", type=Path, required=True)
    p.add_argument("--out", type=Path, default=None, help="RESULTS.md to write (default: print)")
    args = p.parse_args(argv)
    runs = []
    for line in args.checkpoint.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            if "part" not in r and "res" in r["forecasts"][0]:
                runs.append(r)
    lines = [
        "| group | mode | seed | rule | cover 80 | cover 95 | MSIS 95 |",
        "|---|---|---:|---|---:|---:|---:|",
    ]
    matched: set[str] = set()
    for r in sorted(runs, key=lambda r: (list(GROUPS).index(r["group"]), r["mode"] != "local", r["seed"])):
        file, season = GROUPS[r["group"]]
        series = load_long_csv(args.shared / "datasets" / file)
        keep = sample_positions(len(series), r["n"] if r["n"] < len(series) else None)  # --sample runs
        if keep is not None:
            series = [series[k] for k in keep]
        if [str(s.series_id) for s in series] != [e["id"] for e in r["forecasts"]]:
            raise SystemExit(
                f"{r['group']} seed {r['seed']}: the run's series are not the file's (or its sample)"
            )
        actual, scales = [], []
        for s in series:
            y = np.asarray(s.values, dtype=np.float64)
            actual.append(y[len(y) - s.n_test :])
            scales.append(mase_scale(y[: len(y) - s.n_test], season))
        scales_a = np.asarray(scales)
        h = len(actual[0])
        f = [np.asarray(e["f"]) for e in r["forecasts"]]
        widths = rules(r["forecasts"], scales_a, h)
        recorded = [np.asarray(e["hi95"]) - np.asarray(e["f"]) for e in r["forecasts"]]
        # the saved bounds keep 8 significant digits of the forecast's size: compare to that precision
        scale = [
            1e-7 * max(1.0, float(np.max(np.abs(fk))), float(np.max(np.abs(fk + w))))
            for fk, w in zip(f, recorded, strict=True)
        ]
        same = [
            rule
            for rule, w in widths.items()
            if all(
                np.allclose(a, b, rtol=1e-6, atol=t) for a, b, t in zip(w[95], recorded, scale, strict=True)
            )
        ]
        print(
            f"{r['group']} {r['mode']} seed {r['seed']}: the run's own widths are those of {same or 'no rule here'}",
            file=sys.stderr,
        )
        matched.add(", ".join(same) or "no rule here")
        points = sum(len(a) for a in actual)
        for rule, by_level in widths.items():
            cov = {}
            for level, w in by_level.items():
                inside = sum(
                    int(np.sum(np.abs(a - fk) <= wk)) for a, fk, wk in zip(actual, f, w, strict=True)
                )
                cov[level] = 100.0 * inside / points
            msis = np.mean(
                [
                    _msis(a, fk - wk, fk + wk, sc)
                    for a, fk, wk, sc in zip(actual, f, by_level[95], scales, strict=True)
                ]
            )
            lines.append(
                f"| {r['group']} | {r['mode']} | {r['seed']} | {rule} | {cov[80]:.1f} | {cov[95]:.1f} | {msis:.2f} |"
            )
    text = "\n".join(lines) + "\n"
    if args.out is None:
        print(text)
    else:
        from results_file import machine_description, publish

        sizes = sorted({(r["n"], r.get("of", r["n"])) for r in runs})
        sample = "every series" if all(n == of for n, of in sizes) else "a fixed random sample of each group"
        head = (
            f"`python benchmarks/interval_rules.py --checkpoint CK` on {machine_description()}, CK from "
            "`panel_accuracy.py --group all --seeds 0,1` (the default settings, local and global; "
            f"{sample}: "
            + ", ".join(
                f"{r['group']} {r['n']}"
                for r in runs
                if (r["seed"], r["mode"]) == (runs[0]["seed"], runs[0]["mode"])
            )
            + " series). Coverage (%) over all forecast points of the official test rows, MSIS at 95 % "
            "(M4's), for the same point forecasts under each interval rule (the script's docstring). "
            "Arithmetic only: no model is refitted. The widths each run saved equal those of rule "
            + " / ".join(f"*{m}*" for m in sorted(matched))
            + " recomputed from what it kept (checked per run, to the 8 digits saved)"
            + (
                "; *no rule here*: a local run made in parts (`--chunk`) calibrated each part of the group "
                "on its own, where the rules here calibrate the whole group, as `backtest --id-col` does on "
                "one file of it.\n\n"
                if "no rule here" in matched
                else ".\n\n"
            )
        )
        publish("## Interval rules on M1 and M3 (issue #21)\n\n" + head + text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
