"""The pace of an organisation over a period, by month: cumulative admissions against the even
pace to the target, and the previous year's curve (for a year). Read from the day counters, so
it agrees with the progress figures as of any date."""
from __future__ import annotations

from bisect import bisect_right
from datetime import date, timedelta
from itertools import accumulate

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock

from . import daily
from .models import Quota
from .organizations import get_organization
from .periods import Period, parse_period
from .quotas import check_period


def month_ends(period: Period) -> list[date]:
    """The last day of each month of the period."""
    ends, year, month = [], period.start.year, period.start.month
    while date(year, month, 1) < period.end:
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        ends.append(date(year, month, 1) - timedelta(days=1))
    return ends


class Curve:
    """Cumulative admissions of one organisation over a span of days."""

    def __init__(self, session: Session, org_code: str, start: date, end: date):
        rows = daily.by_day(session, org_code, start=start, end=end)
        self.days = [d for d, _ in rows]
        self.totals = list(accumulate(n for _, n in rows))

    def upto(self, day: date) -> int:
        """Admissions dated up to `day`, included."""
        i = bisect_right(self.days, day)
        return self.totals[i - 1] if i else 0


def target_of(session: Session, org_code: str, period: str) -> int | None:
    return session.execute(select(Quota.target).where(Quota.org_code == org_code, Quota.period == period)).scalar()


def pace_series(session: Session, *, org_code: str, period: str, as_of: date | None = None) -> dict:
    parsed = check_period(period)
    org = get_organization(session, org_code)
    as_of = as_of or clock.today()
    target = target_of(session, org_code, period)
    curve = Curve(session, org_code, parsed.start, parsed.end)
    previous = None
    if not parsed.is_term:
        previous = parse_period(str(parsed.start.year - 1))
        previous_curve = Curve(session, org_code, previous.start, previous.end)
    months = []
    for end in month_ends(parsed):
        row = {"month": end.strftime("%Y-%m"), "month_end": end,
               # A month not begun on as_of has no figure yet; the current one counts up to as_of.
               "admitted": curve.upto(min(end, as_of)) if end.replace(day=1) <= as_of else None,
               "even_pace": None if target is None else round(target * parsed.elapsed_share(end), 2)}
        if previous is not None:
            row["previous_year"] = previous_curve.upto(_same_day(end, previous.start.year))
        months.append(row)
    return {"org_code": org.code, "org_name": org.name, "period": period, "as_of": as_of, "target": target,
            "admitted": curve.upto(as_of),
            "previous_period": previous.code if previous else None,
            "previous_target": target_of(session, org_code, previous.code) if previous else None,
            "previous_admitted": previous_curve.upto(previous.end) if previous else None,
            "months": months}


def _same_day(day: date, year: int) -> date:
    """`day` in another year (29 February becomes 28 February)."""
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)
