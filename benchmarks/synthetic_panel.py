"""A synthetic panel of monthly series for the scale benchmark (``bench_scale.py``): level, trend,
seasonality and noise drawn per series from a fixed seed, written as a long CSV ``unique_id,ds,y``.

    python benchmarks/synthetic_panel.py --series 20000 --length 72 -o panel.csv

Each series: a log-normal level (values from about 10 to 50,000), a damped multiplicative trend
(-1 % to +2 % a month, fading), a multiplicative season of two harmonics with its own amplitude
(none for a fifth of the series) and phase, a random-walk drift of the level and AR(1) noise, and
its own start month (2010-2019), so the series end on different dates as real panels do. The same
seed gives the same file.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd


def synthetic_panel(n_series: int, length: int = 72, seed: int = 0) -> pd.DataFrame:
    """(n_series * length) rows, columns unique_id, ds (month starts), y (positive), by id then date."""
    rng = np.random.default_rng(seed)
    n, t = n_series, np.arange(length)
    level = np.exp(rng.normal(6.0, 1.5, n))
    growth = rng.uniform(-0.01, 0.02, n)
    damping = rng.uniform(0.95, 1.0, n)
    trend = np.cumsum(growth[:, None] * damping[:, None] ** t[None, :], axis=1)
    amplitude = np.where(rng.random(n) < 0.2, 0.0, rng.uniform(0.05, 0.4, n))
    phase1, phase2 = rng.uniform(0, 2 * np.pi, (2, n))
    second = rng.uniform(0.0, 0.5, n)
    season = amplitude[:, None] * (
        np.sin(2 * np.pi * t[None, :] / 12 + phase1[:, None])
        + second[:, None] * np.sin(4 * np.pi * t[None, :] / 12 + phase2[:, None])
    )
    drift = np.cumsum(rng.normal(0.0, 1.0, (n, length)) * rng.uniform(0.0, 0.03, n)[:, None], axis=1)
    sigma, phi = rng.uniform(0.02, 0.12, n), rng.uniform(0.0, 0.6, n)
    shocks = rng.normal(0.0, 1.0, (n, length)) * sigma[:, None]
    noise = np.empty_like(shocks)
    noise[:, 0] = shocks[:, 0]
    for k in range(1, length):
        noise[:, k] = phi * noise[:, k - 1] + shocks[:, k]
    y = level[:, None] * np.exp(trend + season + drift + noise)
    start = np.datetime64("2010-01", "M") + rng.integers(0, 120, n)
    months = (start[:, None] + t[None, :]).ravel()
    width = len(str(n_series))
    ids = np.char.add("S", np.char.zfill(np.arange(1, n + 1).astype(str), width))
    return pd.DataFrame({
        "unique_id": np.repeat(ids, length),
        "ds": months.astype("datetime64[D]"),
        "y": np.round(y.ravel(), 3),
    })  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--series", type=int, default=20_000)
    ap.add_argument("--length", type=int, default=72)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    synthetic_panel(a.series, a.length, a.seed).to_csv(a.output, index=False, date_format="%Y-%m-%d")


if __name__ == "__main__":
    main()
