"""Inputs known in advance (issue #22): the same model with and without them, on rolling origins.

(a) synthetic: two years of a daily series with a weekly pattern and promotion days whose effect has a
    known size (+30 on a level of 100, weekly amplitude 10, noise sd 3, a promotion on 15 % of the
    days at random, known in advance); the same model with and without ``--future-features promo``.
    Target: at least 40 % lower forecast error with them.
(b) real: the monthly UK seatbelts series (../shared/datasets/uk_seatbelts_monthly_multivariate.csv),
    DriversKilled, with ``law`` and ``PetrolPrice`` as known-future inputs and ``--calendar``; the last
    origins straddle the seatbelt law of February 1983.

Each variant is one model fitted before the first origin (``backtest_series``, no refit, on one core
so that the CPU time is all in this process), scored by
MAE and sMAPE over every origin and step, for two seeds.

    PYTHONPATH=. python benchmarks/bench_covariates.py            # prints the section
    PYTHONPATH=. python benchmarks/bench_covariates.py --write    # and writes it into RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from lstmcli.data.loader import load_csv  # noqa: E402
from lstmcli.forecasting.backtest import backtest_series  # noqa: E402
from lstmcli.forecasting.config import ForecasterConfig  # noqa: E402

SEATBELTS = (
    Path(__file__).resolve().parents[2] / "shared" / "datasets" / "uk_seatbelts_monthly_multivariate.csv"
)


def synthetic_csv(path: Path, seed: int = 0, n: int = 730) -> None:
    """The promotion series of (a), written as date,sales,promo."""
    rng = np.random.default_rng(1000 + seed)
    days = np.arange(np.datetime64("2022-01-01"), np.datetime64("2022-01-01") + n)
    promo = (rng.random(n) < 0.15).astype(int)
    sales = 100 + 10 * np.sin(2 * np.pi * np.arange(n) / 7) + 30 * promo + rng.normal(0, 3, n)
    path.write_text(
        "date,sales,promo\n"
        + "".join(f"{d},{s:.3f},{p}\n" for d, s, p in zip(days, sales, promo, strict=True))
    )


def scores(result) -> tuple[float, float]:
    actual, f = result.actual, result.forecasts["LSTM"]
    mae = float(np.mean(np.abs(actual - f)))
    smape = float(np.mean(200 * np.abs(actual - f) / (np.abs(actual) + np.abs(f))))
    return mae, smape


def run(path: Path, target: str, cfg: ForecasterConfig, future: list[str] | None, *, horizon, windows):
    data = load_csv(path, target=target, future_features=future)
    started, cpu = time.perf_counter(), time.process_time()
    result = backtest_series(data, cfg, horizon=horizon, windows=windows, step=horizon, threads=1)
    return scores(result), time.perf_counter() - started, time.process_time() - cpu


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--write", action="store_true", help="write the section into RESULTS.md")
    args = ap.parse_args(argv)
    import tempfile

    lines = [
        "## Covariates",
        "",
        f"`PYTHONPATH=. python benchmarks/bench_covariates.py{' --write' if args.write else ''}` "
        f"(seeds {', '.join(map(str, args.seeds))}, epochs {args.epochs}, otherwise the default settings, one core per fit; "
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared with other jobs: "
        "the times are only indicative). One model per variant, fitted before the first origin, scored "
        "over every origin and step (MAE, sMAPE %).",
        "",
        "| data | variant | seed | MAE | sMAPE | wall s | CPU s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    summary: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            cfg = ForecasterConfig(epochs=args.epochs, seed=seed)
            csv = Path(tmp) / f"promo{seed}.csv"
            synthetic_csv(csv, seed)
            variants = [
                ("synthetic promo", "without promo", None, cfg),
                ("synthetic promo", "--future-features promo", ["promo"], cfg),
            ]
            real = [
                ("seatbelts DriversKilled", "without covariates", None, cfg),
                ("seatbelts DriversKilled", "--calendar", None, ForecasterConfig(epochs=args.epochs, seed=seed, calendar=True)),
                ("seatbelts DriversKilled", "--future-features law,PetrolPrice", ["law", "PetrolPrice"], cfg),
                ("seatbelts DriversKilled", "both", ["law", "PetrolPrice"], ForecasterConfig(epochs=args.epochs, seed=seed, calendar=True)),
            ]  # fmt: skip
            for data_name, variant, future, c in variants + real:
                synthetic = data_name.startswith("synthetic")
                path, target = (csv, "sales") if synthetic else (SEATBELTS, "DriversKilled")
                horizon, windows = (14, 6) if synthetic else (12, 3)
                (mae, smape), wall, cpu = run(path, target, c, future, horizon=horizon, windows=windows)
                summary.setdefault((data_name, variant), []).append(mae)
                summary.setdefault((data_name, variant + " sMAPE"), []).append(smape)
                row = (
                    f"| {data_name} | {variant} | {seed} | {mae:.2f} | {smape:.2f} | {wall:.0f} | {cpu:.0f} |"
                )
                lines.append(row)
                print(row, file=sys.stderr, flush=True)
    lines.append("")

    def change(data_name: str, base: str, other: str, what: str = "") -> str:
        a = np.mean(summary[(data_name, base + what)])
        b = np.mean(summary[(data_name, other + what)])
        return f"{100 * (b - a) / a:+.0f} %"

    lines.append(
        f"Synthetic, mean over the seeds: the known promotion flags change the MAE by "
        f"{change('synthetic promo', 'without promo', '--future-features promo')} and the sMAPE by "
        f"{change('synthetic promo', 'without promo', '--future-features promo', ' sMAPE')} (target: -40 % or better)."
    )
    sb = "seatbelts DriversKilled"
    lines.append(
        f"Seatbelts, the MAE against the model without covariates: --calendar "
        f"{change(sb, 'without covariates', '--calendar')}, law and PetrolPrice "
        f"{change(sb, 'without covariates', '--future-features law,PetrolPrice')}, both "
        f"{change(sb, 'without covariates', 'both')}."
    )
    section = "\n".join(lines) + "\n"
    from results_file import publish

    publish(section, Path(__file__).resolve().parent / "RESULTS.md" if args.write else None)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
