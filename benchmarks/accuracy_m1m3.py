"""Accuracy on the full M1 and M3 groups (issue #21): lstmcli's saved forecasts next to anchors computed
in the same run on the same series, the offline combinations, and a verdict per target.

    # 1. the LSTM forecasts (hours; resumable, every finished group/mode/seed is kept):
    PYTHONPATH=. python benchmarks/panel_accuracy.py --group all --seeds 0,1 --modes local \\
        --checkpoint runs/lstm.jsonl
    # 2. the anchors and this report (statsforecast from the bench extra; anchors cached per file):
    PYTHONPATH=. python benchmarks/accuracy_m1m3.py --checkpoint runs/lstm.jsonl --jobs 2

Every method is scored as ``lstmcli backtest --id-col`` scores (``lstmcli.forecasting.metrics``): sMAPE
and MASE (with the group's season) averaged over the series, OWA against lstmcli's Naive2 on those means;
coverage of the 80 and 95 % intervals over all forecast points; MSIS at 95 % as M4 defines it (below).
The combinations are computed here from the saved forecasts: point forecasts and interval bounds are each
combined the same way (mean or median, step by step). statsforecast's Theta stands in for the Theta that
lstmcli itself computes for ``--combine theta``: the numbers of that setting are those of "LSTM+Theta"
only as far as the two Thetas agree. The default (``--combine theta+es``) is the "lstmcli" column.
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

from anchors import DEFAULT_CACHE, anchor_forecasts, naive2_check  # noqa: E402
from panel_accuracy import CATEGORY, GROUPS, SIZES, sample_positions  # noqa: E402

from lstmcli.data.loader import load_long_csv  # noqa: E402
from lstmcli.forecasting.baselines import naive2  # noqa: E402
from lstmcli.forecasting.intervals import holding_members  # noqa: E402
from lstmcli.forecasting.metrics import mase, mase_scale, owa, smape  # noqa: E402

LEVELS = (80, 95)
STRONG = ("Theta", "AutoETS", "AutoARIMA")
ANCHORS = ("Naive2", "Seasonal naive", "SES", *STRONG)
# name -> (members, how): "lstmcli" is the product's default forecast with its own intervals (the mean of
# the networks' forecast and lstmcli's Theta and ES, --combine theta+es, and ARIMA without a season;
# before, with Theta alone); "LSTM"
# the networks' own forecast (recovered from the default's and its members'; the product's forecast itself
# for runs with --combine none)
CANDIDATES = {
    "lstmcli": (("lstmcli",), "mean"),
    "LSTM": (("LSTM",), "mean"),
    "LSTM+Theta": (("LSTM", "Theta"), "mean"),
    "med(LSTM,Theta,ETS)": (("LSTM", "Theta", "AutoETS"), "median"),
    "mean(LSTM,Theta,ETS,ARIMA)": (("LSTM", "Theta", "AutoETS", "AutoARIMA"), "mean"),
}
TOLERANCE = 3.0  # coverage target: within 3 points of nominal


def msis(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray, scale: float, alpha: float = 0.05) -> float:
    """M4's scaled interval score of one series: (1/h) sum[(U-L) + (2/a)(L-Y)1{Y<L} + (2/a)(Y-U)1{Y>U}]
    divided by the in-sample mean absolute seasonal difference."""
    penalty = (2.0 / alpha) * (np.maximum(lo - actual, 0.0) + np.maximum(actual - hi, 0.0))
    return float(np.mean((hi - lo) + penalty) / scale)


def score(actual: list, insample: list, season: int, f: list, lo: dict, hi: dict) -> dict:
    """Per-series sMAPE, MASE and MSIS (95 %), and the points inside each interval."""
    out = {"sMAPE": [], "MASE": [], "MSIS": [], "inside": {}, "points": 0}
    for k, y in enumerate(actual):
        out["sMAPE"].append(smape(y, f[k]))
        out["MASE"].append(mase(y, f[k], insample[k], season))
        if 95 in lo:
            out["MSIS"].append(msis(y, lo[95][k], hi[95][k], mase_scale(insample[k], season)))
        out["points"] += len(y)
    for level in lo:
        out["inside"][level] = int(
            sum(np.sum((y >= lo[level][k]) & (y <= hi[level][k])) for k, y in enumerate(actual))
        )
    return out


def summary(parts: list[dict], naive2_parts: list[dict]) -> dict:
    """Pooled over the groups' series: means, OWA against Naive2's means, coverage over points."""

    def mean(key: str, ps: list[dict]) -> float:
        return float(np.mean([v for p in ps for v in p[key]]))

    s, m = mean("sMAPE", parts), mean("MASE", parts)
    out = {"sMAPE": s, "MASE": m, "OWA": owa(s, m, mean("sMAPE", naive2_parts), mean("MASE", naive2_parts))}
    points = sum(p["points"] for p in parts)
    for level in LEVELS:
        if all(level in p["inside"] for p in parts):
            out[f"cov{level}"] = 100.0 * sum(p["inside"][level] for p in parts) / points
    if all(p["MSIS"] for p in parts):
        out["MSIS"] = mean("MSIS", parts)
    out["n"] = sum(len(p["sMAPE"]) for p in parts)
    return out


def _combine(arrays: list[np.ndarray], how: str) -> np.ndarray:
    stack = np.stack(arrays)
    return np.median(stack, axis=0) if how == "median" else stack.mean(axis=0)


def product_forecasts(entries: list[dict], h: int) -> dict:
    """The default's forecasts and interval bounds. Where the run kept each series' validation residuals
    and Naive2 floor errors, the half-widths are computed from them by the product's interval rule as
    it is now (``intervals.panel_intervals``, what ``backtest --id-col`` calls; ``group_scores`` then
    stretches them to hold the combination's members), so a changed rule is scored without refitting;
    else the bounds the run saved."""
    f = [np.asarray(e["f"]) for e in entries]
    out: dict = {"f": f, "lo": {}, "hi": {}}
    if all("res" in e for e in entries):
        from lstmcli.forecasting.intervals import panel_intervals

        res = [_matrix(e["res"], h) for e in entries]
        floors = [None if e["floor"] is None else _matrix(e["floor"], h) for e in entries]
        for level in LEVELS:
            widths = panel_intervals(res, floors, level / 100, h)
            out["lo"][level] = [x - w for x, w in zip(f, widths, strict=True)]
            out["hi"][level] = [x + w for x, w in zip(f, widths, strict=True)]
        return out
    for level in LEVELS:
        if all(f"lo{level}" in e for e in entries):
            out["lo"][level] = [np.asarray(e[f"lo{level}"]) for e in entries]
            out["hi"][level] = [np.asarray(e[f"hi{level}"]) for e in entries]
    return out


def _matrix(rows: list, h: int) -> np.ndarray:
    """A saved residual matrix (None where NaN) as an (n, h) array."""
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64).reshape(
        -1, h
    )


def group_scores(
    group: str, shared: Path, runs: dict, cache_dir: Path, jobs: int, sample: int | None = None
) -> dict:
    """{"methods": {name: score}, "seconds": {name: (cpu, wall) per series}, "check": naive2 diff};
    ``sample``: panel_accuracy.py's fixed random subset of that many series of the group."""
    file, season = GROUPS[group]
    path = shared / "datasets" / file
    series = load_long_csv(path)
    keep = sample_positions(len(series), sample)
    if keep is not None:
        series = [series[k] for k in keep]
    ids = [str(s.series_id) for s in series]
    actual, insample = [], []
    for s in series:
        y = np.asarray(s.values, dtype=np.float64)
        actual.append(y[len(y) - s.n_test :])
        insample.append(y[: len(y) - s.n_test])
    a = anchor_forecasts(path, season, cache_dir, jobs, keep)
    if a["ids"] != ids:
        raise SystemExit(f"{path}: the anchors' cache lists other series; remove it from {cache_dir}")
    fc: dict[str, dict] = {}  # method -> {"f": [...], "lo": {level: [...]}, "hi": {...}}
    seconds: dict[str, tuple[float, float]] = {}
    n = len(series)
    for name in ANCHORS:
        entries = a["methods"][name]
        fc[name] = {"f": [np.asarray(e["f"]) for e in entries], "lo": {}, "hi": {}}
        for level in LEVELS:
            if all(f"lo{level}" in e for e in entries):
                fc[name]["lo"][level] = [np.asarray(e[f"lo{level}"]) for e in entries]
                fc[name]["hi"][level] = [np.asarray(e[f"hi{level}"]) for e in entries]
        seconds[name] = (sum(e["cpu"] for e in entries) / n, float("nan"))  # CPU; one series at a time
    failed = {name: sum("failed" in e for e in a["methods"][name]) for name in ANCHORS}
    # lstmcli's own Naive2 is the OWA denominator, as in the product's tables
    lstm_naive2 = [naive2(x, len(y), season) for x, y in zip(insample, actual, strict=True)]
    fc["Naive2 (lstmcli)"] = {"f": lstm_naive2, "lo": {}, "hi": {}}
    scores: dict[tuple[str, str, int | None], dict] = {}

    def add(name: str, key: tuple, f: dict) -> None:
        scores[key] = score(actual, insample, season, f["f"], f["lo"], f["hi"])

    for name in ANCHORS:
        add(name, (name, "", None), fc[name])
    add("Naive2 (lstmcli)", ("Naive2 (lstmcli)", "", None), fc["Naive2 (lstmcli)"])
    # what the LSTM adds to a combination: the same combination with Naive2 in its place (the level of
    # `accuracy.py --ablate-network`, the forecast without the networks); points only
    for cand, (members, how) in CANDIDATES.items():
        if len(members) > 1:
            parts = [fc["Naive2 (lstmcli)"] if m == "LSTM" else fc[m] for m in members]
            f = [_combine([q["f"][k] for q in parts], how) for k in range(n)]
            add(cand, (cand, "no LSTM", None), {"f": f, "lo": {}, "hi": {}})
    for (mode, seed), run in runs.items():
        if [e["id"] for e in run["forecasts"]] != ids:
            raise SystemExit(f"{group} {mode} seed {seed}: the checkpoint's series differ from {path}")
        lstm = product_forecasts(run["forecasts"], len(actual[0]))
        networks = {"f": lstm["f"], "lo": {}, "hi": {}}
        # each candidate's interval: the default's conformal half-width (before it holds the members)
        halves = {
            lv: [(hi - lo) / 2 for lo, hi in zip(lstm["lo"][lv], lstm["hi"][lv], strict=True)]
            for lv in lstm["lo"]
        }
        # the default "auto" is, for a series of the target alone (every M1/M3 file), "theta+es+arima"
        # without a season in the runs that keep the ARIMA forecasts ("arima"), "theta+es" since the runs
        # that keep the ES forecasts ("es"), "theta" before them
        combine = run.get("settings", {}).get("combine", "none")
        if combine == "auto":
            kept = run["forecasts"][0]
            combine = "theta+es" if "es" in kept else "theta"
            if season <= 1 and "arima" in kept:
                combine += "+arima"
        if combine != "none":
            members = [[np.asarray(e[key]) for e in run["forecasts"]] for key in combine.split("+")]
            k = len(members) + 1.0  # the product's forecast is the mean of the networks' and the members'
            networks["f"] = [k * f - sum(m[i] for m in members) for i, f in enumerate(lstm["f"])]
            for level in lstm["lo"]:  # the product's interval holds every member (``holding_members``)
                for i in range(n):
                    held = np.vstack([networks["f"][i], *(m[i] for m in members)])
                    bounds = holding_members(lstm["lo"][level][i], lstm["hi"][level][i], held)
                    lstm["lo"][level][i], lstm["hi"][level][i] = bounds
            if ("lstmcli", "no LSTM", None) not in scores:  # the default with Naive2 for its networks
                f = [(x + sum(m[i] for m in members)) / k for i, x in enumerate(lstm_naive2)]
                add("lstmcli", ("lstmcli", "no LSTM", None), {"f": f, "lo": {}, "hi": {}})
        cpu_lstm = run.get("cpu_seconds", float("nan")) / n
        for cand, (members, how) in CANDIDATES.items():
            parts = [{"lstmcli": lstm, "LSTM": networks}.get(m) or fc[m] for m in members]
            combined = {
                "f": [_combine([p["f"][k] for p in parts], how) for k in range(n)],
                "lo": {}, "hi": {},
            }  # fmt: skip
            averaged = {"f": combined["f"], "lo": {}, "hi": {}}
            for level in lstm["lo"]:
                # the interval: the default's own (holding its members), else the default's conformal
                # half-width around the combined point (what lstmcli has for any forecast); the members'
                # bounds averaged are scored alongside
                half = halves[level]
                if cand == "lstmcli":
                    combined["lo"][level], combined["hi"][level] = lstm["lo"][level], lstm["hi"][level]
                else:
                    combined["lo"][level] = [combined["f"][k] - half[k] for k in range(n)]
                    combined["hi"][level] = [combined["f"][k] + half[k] for k in range(n)]
                if all(level in p["lo"] for p in parts):
                    for side in ("lo", "hi"):
                        averaged[side][level] = [
                            _combine([p[side][level][k] for p in parts], how) for k in range(n)
                        ]
            add(cand, (cand, mode, seed), combined)
            if len(members) > 1 and averaged["lo"]:  # (the networks alone keep no bounds of their own)
                add(cand, (cand + " [bounds combined]", mode, seed), averaged)
            others = [m for m in members if m not in ("LSTM", "lstmcli")]
            seconds[f"{cand}|{mode}|{seed}"] = (
                cpu_lstm + sum(seconds[m][0] for m in others),
                run["seconds"] / n + sum(seconds[m][1] for m in others),
            )
    return {
        "n": n,
        "scores": scores,
        "seconds": seconds,
        "check": naive2_check(path, season, a, keep),
        "failed": failed,
        "statsforecast": a["statsforecast"],
    }


# --- the report -----------------------------------------------------------------------------------------

SHORT = {"Naive2": "Naive2", "Seasonal naive": "SNaive", "SES": "SES", "Theta": "Theta", "AutoETS": "ETS",
         "AutoARIMA": "ARIMA"}  # fmt: skip


def _rows(groups: list[str]) -> list[tuple[str, list[str]]]:
    """The table rows: each group, each category that pools more than one group, then all groups."""
    rows = [(g, [g]) for g in groups]
    for category in dict.fromkeys(CATEGORY[g] for g in groups):
        members = [g for g in groups if CATEGORY[g] == category]
        if len(members) > 1:
            rows.append((f"*{category}*", members))
    rows.append(("**all**" if len(groups) == len(GROUPS) else f"**{len(groups)} groups**", groups))
    return rows


class Table:
    """Pooled measures of every (method, mode, seed) over any set of groups."""

    def __init__(self, results: dict):
        self.results = results

    def get(self, key: tuple, groups: list[str]) -> dict | None:
        if not all(key in self.results[g]["scores"] for g in groups):
            return None
        base = ("Naive2 (lstmcli)", "", None)
        return summary([self.results[g]["scores"][key] for g in groups],
                       [self.results[g]["scores"][base] for g in groups])  # fmt: skip


def _f(x: float | None, digits: int = 3) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}f}"


