"""Admissions per (organisation, admission date): the ledger's sums by day, kept beside the
period counters in the same transaction. Figures as of a past date are a cut-off (the sum of the
days up to it), and the pace charts are these sums by month."""
from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.bulk import insert_many

from .counters import FIELDS, Figures
from .models import DailyCounter

DayKey = tuple[str, date]  # (org_code, day)
CHUNK = 1000  # organisation codes per IN list


def add(session: Session, totals: dict[DayKey, Figures]) -> None:
    """Add `totals` to the day rows, in key order (as counters.add: concurrent writers lock alike)."""
    insert_many(session, DailyCounter.__table__,
                [{"org_code": org, "day": day, **{f: totals[(org, day)].get(f, 0) for f in FIELDS}}
                 for org, day in sorted(totals)],
                conflict=("org_code", "day"), add=FIELDS)


def sums(session: Session, org_codes: list[str], *, start: date, last: date) -> dict[str, Figures]:
    """Each organisation's figures for the admissions dated start..last (both included)."""
    out: dict[str, Figures] = {code: dict.fromkeys(FIELDS, 0) for code in org_codes}
    columns = [func.coalesce(func.sum(getattr(DailyCounter, f)), 0) for f in FIELDS]
    for i in range(0, len(org_codes), CHUNK):
        rows = session.execute(select(DailyCounter.org_code, *columns).where(
            DailyCounter.org_code.in_(org_codes[i:i + CHUNK]), DailyCounter.day >= start, DailyCounter.day <= last)
            .group_by(DailyCounter.org_code))
        for code, *values in rows:
            out[code] = {f: int(v) for f, v in zip(FIELDS, values)}
    return out


def by_day(session: Session, org_code: str, *, start: date, end: date) -> list[tuple[date, int]]:
    """(day, admitted) of the days start <= day < end with admissions, in order."""
    return [(day, int(n)) for day, n in session.execute(
        select(DailyCounter.day, DailyCounter.admitted).where(
            DailyCounter.org_code == org_code, DailyCounter.day >= start, DailyCounter.day < end,
            DailyCounter.admitted != 0).order_by(DailyCounter.day))]
