"""The series as the rest of lstmcli sees them: plain NumPy arrays and text, no pandas.

The loader (``lstmcli.data.loader``) builds these from a file; the forecaster, the backtests and the
model file use them without importing pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, eq=False)
class SeriesData:
    """One cleaned series and its extra input columns, as read by :func:`load_csv`.

    Attributes
    ----------
    path : str
        The file as given by the user (used in messages).
    target : str
        Name of the column to forecast.
    values : numpy.ndarray
        ``(T,)`` float64, the cleaned target: sorted by time, gaps and empty cells filled, all finite.
    features : numpy.ndarray
        ``(T, F)`` float64 extra input columns, cleaned like ``values``; ``F`` may be 0.
    feature_names : tuple of str
        Names of the ``F`` feature columns, in the order of ``features``.
    time_col : str or None
        Name of the time column; None when the file has none (rows are consecutive steps).
    timestamps : numpy.ndarray or None
        ``(T,)`` datetime64[ns] after sorting and gap filling.  None without a date column (also when the
        time column is a plain integer ``step`` column, which only orders the rows).
    freq : str or None
        pandas offset alias ("MS", "QS-JAN", "QE-JAN", "D", "B", "h", "W-SUN", "YS-JAN", ...).  None without
        dates, or when the dates have no regular spacing (then rows are used as consecutive steps).
    notes : tuple of str
        Every decision the loader made, one plain sentence each.
    future_features : numpy.ndarray or None
        ``(T, K)`` float64 columns known in advance (``--future-features``) on the rows of ``values``,
        cleaned like ``features``; None when there are none.
    future_feature_names : tuple of str
        Names of the ``K`` known-future columns.
    ahead : numpy.ndarray or None
        ``(A, K)`` the known-future columns on the ``A`` trailing rows whose target was empty (the forecast
        period), on the series' grid; NaN where a cell or a time step is missing (never filled).
    ahead_timestamps : numpy.ndarray or None
        ``(A,)`` datetime64[ns] of those rows, when the series has dates.
    ahead_lines : numpy.ndarray or None
        ``(A,)`` file line of each of those rows (0 for a missing time step).
    """

    path: str
    target: str
    values: np.ndarray
    features: np.ndarray
    feature_names: tuple[str, ...]
    time_col: str | None
    timestamps: np.ndarray | None
    freq: str | None
    notes: tuple[str, ...]
    future_features: np.ndarray | None = None
    future_feature_names: tuple[str, ...] = ()
    ahead: np.ndarray | None = None
    ahead_timestamps: np.ndarray | None = None
    ahead_lines: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class LongSeries:
    """One series of a long-format file, as read by :func:`load_long_csv`.

    Attributes
    ----------
    series_id : str
        The value of the id column.
    values : numpy.ndarray
        ``(T,)`` float64, training rows then test rows (sorted by the time/step column if there is one).
    n_test : int
        How many of the last rows the split column marks as "test" (0 without a split column).
    times : numpy.ndarray or None
        ``(T,)`` the time column's value of each row: datetime64[ns] (dates) or float64 (steps); None
        without a time column (the rows are consecutive steps in file order).
    """

    series_id: str
    values: np.ndarray
    n_test: int
    times: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Panel:
    """Many series of one long file, as read by :func:`lstmcli.data.panel.load_panel`.

    Attributes
    ----------
    path : str
        The file as given by the user.
    id_col : str
        The column naming the series (``--id-col``); forecasts name their series under it.
    ids : tuple of str
        The id of each kept series, sorted (so the order of the rows in the file never matters).
    series : tuple of SeriesData
        The kept series, in the order of ``ids``: each with its own dates, length and start, on the
        panel's one frequency.
    freq : str or None
        The panel's frequency (pandas alias); None without dates.
    skipped : tuple of (str, str)
        ``(id, reason)`` of every series left out: "constant", "mostly missing", "too short".
    notes : tuple of str
        The loader's decisions for the whole panel, a sentence each (never one per series).
    """

    path: str
    id_col: str
    ids: tuple[str, ...]
    series: tuple[SeriesData, ...]
    freq: str | None
    skipped: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    # --static-features: column -> (S,) its value for each kept series, float64 (numbers) or str (text)
    static: dict[str, np.ndarray] = field(default_factory=dict)
    # id -> the positions of its values that were filled (a missing step or an empty cell); a backtest
    # never scores a forecast against one
    filled: dict[str, np.ndarray] = field(default_factory=dict)
    # id -> the positions where a known-future column's cell was filled; a backtest never forecasts a
    # step with a made-up known value
    filled_known: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def target(self) -> str:
        return self.series[0].target if self.series else ""
