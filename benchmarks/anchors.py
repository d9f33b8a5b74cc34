"""The anchors of the accuracy benchmarks, computed in the same run on the same series (issue #21):
Naive2, Seasonal naive, SES, Theta, AutoETS and AutoARIMA, with 80/95 % intervals where statsforecast
gives them and the CPU time per series of each method.

    pip install -e ".[bench]"          # statsforecast (benchmarks only, never a runtime dependency)
    PYTHONPATH=. python benchmarks/anchors.py --group m3_yearly --jobs 2

Library use: ``anchor_forecasts(path, season, cache_dir=..., jobs=...)``. Each series' training part is
the rows before its test rows (``split`` = test), the horizon its test rows. The result of one dataset
file is cached under ``cache_dir`` by the file's content hash, the statsforecast version and this
script's ``SCHEME`` (a JSON file), so the scoring scripts can be rerun without refitting; one series
(``series_forecasts``, accuracy.py's single series) by its values, horizon and season.

The methods, as M4's benchmarks define them where they do:
- *Naive2*: written here from M4's definition (the 90 % autocorrelation test at lag m, classical
  multiplicative decomposition, the last seasonally adjusted value re-seasoned), independently of
  lstmcli's own, which it is checked against (``naive2_check``);
- *SES*: statsforecast's ``SimpleExponentialSmoothingOptimized`` on the same seasonally adjusted series,
  re-seasoned (M4's SES benchmark); no intervals;
- *Seasonal naive*, *Theta* (the standard theta method, M3's winner), *AutoETS*, *AutoARIMA*:
  statsforecast's models of those names with ``season_length`` = m, and their 80/95 % intervals.
A model that fails on a series is replaced by Naive2 for it, and the result counts how often.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

SCHEME = 1  # bump when a method or its settings change: cached results of other schemes are not used
LEVELS = (80, 95)
METHODS = ("Naive2", "Seasonal naive", "SES", "Theta", "AutoETS", "AutoARIMA")
DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "lstmcli-bench" / "anchors"


# --- Naive2 from M4's definition (independent of lstmcli.forecasting.baselines) -------------------------


def _acf(x: np.ndarray, k: int) -> float:
    m = x.mean()
    return float(np.sum((x[:-k] - m) * (x[k:] - m)) / np.sum((x - m) ** 2))


def seasonality_test(x: np.ndarray, m: int) -> bool:
    """M4's test: |acf at lag m| above 1.645 times its standard error (Bartlett), on 3 seasons at least."""
    if m <= 1 or len(x) < 3 * m:
        return False
    acfs = [_acf(x, k) for k in range(1, m + 1)]
    limit = 1.645 * math.sqrt((1 + 2 * sum(a * a for a in acfs[:-1])) / len(x))
    return abs(acfs[-1]) > limit


def seasonal_indices(x: np.ndarray, m: int) -> np.ndarray:
    """Classical multiplicative decomposition: each season's mean ratio to the centred moving average,
    normalised to average 1 (the ones when the test finds no seasonality). Index j is position j mod m."""
    if not seasonality_test(x, m):
        return np.ones(max(m, 1))
    n = len(x)
    if m % 2 == 0:
        weights = np.r_[0.5, np.ones(m - 1), 0.5] / m
    else:
        weights = np.ones(m) / m
    half = len(weights) // 2
    trend = np.full(n, np.nan)
    trend[half : n - half] = np.convolve(x, weights, mode="valid")
    ratio = x / trend
    idx = np.array([np.nanmean(ratio[j::m]) for j in range(m)])
    return idx * m / idx.sum()


def naive2(x: np.ndarray, h: int, m: int) -> tuple[np.ndarray, np.ndarray]:
    """(forecast, the seasonal factors of the training positions and of the h steps after them)."""
    s = seasonal_indices(x, m)
    k = len(s)
    pos = np.arange(len(x) + h) % k
    factors = s[pos]
    adjusted_last = x[-1] / factors[len(x) - 1]
    return np.full(h, adjusted_last) * factors[len(x) :], factors