def verdicts(table: Table, groups: list[str], cand: str, mode: str, seed: int) -> dict | None:
    """Each target of issue #21 for one candidate at one seed: (met, detail)."""
    key = (cand, mode, seed)
    if any(table.get(key, [g]) is None for g in groups):
        return None
    per = {g: table.get(key, [g]) for g in groups}
    theta = {g: table.get(("Theta", "", None), [g])["OWA"] for g in groups}
    best3 = {g: min(table.get((m, "", None), [g])["OWA"] for m in STRONG) for g in groups}
    overall = table.get(key, groups)["OWA"]
    strong_all = {m: table.get((m, "", None), groups)["OWA"] for m in STRONG}
    best_all = min(strong_all.values())
    out = {}
    over = [f"{g} +{per[g]['OWA'] - theta[g]:.3f}" for g in groups if per[g]["OWA"] > theta[g]]
    out["OWA <= Theta in every group"] = (not over, ", ".join(over) or "all groups")
    out["OWA <= best of Theta/ETS/ARIMA overall"] = (
        overall <= best_all,
        f"{overall:.3f} vs {best_all:.3f} ({min(strong_all, key=strong_all.get)})",
    )
    worse = [f"{g} {per[g]['OWA']:.3f}" for g in groups if per[g]["OWA"] > 1.0]
    out["not worse than Naive2 in any group"] = (not worse, ", ".join(worse) or "all groups")
    off = [
        f"{g} {lv}%: {per[g][f'cov{lv}']:.1f}"
        for g in groups
        for lv in LEVELS
        if abs(per[g].get(f"cov{lv}", np.nan) - lv) > TOLERANCE
        or not np.isfinite(per[g].get(f"cov{lv}", np.nan))
    ]
    out["coverage within 3 points at 80 and 95 % in every group"] = (not off, ", ".join(off) or "all groups")
    behind = [g for g in groups if per[g]["OWA"] > best3[g]]
    out["(aim) best of Theta/ETS/ARIMA in every group"] = (
        not behind,
        f"behind in {len(behind)} of {len(groups)}" + (f": {', '.join(behind)}" if behind else ""),
    )
    return out  # fmt: skip


