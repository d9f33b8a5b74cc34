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
- *panel*: ``panel_widths(own_errors=False)``, the product's rule for the series of a panel from then to
  issue #21's eleventh part: errors divided by each series' mean one-step in-sample Naive2 error (its
  scale), pooled per step over the series of the group, each series weighing the same;
- *panel, own errors*: ``panel_widths``, the same with each series' scale the geometric mean of that
  Naive2 error and its own mean one-step validation error, each origin calibrated with the scale left
  without its own error (``intervals.series_scales``);
- the variants below change *panel*:
- *panel, weigh origins*: the same with each validation residual weighing the same (long series more);
- *panel, step 1 and Naive2's growth*: the panel's step-1 width, later steps grown as the series' pooled
  in-sample Naive2 errors grow (no validated step but the first: free of the stage-1 models' errors at
  long steps and of which series validated them, but Naive2's errors grow faster than a trend model's);
- *panel, geometric mean*: the geometric mean of *panel* and the previous rule, step by step;
- *panel, step 1 and Theta's growth*: the same with the growth of the pooled scale-free errors of
  lstmcli's Theta from the last 20 origins of each series' training part (a trend model's growth);
- *panel, recent Naive2 errors*: *panel* with each series' scale and floor from the last 12 origins of
  its in-sample Naive2 errors instead of up to 400 (a scale that follows a level that moved);
- *panel, holding the members*: *panel*'s bounds stretched, where they do not already, to hold every
  member of the default combination (the networks', Theta's, ES's and, without a season, ARIMA's
  forecasts; ``intervals.holding_members``): where the members disagree, the forecast is less sure
  (asymmetric then). The product's rule in issue #21's tenth part; *per series, holding the
  members* is a single series' rule; *panel, own errors, holding the members* the product's rule
  since its eleventh part.

Below the table, the product's rule's coverage with a 90 % band from resampling whole series (2,000 draws,
errors of one series stay together): how far a group's coverage could move with other series like them.
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
from lstmcli.forecasting.intervals import (  # noqa: E402
    conformal_width,
    holding_members,
    panel_widths,
    series_scale,
)
from lstmcli.forecasting.metrics import mase_scale  # noqa: E402
from lstmcli.forecasting.theta import theta_from_origins  # noqa: E402

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


Bounds = tuple[np.ndarray, np.ndarray]  # (below, above) the forecast, per step


def rules(
    entries: list[dict], train: list[np.ndarray], season: int, h: int
) -> dict[str, dict[int, list[Bounds]]]:
    """{rule: {level: [(below, above) the forecast, per series]}}."""
    res = [_array(e.get("res")) for e in entries]
    floor = [_array(e.get("floor")) for e in entries]
    recent = [None if f is None else f[-RECENT_ORIGINS:] for f in floor]
    theta_growth = _theta_growth(train, res, floor, season, h)
    members = _members(entries, season)
    forecasts = [np.asarray(e["f"]) for e in entries]
    half: dict[str, dict[int, list[np.ndarray]]] = {}
    for level in LEVELS:
        c = level / 100
        half.setdefault("per series", {})[level] = [
            conformal_width(r, c, h, f) for r, f in zip(res, floor, strict=True)
        ]
        half.setdefault("per series, no floor", {})[level] = [conformal_width(r, c, h) for r in res]
        panel = panel_widths(res, floor, c, h, own_errors=False)
        half.setdefault("panel", {})[level] = panel
        half.setdefault("panel, own errors", {})[level] = panel_widths(res, floor, c, h)
        half.setdefault("panel, weigh origins", {})[level] = panel_widths(
            res, floor, c, h, weigh="origin", own_errors=False
        )
        grown = _step_one_growth(panel, _naive2_growth(res, floor, h))
        half.setdefault("panel, step 1 and Naive2's growth", {})[level] = grown
        half.setdefault("panel, geometric mean", {})[level] = [
            np.sqrt(a * b) for a, b in zip(panel, grown, strict=True)
        ]
        half.setdefault("panel, step 1 and Theta's growth", {})[level] = _step_one_growth(panel, theta_growth)
        half.setdefault("panel, recent Naive2 errors", {})[level] = panel_widths(
            res, recent, c, h, own_errors=False
        )
    out = {rule: {lv: [(w, w) for w in ws] for lv, ws in by.items()} for rule, by in half.items()}
    for rule in ("per series", "panel", "panel, own errors"):
        out[f"{rule}, holding the members"] = {level: [] for level in LEVELS}
        for level in LEVELS:
            for w, f, m in zip(half[rule][level], forecasts, members, strict=True):
                lo, hi = holding_members(f - w, f + w, m)
                out[f"{rule}, holding the members"][level].append((f - lo, hi - f))
    return out


PRODUCT = "panel, own errors, holding the members"  # what backtest --id-col and a panel's predict give
RECENT_ORIGINS = 12  # *panel, recent Naive2 errors*
THETA_ORIGINS = 20  # *panel, step 1 and Theta's growth*


def _step_one_growth(panel: list[np.ndarray], growth: np.ndarray) -> list[np.ndarray]:
    """Each series' *panel* width at step 1 times ``growth`` (1 at step 1, never shrinking)."""
    return [w[0] * growth for w in panel]


def _naive2_growth(res: list[np.ndarray | None], floor: list[np.ndarray | None], h: int) -> np.ndarray:
    """The growth of the pooled scale-free in-sample Naive2 errors from step 1 to each step."""
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
    return np.maximum.accumulate(growth / growth[0])


def _theta_growth(
    train: list[np.ndarray], res: list[np.ndarray | None], floor: list[np.ndarray | None], season: int, h: int
) -> np.ndarray:
    """The growth from step 1 of lstmcli Theta's errors from the last ``THETA_ORIGINS`` origins of each
    training part (all ``h`` steps inside it), divided by the series' scale, each series weighing the same."""
    per_series = []
    for y, r, f in zip(train, res, floor, strict=True):
        first = max(len(y) - h - THETA_ORIGINS + 1, 2 * season, 4)
        origins = np.arange(first, len(y) - h + 1)
        if origins.size:
            actual = np.stack([y[o : o + h] for o in origins])
            errors = np.abs(theta_from_origins(y, origins, h, season) - actual) / series_scale(r, f)
            per_series.append(errors.mean(axis=0))
    growth = np.mean(per_series, axis=0) if per_series else np.ones(h)
    return np.maximum.accumulate(growth / growth[0])


def _members(entries: list[dict], season: int) -> list[np.ndarray]:
    """(k, h) per series: the forecasts the default combination averaged (``combine`` "auto" on a series
    of the target alone: the networks', Theta's and ES's, and ARIMA's without a season); the networks'
    is recovered from the mean and the others."""
    names = ("theta", "es", "arima") if season <= 1 else ("theta", "es")
    out = []
    for e in entries:
        others = [np.asarray(e[k], dtype=np.float64) for k in names]
        networks = (len(others) + 1) * np.asarray(e["f"], dtype=np.float64) - np.sum(others, axis=0)
        out.append(np.vstack([networks, *others]))
    return out


def _coverage(actual: list[np.ndarray], forecasts: list[np.ndarray], bounds: list[Bounds]) -> np.ndarray:
    """Per series, the number of test points inside its bounds."""
    return np.array(
        [
            int(np.sum((a >= f - lo) & (a <= f + hi)))
            for a, f, (lo, hi) in zip(actual, forecasts, bounds, strict=True)
        ]
    )


def _band(inside: np.ndarray, points: np.ndarray, draws: int = 2000) -> tuple[float, float]:
    """5th and 95th percentiles of the coverage (%) over ``draws`` resamplings of whole series."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, inside.size, size=(draws, inside.size))
    cover = 100.0 * inside[picks].sum(axis=1) / points[picks].sum(axis=1)
    lo, hi = np.percentile(cover, [5, 95])
    return float(lo), float(hi)


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
    table: dict[tuple[str, str, str], dict[int, str]] = {}  # (group, mode, rule) -> seed -> cells
    bands: dict[tuple[str, str], dict[int, str]] = {}
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
        actual, train, scales = [], [], []
        for s in series:
            y = np.asarray(s.values, dtype=np.float64)
            train.append(y[: len(y) - s.n_test])
            actual.append(y[len(y) - s.n_test :])
            scales.append(mase_scale(train[-1], season))
        h = len(actual[0])
        f = [np.asarray(e["f"]) for e in r["forecasts"]]
        bounds = rules(r["forecasts"], train, season, h)
        # the bounds the run saved, below and above its forecast (8 significant digits of their size)
        recorded = [
            (fk - np.asarray(e["lo95"]), np.asarray(e["hi95"]) - fk)
            for fk, e in zip(f, r["forecasts"], strict=True)
        ]
        scale = [
            1e-7 * max(1.0, float(np.max(np.abs(fk))), float(np.max(np.abs(fk + hi))))
            for fk, (_, hi) in zip(f, recorded, strict=True)
        ]
        same = [
            rule
            for rule, b in bounds.items()
            if all(
                np.allclose(lo, below, rtol=1e-6, atol=t) and np.allclose(hi, above, rtol=1e-6, atol=t)
                for (lo, hi), (below, above), t in zip(b[95], recorded, scale, strict=True)
            )
        ]
        print(
            f"{r['group']} {r['mode']} seed {r['seed']}: the run's own widths are those of {same or 'no rule here'}",
            file=sys.stderr,
        )
        matched.add(", ".join(same) or "no rule here")
        points = np.array([len(a) for a in actual])
        for rule, by_level in bounds.items():
            inside = {level: _coverage(actual, f, b) for level, b in by_level.items()}
            cover = {level: 100.0 * n.sum() / points.sum() for level, n in inside.items()}
            msis = np.mean(
                [
                    _msis(a, fk - lo, fk + hi, sc)
                    for a, fk, (lo, hi), sc in zip(actual, f, by_level[95], scales, strict=True)
                ]
            )
            table.setdefault((r["group"], r["mode"], rule), {})[r["seed"]] = (cover[80], cover[95], msis)
            if rule == PRODUCT:
                bands.setdefault((r["group"], r["mode"]), {})[r["seed"]] = " | ".join(
                    "{:.1f} ({:.1f}-{:.1f})".format(cover[level], *_band(inside[level], points))
                    for level in LEVELS
                )
    seeds = sorted({r["seed"] for r in runs})
    at = " / ".join(str(s) for s in seeds)
    lines = [
        f"Seeds {at} in each cell.",
        "",
        "| group | mode | rule | cover 80 | cover 95 | MSIS 95 |",
        "|---|---|---|---:|---:|---:|",
    ]
    for (group, mode, rule), by_seed in table.items():
        cells = [
            " / ".join(f"{by_seed[s][k]:{spec}}" if s in by_seed else "–" for s in seeds)
            for k, spec in ((0, ".1f"), (1, ".1f"), (2, ".2f"))
        ]
        lines.append(f"| {group} | {mode} | {rule} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"**The product's rule (*{PRODUCT}*) with a 90 % band from resampling whole series** (coverage %, band in "
        "brackets; a group's errors are not independent points: one series' errors move together)",
        "",
        "| group | mode | seed | cover 80 | cover 95 |",
        "|---|---|---:|---:|---:|",
    ]
    for (group, mode), by_seed in bands.items():
        lines += [f"| {group} | {mode} | {seed} | {cells} |" for seed, cells in sorted(by_seed.items())]
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