# --- one series, every method --------------------------------------------------------------------------


def _models(m: int) -> dict:
    from statsforecast.models import (
        AutoARIMA,
        AutoETS,
        Naive,
        SeasonalNaive,
        SimpleExponentialSmoothingOptimized,
        Theta,
    )

    return {
        "Seasonal naive": SeasonalNaive(season_length=m) if m > 1 else Naive(),
        "SES": SimpleExponentialSmoothingOptimized(),
        "Theta": Theta(season_length=m),
        "AutoETS": AutoETS(season_length=m),
        "AutoARIMA": AutoARIMA(season_length=m),
    }


def _numbers(a) -> list:
    return [float(f"{v:.8g}") for v in np.asarray(a, dtype=np.float64)]


def series_forecasts(train: np.ndarray, h: int, m: int, cache_dir: Path | None = DEFAULT_CACHE) -> dict:
    """``forecast_series`` of one series, cached under ``cache_dir`` by its values, horizon, season, the
    statsforecast version and ``SCHEME`` (None: not cached). AutoARIMA on the hourly single series takes
    minutes; a rerun of the benchmark need not pay them again."""
    import statsforecast

    if cache_dir is None:
        return forecast_series(train, h, m)
    values = np.ascontiguousarray(train, dtype=np.float64)
    digest = hashlib.sha256(values.tobytes() + f"|{h}|{m}".encode()).hexdigest()[:16]
    cache = cache_dir / f"series-{digest}-sf{statsforecast.__version__}-s{SCHEME}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    out = forecast_series(values, h, m)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_text(json.dumps(out))
    os.replace(partial, cache)  # a run stopped while writing leaves no half file behind
    return out


def forecast_series(train: np.ndarray, h: int, m: int) -> dict:
    """Every method's forecast of one series: {method: {"f", "lo80", "hi80", "lo95", "hi95", "cpu", "failed"}}."""
    out = {}
    started = time.process_time()
    f2, factors = naive2(train, h, m)
    out["Naive2"] = {"f": _numbers(f2), "cpu": time.process_time() - started}
    for name, model in _models(m).items():
        started = time.process_time()
        entry: dict = {}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if name == "SES":  # M4's SES: on the seasonally adjusted series, re-seasoned
                    adjusted = train / factors[: len(train)]
                    res = model.forecast(y=adjusted, h=h)
                    f = np.asarray(res["mean"]) * factors[len(train) :]
                else:
                    res = model.forecast(y=train, h=h, level=list(LEVELS))
                    f = np.asarray(res["mean"])
                    for level in LEVELS:
                        if f"lo-{level}" in res:
                            entry[f"lo{level}"] = _numbers(res[f"lo-{level}"])
                            entry[f"hi{level}"] = _numbers(res[f"hi-{level}"])
            if not np.all(np.isfinite(f)):
                raise FloatingPointError("non-finite forecast")
            entry["f"] = _numbers(f)
        except Exception as e:  # noqa: BLE001 - any model failure: Naive2 stands in, and it is counted
            entry = {"f": _numbers(f2), "failed": f"{type(e).__name__}: {e}"[:200]}
        entry["cpu"] = time.process_time() - started
        out[name] = entry
    return out


def _work(item: tuple[np.ndarray, int, int]) -> dict:
    return forecast_series(*item)


def _init_worker() -> None:
    # one thread per worker process; compile statsforecast's numba code before any series is timed
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    forecast_series(np.linspace(1.0, 2.0, 40) + np.tile([0.1, 0.0, -0.1, 0.0], 10), 4, 4)
    forecast_series(np.linspace(1.0, 2.0, 40), 3, 1)


# --- a dataset file, cached -----------------------------------------------------------------------------


def _cache_path(path: Path, season: int, cache_dir: Path, keep: list[int] | None = None) -> Path:
    import statsforecast

    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    part = "" if keep is None else "-k" + hashlib.sha256(json.dumps(keep).encode()).hexdigest()[:8]
    return cache_dir / f"{path.stem}-m{season}-{digest}{part}-sf{statsforecast.__version__}-s{SCHEME}.json"