def report(results: dict, modes_seeds: list[tuple[str, int]], machine: str, command: str) -> str:
    groups = [g for g in GROUPS if g in results]
    table = Table(results)
    rows = _rows(groups)
    seeds_of = {m: [s for mm, s in modes_seeds if mm == m] for m, _ in modes_seeds}
    cand_cols = [(c, m) for m in seeds_of for c in CANDIDATES]

    def cand_name(c: str, m: str) -> str:
        return c if m == "local" else f"{c} [global]"

    def cell(c: str, m: str, gs: list[str], measure: str, digits: int = 3) -> str:
        vals = [table.get((c, m, s), gs) for s in seeds_of[m]]
        return " / ".join(_f(v.get(measure) if v else None, digits) for v in vals)

    seeds_txt = " / ".join(f"seed {s}" for s in next(iter(seeds_of.values())))
    sf = next(iter(results.values()))["statsforecast"]
    lines = [
        "## Accuracy on M1 and M3 (issue #21)",
        "",
        f"`{command}` on {machine}; the LSTM runs and the anchors ran side by side (and beside other "
        "work), so times are CPU seconds per series (wall only where it is the LSTM's own measure). Every series of the full M1 and M3 groups, the official test rows as the horizon, "
        "lstmcli's **default settings** (only the season and the horizon set); the anchors are computed "
        f"in the same run on the same series (`benchmarks/anchors.py`, statsforecast {sf}: Seasonal naive, "
        "SES on the seasonally adjusted series as in M4, Theta, AutoETS, AutoARIMA; Naive2 written from "
        "M4's definition). Scored as `lstmcli backtest --id-col` scores: sMAPE and MASE averaged over "
        "the series, OWA against Naive2 on those means (below 1 beats Naive2); coverage of the 80 % "
        "and 95 % intervals over all forecast points; MSIS at 95 % as in M4 (mean over the series). "
        "**lstmcli** is the product's default forecast and intervals (`--combine auto`, which for a series "
        "of the target alone is the mean of the networks' forecast and lstmcli's own Theta and ES, and its ARIMA for the groups without a season (yearly, other); the half-widths computed by the product's interval rule, "
        "`intervals.panel_intervals`, from the validation residuals and floor errors the run kept, "
        "stretched where they do not already hold every member of the combination: "
        "`intervals.holding_members`); "
        "**LSTM** is the networks' own forecast (recovered from the default's and its members'). "
        "Combinations are computed from the saved forecasts, step by step: **LSTM+Theta** = mean of the "
        "networks' and statsforecast's Theta (the offline stand-in for `--combine theta`, the default before ES), **med(LSTM,Theta,ETS)** "
        "= median of three, **mean(LSTM,Theta,ETS,ARIMA)** = mean of four; every candidate's interval is the "
        "default's conformal half-width around its point (the members' bounds combined the same way as "
        "the points are scored in the *All series* table: statsforecast's intervals cover far less). "
        "*Best of 3* is, per row, the lowest OWA of "
        "Theta, ETS and ARIMA (chosen in hindsight, the issue's yardstick). LSTM columns read "
        f"{seeds_txt}.",
        "",
        "Naive2 check: the largest relative difference between this Naive2 and lstmcli's over every "
        "series is "
        + ", ".join(f"{g} {results[g]['check']:.1e}" for g in groups)
        + " (the cache keeps 8 significant digits). *[global]*: `--global`, one network ensemble per group.",
    ]
    failed = {(g, m): k for g in groups for m, k in results[g]["failed"].items() if k}
    if failed:
        lines.append("Anchor fits that failed (Naive2 stands in): "
                     + ", ".join(f"{m} {k} series in {g}" for (g, m), k in failed.items()) + ".")  # fmt: skip
    # OWA
    head = [
        "group",
        "series",
        *(SHORT[m] for m in ANCHORS),
        "best of 3",
        *(cand_name(c, m) for c, m in cand_cols),
    ]
    lines += ["", "**OWA** (below 1 beats Naive2; lower is better)", "", "| " + " | ".join(head) + " |",
              "|---|" + "---:|" * (len(head) - 1)]  # fmt: skip
    for label, gs in rows:
        anchors = {m: table.get((m, "", None), gs)["OWA"] for m in ANCHORS}
        best = min(STRONG, key=lambda m: anchors[m])
        n = sum(results[g]["n"] for g in gs)
        lines.append(
            f"| {label} | {n} | " + " | ".join(_f(anchors[m]) for m in ANCHORS)
            + f" | {anchors[best]:.3f} ({SHORT[best]}) | " + " | ".join(cell(c, m, gs, "OWA") for c, m in cand_cols) + " |"
        )  # fmt: skip
    # what the LSTM adds
    combos = [c for c, (members, _) in CANDIDATES.items() if len(members) > 1 or c == "lstmcli"]
    combos = [c for c in combos if all((c, "no LSTM", None) in results[g]["scores"] for g in groups)]
    modes = list(seeds_of)
    head = [
        "group",
        *(f"{c} [{m}]" if m != "local" else c for c in combos for m in modes),
        *(f"{c}, Naive2 for the networks" for c in combos),
    ]
    lines += ["", "**What the LSTM adds to each combination** (OWA; the same combination with lstmcli's "
              "Naive2 in the networks' place, the level of `accuracy.py --ablate-network`; for lstmcli's "
              "default that is the mean of Naive2 and lstmcli's Theta and ES, and ARIMA without a season)", "",
              "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]  # fmt: skip
    for label, gs in rows:
        lines.append(
            f"| {label} | " + " | ".join(cell(c, m, gs, "OWA") for c in combos for m in modes) + " | "
            + " | ".join(_f(table.get((c, "no LSTM", None), gs)["OWA"]) for c in combos) + " |"
        )  # fmt: skip
    # intervals
    with_int = [m for m in ANCHORS if table.get((m, "", None), groups).get("cov95") is not None]
    for measure, title, digits in (("cov80", "Coverage of the 80 % interval (%)", 1),
                                   ("cov95", "Coverage of the 95 % interval (%)", 1),
                                   ("MSIS", "MSIS at 95 % (lower is better; M4: ETS 15.68, the winner 12.23)", 2)):  # fmt: skip
        head = ["group", *(SHORT[m] for m in with_int), *(cand_name(c, m) for c, m in cand_cols)]
        lines += ["", f"**{title}**", "", "| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
        for label, gs in rows:
            lines.append(
                f"| {label} | " + " | ".join(_f(table.get((m, "", None), gs).get(measure), digits) for m in with_int)
                + " | " + " | ".join(cell(c, m, gs, measure, digits) for c, m in cand_cols) + " |"
            )  # fmt: skip
    # overall details and time
    lines += ["", "**All series** (CPU seconds per series: the anchors one series at a time on one core; "
              "the LSTM all its ensemble's work, with its wall time on 2 worker processes; a combination adds "
              "its members')", "",
              "| method | seed | sMAPE | MASE | OWA | cover 80 | cover 95 | MSIS | CPU s/series | wall s/series |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    n_all = sum(results[g]["n"] for g in groups)
    for m in ANCHORS:
        v = table.get((m, "", None), groups)
        cpu = sum(results[g]["seconds"][m][0] * results[g]["n"] for g in groups) / n_all
        lines.append(f"| {m} | – | {v['sMAPE']:.3f} | {v['MASE']:.3f} | {v['OWA']:.3f} | {_f(v.get('cov80'), 1)} | "
                     f"{_f(v.get('cov95'), 1)} | {_f(v.get('MSIS'), 2)} | {cpu:.4f} | – |")  # fmt: skip
    for c, m in cand_cols:
        for s in seeds_of[m]:
            v = table.get((c, m, s), groups)
            if v is None:
                continue
            secs = [results[g]["seconds"][f"{c}|{m}|{s}"] for g in groups]
            cpu = sum(x[0] * results[g]["n"] for x, g in zip(secs, groups, strict=True)) / n_all
            wall = sum(x[1] * results[g]["n"] for x, g in zip(secs, groups, strict=True)) / n_all
            lines.append(f"| {cand_name(c, m)} | {s} | {v['sMAPE']:.3f} | {v['MASE']:.3f} | {v['OWA']:.3f} | "
                         f"{_f(v.get('cov80'), 1)} | {_f(v.get('cov95'), 1)} | {_f(v.get('MSIS'), 2)} | "
                         f"{cpu:.3f} | {_f(wall)} |")  # fmt: skip
            b = table.get((c + " [bounds combined]", m, s), groups)
            if b is not None:
                lines.append(f"| {cand_name(c, m)}, members' bounds combined | {s} | | | | {_f(b.get('cov80'), 1)} | "
                             f"{_f(b.get('cov95'), 1)} | {_f(b.get('MSIS'), 2)} | | |")  # fmt: skip
    # verdicts
    lines += ["", "**Targets of issue #21** (per seed; ✓ met, ✗ not, with where it fails)", "",
              "| candidate | seed | " + " | ".join(TARGETS) + " | met |", "|---|---:|" + "---|" * len(TARGETS) + "---:|"]  # fmt: skip
    met_both: dict[tuple[str, str], set] = {}
    scored: dict[tuple[str, str], list[int]] = {}  # the seeds with every group
    for c, m in cand_cols:
        for s in seeds_of[m]:
            v = verdicts(table, groups, c, m, s)
            if v is None:
                continue
            lines.append(f"| {cand_name(c, m)} | {s} | " + " | ".join(f"{'✓' if ok else '✗'} {why}" for ok, why in v.values())
                         + f" | {sum(ok for ok, _ in list(v.values())[:4])} of 4 |")  # fmt: skip
            met = {t for t, (ok, _) in v.items() if ok}
            met_both[c, m] = met if (c, m) not in met_both else met_both[c, m] & met
            scored.setdefault((c, m), []).append(s)
    if met_both:
        firm = {k: len(v - {TARGETS[-1]}) for k, v in met_both.items()}
        top = max(firm.values())
        leaders = [k for k, v in firm.items() if v == top]
        mean_owa = {
            k: np.mean([table.get((k[0], k[1], s), groups)["OWA"] for s in scored[k]]) for k in leaders
        }
        pick = min(leaders, key=mean_owa.get)
        nobody = [t for t in TARGETS if not any(t in v for v in met_both.values())]
        seeds = " and ".join(map(str, scored[pick]))
        lines += ["", f"Meets the most targets on every seed with every group (seed {seeds}): **{cand_name(*pick)}** ({top} of 4"
                  + (f"; tied with {', '.join(cand_name(*k) for k in leaders if k != pick)}, lower mean OWA" if len(leaders) > 1 else "")
                  + f"; overall OWA {mean_owa[pick]:.3f}, mean over those seeds). "
                  + ("Met by no candidate on those seeds: " + "; ".join(nobody) + "." if nobody else "")]  # fmt: skip
    return "\n".join(lines) + "\n"


TARGETS = [
    "OWA <= Theta in every group",
    "OWA <= best of Theta/ETS/ARIMA overall",
    "not worse than Naive2 in any group",
    "coverage within 3 points at 80 and 95 % in every group",
    "(aim) best of Theta/ETS/ARIMA in every group",
]


def load_runs(path: Path, sample: int | None = None) -> dict:
    """{group: {(mode, seed): run}} of the checkpoint's complete runs (of every series of the group, or
    of ``sample`` of them) that kept their forecasts."""
    runs: dict = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            if "forecasts" in r and "part" not in r and r["n"] == min(r.get("of", r["n"]), sample or r["n"]):
                runs.setdefault(r["group"], {})[r["mode"], r["seed"]] = r
    return runs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--shared", type=Path, default=REPO.parent / "shared", help="the shared folder (datasets/)"
    )
    p.add_argument("--checkpoint", type=Path, required=True, help="panel_accuracy.py's JSON lines")
    p.add_argument(
        "--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"the anchors' cache (default {DEFAULT_CACHE})"
    )
    p.add_argument("--jobs", type=int, default=2, help="worker processes for the anchors not cached yet")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "RESULTS.md", help="RESULTS.md to write")
    p.add_argument("--print", action="store_true", help="print the section instead of writing it")
    p.add_argument("--cached-only", action="store_true", help="leave out groups whose anchors are not cached")
    p.add_argument(
        "--sample",
        type=int,
        default=None,
        help="the runs of panel_accuracy.py --sample N (the same N series)",
    )
    args = p.parse_args(argv)
    runs = load_runs(args.checkpoint, args.sample)
    # the groups the product's default (local, seed 0) finished; other modes and seeds where they did
    pairs = sorted({k for g in runs for k in runs[g]}, key=lambda k: (k[0] != "local", k[1]))
    groups = [g for g in GROUPS if ("local", 0) in runs.get(g, {})]
    if args.cached_only:
        from anchors import _cache_path

        groups = [g for g in groups if _cache_path(args.shared / "datasets" / GROUPS[g][0], GROUPS[g][1],
                                                   args.cache_dir, sample_positions(SIZES[g], args.sample)).exists()]  # fmt: skip
    if not groups:
        raise SystemExit(f"{args.checkpoint}: no group finished with --local at seed 0")
    missing = [f"{g} {m} seed {s}" for m, s in pairs for g in GROUPS if (m, s) not in runs.get(g, {})]
    # a mode and seed enters the tables once every group has it (seed 0 local always does)
    use = [k for k in pairs if all(k in runs.get(g, {}) for g in groups) or k == ("local", 0)]
    results = {}
    for g in groups:
        results[g] = group_scores(
            g, args.shared, {k: v for k, v in runs[g].items() if k in use}, args.cache_dir, args.jobs,
            args.sample,
        )  # fmt: skip
        print(f"{g}: scored", file=sys.stderr)
    from results_file import machine_description, publish

    machine = machine_description()
    sample = "" if args.sample is None else f" --sample {args.sample}"
    modes = ",".join(m for m in ("local", "global") if any(k[0] == m for k in use))
    command = (
        f"python benchmarks/panel_accuracy.py --group all --seeds 0,1 --modes {modes}{sample} --checkpoint CK` "
        f"and `python benchmarks/accuracy_m1m3.py --checkpoint CK{sample}"
    )

    text = report(results, use, machine, command)
    if args.sample is not None:
        text = text.replace(
            "Every series of the full M1 and M3 groups",
            f"A fixed random {args.sample} series of each M1 and M3 group (`--sample {args.sample}`, seeded; "
            "the same series for every method and seed)",
        )
    if missing:
        text += (
            "\nNot finished in the time budget (resumable from the checkpoint): " + ", ".join(missing) + ".\n"
        )
    publish(text, None if args.print else args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
