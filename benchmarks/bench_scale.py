"""The scaling curve of a panel (issue #20): synthetic monthly series of 72 points
(``synthetic_panel.py``), one global model trained and 18 steps forecast by the command line, at
1 k, 5 k and 20 k series (100 k with ``--sizes``); local models on the smaller sizes (``--local-sizes``;
extrapolated linearly, said so); statsforecast's Theta and AutoETS on the same panels where they finish
within ``--timeout``, run by ``--stats-python`` (a venv of its own: statsforecast wants pandas < 3).

    nice -n 10 python benchmarks/bench_scale.py --sizes 1000,5000,20000 --stats-python /tmp/sf/bin/python

Every step runs as its own process under ``/usr/bin/time -v``: CPU time (user + system of the step and
every process under it, worker processes included), peak resident memory (the largest of the step's
processes: a worker's memory comes on top of it), wall time and the load average around it. The
commands timed are exactly what a user types::

    lstmcli train panel.csv --id-col unique_id --global --horizon 18 -m panel.npz --format json
    lstmcli predict -m panel.npz --format csv -o forecasts.csv

Each step measured is kept in ``--runs`` (JSON lines, replacing an earlier measurement of the same size
and step), and the "## Scale" section of RESULTS.md is written from every step kept: so
``bench_scale.py --sizes 20000`` alone measures the 20,000-series run end to end again and rewrites its
rows, leaving the other sizes' rows as they were. ``--print`` prints the section instead of writing it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from proctree import cpu_and_rss, descendants  # noqa: E402
from synthetic_panel import synthetic_panel  # noqa: E402

HORIZON = 18
SAMPLE_SECONDS = 0.5  # how often the processes of a step are sampled (CPU, memory)
RUNS = REPO / "benchmarks" / "scale_runs.jsonl"
STATS_JOB = """
import sys, pandas as pd
from statsforecast import StatsForecast
from statsforecast.models import {model}
df = pd.read_csv(sys.argv[1], parse_dates=["ds"])
sf = StatsForecast(models=[{model}(season_length=12)], freq="MS", n_jobs={jobs})
sf.forecast(df=df, h={h}).to_csv(sys.argv[2], index=False)
"""
# The 20,000-series run end to end before this benchmark's levers (kept from RESULTS.md; previous code).
PREVIOUS = """**Previous code, for comparison** (2026-12-06 22:05-22:17 UTC, the merged code of 2374919, before
the validation forecasts were spread over the cores and before the sampled-epoch patience; Intel Xeon, 2
cores; the machine was quiet except for a stray 100,000-epoch test training of another session that took
about two thirds of a core during the first five minutes of `train`): the 20,000-series panel of
`synthetic_panel.py --series 20000 --length 72` (seed 0, 1.44 M rows), under `/usr/bin/time -v`:

| command | wall | CPU of the main process (user + sys) | peak RSS of the main process |
|---|---:|---:|---:|
| `lstmcli train panel.csv --id-col unique_id --global --horizon 18 -m panel.npz -q --format json` | 10 min 55 s | 248 s | 3.32 GB |
| `lstmcli predict -m panel.npz --format csv -o f.csv` (360,000 rows) | 30 s | 30 s | 1.02 GB |

