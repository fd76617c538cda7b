"""Date arithmetic the rules count in: full months of age, months added to a date, working days."""
from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta


def full_months_between(start: date, end: date) -> int:
    """Whole months from `start` to `end`, consistent with add_months: a person born on 31 January
    has a full month on the last day of February. Negative if `end` is before `start`."""
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if add_months(start, months) > end:
        months -= 1
    return months


def add_months(day: date, months: int) -> date:
    """The same day `months` later, clamped to the end of a shorter month (31 Jan + 1 = 28/29 Feb)."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def is_working_day(day: date, holidays: frozenset[date] = frozenset()) -> bool:
    return day.weekday() < 5 and day not in holidays


def working_days_after(start: date, end: date, holidays: frozenset[date] = frozenset()) -> int:
    """Working days (Monday to Friday, minus `holidays`) after `start` up to and including `end`."""
    if end <= start:
        return 0
    total_days = (end - start).days
    weeks, rest = divmod(total_days, 7)
    count = weeks * 5
    day = start + timedelta(days=weeks * 7)
    for _ in range(rest):
        day += timedelta(days=1)
        if day.weekday() < 5:
            count += 1
    count -= sum(1 for h in holidays if start < h <= end and h.weekday() < 5)
    return count


def add_working_days(start: date, days: int, holidays: frozenset[date] = frozenset()) -> date:
    """The date that is `days` working days after `start`."""
    day = start
    while days > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            days -= 1
    return day