def anchor_forecasts(
    path: Path, season: int, cache_dir: Path = DEFAULT_CACHE, jobs: int = 1, keep: list[int] | None = None
) -> dict:
    """{"ids", "statsforecast", "wall_seconds", "methods": {method: [per-series entries]}} for every
    series of a long-format file, or for those at the positions ``keep`` (cached)."""
    import statsforecast

    from lstmcli.data.loader import load_long_csv

    cache = _cache_path(path, season, cache_dir, keep)
    if cache.exists():
        return json.loads(cache.read_text())
    series = load_long_csv(path)
    if keep is not None:
        series = [series[k] for k in keep]
    items = []
    for s in series:
        y = np.asarray(s.values, dtype=np.float64)
        h = int(s.n_test)
        items.append((y[: len(y) - h], h, season))
    started = time.perf_counter()
    if jobs > 1:
        import multiprocessing as mp

        with mp.get_context("forkserver").Pool(jobs, initializer=_init_worker) as pool:
            rows = pool.map(_work, items, chunksize=4)
    else:
        _init_worker()
        rows = [_work(item) for item in items]
    result = {
        "file": path.name,
        "season": season,
        "statsforecast": statsforecast.__version__,
        "scheme": SCHEME,
        "ids": [str(s.series_id) for s in series],
        "wall_seconds": time.perf_counter() - started,
        "jobs": jobs,
        "methods": {name: [row[name] for row in rows] for name in METHODS},
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(result))
    tmp.replace(cache)  # atomic: an interrupted run leaves no half cache
    return result


def naive2_check(path: Path, season: int, anchors: dict, keep: list[int] | None = None) -> float:
    """Largest relative difference between this Naive2 and lstmcli's on every series of the file (or
    those at the positions ``keep``)."""
    from lstmcli.data.loader import load_long_csv
    from lstmcli.forecasting.baselines import naive2 as lstmcli_naive2

    worst = 0.0
    series = load_long_csv(path)
    if keep is not None:
        series = [series[k] for k in keep]
    for s, mine in zip(series, anchors["methods"]["Naive2"], strict=True):
        y = np.asarray(s.values, dtype=np.float64)
        h = int(s.n_test)
        theirs = lstmcli_naive2(y[: len(y) - h], h, season)
        diff = np.max(np.abs(np.asarray(mine["f"]) - theirs) / np.maximum(np.abs(theirs), 1e-12))
        worst = max(worst, float(diff))
    return worst


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO / "benchmarks"))
    from panel_accuracy import GROUPS, SIZES

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--shared", type=Path, default=REPO.parent / "shared", help="the shared folder (datasets/)"
    )
    p.add_argument("--group", default="all", choices=["all", *sorted(GROUPS)])
    p.add_argument("--jobs", type=int, default=2, help="worker processes")
    p.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE, help=f"default {DEFAULT_CACHE}")
    p.add_argument(
        "--sample", type=int, default=None, help="panel_accuracy.py's fixed random N of each group"
    )
    args = p.parse_args(argv)
    from panel_accuracy import sample_positions

    for group in GROUPS if args.group == "all" else [args.group]:
        file, season = GROUPS[group]
        path = args.shared / "datasets" / file
        started = time.perf_counter()
        keep = sample_positions(SIZES[group], args.sample)
        a = anchor_forecasts(path, season, args.cache_dir, args.jobs, keep)
        failed = {k: sum("failed" in e for e in v) for k, v in a["methods"].items()}
        cpu = {k: sum(e["cpu"] for e in v) / len(v) for k, v in a["methods"].items()}
        print(
            f"{group}: {len(a['ids'])} series in {time.perf_counter() - started:.0f} s; Naive2 vs lstmcli "
            f"max rel diff {naive2_check(path, season, a, keep):.2e}; failed {failed}; "
            f"cpu s/series {', '.join(f'{k} {v:.4f}' for k, v in cpu.items())}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
