"""Local vs global on the full M1 and M3 groups: one model per series (``backtest_long``) against one
network ensemble across all of them (``backtest_panel``, issue #19).

    cd /work/main && PYTHONPATH=. python benchmarks/panel_accuracy.py --group all --seeds 0,1 \
        --checkpoint /tmp/panel_runs.jsonl

Every finished (group, mode, seed) run is appended to ``--checkpoint`` (JSON lines, per-series errors
included) and skipped when the script is started again, so a long run can be resumed or cut short; the
report is written from whatever the checkpoint holds, with the overall row pooling the series of the
groups that both modes finished for that seed.

Both with lstmcli's DEFAULT settings, only the season and the horizon set (the official test rows are
the horizon); scored as ``benchmarks/accuracy.py`` and ``lstmcli backtest --id-col`` score (sMAPE and
MASE averaged over the series, OWA against Naive2 on the means) with the coverage of the 80 % and 95 %
intervals and the wall time. The full M1 and M3 files in ``../shared/datasets`` are development data
(issue #21); the other competition's data of the package they came from is blind and is not read here.
Full runs write the "## Panels: local vs global" section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from lstmcli.data.loader import load_long_csv  # noqa: E402
from lstmcli.forecasting.backtest import backtest_long, backtest_panel  # noqa: E402
from lstmcli.forecasting.config import ForecasterConfig  # noqa: E402

# group -> (file under datasets/, season)
GROUPS = {
    "m3_yearly": ("m3/m3_yearly_full.csv", 1),
    "m3_quarterly": ("m3/m3_quarterly_full.csv", 4),
    "m3_monthly": ("m3/m3_monthly_full.csv", 12),
    "m3_other": ("m3/m3_other_full.csv", 1),
    "m1_yearly": ("m1/m1_yearly_full.csv", 1),
    "m1_quarterly": ("m1/m1_quarterly_full.csv", 4),
    "m1_monthly": ("m1/m1_monthly_full.csv", 12),
}
LEVELS = (80, 95)
# "all": seed 0 of every group first, then the two largest groups at the next seed, then the rest
ORDER = ["m3_monthly", "m3_quarterly", "m1_monthly", "m3_yearly", "m1_quarterly", "m1_yearly", "m3_other"]
CATEGORY = {g: g.split("_", 1)[1] for g in GROUPS}
SIZES = {"m3_yearly": 645, "m3_quarterly": 756, "m3_monthly": 1428, "m3_other": 174, "m1_yearly": 181,
         "m1_quarterly": 203, "m1_monthly": 617}  # fmt: skip
SAMPLE_SEED = 20261206  # the fixed random subset of --sample


def sample_positions(size: int, sample: int | None) -> list[int] | None:
    """The positions of ``--sample``'s fixed random subset of a group of ``size`` series (None: all);
    anchors.py and accuracy_m1m3.py take the same."""
    if sample is None or sample >= size:
        return None
    return [int(k) for k in np.sort(np.random.default_rng(SAMPLE_SEED).choice(size, sample, replace=False))]


def _subset(series: list, args: argparse.Namespace) -> list:
    keep = sample_positions(len(series), args.sample)
    if keep is not None:
        series = [series[k] for k in keep]
    return series[: args.limit]


@contextmanager
def _recording_widths(record: list[dict]):
    """Record each series' interval half-widths as the backtest computes them, by wrapping the two
    functions ``backtest_long`` and ``backtest_panel`` call (the baselines once per series, then the
    widths of every series once per level), so the saved intervals are exactly the ones the product's
    coverage scores; with them what they were computed from (each series' validation residuals and
    Naive2 floor errors), so another interval rule can be scored without refitting."""
    import lstmcli.forecasting.backtest as bt

    base, width = bt.baseline_forecasts, bt._panel_widths

    def baselines(*a, **k):
        record.append({})
        return base(*a, **k)

    def widths(states, level, h):
        w = width(states, level, h)
        first = len(record) - len(states)
        for k, (st, wk) in enumerate(zip(states, w, strict=True)):
            record[first + k][round(level)] = wk
            if st is not None:
                record[first + k]["residuals"], record[first + k]["floor"] = st.residuals, st.naive2_errors
        return w

    bt.baseline_forecasts, bt._panel_widths = baselines, widths
    try:
        yield
    finally:
        bt.baseline_forecasts, bt._panel_widths = base, width


def _numbers(a: np.ndarray) -> list:
    return [float(f"{v:.8g}") for v in np.asarray(a, dtype=np.float64)]


def _matrix(a: np.ndarray | None) -> list | None:
    """A residual matrix for JSON: 8 significant digits, NaN (no value past the series' end) as None."""
    if a is None:
        return None
    return [[None if not np.isfinite(v) else float(f"{v:.8g}") for v in row] for row in np.asarray(a)]


def settings_of(pairs: list[str]) -> dict:
    """``--set KEY=VALUE`` pairs as ForecasterConfig fields, each value parsed as its field's type."""
    from dataclasses import fields

    types = {f.name: f.type for f in fields(ForecasterConfig)}
    out: dict = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in types:
            raise SystemExit(f"--set {pair!r}: expected KEY=VALUE with KEY a ForecasterConfig field")
        kind = str(types[key])
        if kind.startswith("bool"):
            out[key] = value.lower() in ("1", "true", "yes")
        elif kind.startswith("int"):
            out[key] = int(value)
        elif kind.startswith("float"):
            out[key] = float(value)
        else:
            out[key] = value
    return out


def effective(settings: dict | None) -> dict:
    """The settings a run used (every ForecasterConfig field but the seed): a checkpoint's runs are
    reused only by a run with the same, so a changed default is not mistaken for the old one."""
    d = replace(ForecasterConfig(), **(settings or {})).to_dict()
    return {k: v for k, v in d.items() if k != "seed"}


def run(series: list, season: int, mode: str, seed: int, threads: int, settings: dict | None = None) -> dict:
    config = replace(ForecasterConfig(), seed=seed, **(settings or {}))
    started = time.perf_counter()
    meter = _TreeCPU()
    backtest = backtest_panel if mode == "global" else backtest_long
    record: list[dict[int, np.ndarray]] = []
    with _recording_widths(record), meter:
        result = backtest(series, config, season=season, levels=LEVELS, threads=threads, path="m3")
    seconds = time.perf_counter() - started
    rows = result.per_row()
    points = int(result.actual.size)
    assert len(record) == len(series), (len(record), len(series))
    lstm = result.forecasts["LSTM"]
    forecasts = []  # per series: id, the point forecast and its interval bounds (combinations, MSIS)
    for k, s in enumerate(series):
        entry = {"id": str(s.series_id), "f": _numbers(lstm[k])}
        for level in LEVELS:
            if level in record[k]:  # the product's bounds (around the forecast, holding its members)
                entry[f"lo{level}"] = _numbers(result.intervals[level][0][k])
                entry[f"hi{level}"] = _numbers(result.intervals[level][1][k])
        if "residuals" in record[k]:
            entry["res"], entry["floor"] = _matrix(record[k]["residuals"]), _matrix(record[k]["floor"])
        # lstmcli's own Theta, ES and ARIMA of the series (the members of --combine theta / theta+es /
        # theta+es+arima)
        entry["theta"] = _numbers(result.forecasts["Theta"][k])
        for name, key in (("ES", "es"), ("ARIMA", "arima")):
            if name in result.forecasts:
                entry[key] = _numbers(result.forecasts[name][k])
        forecasts.append(entry)
    return {
        "format": 3,
        "mode": mode,
        "seed": seed,
        "settings": effective(settings),
        "n": len(series),
        "LSTM": result.overall()["LSTM"],
        "Naive2": result.overall()["Naive2"],
        # per series: LSTM sMAPE, MASE, Naive2 sMAPE, MASE (to pool groups into the overall row)
        "per_series": [
            [r["LSTM"]["sMAPE"], r["LSTM"]["MASE"], r["Naive2"]["sMAPE"], r["Naive2"]["MASE"]] for r in rows
        ],
        "forecasts": forecasts,
        "coverage": {str(k): v for k, v in result.coverage.items()},
        "points": points,
        "seconds": seconds,
        "cpu_seconds": meter.seconds,
        "notes": result.notes,
    }


class _TreeCPU:
    """CPU seconds of this process and of every process under it (the workers are forked by a
    forkserver, so ``RUSAGE_CHILDREN`` never sees them): /proc sampled twice a second, each process
    counted at its last sample (a worker's last half second may be missed)."""

    def __enter__(self):
        import os
        import threading

        self._tick = os.sysconf("SC_CLK_TCK")
        self._before = self._tree()  # a forkserver or pool left from an earlier run: count only growth
        self._seen = dict(self._before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def _tree(self) -> dict[int, float]:
        import os

        parent, cpu = {}, {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                try:
                    fields = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                parent[int(name)] = int(fields[1])
                cpu[int(name)] = (int(fields[11]) + int(fields[12])) / self._tick
        root, mine = os.getpid(), {}
        for pid in cpu:
            p = pid
            while p > 1 and p != root:
                p = parent.get(p, 0)
            if p == root:
                mine[pid] = cpu[pid]
        return mine

    def _loop(self) -> None:
        while not self._stop.wait(0.5):
            self._seen.update(self._tree())

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._seen.update(self._tree())
        self.seconds = sum(self._seen.values()) - sum(self._before.values())


def _merge(pieces: list[dict]) -> dict:
    """One run from the runs of consecutive parts of a group (local models: the same as one run)."""
    out = {k: v for k, v in pieces[0].items() if k not in ("part", "parts")}
    for key in ("per_series", "forecasts"):
        out[key] = [x for r in pieces for x in r[key]]
    for key in ("n", "points", "seconds", "cpu_seconds"):
        out[key] = sum(r[key] for r in pieces)
    out["coverage"] = {
        level: sum(r["coverage"][level] * r["points"] for r in pieces) / out["points"]
        for level in pieces[0]["coverage"]
        if all(level in r["coverage"] for r in pieces)
    }
    p = pooled([out])
    out["LSTM"] = {"sMAPE": p["sMAPE"], "MASE": p["MASE"], "OWA": p["OWA"]}
    out["Naive2"] = {"sMAPE": p["n2_sMAPE"], "MASE": p["n2_MASE"], "OWA": 1.0}
    out["notes"] = sorted({note for r in pieces for note in r["notes"]})
    return out


def _owa(s: float, m: float, ns: float, nm: float) -> float:
    return 0.5 * (s / ns + m / nm)


def pooled(runs: list[dict]) -> dict:
    """The errors of several runs' series pooled: means over series, OWA on the means, coverage over points."""
    per = [row for r in runs for row in r["per_series"]]
    mean = [sum(row[i] for row in per) / len(per) for i in range(4)]
    cov = {}
    for level in map(str, LEVELS):
        if all(level in r["coverage"] for r in runs):
            cov[level] = sum(r["coverage"][level] * r["points"] for r in runs) / sum(
                r["points"] for r in runs
            )
    return {
        "n": len(per),
        "sMAPE": mean[0],
        "MASE": mean[1],
        "OWA": _owa(*mean),
        "n2_sMAPE": mean[2],
        "n2_MASE": mean[3],
        "coverage": cov,
        "seconds": sum(r["seconds"] for r in runs),
        "cpu": sum(r.get("cpu_seconds", float("nan")) for r in runs),
    }


def _line(label: str, mode: str, seed: object, p: dict) -> str:
    cov = p["coverage"]
    c80 = f"{100 * cov['80']:.1f}" if "80" in cov else "–"
    c95 = f"{100 * cov['95']:.1f}" if "95" in cov else "–"
    return (
        f"| {label} | {p['n']} | {mode} | {seed} | {p['sMAPE']:.3f} | {p['MASE']:.3f} | {p['OWA']:.3f} | "
        f"{p['n2_sMAPE']:.3f} | {p['n2_MASE']:.3f} | {c80} | {c95} | {p['seconds']:.0f} | "
        f"{p['seconds'] / p['n']:.3f} | {p['cpu'] / p['n']:.3f} |"
    )


def report(runs: list[dict], machine: str) -> str:
    """The RESULTS.md section from the finished runs (each with its "group")."""
    done = {(r["group"], r["mode"], r["seed"]): r for r in runs}
    seeds = sorted({r["seed"] for r in runs})
    modes = [m for m in ("local", "global") if any(r["mode"] == m for r in runs)]
    lines = [
        "## Panels: local vs global",
        "",
        f"`benchmarks/panel_accuracy.py --group all` on {machine}: every series of each full M1 and M3 "
        "group, the official test rows as the horizon, lstmcli's default settings (season and horizon "
        "set). *local*: one model per series (`backtest --id-col --local`); *global*: one ensemble across "
        "the series of the group (`backtest --id-col --global`). sMAPE and MASE are means over the series, "
        "OWA against Naive2 on the means (below 1 beats it); coverage of the 80 % and 95 % intervals over "
        "all forecast points, each run's intervals as it computed them (a local run made in parts of "
        "`--chunk` series calibrates each part on its own; `accuracy_m1m3.py` calibrates every group as one "
        "file); time is wall-clock for the whole group (fit, forecast, baselines; disturbed by whatever "
        "else the machine ran), CPU the seconds of every process of the run per series.",
        "",
        "| group | series | mode | seed | sMAPE | MASE | OWA | Naive2 sMAPE | Naive2 MASE | cover 80 % "
        "| cover 95 % | time (s) | s/series | CPU s/series |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group in GROUPS:
        for seed in seeds:
            for mode in modes:
                if (group, mode, seed) in done:
                    r = done[group, mode, seed]
                    label = (
                        group if r["n"] == r.get("of", r["n"]) else f"{group} (random {r['n']} of {r['of']})"
                    )
                    lines.append(_line(label, mode, seed, pooled([r])))
    summary = []
    for seed in seeds:
        # the groups both modes finished at this seed, so the overall rows compare the same series
        both = [g for g in GROUPS if all((g, m, seed) in done for m in modes)]
        if not both:
            continue
        partial = any(
            done[g, m, seed]["n"] != done[g, m, seed].get("of", done[g, m, seed]["n"])
            for g in both
            for m in modes
        )
        label = (
            "**all**"
            if len(both) == len(GROUPS) and not partial
            else f"**{len(both)} groups{' (sampled)' if partial else ''}**"
        )
        for category in dict.fromkeys(CATEGORY[g] for g in both):
            gs = [g for g in both if CATEGORY[g] == category]
            for mode in modes:
                p = pooled([done[g, mode, seed] for g in gs])
                lines.append(_line(f"*{category}* ({', '.join(gs)})", mode, seed, p))
        for mode in modes:
            p = pooled([done[g, mode, seed] for g in both])
            lines.append(_line(label, mode, seed, p))
            summary.append((seed, mode, p["OWA"], both))
    missing = [f"{g} {m} seed {s}" for g in GROUPS for s in seeds for m in modes if (g, m, s) not in done]
    lines.append("")
    lines.append(
        "Overall OWA: " + "; ".join(f"seed {s} {m} {o:.3f} ({len(b)} groups)" for s, m, o, b in summary) + "."
    )
    if missing:
        lines.append("Not run (time budget): " + ", ".join(missing) + ".")
    notes = sorted(
        {f"{r['group']} {r['mode']} seed {r['seed']}: {note}" for r in runs for note in r["notes"]}
    )
    return "\n".join(lines + ([""] + notes if notes else [])) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--shared", type=Path, default=REPO.parent / "shared", help="the shared folder (datasets/)"
    )
    p.add_argument("--group", default="all", choices=["all", *sorted(GROUPS)])
    p.add_argument("--seeds", default="0,1", help="comma list of seeds")
    p.add_argument("--modes", default="local,global", help="comma list of local and global")
    p.add_argument("--limit", type=int, default=None, help="first N series only (quick runs; not written)")
    p.add_argument(
        "--sample", type=int, default=None, help="a fixed random N series of each group (seeded; stated)"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument(
        "--chunk", type=int, default=150, help="local runs in parts of this many series (0: whole groups)"
    )
    p.add_argument("--checkpoint", type=Path, default=None, help="JSON lines of finished runs (resumable)")
    p.add_argument(
        "--report-only", action="store_true", help="write the report from --checkpoint, run nothing"
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="RESULTS.md to write (default: runs of --group all, every series)",
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="a setting other than the default (a ForecasterConfig field, e.g. combine=theta); repeatable; "
        "runs of the checkpoint made with other settings are left alone",
    )  # fmt: skip
    args = p.parse_args(argv)
    unknown = sorted(set(args.modes.split(",")) - {"local", "global"})
    if unknown:  # ("both" ran local models under a mode of its own name)
        p.error(f"--modes: {', '.join(unknown)} is not local or global")
    settings = settings_of(args.set)
    groups = ORDER if args.group == "all" else [args.group]
    seeds = [int(s) for s in args.seeds.split(",")]
    plan = [(g, s) for s in seeds[:1] for g in groups] + [(g, s) for s in seeds[1:] for g in groups]
    runs, parts = [], {}
    if args.checkpoint is not None and args.checkpoint.exists():
        for line in args.checkpoint.read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r.get("settings") != effective(settings):
                    continue
                if "part" in r:  # a part of a run still being built
                    parts[r["group"], r["mode"], r["seed"], r["part"]] = r
                else:
                    runs.append(r)
    done = {(r["group"], r["mode"], r["seed"]) for r in runs}
    loaded: dict[str, list] = {}

    def keep(r: dict) -> None:
        if args.checkpoint is not None:
            with args.checkpoint.open("a") as f:
                f.write(json.dumps(r) + "\n")

    for group, seed in [] if args.report_only else plan:
        path, season = GROUPS[group]
        for mode in args.modes.split(","):
            if (group, mode, seed) in done:
                continue
            if group not in loaded:
                loaded = {group: _subset(load_long_csv(args.shared / "datasets" / path), args)}
            series = loaded[group]
            # local models are independent, so a group can be run in parts (bounded memory: the parent
            # holds every fitted model of a part until it is scored); a global model needs every series
            size = args.chunk if mode == "local" and args.chunk else len(series)
            count = -(-len(series) // size)
            pieces = []
            for k in range(count):
                if count > 1 and (group, mode, seed, k) in parts:
                    pieces.append(parts[group, mode, seed, k])
                    continue
                r = run(series[k * size : (k + 1) * size], season, mode, seed, args.threads, settings)
                r |= {"group": group, "of": SIZES[group]}
                if count > 1:
                    keep(r | {"part": k, "parts": count})
                    print(f"{group} {mode} seed {seed}: part {k + 1} of {count} done", file=sys.stderr)
                pieces.append(r)
            r = _merge(pieces) if count > 1 else pieces[0]
            runs.append(r)
            keep(r)
            print(
                f"{group} {mode} seed {seed}: OWA {r['LSTM']['OWA']:.3f} in {r['seconds']:.0f} s",
                file=sys.stderr,
            )
    from results_file import machine_description, publish

    text = report(runs, f"{machine_description()}, {args.threads} worker processes")
    # the section by default only from a run of every group and series: one group's run would replace it
    full = args.group == "all" and not args.limit and not args.sample
    out = args.out if args.out is not None else (REPO / "benchmarks" / "RESULTS.md" if full else None)
    publish(text, out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
