"""Calendar arithmetic for timepoint steps (minute … year), shared by the schema's range check
and the temporal modes."""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from enum import StrEnum


class TimeUnit(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


_FIXED = {
    TimeUnit.MINUTE: timedelta(minutes=1),
    TimeUnit.HOUR: timedelta(hours=1),
    TimeUnit.DAY: timedelta(days=1),
    TimeUnit.WEEK: timedelta(weeks=1),
}


def advance(start: datetime, steps: int, unit: TimeUnit) -> datetime:
    """``start`` moved by ``steps`` units (negative goes back); months and years keep the day.

    Raises:
        OverflowError: the result lies outside the years 1 to 9999.
    """
    if unit in _FIXED:
        return start + steps * _FIXED[unit]
    months = steps * (12 if unit is TimeUnit.YEAR else 1)
    total = start.year * 12 + (start.month - 1) + months
    year, month = divmod(total, 12)
    if not 1 <= year <= 9999:
        raise OverflowError(f"year {year} is out of range")
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return start.replace(year=year, month=month + 1, day=day)
