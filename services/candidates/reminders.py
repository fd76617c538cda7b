"""Reminders as data: deadlines that approach or have passed.

- probation_ending: a probationary member whose 12 months end within the window (or have ended
  without recognition yet); due on the day probation ends.
- certificate_expiring: a candidate before admission whose training certificate expires within the
  window (or has expired); due on the expiry date.
- decision_overdue: a cell resolution older than the decision deadline (60 working days) with no
  decision yet; due on the deadline.

`due_reminders` lists them (the API, per organisation); `publish_due` writes candidate.reminder_due
through the outbox once per (candidate, kind, due date): the id is stable, `reminders_sent` remembers it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.contracts import CANDIDATE_REMINDER_DUE
from shared.contracts.candidates import OPEN_STAGES
from shared.outbox import record_event

from . import rules, tree
from .dates import add_months
from .models import Candidate, ReminderSent, outbox
from .registry import EVENT_SOURCE

WINDOW_DAYS = 30
CERTIFICATE_STAGES = OPEN_STAGES[OPEN_STAGES.index("trained"):]  # trained, not yet admitted


@dataclass(frozen=True)
class Reminder:
    kind: str
    candidate_id: str
    full_name: str
    org_code: str
    due_date: date

    @property
    def reminder_id(self) -> str:
        return f"{self.kind}:{self.candidate_id}:{self.due_date.isoformat()}"


def due_reminders(session: Session, *, as_of: date, org_code: str | None = None, window_days: int = WINDOW_DAYS,
                  holidays: frozenset[date] = frozenset()) -> list[Reminder]:
    """Every reminder due on `as_of` in `org_code`'s subtree (all organisations when None), by due date."""
    horizon = as_of + timedelta(days=window_days)
    base = select(Candidate)
    if org_code is not None:
        condition = tree.subtree_condition(session, org_code)
        if condition is None:
            return []
        base = base.where(condition)
    found: list[Reminder] = []

    # Coarse SQL filters (a few days of slack for month ends), then the exact rule in Python.
    admitted = session.scalars(base.where(Candidate.stage == "admitted",
                                          Candidate.admission_date <= add_months(horizon, -12) + timedelta(days=3)))
    for c in admitted:
        ends = rules.probation_end(c.admission_date)
        if ends <= horizon:
            found.append(Reminder("probation_ending", c.id, c.full_name, c.org_code, ends))

    certified = session.scalars(base.where(Candidate.stage.in_(CERTIFICATE_STAGES),
                                           Candidate.training_certificate_date
                                           <= add_months(horizon, -60) + timedelta(days=3)))
    for c in certified:
        expires = rules.certificate_expiry(c.training_certificate_date)
        if expires <= horizon:
            found.append(Reminder("certificate_expiring", c.id, c.full_name, c.org_code, expires))

    # 60 working days are at least 84 calendar days (12 weeks), more with holidays.
    proposed = session.scalars(base.where(Candidate.stage == "proposed",
                                          Candidate.cell_resolution_date < as_of - timedelta(days=84)))
    for c in proposed:
        due = rules.decision_due(c.cell_resolution_date, holidays)
        if as_of > due:
            found.append(Reminder("decision_overdue", c.id, c.full_name, c.org_code, due))
    found.sort(key=lambda r: (r.due_date, r.kind, r.candidate_id))
    return found


def publish_due(session: Session, *, as_of: date, holidays: frozenset[date] = frozenset()) -> int:
    """Write candidate.reminder_due for each reminder not yet sent; returns how many were written."""
    written = 0
    for reminder in due_reminders(session, as_of=as_of, holidays=holidays):
        if session.get(ReminderSent, reminder.reminder_id) is not None:
            continue
        session.add(ReminderSent(reminder_id=reminder.reminder_id, candidate_id=reminder.candidate_id,
                                 kind=reminder.kind, due_date=reminder.due_date, org_code=reminder.org_code))
        record_event(session, outbox=outbox, event_type=CANDIDATE_REMINDER_DUE, source=EVENT_SOURCE,
                     subject=reminder.candidate_id,
                     data={"reminder_id": reminder.reminder_id, "candidate_id": reminder.candidate_id,
                           "org_code": reminder.org_code, "kind": reminder.kind, "due_date": reminder.due_date})
        written += 1
    session.flush()
    return written