Training stopped early at epoch 35 (best 5); validation OWA against Naive2 0.839 (sMAPE 8.12, MASE 0.789); the
model file is 232 MB. The two member worker processes (each about 0.3 GB resident, their CPU not in the main
process's count) came on top of the peak, so the whole run peaked near 3.9 GB."""


def timed(cmd: list[str], timeout: float) -> dict:
    """Run ``cmd`` under /usr/bin/time -v. ``cpu``: CPU seconds of the command and every process under it
    (its member workers are children of a forkserver, which ``time`` does not count), each process's last
    sample from /proc every SAMPLE_SECONDS; ``main_cpu`` and ``mb``: the main process's CPU and peak RSS
    from ``time``; ``total_mb``: the peak of the summed RSS of all of them (sampled); wall seconds, exit
    code (None: timed out), the 1-minute load average before and after, and what it printed on stdout."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        load = os.getloadavg()[0]
        started = time.perf_counter()
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", report.name, *cmd], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)  # fmt: skip
        last: dict[int, float] = {}
        total_mb = 0.0
        reader = ThreadPoolExecutor(1).submit(proc.communicate)
        while proc.poll() is None:
            if time.perf_counter() - started > timeout:
                for pid in reversed(descendants(proc.pid)):
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                proc.wait()
                return {"wall": time.perf_counter() - started, "cpu": None, "mb": None, "rc": None,
                        "load": [load, os.getloadavg()[0]]}  # fmt: skip
            now = 0.0
            for pid in descendants(proc.pid)[1:]:  # (not /usr/bin/time itself)
                got = cpu_and_rss(pid)
                if got is not None:
                    last[pid] = got[0]
                    now += got[1]
            total_mb = max(total_mb, now)
            time.sleep(SAMPLE_SECONDS)
        stdout, stderr = reader.result()
        wall = time.perf_counter() - started
        text = report.read()
    if proc.returncode:
        sys.stderr.write(stderr[-2000:])

    def field(name: str) -> float:
        m = re.search(rf"{re.escape(name)}: ([0-9.]+)", text)
        return float(m.group(1)) if m else float("nan")

    main_cpu = field("User time (seconds)") + field("System time (seconds)")
    return {
        "wall": wall,
        "cpu": max(main_cpu, sum(last.values())),
        "main_cpu": main_cpu,
        "mb": field("Maximum resident set size (kbytes)") / 1024,
        "total_mb": max(total_mb, field("Maximum resident set size (kbytes)") / 1024),
        "rc": proc.returncode,
        "load": [load, os.getloadavg()[0]],
        "stdout": stdout,
    }


def lstmcli(*args: str) -> list[str]:
    return [sys.executable, "-m", "lstmcli", *args]


def commit() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "lstmcli"], capture_output=True,
                               text=True).stdout.strip()  # fmt: skip
        return out + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def training_summary(stdout: str) -> dict:
    """Epochs and validation scores from ``train --format json``'s summary."""
    try:
        s = json.loads(stdout)
    except (json.JSONDecodeError, TypeError):
        return {}
    lstm = (s.get("validation") or {}).get("LSTM") or {}
    return {"epochs": s.get("epochs_run"), "best": s.get("best_epoch"), "owa": lstm.get("OWA"),
            "smape": lstm.get("sMAPE"), "mase": lstm.get("MASE")}  # fmt: skip


def run_size(n: int, folder: Path, args: argparse.Namespace) -> list[dict]:
    data = folder / f"panel_{n}.csv"
    if not data.exists():
        started = time.perf_counter()
        synthetic_panel(n, 72, args.seed).to_csv(data, index=False, date_format="%Y-%m-%d")
        print(f"{n} series written in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    rows, code = [], commit()

    def step(what: str, cmd: list[str]) -> dict:
        r = timed(cmd, args.timeout)
        out = r.pop("stdout", "")
        r |= {
            "series": n,
            "what": what,
            "commit": code,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        if "train" in what and r["rc"] == 0:
            r |= training_summary(out)
        print(f"  {what}: {r}", file=sys.stderr)
        rows.append(r)
        keep(args.runs, [r])
        return r

    model = folder / f"global_{n}.npz"
    if args.global_sizes is None or n in args.global_sizes:
        train = step("global: train", lstmcli("train", str(data), "--id-col", "unique_id", "--global",
                                               "--horizon", str(HORIZON), "-m", str(model), "-q", "--format",
                                               "json", "--threads", str(args.threads), "--seed", str(args.seed)))  # fmt: skip
        if train["rc"] == 0:
            step("global: predict", lstmcli("predict", "-m", str(model), "--format", "csv",
                                            "-o", str(folder / f"global_{n}.csv")))  # fmt: skip
    if n in args.local_sizes:
        local = folder / f"local_{n}.npz"
        step("local: train", lstmcli("train", str(data), "--id-col", "unique_id", "--local",
                                     "--horizon", str(HORIZON), "-m", str(local), "-q", "--format", "json",
                                     "--threads", str(args.threads), "--seed", str(args.seed)))  # fmt: skip
    for model_name in ("Theta", "AutoETS"):
        if n in args.stats_sizes.get(model_name, ()) and args.stats_python:
            job = STATS_JOB.format(model=model_name, jobs=args.threads, h=HORIZON)
            step(f"statsforecast {model_name}", [args.stats_python, "-c", job, str(data),
                                                  str(folder / f"{model_name}_{n}.csv")])  # fmt: skip
    return rows


def keep(path: Path | None, new: list[dict]) -> list[dict]:
    """The steps kept in ``path`` (JSON lines) with ``new`` in place of earlier ones of the same size and
    step; written back. Returns every step kept, by size then step order."""
    rows = []
    if path is not None and path.exists():
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    fresh = {(r["series"], r["what"]) for r in new}
    rows = [r for r in rows if (r["series"], r["what"]) not in fresh and r.get("what") != "stages"] + new
    order = [
        "global: train",
        "global: predict",
        "local: train",
        "statsforecast Theta",
        "statsforecast AutoETS",
    ]
    rows.sort(key=lambda r: (r["series"], order.index(r["what"]) if r["what"] in order else 99))
    if path is not None:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return rows


def stages(n: int, folder: Path, args: argparse.Namespace) -> dict:
    """CPU seconds of each stage of `train --global` and `predict` on ``n`` series, in this process and
    on one core (``time.process_time``; steadier than wall time on a shared machine): what a full run
    spends, without its epoch count, which early stopping decides (an epoch of each member is timed)."""
    import numpy as np

    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting import panel as P
    from lstmcli.forecasting import panel_global as G
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
    plans, lookbacks, _, kept, _ = G.plan_series(
        cfg, list(panel.series), list(panel.ids), *model._season_horizon(list(panel.series))
    )
    arrays = [G.series_arrays(s) for s in kept]
    points = [validation_points(p, len(y)) for p, (y, _) in zip(plans, arrays, strict=True)]
    preps = [
        preprocessing_for(cfg, p, y[: p.split.train_end + p.lag], f[: p.split.train_end + p.lag])
        for p, (y, f) in zip(plans, arrays, strict=True)
    ]
    lap("prepare every series")
    sets = G.pooled_sets([
        training_sets(prep, y, f, lookbacks, 1, p.split.train_end, starts)
        for prep, p, (y, f), (starts, _) in zip(preps, plans, arrays, points, strict=True)
    ], cfg.seed)  # fmt: skip
    out["pool"] = [len(s.x) for s in sets]
    lap("cut the windows")
    kept_members, _, _ = train_members(
        cfg, sets, epochs=[1] * len(sets), patience=0, progress=Progress(None, 1, len(sets)),
        should_stop=None, cores=1, epoch_windows=G.EPOCH_WINDOWS,
    )  # fmt: skip
    lap("one epoch of every member")
    ensemble = ensemble_of(kept_members, "recursive")
    ys, origins = [y for y, _ in arrays], [o for _, o in points]
    forecasts = panel_forecasts(preps, ensemble, ys, [f for _, f in arrays], origins, HORIZON)
    lap("validation forecasts")
    panel_validation(ys, origins, forecasts, HORIZON, plans[0].season)
    lap("validation scores")
    full = [preprocessing_for(cfg, p, y, f) for p, (y, f) in zip(plans, arrays, strict=True)]
    G.pooled_sets([
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
    machine = f"{platform.machine()}, {os.cpu_count()} cores, --threads {args.threads}"
    sizes = sorted({r["series"] for r in rows})
    commits = sorted({r.get("commit", "?") for r in rows})
    lines = [
        "## Scale",
        "",
        f"`benchmarks/bench_scale.py` (sizes {', '.join(f'{n:,}' for n in sizes)}; code {', '.join(commits)}) on "
        f"{machine}. Synthetic monthly panels of 72 points a series (`benchmarks/synthetic_panel.py`, seed 0), "
        "horizon 18. Each step is one command under `/usr/bin/time -v`: `lstmcli train panel.csv --id-col "
        "unique_id --global --horizon 18 -m panel.npz --format json` (default settings), `lstmcli predict -m "
        "panel.npz --format csv -o f.csv`, `train --local` likewise, statsforecast's `Theta` / `AutoETS` "
        "(season 12) fit and forecast through `StatsForecast.forecast` with `n_jobs` = threads, in a venv of "
        "their own. **CPU** (user + system of the step and every process under it, worker processes included, "
        "sampled from /proc every 0.5 s) and **peak memory** (the main process's peak RSS from `time`, and the "
        "peak of the summed RSS of all the step's processes, sampled; an upper bound, pages shared by the worker processes counted in each) are the primary numbers: the machine is shared, and the wall time, with the 1-minute load average before "
        "and after the step, is what it was under that load (on 2 quiet cores a step's wall is about its CPU "
        "/ 2 when both cores are busy, and its CPU when one is).",
        "",
        "| series | step | CPU (s) | CPU per 1 k series (s) | peak memory, main / all processes (MB) | wall (s) "
        "| load before / after | epochs (best) | validation OWA |",
        "|---:|---|---:|---:|---:|---:|---|---|---:|",
    ]
    for r in rows:
        load = "{:.1f} / {:.1f}".format(*r["load"]) if r.get("load") else ""
        if r["rc"] is None:
            lines.append(
                f"| {r['series']:,} | {r['what']} | stopped after {r['wall']:.0f} s wall | | | | {load} | | |"
            )
            continue
        fail = "" if r["rc"] == 0 else f" (exit {r['rc']})"
        epochs = f"{r['epochs']} ({r['best']})" if r.get("epochs") is not None else ""
        score = f"{r['owa']:.3f}" if r.get("owa") is not None else ""
        lines.append(
            f"| {r['series']:,} | {r['what']}{fail} | {r['cpu']:.0f} | {1000 * r['cpu'] / r['series']:.1f} | "
            f"{r['mb']:.0f} / {r.get('total_mb', r['mb']):.0f} | {r['wall']:.0f} | {load} | {epochs} | {score} |"
        )
    local = [r for r in rows if r["what"] == "local: train" and r["rc"] == 0]
    if local:
        r = local[-1]
        lines += ["", f"Local models were timed on up to {r['series']:,} series; linear in the series, 20,000 "
                  f"would take about {20000 / r['series'] * r['cpu'] / 60:.0f} CPU-minutes "
                  f"({20000 / r['series'] * r['cpu'] / 120:.0f} min on 2 quiet cores), an extrapolation."]  # fmt: skip
    if args.notes and args.notes.exists():
        lines += ["", args.notes.read_text().strip()]
    lines += ["", PREVIOUS]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="1000,5000,20000")
    p.add_argument("--global-sizes", default=None, help="sizes to train the global model on (default: all)")
    p.add_argument("--local-sizes", default="1000", help="sizes to train local models on too")
    p.add_argument("--theta-sizes", default="1000,5000,20000")
    p.add_argument("--ets-sizes", default="1000,5000", help="AutoETS is far slower than Theta")
    p.add_argument(
        "--stats-python", default=None, help="the python with statsforecast (else no statsforecast)"
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout", type=float, default=1800, help="seconds before a step is stopped")
    p.add_argument("--folder", type=Path, default=None, help="keep the panels and models here")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks" / "RESULTS.md", help="RESULTS.md to write")
    p.add_argument("--print", action="store_true", help="print the section instead of writing it")
    p.add_argument("--runs", type=Path, default=RUNS, help="JSON lines of every step measured (kept)")
    p.add_argument("--notes", type=Path, default=REPO / "benchmarks" / "scale_notes.md",
                   help="text put under the table (what the numbers say), if the file exists")  # fmt: skip
    p.add_argument("--report-only", action="store_true", help="the section from --runs, run nothing")
    p.add_argument("--stages", default="", help="sizes whose stages are timed in this process (CPU s)")
    args = p.parse_args(argv)
    ints = lambda text: [int(v) for v in text.split(",") if v]  # noqa: E731
    args.sizes, args.local_sizes = ints(args.sizes), ints(args.local_sizes)
    args.global_sizes = None if args.global_sizes is None else ints(args.global_sizes)
    args.stats_sizes = {"Theta": ints(args.theta_sizes), "AutoETS": ints(args.ets_sizes)}
    if args.stages:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.folder or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            for n in ints(args.stages):
                print(json.dumps(stages(n, folder, args)))
        return 0
    if not args.report_only:
        with tempfile.TemporaryDirectory() as tmp:
            folder = args.folder or Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            for n in args.sizes:
                run_size(n, folder, args)
    rows = keep(args.runs, [])
    from results_file import publish

    publish(report(rows, args), None if args.print else args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
