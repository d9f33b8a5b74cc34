"""Zero-shot transfer: a global model trained on one group forecasts another group's series it never saw.

    python benchmarks/transfer.py --pairs m3_monthly:m1_monthly,m3_yearly:m1_yearly --seeds 0,1

For each pair SOURCE:TARGET and seed: one global model (`train --id-col --global`, the default settings,
the target's season and horizon) on every row of every SOURCE series (none is scored); then `predict --data` on
the training part of every TARGET series, which the model never saw (`PanelForecaster.predict_data`:
each target series gets its own preprocessing and validation, the source's network, nothing trained), scored
on the TARGET's official test rows as `backtest --id-col` scores (sMAPE and MASE means, OWA against
Naive2 on the means). Beside it, in the same run: the model trained on TARGET itself (the *global*
numbers of RESULTS.md "Panels: local vs global"), lstmcli's Theta and ES, and the networks' forecast of
each model recovered from the default combination (the mean of the networks', Theta's and ES's, and
ARIMA's for series without a season). Both
groups are development data (the full M1 and M3 files, issue #21); the blind data is not read.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from panel_accuracy import GROUPS  # noqa: E402
from results_file import machine_description  # noqa: E402

from lstmcli.data.loader import load_long_csv  # noqa: E402
from lstmcli.data.series import Panel  # noqa: E402
from lstmcli.forecasting.arima import arima  # noqa: E402
from lstmcli.forecasting.backtest import _series_from_values  # noqa: E402
from lstmcli.forecasting.baselines import naive2  # noqa: E402
from lstmcli.forecasting.config import ForecasterConfig  # noqa: E402
from lstmcli.forecasting.metrics import mase, smape  # noqa: E402
from lstmcli.forecasting.panel import PanelForecaster  # noqa: E402
from lstmcli.forecasting.smoothing import es  # noqa: E402
from lstmcli.forecasting.theta import theta  # noqa: E402


def training_parts(
    group: str, shared: Path, h: int | None = None
) -> tuple[list[str], list[np.ndarray], list]:
    """The ids, the training parts (the official test rows cut off) and the series of a group."""
    file, _ = GROUPS[group]
    series = load_long_csv(shared / "datasets" / file)
    cut = [s.n_test if h is None else h for s in series]
    return (
        [str(s.series_id) for s in series],
        [np.asarray(s.values, float)[: len(s.values) - c] for s, c in zip(series, cut, strict=True)],
        series,
    )


def fit_global(
    ids: list[str], trains: list[np.ndarray], season: int, horizon: int, seed: int
) -> PanelForecaster:
    cfg = replace(ForecasterConfig(), season=season, horizon=horizon, seed=seed)
    series = [_series_from_values(y, sid, "data.csv") for y, sid in zip(trains, ids, strict=True)]
    return PanelForecaster(cfg, mode="global").fit(series, ids=ids, id_col="series", threads=2)


def owa_of(
    forecasts: list[np.ndarray], actual: list[np.ndarray], insample: list[np.ndarray], season: int
) -> float:
    n2 = [naive2(x, len(a), season) for x, a in zip(insample, actual, strict=True)]
    s = np.mean([smape(a, f) for a, f in zip(actual, forecasts, strict=True)])
    m = np.mean([mase(a, f, x, season) for a, f, x in zip(actual, forecasts, insample, strict=True)])
    s2 = np.mean([smape(a, f) for a, f in zip(actual, n2, strict=True)])
    m2 = np.mean([mase(a, f, x, season) for a, f, x in zip(actual, n2, insample, strict=True)])
    return 0.5 * (s / s2 + m / m2)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    p.add_argument("--pairs", default="m3_monthly:m1_monthly,m3_quarterly:m1_quarterly,m3_yearly:m1_yearly")
    p.add_argument("--seeds", default="0,1")
    args = p.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    print(
        f"`python benchmarks/transfer.py --pairs {args.pairs} --seeds {args.seeds}` on {machine_description()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; OWA (below 1 beats Naive2):\n"
    )  # fmt: skip
    print(
        "| source -> target | seed | series | zero-shot | its networks | trained on the target | its networks | Theta | ES | zero-shot s/series |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for pair in args.pairs.split(","):
        source, target = pair.split(":")
        season = GROUPS[target][1]
        t_ids, t_trains, t_series = training_parts(target, args.shared)
        h = t_series[0].n_test
        actual = [np.asarray(s.values, float)[len(y) :] for s, y in zip(t_series, t_trains, strict=True)]
        s_ids, s_trains, _ = training_parts(source, args.shared, 0)  # every row of the source: never scored
        th = [theta(y, h, season) for y in t_trains]
        sm = [es(y, h, season) for y in t_trains]
        # the default combination's other members: ARIMA joins them for series without a season
        ar = [arima(y, h, season) if season <= 1 else np.zeros(h) for y in t_trains]
        members = 4 if season <= 1 else 3
        for seed in seeds:
            row = []
            for ids, trains in ((s_ids, s_trains), (t_ids, t_trains)):
                model = fit_global(ids, trains, season, h, seed)
                started = time.process_time()
                panel = Panel("target.csv", "series", tuple(t_ids),
                              tuple(_series_from_values(y, sid, "target.csv") for y, sid in zip(t_trains, t_ids, strict=True)),
                              None, (), (), {})  # fmt: skip
                got, left_out = model.predict_data(panel, h)
                seconds = (time.process_time() - started) / len(t_ids)
                if left_out:
                    print(f"  {len(left_out)} left out: {left_out[:3]}", file=sys.stderr)
                f = [
                    got[sid].values if sid in got else naive2(y, h, season)
                    for sid, y in zip(t_ids, t_trains, strict=True)
                ]
                nets = [  # (a series left out is Naive2's in both)
                    members * x - a - b - c if sid in got else x
                    for x, a, b, c, sid in zip(f, th, sm, ar, t_ids, strict=True)
                ]
                row += [owa_of(f, actual, t_trains, season), owa_of(nets, actual, t_trains, season)]
                if ids is s_ids:
                    zero_seconds = seconds
            print(
                f"| {source} -> {target} | {seed} | {len(t_ids)} | {row[0]:.3f} | {row[1]:.3f} | {row[2]:.3f} | "
                f"{row[3]:.3f} | {owa_of(th, actual, t_trains, season):.3f} | {owa_of(sm, actual, t_trains, season):.3f} | "
                f"{zero_seconds:.3f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
