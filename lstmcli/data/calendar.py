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

``--holidays CC`` adds one column: 1 on the public holidays of country ``CC`` (the ``holidays``
package, an optional extra), else 0; for data of a day or finer only (a week or a month holds a
varying number of holidays; give such counts as a ``--future-features`` column instead).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcli.data.frequency import describe_freq, offset_base, parse_offset
from lstmcli.errors import ConfigError

__all__ = ["ENCODINGS", "calendar_columns", "calendar_encodings", "holiday_column", "holiday_country"]

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
    """``--holidays`` checked: the package is installed, the country known, the data daily or finer."""
    try:
        import holidays
    except ImportError:
        raise ConfigError("--holidays needs the holidays package: pip install 'lstmcli[holidays]'") from None
    code = str(country).strip().upper()
    supported = holidays.list_supported_countries()
    if code not in supported:
        raise ConfigError(
            f"--holidays {country!r} is not a country the holidays package knows; give an ISO 3166 code "
            "such as US, GB, DE, FR or JP"
        )
    if freq is None or offset_base(parse_offset(freq)) not in (*_SUB_DAILY, *_DAILY):
        raise ConfigError(
            f"--holidays needs daily or finer data with dates; this series is "
            f"{describe_freq(freq) if freq else 'without a frequency'} (give holiday counts as a "
            "--future-features column instead)"
        )
    return code


def holiday_column(timestamps: np.ndarray, country: str) -> np.ndarray:
    """(n,) float64: 1.0 where the date is a public holiday of ``country``, else 0.0."""
    try:
        import holidays
    except ImportError:  # a model trained with --holidays, read where the package is missing
        raise ConfigError(
            f"the model has a holiday input ({country}), which needs the holidays package: "
            "pip install 'lstmcli[holidays]'"
        ) from None

    days = np.asarray(timestamps, dtype="datetime64[D]")
    if not len(days):
        return np.zeros(0)
    years = range(int(str(days.min())[:4]), int(str(days.max())[:4]) + 1)
    calendar = holidays.country_holidays(country, years=years)
    known = np.array(sorted(calendar.keys()), dtype="datetime64[D]")
    return np.isin(days, known).astype(np.float64)
