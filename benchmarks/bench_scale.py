"""The scaling curve of a panel (issue #20): synthetic monthly series of 72 points
(``synthetic_panel.py``), one global model trained and 18 steps forecast by the command line, at
1 k, 5 k and 20 k series; local models on the smallest size (extrapolated linearly, said so);
statsforecast's Theta and AutoETS on the same panels where they finish within ``--timeout``.

    PYTHONPATH=. python benchmarks/bench_scale.py --sizes 1000,5000,20000 --out benchmarks/RESULTS.md

Every step runs as its own process under ``/usr/bin/time -v``: wall time, CPU time (user + system, all
processes of the step) and peak resident memory (the largest of the step's processes). The commands
timed are exactly what a user types::

    lstmcli train panel.csv --id-col unique_id --global --horizon 18 -m panel.npz
    lstmcli predict -m panel.npz --format csv -o forecasts.csv

Writes the "## Scale" section of RESULTS.md with ``--out``; prints it otherwise.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from synthetic_panel import synthetic_panel  # noqa: E402

HORIZON = 18
STATS_JOB = """
import sys, pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import {model}
df = pd.read_csv(sys.argv[1], parse_dates=["ds"])
sf = StatsForecast(models=[{model}(season_length=12)], freq="MS", n_jobs={jobs})
sf.forecast(df=df, h={h}).to_csv(sys.argv[2], index=False)
"""


def timed(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd`` under /usr/bin/time -v: wall s, cpu s, peak MB, exit code (None: timed out)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        started = time.perf_counter()
        try:
            proc = subprocess.run(
                ["/usr/bin/time", "-v", "-o", report.name, *cmd], capture_output=True, text=True,
                timeout=timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired:
            return {"wall": time.perf_counter() - started, "cpu": None, "mb": None, "rc": None}
        wall = time.perf_counter() - started
        text = report.read()
    if proc.returncode:
        sys.stderr.write(proc.stderr[-2000:])

    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}: ([0-9.]+)", text)
        return float(m.group(1)) if m else float("nan")

    cpu = field("User time (seconds)") + field("System time (seconds)")
    return {
        "wall": wall,
        "cpu": cpu,
        "mb": field("Maximum resident set size (kbytes)") / 1024,
        "rc": proc.returncode,
    }


def lstmcli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lstmcli", *args]


def run_size(n: int, folder: Path, args: argparse.Namespace) -> list[dict]:
    data = folder / f"panel_{n}.csv"
    started = time.perf_counter()
    synthetic_panel(n, 72, args.seed).to_csv(data, index=False, date_format="%Y-%m-%d")
    print(f"{n} series written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rows = []

    def step(what: str, cmd: list[str]) -> dict:
        r = timed(cmd, args.timeout) | {"series": n, "what": what}
        print(f"  {what}: {r}", file=sys.stderr)
        rows.append(r)
        if args.checkpoint is not None:
            with args.checkpoint.open("a") as f:
                f.write(json.dumps(r) + "\n")
        return r

    model = folder / f"global_{n}.npz"
    train = step("global: train", lstmcli("train", str(data), "--id-col", "unique_id", "--global",
                                           "--horizon", str(HORIZON), "-m", str(model), "-q",
                                           "--threads", str(args.threads), "--seed", str(args.seed)))  # fmt: skip
    if train["rc"] == 0:
        step("global: predict", lstmcli("predict", "-m", str(model), "--format", "csv",
                                        "-o", str(folder / f"global_{n}.csv")))  # fmt: skip
    if n in args.local_sizes:
        local = folder / f"local_{n}.npz"
        step("local: train", lstmcli("train", str(data), "--id-col", "unique_id", "--local",
                                     "--horizon", str(HORIZON), "-m", str(local), "-q",
                                     "--threads", str(args.threads), "--seed", str(args.seed)))  # fmt: skip
    for model_name in ("Theta", "AutoETS"):
        if n in args.stats_sizes.get(model_name, ()):
            job = STATS_JOB.format(model=model_name, jobs=args.threads, h=HORIZON)
            step(f"statsforecast {model_name}", [sys.executable, "-c", job, str(data),
                                                  str(folder / f"{model_name}_{n}.csv")])  # fmt: skip
    return rows


def stages(n: int, folder: Path, args: argparse.Namespace) -> dict:
    """CPU seconds of each stage of `train --global` and `predict` on ``n`` series, in this process and
    on one core (``time.process_time``; steadier than wall time on a shared machine): what a full run
    spends, without its epoch count, which early stopping decides (an epoch of each member is timed)."""
    import numpy as np

    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting import panel as P
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.ensemble import Progress, train_members, training_sets
    from lstmcli.forecasting.fitting import ensemble_of, preprocessing_for
    from lstmcli.forecasting.forecaster import validation_points
    from lstmcli.forecasting.panel_batch import panel_forecasts, panel_validation

    data = folder / f"panel_{n}.csv"
    if not data.exists():
        synthetic_panel(n, 72, args.seed).to_csv(data, index=False, date_format="%Y-%m-%d")
    out, clock = {"series": n}, time.process_time()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.process_time()
        out[name] = now - clock
        print(f"  {n} series, {name}: {out[name]:.2f} CPU s", file=sys.stderr)
        clock = now

    panel = load_panel(data, id_col="unique_id")
    lap("read the file")
    cfg = ForecasterConfig(horizon=HORIZON, seed=args.seed)
    model = P.PanelForecaster(cfg, mode="global")
    plans, lookbacks, _, kept, _ = model._plans(list(panel.series), list(panel.ids))
    arrays = [P._arrays(s) for s in kept]
    points = [validation_points(p, len(y)) for p, (y, _) in zip(plans, arrays, strict=True)]
    preps = [
        preprocessing_for(cfg, p, y[: p.split.train_end + p.lag], f[: p.split.train_end + p.lag])
        for p, (y, f) in zip(plans, arrays, strict=True)
    ]
    lap("prepare every series")
    sets = P._pooled([
        training_sets(prep, y, f, lookbacks, 1, p.split.train_end, starts)
        for prep, p, (y, f), (starts, _) in zip(preps, plans, arrays, points, strict=True)
    ], cfg.seed)  # fmt: skip
    out["pool"] = [len(s.x) for s in sets]
    lap("cut the windows")
    kept_members, _, _ = train_members(
        cfg, sets, epochs=[1] * len(sets), patience=0, progress=Progress(None, 1, len(sets)),
        should_stop=None, cores=1, epoch_windows=P.EPOCH_WINDOWS,
    )  # fmt: skip
    lap("one epoch of every member")
    ensemble = ensemble_of(kept_members, "recursive")
    ys, origins = [y for y, _ in arrays], [o for _, o in points]
    forecasts = panel_forecasts(preps, ensemble, ys, [f for _, f in arrays], origins, HORIZON)
    lap("validation forecasts")
    panel_validation(ys, origins, forecasts, HORIZON, plans[0].season)
    lap("validation scores")
    full = [preprocessing_for(cfg, p, y, f) for p, (y, f) in zip(plans, arrays, strict=True)]
    P._pooled([
        training_sets(prep, y, f, lookbacks, 1, len(y) - p.lag, np.zeros(0, dtype=int))
        for prep, p, (y, f) in zip(full, plans, arrays, strict=True)
    ], cfg.seed)  # fmt: skip
    lap("prepare and cut again (retraining)")
    from dataclasses import replace

    fitted = P.PanelForecaster(replace(cfg, epochs=1), mode="global").fit(panel)
    lap("a whole fit of one epoch")
    fitted.save(folder / "stages.npz")
    lap("save the model file")
    back = P.PanelForecaster.load(folder / "stages.npz")
    lap("read the model file")
    back.predict(levels=(80, 95))
    lap("forecast every series")
    return out


def report(rows: list[dict], args: argparse.Namespace) -> str:
    machine = f"{platform.machine()}, {args.threads} threads"
    lines = [
        "## Scale",
        "",
        f"`benchmarks/bench_scale.py --sizes {','.join(map(str, args.sizes))}` on {machine}; the machine was "
        "shared with other jobs (load average well above its 2 cores), so the wall times are upper bounds "
        "and the CPU times (user + system, every process of the step) are the steadier measure. Synthetic "
        "monthly panels of 72 points a series (`benchmarks/synthetic_panel.py`, seed 0), horizon 18. Each "
        "step is one command under `/usr/bin/time -v`: `lstmcli train panel.csv --id-col unique_id --global "
        "--horizon 18 -m panel.npz` (default settings), `lstmcli predict -m panel.npz --format csv -o f.csv`, "
        "`train --local` likewise, statsforecast 2.1.1's `Theta` / `AutoETS` (season 12) fit and forecast "
        "through `StatsForecast.forecast` with `n_jobs` = threads.",
        "",
        "| series | step | wall (s) | CPU (s) | peak memory (MB) | wall per 1 k series (s) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["rc"] is None:
            lines.append(f"| {r['series']} | {r['what']} | > {args.timeout:.0f} (stopped) | | | |")
            continue
        fail = "" if r["rc"] == 0 else f" (exit {r['rc']})"
        lines.append(
            f"| {r['series']} | {r['what']}{fail} | {r['wall']:.0f} | {r['cpu']:.0f} | {r['mb']:.0f} | "
            f"{1000 * r['wall'] / r['series']:.1f} |"
        )
    local = [r for r in rows if r["what"] == "local: train" and r["rc"] == 0]
    if local:
        r = local[0]
        lines += ["", f"Local models were timed on {r['series']} series only; linear in the series, 20,000 "
                  f"would take about {20000 / r['series'] * r['wall'] / 60:.0f} min wall "
                  f"({20000 / r['series'] * r['cpu'] / 60:.0f} CPU-min) here."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,5000,20000")
    p.add_argument("--local-sizes", default="1000", help="sizes to train local models on too")
    p.add_argument("--theta-sizes", default="1000,5000,20000")
    p.add_argument("--ets-sizes", default="1000,5000", help="AutoETS is far slower than Theta")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a step is stopped")
    p.add_argument("--folder", type=Path, default=None, help="keep the panels and models here")
    p.add_argument("--out", type=Path, default=None, help="RESULTS.md to write (else print)")
    p.add_argument("--checkpoint", type=Path, default=None, help="JSON lines of the steps measured")
    p.add_argument("--report-only", action="store_true", help="the report from --checkpoint, run nothing")
    p.add_argument("--stages", default="", help="sizes whose stages are timed in this process (CPU s)")
    args = p.parse_args(argv)
    ints = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    args.sizes, args.local_sizes = ints(args.sizes), ints(args.local_sizes)
    args.stats_sizes = {"Theta": ints(args.theta_sizes), "AutoETS": ints(args.ets_sizes)}
    rows = []
    if args.stages:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.folder or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            for n in ints(args.stages):
                r = stages(n, folder, args)
                print(json.dumps(r))
                if args.checkpoint is not None:
                    with args.checkpoint.open("a") as f:
                        f.write(json.dumps(r | {"what": "stages"}) + "\n")
        return 0
    if args.report_only:
        rows = [json.loads(line) for line in args.checkpoint.read_text().splitlines() if line.strip()]
        args.sizes = sorted({r["series"] for r in rows})
    else:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.folder or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            for n in args.sizes:
                rows += run_size(n, folder, args)
    from results_file import publish

    publish(report(rows, args), args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
