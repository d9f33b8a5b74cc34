"""Inputs known in advance for a global panel model (``train --id-col --global --future-features``,
``--calendar``, ``--holidays``): each series' own values of the same inputs, the network sees them at
every step as it does for one series (``known``: the input at step t carries those of t+1, or of
t+1 .. t+horizon with direct forecasting).

What is shared and what is each series' own: every series has the same known inputs (the same
columns, calendar encodings and holiday country); their values are each series' own, standardised with
ONE mean and spread over the training rows of every series (``pool_scaling``), so that a promotion is
the same input to the shared network in every series (a per-series spread would make a flag of a
series with rare promotions a larger input than one of a series with many). A local model
(``--local``) is a single-series fit per series and standardises with its own series, as one series
does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from lstmcli.forecasting.ensemble import monitor_windows, monitored, rows_after
from lstmcli.forecasting.known import KnownInputs, known_inputs_for

if TYPE_CHECKING:
    from lstmcli.data.series import SeriesData
    from lstmcli.forecasting.config import ForecasterConfig
    from lstmcli.forecasting.preprocessing import Preprocessing

__all__ = ["monitor_set", "panel_known", "pool_scaling"]


def panel_known(
    cfg: ForecasterConfig, series: list[SeriesData]
) -> tuple[KnownInputs, list[np.ndarray | None]]:
    """The known inputs of a global fit (the first series' and so every series': one file, one
    frequency) and each series' raw values of them, (len(values), K), or None without any."""
    if not series:
        return KnownInputs(), []
    known = known_inputs_for(cfg.calendar, cfg.holidays, series[0])
    if not known.width:
        return known, [None] * len(series)
    return known, [known.matrix(s.future_features, s.timestamps, len(s.values)) for s in series]


def pool_scaling(preps: list[Preprocessing], knowns: list[np.ndarray | None], ends: list[int]) -> None:
    """Give every series' preprocessing one mean and spread of the known inputs: those of the rows
    ``knowns[s][: ends[s]]`` of every series together (their training part)."""
    if not preps or knowns[0] is None:
        return
    from lstmcli.forecasting.preprocessing import _safe_std

    rows = np.concatenate([k[:e] for k, e in zip(knowns, ends, strict=True)])
    mean, scale = rows.mean(axis=0), _safe_std(rows)
    for prep in preps:
        prep.known_mean, prep.known_scale = mean.copy(), scale.copy()


def monitor_set(
    preps: list[Preprocessing], arrays: list[tuple[np.ndarray, np.ndarray]], knowns: list[np.ndarray | None],
    origins: list[np.ndarray], lookback: int, horizon: int, strategy: str,
) -> tuple[tuple[np.ndarray, np.ndarray] | None, np.ndarray | None]:  # fmt: skip
    """Early stopping on forecasts (``--monitor forecast``): the windows ending at each series'
    monitored validation origins with the values that followed, and, for recursive forecasting with
    known inputs, the input rows of the steps after each window (``member_forecast``'s ``ahead``)."""
    parts, ahead = [], []
    for prep, (y, f), known, o in zip(preps, arrays, knowns, origins, strict=True):
        if not len(o):
            continue
        parts.append(monitor_windows(prep, y, f, o, lookback, horizon, known))
        if known is not None and strategy == "recursive":
            inputs = prep.prepare(y, f, known=known).inputs
            ahead.append(rows_after(inputs, monitored(o) - prep.lag, horizon))
    if not parts:
        return None, None
    monitor = (np.concatenate([w for w, _ in parts]), np.concatenate([t for _, t in parts]))
    return monitor, np.concatenate(ahead) if ahead else None
