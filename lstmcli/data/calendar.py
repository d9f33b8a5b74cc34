"""Inputs derived from the dates, known for any future date: calendar cycles and public holidays.

``--calendar`` encodes each cycle shorter than a year that the series' frequency can see as a point on
a circle, ``sin`` and ``cos`` of its phase, so that the last day of a cycle sits next to the first
(December next to January, Sunday next to Monday) and no cycle has a jump:

============================  =======================================================
frequency                     encodings
============================  =======================================================
hourly and finer              hour of day, day of week
daily, business days          day of week, day of month, day of year
weekly                        day of year (of the week's date)
monthly                       month of year
quarterly                     quarter of year
yearly                        none: ``--calendar`` is refused
============================  =======================================================

``--holidays CC`` adds one column from the public holidays of country ``CC`` (the ``holidays``
package, an optional extra): for data of a day or finer, 1 on a holiday, else 0; for coarser data
(weekly, monthly, quarterly, yearly) the number of holidays in the period a date stands for
(``holiday_counts``): the period ENDING on the date for offsets that end a period (weeks ``W-SUN``,
month ends ``ME``, ``QE``, ``YE``: pandas labels a week by its last day), the period STARTING on it for
the others (``MS``, ``QS``, ``YS``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcli.data.frequency import describe_freq, offset_base, parse_offset
from lstmcli.errors import ConfigError, OptionError

__all__ = [
    "ENCODINGS",
    "calendar_columns",
    "calendar_encodings",
    "holiday_column",
    "holiday_counts",
    "holiday_country",
    "holiday_period",
]

# encoding -> (phase in [0, 1) of each date, what it is called)
ENCODINGS = ("hour_of_day", "day_of_week", "day_of_month", "day_of_year", "month_of_year", "quarter_of_year")
_SUB_DAILY = ("h", "min", "s", "ms", "us", "ns", "bh", "cbh")
_DAILY = ("D", "B", "C")


def calendar_encodings(freq: str | None) -> tuple[str, ...]:
    """The encodings ``--calendar`` uses for a series of frequency ``freq`` (a pandas alias)."""
    if freq is None:
        raise ConfigError(
            "--calendar needs dates on a regular frequency; this series has none (give --freq, or a time column)"
        )
    base = offset_base(parse_offset(freq))
    if base in _SUB_DAILY:
        return ("hour_of_day", "day_of_week")
    if base in _DAILY:
        return ("day_of_week", "day_of_month", "day_of_year")
    if base == "W":
        return ("day_of_year",)
    if base in ("MS", "ME", "BMS", "BME", "SMS", "SME"):
        return ("month_of_year",)
    if base in ("QS", "QE", "BQS", "BQE"):
        return ("quarter_of_year",)
    raise ConfigError(
        f"--calendar: the series is {describe_freq(freq)}; no calendar cycle is shorter than its step"
    )


def _phase(t: pd.DatetimeIndex, encoding: str) -> np.ndarray:
    """Where each date is in the cycle, a fraction in [0, 1)."""
    if encoding == "hour_of_day":
        return (t.hour + t.minute / 60 + t.second / 3600) / 24
    if encoding == "day_of_week":
        return t.day_of_week / 7
    if encoding == "day_of_month":
        return (t.day - 1) / t.days_in_month
    if encoding == "day_of_year":
        return (t.day_of_year - 1) / np.where(t.is_leap_year, 366, 365)
    if encoding == "month_of_year":
        return (t.month - 1) / 12
    if encoding == "quarter_of_year":
        return (t.quarter - 1) / 4
    raise ConfigError(f"unknown calendar encoding {encoding!r}; known: {', '.join(ENCODINGS)}")


def calendar_columns(timestamps: np.ndarray, encodings: tuple[str, ...]) -> np.ndarray:
    """(n, 2 * len(encodings)) float64: sin and cos of each encoding's phase, in that order."""
    t = pd.DatetimeIndex(np.asarray(timestamps, dtype="datetime64[ns]"))
    out = []
    for e in encodings:
        angle = 2 * np.pi * np.asarray(_phase(t, e), dtype=np.float64)
        out += [np.sin(angle), np.cos(angle)]
    return np.column_stack(out) if out else np.empty((len(t), 0))


def holiday_country(country: str, freq: str | None) -> str:
    """``--holidays`` checked: the package is installed, the country known, the data dated."""
    try:
        import holidays
    except ImportError:
        raise ConfigError("--holidays needs the holidays package: pip install 'lstmcli[holidays]'") from None
    code = str(country).strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise OptionError(
            f"--holidays {country!r} is not a country the holidays package knows; give an ISO 3166 code "
            "such as US, GB, DE, FR or JP"
        )
    if freq is None:
        raise ConfigError(
            "--holidays needs dates on a regular frequency; this series has none (give --freq, or a time column)"
        )
    return code


def holiday_period(freq: str | None) -> str | None:
    """The frequency whose periods ``--holidays`` counts holidays in: None for daily or finer data
    (a flag per date), else ``freq`` itself."""
    if freq is None or offset_base(parse_offset(freq)) in (*_SUB_DAILY, *_DAILY):
        return None
    return freq


def _holiday_days(country: str, first: np.datetime64, last: np.datetime64) -> np.ndarray:
    """The public holidays of ``country`` from ``first`` to ``last`` (datetime64[D], sorted)."""
    try:
        import holidays
    except ImportError:  # a model trained with --holidays, read where the package is missing
        raise ConfigError(
            f"the model has a holiday input ({country}), which needs the holidays package: "
            "pip install 'lstmcli[holidays]'"
        ) from None
    years = range(int(str(first)[:4]), int(str(last)[:4]) + 1)
    calendar = holidays.country_holidays(country, years=years)
    return np.array(sorted(calendar.keys()), dtype="datetime64[D]")


def holiday_counts(timestamps: np.ndarray, country: str, freq: str) -> np.ndarray:
    """(n,) float64: the number of public holidays of ``country`` in the period of ``freq`` each date
    stands for (the period ending on it for a week or a period end, else the one starting on it)."""
    t = pd.DatetimeIndex(np.asarray(timestamps, dtype="datetime64[ns]")).normalize()
    if not len(t):
        return np.zeros(0)
    off = parse_offset(freq)
    name = type(off).__name__
    if name == "Week" or name.endswith("End"):  # (t - one step, t]
        first = (t - off) + pd.Timedelta(days=1)
        last = t
    else:  # [t, t + one step)
        first = t
        last = (t + off) - pd.Timedelta(days=1)
    first = np.asarray(first.values, dtype="datetime64[D]")
    last = np.asarray(last.values, dtype="datetime64[D]")
    days = _holiday_days(country, first.min(), last.max())
    return (np.searchsorted(days, last, side="right") - np.searchsorted(days, first, side="left")).astype(
        np.float64
    )


def holiday_column(timestamps: np.ndarray, country: str, period: str | None = None) -> np.ndarray:
    """(n,) float64: 1.0 where the date is a public holiday of ``country``, else 0.0; with ``period``
    (a frequency coarser than a day, ``holiday_period``) the number of holidays in each date's period."""
    if period is not None:
        return holiday_counts(timestamps, country, period)
    days = np.asarray(timestamps, dtype="datetime64[D]")
    if not len(days):
        return np.zeros(0)
    return np.isin(days, _holiday_days(country, days.min(), days.max())).astype(np.float64)
