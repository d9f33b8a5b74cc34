"""Is each group's test period like its history? Model-free, on the M1 and M3 groups (issue #21).

    PYTHONPATH=. python benchmarks/period_shift.py --shared ../shared [--out benchmarks/RESULTS.md]

An interval calibrated on a series' past errors covers its future as often as asked only when the future
errors are like the past ones. This measures that without any model of ours: Naive2 (M4's benchmark:
the last value of the seasonally adjusted training part, re-seasoned) forecasts each series' official
test rows, and its errors there are set against its own in-sample errors at the same horizon steps
(``intervals.naive2_errors``: every origin of the training part with all h steps inside it, up to 400).

- *test / history*: per series, Naive2's mean absolute test error over its mean in-sample error (all
  h steps); the median over the group's series, the geometric mean, and the share of series above 1;
- *Naive2, its own errors*: Naive2 with a split-conformal interval from the series' own in-sample
  errors per step (``conformal_width``; a step with too few errors for the level pools them by step):
  its coverage of the test rows at 80 and 95 %;
- *Naive2, pooled*: the same errors divided by each series' scale and pooled over the group per step
  (``panel_widths`` without validation errors of any model: the product's panel rule with Naive2's
  in-sample errors as the only errors).

No model is trained; the numbers depend only on the files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from panel_accuracy import GROUPS  # noqa: E402

from lstmcli.data.loader import load_long_csv  # noqa: E402
from lstmcli.forecasting.baselines import naive2, seasonal_indices  # noqa: E402
from lstmcli.forecasting.intervals import conformal_width, naive2_errors, panel_widths  # noqa: E402

LEVELS = (80, 95)


def group_shift(path: Path, season: int) -> dict:
    """The measures of the docstring for one group's file."""
    ratios, actual, forecast, errors = [], [], [], []
    for s in load_long_csv(path):
        y = np.asarray(s.values, dtype=np.float64)
        train, test = y[: len(y) - s.n_test], y[len(y) - s.n_test :]
        f = naive2(train, len(test), season)
        e = naive2_errors(train, seasonal_indices(train, season), len(test))
        actual.append(test)
        forecast.append(f)
        errors.append(e)
        if e.shape[0] and e.mean() > 0:
            ratios.append(float(np.abs(test - f).mean() / e.mean()))
    r = np.array(ratios)
    out = {
        "series": len(actual),
        "horizon": len(actual[0]),
        "median": float(np.median(r)),
        "geomean": float(np.exp(np.mean(np.log(r[r > 0])))),
        "harder": float(np.mean(r > 1)),
        "scored": len(r),
    }
    a, f = np.concatenate(actual), np.concatenate(forecast)
    h = len(actual[0])
    for level in LEVELS:
        own = np.concatenate([conformal_width(e, level / 100, h) for e in errors])
        pooled = np.concatenate(panel_widths(errors, errors, level / 100, h, own_errors=False))
        out[f"own{level}"] = 100 * float(np.mean(np.abs(a - f) <= own))
        out[f"pooled{level}"] = 100 * float(np.mean(np.abs(a - f) <= pooled))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    p.add_argument("--out", type=Path, default=None, help="RESULTS.md to write (default: print)")
    args = p.parse_args(argv)
    lines = [
        "| group | series | h | test / history, median | geometric mean | series with a harder test "
        "| Naive2, its own errors: cover 80 / 95 | Naive2, pooled: cover 80 / 95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for group, (file, season) in GROUPS.items():
        g = group_shift(args.shared / "datasets" / file, season)
        lines.append(
            f"| {group} | {g['series']} | {g['horizon']} | {g['median']:.2f} | {g['geomean']:.2f} | "
            f"{100 * g['harder']:.0f} % | {g['own80']:.1f} / {g['own95']:.1f} | "
            f"{g['pooled80']:.1f} / {g['pooled95']:.1f} |"
        )
        print(lines[-1], file=sys.stderr)
    text = "\n".join(lines) + "\n"
    if args.out is None:
        print(text)
        return 0
    from results_file import machine_description, publish

    head = (
        f"`python benchmarks/period_shift.py` on {machine_description()}: the script's docstring says what "
        "each column is. Model-free (Naive2 and its own in-sample errors; no model of ours), so any machine "
        "gives the same numbers.\n\n"
    )
    publish("## Is the test period like the history? (issue #21)\n\n" + head + text, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
