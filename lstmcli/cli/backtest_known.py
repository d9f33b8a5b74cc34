"""`backtest --id-col` with inputs known in advance (``--future-features``, ``--calendar``,
``--holidays``): the panel read with each series' own known values and dates (``data.panel``), scored
by ``forecasting.backtest_known`` with the actual known values of each series' horizon."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstmcli.cli.common import parse_columns, print_notes, stderr_console, warm_engine


def backtest_known_command(
    data: Path, config: Any, id_col: str, target: str | None, time_col: str | None, freq: str | None, fill: str,
    future_features: str | None, season: int | None, horizon: int | None, global_: bool | None,
    levels: list[float], threads: int, scheduler: str | None, series_id: str | None, bar: Any,
    windows: int = 1, step: int | None = None,
) -> tuple[Any, list[str], list[Any], str, str]:  # fmt: skip
    """The result, the series ids, the series (as ``LongSeries``, for the cross-validation table), the
    mode and what was backtested, in words; ``windows`` origins per series, ``step`` apart (default:
    the horizon), each window's models trained anew (``forecasting.backtest_windows``)."""
    from lstmcli.cli.panels import panel_mode, panel_what, require_series
    from lstmcli.data.loader import season_length
    from lstmcli.data.panel import load_panel
    from lstmcli.forecasting.backtest_known import backtest_panel_known
    from lstmcli.forecasting.backtest_windows import backtest_windows, hold_back_panel
    from lstmcli.forecasting.executors import maybe_connect

    columns = tuple(parse_columns(future_features, "--future-features") or ())
    panel = load_panel(  # trailing rows without a target (a file made for predict): read apart, left out
        data, id_col=id_col, target=target, time_col=time_col, freq=freq, fill=fill, future=columns,
        forecast_rows=True,
    )  # fmt: skip
    print_notes(stderr_console(), panel.notes)
    ids = list(panel.ids)
    require_series(data, series_id, ids)
    m = season or season_length(panel.freq)
    h = horizon or max(m, 1)
    mode = panel_mode(global_)
    warm_engine()  # after the data is read: a bad file fails before any compiling
    step = step or h
    with maybe_connect(scheduler) as cluster, bar:
        result = backtest_windows(
            lambda _, held_back: backtest_panel_known(
                hold_back_panel(panel, held_back), config, horizon=h, season=m, mode=mode, levels=levels,
                threads=threads, executor=cluster,
            ),
            windows=windows,
            step=step,
            horizon=h,
            lengths=[len(s.values) for s in panel.series],
            path=data.name,
        )  # fmt: skip
    what = panel_what(len(ids), windows, step, h, mode)
    from lstmcli.data.series import LongSeries

    series = [LongSeries(sid, s.values, h, s.timestamps) for sid, s in zip(ids, panel.series, strict=True)]
    return result, ids, series, mode, what
