"""Probe for the intervals of short series: what the model-free floor (adopted in format 1.2) does.

    PYTHONPATH=. python benchmarks/probe_interval_floor.py --groups m3_yearly,m4_yearly   # prints only

Split conformal needs n >= level / (1 - level) residuals per horizon step (4 for 80 %, 19 for 95 %);
short yearly series give a handful from their validation origins, and their intervals under-cover
(M3 yearly 65 % / 68 % without the floor). For every series of the groups this fits the defaults,
forecasts the test horizon, and compares the coverage and median width of:

- ``no floor``: ``conformal_width`` without ``floor_errors`` (per-step conformal quantile, else the
  pooled fallback), as before format 1.2;
- ``floor``: the same where a step has enough residuals, else the larger of it and the conformal quantile
  of the series' own in-sample Naive2 errors at that step (naive on the seasonally adjusted series,
  re-seasoned with the model's indices; plain naive when not seasonal): what lstmcli now does;
- ``naive2``: the in-sample Naive2 quantile alone, for reference.

Widths are shown relative to the mean absolute test error of the group.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import accuracy  # noqa: E402  (the benchmark's own loaders)

REPO = Path(__file__).resolve().parent.parent


def conformal_quantile(errors: np.ndarray, coverage: float) -> float:
    e = np.sort(errors[np.isfinite(errors)])
    if e.size == 0:
        return 0.0
    return float(e[min(e.size, math.ceil((e.size + 1) * coverage)) - 1])


def naive2_widths(y: np.ndarray, seasonal: np.ndarray, horizon: int, coverage: float) -> np.ndarray:
    """Conformal quantile of the in-sample h-step Naive2 errors, for h = 1..horizon (non-decreasing)."""
    n = len(y)
    pos = np.arange(n)
    s = seasonal if seasonal.size > 1 else np.ones(1)
    adjusted = y / s[pos % s.size]
    out = []
    for h in range(1, horizon + 1):
        if n <= h:
            out.append(out[-1] if out else 0.0)
            continue
        forecast = adjusted[:-h] * s[(pos[:-h] + h) % s.size]
        out.append(conformal_quantile(np.abs(y[h:] - forecast), coverage))
    return np.maximum.accumulate(np.array(out))


def main() -> None:
    from lstmcli.forecasting.backtest import _series_from_values
    from lstmcli.forecasting.forecaster import Forecaster, ForecasterConfig, conformal_width

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    p.add_argument("--groups", default="m3_yearly,m4_yearly,m3_quarterly,m4_quarterly")
    p.add_argument("--limit", type=int, default=None)
    args = p.parse_args()
    anchors = accuracy.parse_anchors(args.shared / "ACCURACY_ANCHORS.md")
    for group in args.groups.split(","):
        items = accuracy.load_group(args.shared, group, anchors)[: args.limit]
        errors, widths = [], {}
        for it in items:
            h = it["h"]
            config = replace(ForecasterConfig(), season=it["m"], horizon=h)
            model = Forecaster(config).fit(_series_from_values(it["train"], it["id"], "probe"))
            errors.append(np.abs(it["test"] - model.predict(h).values))
            residuals = model.residuals_
            for coverage in (0.8, 0.95):
                current = conformal_width(residuals, coverage, h)
                naive2 = naive2_widths(np.asarray(it["train"], float), model.seasonal_, h, coverage)
                floor = conformal_width(residuals, coverage, h, model.naive2_errors_)  # what lstmcli does
                for name, w in (("no floor", current), ("floor", floor), ("naive2", naive2)):
                    widths.setdefault((coverage, name), []).append(w)
        e = np.stack(errors)
        parts = []
        for coverage in (0.8, 0.95):
            for name in ("no floor", "floor", "naive2"):
                w = np.stack(widths[(coverage, name)])
                parts.append(f"{name} {np.mean(e <= w):.2f} (width {np.median(w) / e.mean():.2f})")
            parts[-3] = f"{coverage:.0%}: " + parts[-3]
        print(f"{group:13s} " + " | ".join(parts), flush=True)


if __name__ == "__main__":
    main()
