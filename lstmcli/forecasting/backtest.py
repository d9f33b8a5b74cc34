"""Rolling-origin evaluation of the LSTM next to the naive baselines, on one series or many.

An origin o means: the model sees y[:o] and forecasts y[o : o + horizon]. Without refitting, one model
trained on the data before the first origin forecasts every origin in one batched pass; with
``refit`` a model is trained per origin. Intervals, when levels are asked for, come from each model's
own validation residuals, so their coverage here is an honest out-of-sample measurement.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from lstmcli.data.wording import fmt_list
from lstmcli.errors import ConfigError, DataError
from lstmcli.forecasting.baselines import baseline_forecasts
from lstmcli.forecasting.config import ForecasterConfig, checked_levels
from lstmcli.forecasting.forecaster import Forecaster
from lstmcli.forecasting.intervals import conformal_width, holding_members, panel_intervals
from lstmcli.forecasting.metrics import evaluate, mase_scale, mean_defined, msis, owa
from lstmcli.forecasting.panel_parts import mean_table


@dataclass
class BacktestResult:
    """Forecasts and actuals of every origin (rows) and horizon step (columns)."""

    horizon: int
    season: int
    actual: np.ndarray  # (n, horizon)
    forecasts: dict[str, np.ndarray]  # method -> (n, horizon); "LSTM" first, then the baselines
    insample: list[np.ndarray]  # per row, the data before its origin (MASE scale)
    labels: list[str]  # per row: "series_id" or the origin's date/step
    coverage: dict[float, float] = field(default_factory=dict)  # interval level -> share of actuals inside
    # interval level -> (lower, upper), each (n, horizon), around the LSTM's forecasts
    intervals: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)  # what the user should know about how it was scored
    # a panel's several origins (``backtest_windows``): per row its window (1 the earliest) and the rows
    # at the end of its series that window held back; None: one origin per row
    window: np.ndarray | None = None
    held_back: np.ndarray | None = None

    @property
    def windows(self) -> int:
        return 1 if self.window is None else int(self.window.max())

    def __repr__(self) -> str:  # (the arrays would fill a notebook's cell)
        levels = ", ".join(f"{level:g}" for level in self.intervals) or "none"
        return (f"BacktestResult({len(self.labels)} forecasts, {self.windows} window(s), horizon {self.horizon}, "
                f"season {self.season}, methods {', '.join(self.forecasts)}, levels {levels})")  # fmt: skip

    def subset(self, rows: Sequence[int] | np.ndarray) -> BacktestResult:
        """The result of these rows only (a window's, say): forecasts, actuals and intervals; the
        coverage measured again over them, the notes left behind."""
        rows = np.asarray(rows, dtype=np.int64)
        part = BacktestResult(
            self.horizon, self.season, self.actual[rows], {k: f[rows] for k, f in self.forecasts.items()},
            [self.insample[k] for k in rows], [self.labels[k] for k in rows],
        )  # fmt: skip
        for level, (lo, hi) in self.intervals.items():
            part.intervals[level] = (lo[rows], hi[rows])
            share = covered(part.actual, lo[rows], hi[rows])
            if share is not None:
                part.coverage[level] = share
        if self.window is not None and self.held_back is not None:
            part.window, part.held_back = self.window[rows], self.held_back[rows]
        return part

    def per_window(self) -> list[BacktestResult]:
        """Each window's rows (``subset``), the earliest first; the whole result when it has one."""
        if self.window is None:
            return [self]
        return [self.subset(np.flatnonzero(self.window == w)) for w in range(1, self.windows + 1)]

    def per_series(self) -> tuple[list[str], list[dict[str, dict[str, float]]]]:
        """The series (labels, first seen first) and each one's errors over its rows (``per_row``: one
        per window): each measure's mean over them, OWA against Naive2's on those means."""
        rows = self.per_row()
        order = list(dict.fromkeys(self.labels))
        out = []
        for label in order:
            out.append(mean_table([r for r, lab in zip(rows, self.labels, strict=True) if lab == label]))
        return order, out

    def series_intervals(self) -> dict[str, dict[float, dict[str, float]]]:
        """Per series (label), for each interval level: its coverage and MSIS (``interval_rows``), the
        mean over its rows (one per window)."""
        rows = self.interval_rows()
        out: dict[str, dict[float, dict[str, float]]] = {}
        for label in dict.fromkeys(self.labels):
            mine = [r for r, lab in zip(rows, self.labels, strict=True) if lab == label]
            out[label] = {
                level: {m: mean_defined([r[level][m] for r in mine]) for m in ("coverage", "MSIS")}
                for level in self.intervals
            }
        return out

    def per_row(self) -> list[dict[str, dict[str, float]]]:
        """Per row (a series, in a long file): each method's sMAPE and MASE, and OWA against Naive2's."""
        out = []
        for k in range(len(self.actual)):
            row = {
                name: evaluate(self.actual[k], f[k], self.insample[k], self.season)
                for name, f in self.forecasts.items()
            }
            base = row["Naive2"]
            for m in row.values():
                m["OWA"] = owa(m["sMAPE"], m["MASE"], base["sMAPE"], base["MASE"])
            out.append(row)
        return out

    def overall(self) -> dict[str, dict[str, float]]:
        """Mean of each measure over all rows and steps, and OWA against Naive2 (M4: on the means).

        sMAPE and MASE are averaged per row first, then over rows, as M4 scores a group of series. A row
        where a measure is undefined (MASE of training rows without a scale: constant; MAPE of a zero)
        is left out of that measure's mean (``undefined``), not the whole mean made undefined.
        """
        table: dict[str, dict[str, float]] = {}
        for name, f in self.forecasts.items():
            per_row = [evaluate(self.actual[k], f[k], self.insample[k], self.season) for k in range(len(f))]
            table[name] = {m: mean_defined([r[m] for r in per_row]) for m in per_row[0]}
        base = table["Naive2"]
        for row in table.values():
            row["OWA"] = owa(row["sMAPE"], row["MASE"], base["sMAPE"], base["MASE"])
        return table

    def interval_rows(self) -> list[dict[float, dict[str, float]]]:
        """Per row, for each interval level: the share of its actuals inside and its MSIS (M4's mean
        scaled interval score, ``metrics.msis``, at that level)."""
        out = []
        for k in range(len(self.actual)):
            row = {}
            for level, (lo, hi) in self.intervals.items():
                y = self.actual[k]
                row[level] = {  # (a row without an interval has no coverage, as it has no MSIS)
                    "coverage": float(np.mean((lo[k] <= y) & (y <= hi[k])))
                    if not np.isnan(lo[k]).any()
                    else float("nan"),
                    "MSIS": msis(y, lo[k], hi[k], self.insample[k], self.season, level),
                }
            out.append(row)
        return out

    def msis(self) -> dict[float, float]:
        """Per interval level, the mean of the rows' MSIS (as M4 averages it over series)."""
        rows = self.interval_rows()
        # rows without an interval (NaN bounds) are left out, as the coverage leaves them out
        return {level: mean_defined([r[level]["MSIS"] for r in rows]) for level in self.intervals}

    def set_intervals(
        self, widths: dict[float, np.ndarray], members: Sequence[np.ndarray | None] = ()
    ) -> None:
        """Intervals of half-widths ``widths[level]`` ((n, horizon)) around the LSTM's forecasts, each
        row holding its combination's ``members`` ((k, horizon), None for none: ``holding_members``); a
        row without validation residuals has NaN widths (no interval), and the coverage is then left out."""
        f = self.forecasts["LSTM"]
        rows = list(members) or [None] * len(f)
        for level, width in widths.items():
            if width.shape != f.shape:
                continue
            bounds = [holding_members(f[k] - width[k], f[k] + width[k], rows[k]) for k in range(len(f))]
            lo, hi = np.stack([b[0] for b in bounds]), np.stack([b[1] for b in bounds])
            self.intervals[level] = (lo, hi)
            share = covered(self.actual, lo, hi)
            if share is not None:
                self.coverage[level] = share

    def per_step(self) -> list[dict[str, dict[str, float]]]:
        """For each horizon step, the measures of every method over all rows (MASE over the rows whose
        training rows have a scale, as ``overall`` leaves the others out)."""
        scaled = [k for k, y in enumerate(self.insample) if np.isfinite(mase_scale(y, self.season))]
        steps = []
        for j in range(self.horizon):
            row = {}
            for name, f in self.forecasts.items():
                row[name] = evaluate(self.actual[:, j : j + 1], f[:, j : j + 1], self.insample, self.season)
                if 0 < len(scaled) < len(self.insample):
                    row[name]["MASE"] = evaluate(
                        self.actual[scaled, j : j + 1], f[scaled, j : j + 1],
                        [self.insample[k] for k in scaled], self.season,
                    )["MASE"]  # fmt: skip
            steps.append(row)
        return steps

    def scoring_notes(self) -> list[str]:
        """What the means leave out, a sentence each: forecasts without an interval, and forecasts where
        a measure is undefined (``undefined``)."""
        notes = [note] if (note := without_interval_note(self)) else []
        n = len(self.labels)
        for m, rows in self.undefined().items():
            names = fmt_list(list(dict.fromkeys(rows)), 3)
            why = {
                "MASE": "whose training rows have no scale (constant, or repeating their last season)",
                "MAPE": "with an actual value of zero",
            }.get(m, "where it is undefined")
            also = " and OWA" if m in ("MASE", "sMAPE") else ""
            notes.append(
                f"{m}{also} leave{'' if also else 's'} out {len(rows)} of {n} forecasts {why} ({names})."
            )
        return notes

    def undefined(self) -> dict[str, list[str]]:
        """The rows (labels) left out of a measure's mean because it is undefined there for the LSTM:
        MASE without a scale (constant training rows), MAPE of an actual zero."""
        f = self.forecasts["LSTM"]
        out: dict[str, list[str]] = {}
        for k in range(len(f)):
            for m, v in evaluate(self.actual[k], f[k], self.insample[k], self.season).items():
                if np.isnan(v):
                    out.setdefault(m, []).append(self.labels[k])
        return out


def covered(actual: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float | None:
    """The share of ``actual`` inside ``[lo, hi]`` over the rows that have an interval (a row without
    one, NaN bounds, is left out, as its MSIS is); None when no row has one."""
    rows = ~np.isnan(lo).any(axis=1)
    if not rows.any():
        return None
    return float(((lo[rows] <= actual[rows]) & (actual[rows] <= hi[rows])).mean())


def without_interval_note(result: BacktestResult) -> str | None:
    """One note naming the rows that have no interval (no validation residuals, or forecast by Naive2),
    which the coverage and MSIS leave out."""
    if not result.intervals:
        return None
    lo = next(iter(result.intervals.values()))[0]
    missing = [label for label, row in zip(result.labels, lo, strict=True) if np.isnan(row).any()]
    if not missing:
        return None
    return (
        f"{len(missing)} of {len(result.labels)} forecasts have no interval (no validation residuals: "
        f"{fmt_list(list(dict.fromkeys(missing)), 3)}); the coverage and MSIS are over the other "
        f"{len(result.labels) - len(missing)}."
    )


def _series_from_values(values: np.ndarray, name: str, path: str) -> Any:
    from lstmcli.data.series import SeriesData

    return SeriesData(
        path=path,
        target=name,
        values=np.asarray(values, dtype=np.float64),
        features=np.zeros((len(values), 0)),
        feature_names=(),
        time_col=None,
        timestamps=None,
        freq=None,
        notes=(),
    )


def _truncate(data: Any, end: int) -> Any:
    """The series as it was known at origin ``end`` (rows before it)."""
    return replace(
        data,
        values=data.values[:end],
        features=data.features[:end],
        timestamps=None if data.timestamps is None else data.timestamps[:end],
        future_features=None if data.future_features is None else data.future_features[:end],
        ahead=None,
        ahead_timestamps=None,
        ahead_lines=None,
    )


def rolling_origins(n: int, horizon: int, windows: int, step: int) -> np.ndarray:
    """The last ``windows`` origins, ``step`` apart, the latest leaving exactly ``horizon`` actuals."""
    if windows < 1 or step < 1 or horizon < 1:
        raise ConfigError("--windows, --step and --horizon must be at least 1")
    last = n - horizon
    origins = last - step * np.arange(windows - 1, -1, -1)
    if origins[0] < 2:  # the first origin needs two observations before it
        need = horizon + step * (windows - 1) + 2
        raise ConfigError(
            f"{windows} windows of {horizon} steps, {step} apart, need at least {need} observations, the "
            f"series has {n}; use fewer --windows, a smaller --step or a shorter --horizon"
        )
    return origins


def backtest_series(
    data: Any,
    config: ForecasterConfig,
    *,
    horizon: int,
    windows: int,
    step: int,
    refit: bool = False,
    levels: Sequence[float] = (),
    on_fit: Callable[[int, int], None] | None = None,
    threads: int = 1,
    executor: Any = None,
) -> BacktestResult:
    """Rolling-origin backtest of one series (a ``SeriesData``); ``threads`` and ``executor`` as in
    ``Forecaster.fit``."""
    levels = checked_levels(levels)
    import time

    started = time.perf_counter()
    y = np.asarray(data.values, dtype=np.float64)
    features = np.asarray(data.features, dtype=np.float64).reshape(len(y), -1)
    origins = rolling_origins(len(y), horizon, windows, step)
    config = replace(config, horizon=horizon)
    rows: list[np.ndarray] = []
    members: list[np.ndarray | None] = []
    widths: dict[int, list[np.ndarray]] = {level: [] for level in levels}
    groups = [[o] for o in origins] if refit else [list(origins)]
    for k, group in enumerate(groups):
        if on_fit is not None:
            on_fit(k, len(groups))
        model = Forecaster(config).fit(_truncate(data, int(group[0])), threads=threads, executor=executor)
        known = model.state_.known
        # the known inputs of every step of the data: a backtest's forecast periods lie inside it
        matrix = known.matrix(data.future_features, data.timestamps, len(y)) if known.width else None
        forecasts, averaged = model.forecast_and_members_from_origins(
            y, features, np.asarray(group), horizon, known=matrix
        )
        rows.append(forecasts)
        members += [None] * len(group) if averaged is None else list(averaged)
        for level in levels:
            if len(model.residuals_):
                widths[level].append(
                    np.tile(
                        conformal_width(model.residuals_, level / 100, horizon, model.naive2_errors_),
                        (len(group), 1),
                    )
                )
    season = model.season_
    forecasts = {"LSTM": np.concatenate(rows)}
    forecasts |= baseline_forecasts(y, origins, horizon, season)
    actual = np.stack([y[o : o + horizon] for o in origins])
    labels = _origin_labels(data, origins)
    result = BacktestResult(horizon, season, actual, forecasts, [y[:o] for o in origins], labels)
    result.set_intervals({level: np.concatenate(parts) for level, parts in widths.items() if parts}, members)
    result.seconds = time.perf_counter() - started
    return result


def _panel_widths(states: list, level: float, h: int) -> list[np.ndarray]:
    """Each series' interval half-widths by ``panel_intervals`` over the series with validation
    residuals; NaN for the others (left out of a global model, or validated on nothing)."""
    have = [k for k, st in enumerate(states) if st is not None and len(st.residuals)]
    out = [np.full(h, np.nan) for _ in states]
    got = panel_intervals(
        [states[k].residuals for k in have], [states[k].naive2_errors for k in have], level / 100, h
    )
    for k, w in zip(have, got, strict=True):
        out[k] = w
    return out


def _origin_labels(data: Any, origins: np.ndarray) -> list[str]:
    if data.timestamps is None:
        return [f"step {int(o) + 1}" for o in origins]
    return [str(np.datetime64(data.timestamps[o], "D")) for o in origins]


MIN_TRAINING_ROWS = 2  # rows before the test rows a series needs to be scored (Naive2, MASE's scale)


def common_horizon(series: Sequence[Any], horizon: int | None, path: str) -> int:
    """The steps every series is scored on: its test rows, else ``horizon``; the same for all. A series
    that differs is named against the count most series have (the first series may be the odd one)."""
    counts = []
    for s in series:
        h = s.n_test if s.n_test else horizon
        if not h:
            raise ConfigError(f"{path}: series {s.series_id} has no test rows; give --horizon")
        counts.append(h)
    usual = Counter(counts).most_common(1)[0][0]
    for s, h in zip(series, counts, strict=True):
        if h != usual:
            others = sum(c == usual for c in counts)
            raise ConfigError(
                f"{path}: series {s.series_id} has {h} test rows, the other {others} have {usual}; a panel's "
                "series are scored on the same number of steps"
            )
    return usual


def _scorable(
    series: Sequence[Any], h: int, path: str, min_rows: int = MIN_TRAINING_ROWS
) -> tuple[list[Any], list[str]]:
    """The series with at least ``min_rows`` rows before their ``h`` test rows, and a note naming the
    others (train leaves such series out of a panel model as well)."""
    kept = [s for s in series if len(s.values) - h >= min_rows]
    if len(kept) == len(series):
        return kept, []
    short = [str(s.series_id) for s in series if len(s.values) - h < min_rows]
    if not kept:
        raise DataError(f"{path}: no series has {min_rows} rows before its last {h} to train on")
    return kept, [
        f"{len(short)} of {len(series)} series have fewer than {min_rows} rows before their last "
        f"{h} ({fmt_list(short, 3)}): not scored."
    ]


def backtest_long(
    series: Sequence[Any],
    config: ForecasterConfig,
    *,
    horizon: int | None = None,
    season: int = 1,
    levels: Sequence[float] = (),
    path: str = "data.csv",
    on_fit: Callable[[int, int], None] | None = None,
    threads: int = 1,
    executor: Any = None,
    min_rows: int = MIN_TRAINING_ROWS,
) -> BacktestResult:
    """One origin per series of a long-format file: the test rows (``split`` = test) are the horizon;
    without a split column the last ``horizon`` rows are. ``executor`` (a Dask cluster) fits the
    series' models there, in chunks. A series with fewer than ``min_rows`` rows before its horizon is
    not scored; one too short for a model of the settings is forecast by Naive2 (said), unless all
    are: an error."""
    levels = checked_levels(levels)
    import time

    started = time.perf_counter()
    config = replace(config, season=season)
    actual, lstm, members, insample, labels = [], [], [], [], []
    base: dict[str, list[np.ndarray]] = {}
    widths: dict[int, list[np.ndarray]] = {level: [] for level in levels}
    h_all = common_horizon(series, horizon, path)
    series, notes = _scorable(series, h_all, path, min_rows)
    models = _local_models(series, replace(config, horizon=h_all), h_all, path, on_fit, threads, executor)
    if all(m is None for m in models):
        raise DataError(
            f"{path}: no series is long enough for a model of these settings before its last {h_all} rows "
            "(the LSTM would be Naive2 for every series); use a shorter --lookback or --horizon"
        )
    for s, model in zip(series, models, strict=True):
        h = h_all
        y = np.asarray(s.values, dtype=np.float64)
        train = y[: len(y) - h]
        baselines = baseline_forecasts(train, np.array([len(train)]), h, season)
        forecast = model.predict(h) if model is not None else None
        lstm.append(forecast.values if forecast is not None else baselines["Naive2"][0])
        members.append(forecast.members if forecast is not None else None)
        actual.append(y[len(y) - h :])
        insample.append(train)
        labels.append(str(s.series_id))
        for name, f in baselines.items():
            base.setdefault(name, []).append(f[0])
    unfitted = [label for label, m in zip(labels, models, strict=True) if m is None]
    if unfitted:
        notes.append(
            f"{len(unfitted)} of {len(labels)} series are too short for a model of these settings "
            f"({fmt_list(unfitted, 3)}) and are forecast by Naive2 here."
        )
    states = [m.state_ if m is not None else None for m in models]
    for level in levels:  # the series' errors calibrate the intervals together (``panel_intervals``)
        widths[level] = _panel_widths(states, level, h_all)
    forecasts = {"LSTM": np.stack(lstm)} | {name: np.stack(v) for name, v in base.items()}
    result = BacktestResult(h_all, season, np.stack(actual), forecasts, insample, labels)
    result.set_intervals(
        {level: np.stack(parts) for level, parts in widths.items() if len(parts) == len(series)}, members
    )
    result.notes.extend(notes)
    constant = [
        label for label, st in zip(labels, states, strict=True) if st is not None and st.constant is not None
    ]
    if constant:  # (train leaves them out of a panel model; scored here, they read as perfect forecasts)
        result.notes.append(
            f"{len(constant)} of {len(labels)} series are constant over their training rows "
            f"({fmt_list(constant, 3)}): "
            "forecast as that constant, no network, and scored with the rest."
        )
    result.seconds = time.perf_counter() - started
    return result


def _local_models(
    series: Sequence[Any], config: ForecasterConfig, h: int, path: str,
    on_fit: Callable[[int, int], None] | None, threads: int, executor: Any = None,
) -> list[Forecaster | None]:  # fmt: skip
    """One model per series on its training part: fanned out over the cores (``panel_local``), each
    the same bit for bit as fitted alone; None for a series too short for one (too short for the
    settings' lookback and horizon: ``panel_local`` says so without raising)."""
    from lstmcli.engine.threads import cores_for
    from lstmcli.forecasting.panel_local import fit_local

    trains = [
        _series_from_values(np.asarray(s.values, dtype=np.float64)[: len(s.values) - h], s.series_id, path)
        for s in series
    ]
    cores = cores_for(threads)
    report = None if on_fit is None else (lambda done, total: on_fit(min(done, total - 1), total))
    ids = [str(k) for k in range(len(series))]
    kept, states, _, _ = fit_local(
        config, ids, trains, cores=cores, on_series=report, keep_untrained=True, executor=executor
    )
    fitted = dict(zip(kept, states, strict=True))
    models: list[Forecaster | None] = []
    for k in range(len(trains)):
        model = Forecaster(config) if str(k) in fitted else None
        if model is not None:
            model.state_ = fitted[str(k)]
        models.append(model)
    return models


def backtest_panel(
    series: Sequence[Any],
    config: ForecasterConfig,
    *,
    horizon: int | None = None,
    season: int = 1,
    levels: Sequence[float] = (),
    path: str = "data.csv",
    on_epoch: Callable[[Any], None] | None = None,
    threads: int = 1,
    static: dict[str, Sequence[Any]] | None = None,
    executor: Any = None,
    min_rows: int = MIN_TRAINING_ROWS,
) -> BacktestResult:
    """``backtest_long`` with ONE global model (``forecasting.panel``) trained on the training part of
    every series at once, then each series forecast from its own origin and scored as there. A series
    the global model leaves out (too short, constant) is forecast by Naive2, and the result says so.
    ``static``: static features, column -> one value per series (``PanelForecaster.fit``)."""
    levels = checked_levels(levels)
    import time

    from lstmcli.forecasting.panel import PanelForecaster

    started = time.perf_counter()
    all_ids = [str(s.series_id) for s in series]
    h_all = common_horizon(series, horizon, path)
    series, notes = _scorable(series, h_all, path, min_rows)
    if static is not None:  # (one value per series, in the series' order)
        kept = {str(s.series_id) for s in series}
        static = {
            c: [v for v, sid in zip(vals, all_ids, strict=True) if sid in kept] for c, vals in static.items()
        }
    trains = [np.asarray(s.values, dtype=np.float64)[: len(s.values) - h_all] for s in series]
    ids = [str(s.series_id) for s in series]
    model = PanelForecaster(replace(config, horizon=h_all, season=season), mode="global").fit(
        [_series_from_values(y, sid, path) for y, sid in zip(trains, ids, strict=True)],
        ids=ids, id_col="series", on_epoch=on_epoch, threads=threads, static=static, executor=executor,
    )  # fmt: skip
    forecasts = model.predict(h_all, executor=executor)
    actual = [np.asarray(s.values, dtype=np.float64)[len(y) :] for s, y in zip(series, trains, strict=True)]
    result = panel_result(model, forecasts, trains, actual, ids, h_all, season, levels)
    result.notes[:0] = notes
    result.seconds = time.perf_counter() - started
    return result


def panel_result(
    model: Any, forecasts: dict[str, Any], trains: list[np.ndarray], actuals: list[np.ndarray], ids: list[str],
    h_all: int, season: int, levels: Sequence[float],
) -> BacktestResult:  # fmt: skip
    """A panel backtest's result: each series' forecast (``forecasts`` by id, of a ``PanelForecaster``
    ``model`` fitted on ``trains``; Naive2 for a series it left out) next to the baselines, scored on
    ``actuals``, with intervals from each series' validation residuals."""
    fitted = set(model.ids_)
    lstm, members, actual, widths = [], [], actuals, {level: [] for level in levels}
    base: dict[str, list[np.ndarray]] = {}
    for y, sid in zip(trains, ids, strict=True):
        baselines = baseline_forecasts(y, np.array([len(y)]), h_all, season)
        for name, f in baselines.items():
            base.setdefault(name, []).append(f[0])
        lstm.append(forecasts[sid].values if sid in fitted else baselines["Naive2"][0])
        members.append(forecasts[sid].members if sid in fitted else None)
    states = [model.forecaster(sid).state_ if sid in fitted else None for sid in ids]
    for level in levels:
        widths[level] = _panel_widths(states, level, h_all)
    result = BacktestResult(
        h_all, season, np.stack(actual), {"LSTM": np.stack(lstm)} | {k: np.stack(v) for k, v in base.items()},
        trains, ids,
    )  # fmt: skip
    if len(fitted) < len(ids):
        what = "global model" if model.mode == "global" else "local models"
        out = [sid for sid in ids if sid not in fitted]
        result.notes.append(
            f"{len(out)} of {len(ids)} series were left out of the {what} (too short or constant: "
            f"{fmt_list(out, 3)}) and are forecast by Naive2 here."
        )
    result.set_intervals(
        {level: np.stack(parts) for level, parts in widths.items() if len(parts) == len(ids)}, members
    )
    return result
