"""Inputs known in advance: columns of the data (``--future-features``), calendar cycles
(``--calendar``) and public holidays (``--holidays``), as one matrix of raw values per time step.

Alignment (``Preprocessing.known_block``): the network's input at step t carries the known inputs of
the steps it forecasts, t+1 .. t+lead, where ``lead`` is 1 for recursive forecasting (fed step by step
with the known future values) and the horizon for direct forecasting (the last step of a window sees
the whole forecast period). Past-only features (``--features``) stay at step t.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from lstmcli.errors import ConfigError, DataError

if TYPE_CHECKING:
    from lstmcli.data.future import FutureValues
    from lstmcli.data.series import SeriesData

__all__ = ["KnownInputs", "known_for_forecast", "known_inputs_for"]


@dataclass(frozen=True)
class KnownInputs:
    """Which inputs are known in advance; ``matrix`` builds their raw values for given steps."""

    columns: tuple[str, ...] = ()  # columns of the data file
    calendar: tuple[str, ...] = ()  # calendar encodings (lstmcli.data.calendar), a sin and a cos each
    holidays: str | None = None  # country code
    # the frequency whose periods count the holidays (weekly, monthly, ...); None: a flag per date
    holiday_period: str | None = None

    @property
    def names(self) -> list[str]:
        """One name per channel, in the order of ``matrix``'s columns."""
        cal = [f"{e}_{f}" for e in self.calendar for f in ("sin", "cos")]
        holiday = f"holidays_{self.holidays}" if self.holiday_period else f"holiday_{self.holidays}"
        return [*self.columns, *cal, *([holiday] if self.holidays else [])]

    @property
    def width(self) -> int:
        return len(self.names)

    @property
    def from_dates(self) -> bool:
        """Whether some channels are rebuilt from the dates (calendar, holidays)."""
        return bool(self.calendar) or self.holidays is not None

    def matrix(self, columns: np.ndarray | None, timestamps: np.ndarray | None, n: int) -> np.ndarray:
        """(n, width) raw values: the data's columns (n, len(columns)), then the calendar and holiday
        channels of the ``timestamps`` (n,)."""
        parts = []
        if self.columns:
            parts.append(np.asarray(columns, dtype=np.float64).reshape(n, len(self.columns)))
        if self.from_dates:
            if timestamps is None:
                raise ConfigError("--calendar and --holidays need a series with dates on a regular frequency")
            from lstmcli.data.calendar import calendar_columns, holiday_column

            if self.calendar:
                parts.append(calendar_columns(timestamps, self.calendar))
            if self.holidays:
                parts.append(holiday_column(timestamps, self.holidays, self.holiday_period)[:, None])
        return np.column_stack(parts) if parts else np.empty((n, 0))

    def to_dict(self) -> dict:
        out = {"columns": list(self.columns), "calendar": list(self.calendar), "holidays": self.holidays}
        if self.holiday_period:  # holidays counted per period: under keys of their own, so that a reader
            # from before them refuses the file (its inputs do not add up) rather than read daily flags;
            # a daily model's file is as it was
            out |= {"holidays": None, "holiday_counts": self.holidays, "holiday_period": self.holiday_period}
        return out

    @classmethod
    def from_dict(cls, d: dict) -> KnownInputs:
        from lstmcli.data.calendar import ENCODINGS

        calendar = tuple(str(e) for e in d.get("calendar") or ())
        unknown = [e for e in calendar if e not in ENCODINGS]
        if unknown:
            raise ValueError(f"unknown calendar encoding {unknown[0]!r}")
        holidays, period = d.get("holidays"), d.get("holiday_period")
        if period is not None:
            holidays = d.get("holiday_counts")
            if holidays is None:
                raise ValueError("holiday_period without holiday_counts")
        if period is not None:
            from lstmcli.data.frequency import parse_offset

            try:
                parse_offset(str(period))
            except ConfigError:
                raise ValueError(f"unknown holiday period {period!r}") from None
        return cls(
            tuple(str(c) for c in d.get("columns") or ()),
            calendar,
            None if holidays is None else str(holidays),
            None if period is None else str(period),
        )


def known_inputs_for(calendar: bool, holidays: str | None, data: SeriesData) -> KnownInputs:
    """The known inputs a fit on ``data`` uses: its known-future columns, and the calendar encodings
    and holiday country the options ask for (checked against the data's frequency)."""
    from lstmcli.data.calendar import calendar_encodings, holiday_country, holiday_period

    encodings = calendar_encodings(data.freq) if calendar else ()
    country = holiday_country(holidays, data.freq) if holidays else None
    if (calendar or holidays) and data.timestamps is None:
        raise ConfigError("--calendar and --holidays need a series with dates on a regular frequency")
    period = holiday_period(data.freq) if country else None
    return KnownInputs(tuple(data.future_feature_names), encodings, country, period)


def known_for_forecast(
    known: KnownInputs, tail_known: np.ndarray, data: SeriesData | None, future: FutureValues | None,
    need: int, last_ts: np.datetime64 | None, freq: str | None, n_obs: int,
) -> np.ndarray | None:  # fmt: skip
    """(n + need, K) raw known inputs for a forecast: those of the history (the model's stored tail, or
    ``data``'s) and of the ``need`` steps after it (the known-future columns from ``future`` or from
    ``data``'s trailing rows; calendar and holidays rebuilt from the dates). None without any."""
    if not known.width:
        return None
    last = f"step {n_obs}"
    if last_ts is not None:
        text = str(np.datetime64(last_ts, "s")).replace("T", " ")
        last = text[:10] if text.endswith("00:00:00") else text
    if data is None:
        history = tail_known
    else:
        history = known.matrix(data.future_features, data.timestamps, len(data.values))
    expected = None
    if last_ts is not None and freq:
        from lstmcli.data.stepdates import future_timestamps

        expected = future_timestamps(last_ts, freq, need)
    columns = None
    if known.columns:
        from lstmcli.data.future import FutureValues, rows_for

        if future is not None and data is not None and data.ahead is not None:
            raise ConfigError(
                f"{data.path} has trailing rows without '{data.target}' (the forecast period) and --future "
                "gives it too; use one of them"
            )
        if future is None and data is not None and data.ahead is not None:
            future = FutureValues(
                str(data.path), known.columns, data.ahead, data.ahead_timestamps, data.ahead_lines
            )
        if future is None:
            raise DataError(
                f"the model takes inputs known in advance ({', '.join(known.columns)}): give their values "
                f"for the {_steps(need)} after {last} with --future FILE, or as trailing rows of --data "
                "whose target is empty"
            )
        columns = rows_for(future, expected, need, last)
    if known.from_dates and expected is None:
        raise DataError(
            "the model's calendar or holiday inputs need the series' dates, and these data have none"
        )
    return np.vstack([history, known.matrix(columns, expected, need)])


def _steps(n: int) -> str:
    """ "step" or "N steps", as a message counts the steps of a forecast period."""
    return "step" if n == 1 else f"{n} steps"
