"""A candidate's next deadline, as the list and the record show it: what is due next at the
candidate's stage, on which date, and whether it has passed (late).

- trained, applied: the training certificate's expiry (60 months; the cell must consider admission
  before it, or the class is retaken);
- proposed: the admission decision, 60 working days after the cell's resolution;
- admitted: the end of probation (12 months), when recognition is due;
- source, official and the closed stages: none.

The kinds are those of the reminders (shared/contracts/candidates.py REMINDER_KINDS), so a page
names a deadline and its reminder alike. The dates come from rules.py (the version in force).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from shared.config import setting

from . import rules
from .models import Candidate


@lru_cache(maxsize=1)
def holidays() -> frozenset[date]:
    """Public holidays skipped when counting working days: CHITIEU_CANDIDATES_HOLIDAYS=2025-09-02,2026-01-01."""
    raw = setting("CANDIDATES_HOLIDAYS", "")
    return frozenset(date.fromisoformat(d.strip()) for d in raw.split(",") if d.strip())


@dataclass(frozen=True)
class Deadline:
    kind: str  # probation_ending, certificate_expiring, decision_overdue
    due_date: date
    late: bool  # the date has passed and the step is still not taken

    def to_dict(self) -> dict:
        return {"kind": self.kind, "due_date": self.due_date.isoformat(), "late": self.late}


def next_deadline(candidate: Candidate, *, as_of: date, holidays: frozenset[date] = frozenset()) -> Deadline | None:
    """What is due next for `candidate` on `as_of` (None when nothing is)."""
    stage = candidate.stage
    if stage in ("trained", "applied") and candidate.training_certificate_date:
        due, kind = rules.certificate_expiry(candidate.training_certificate_date), "certificate_expiring"
    elif stage == "proposed" and candidate.cell_resolution_date:
        due, kind = rules.decision_due(candidate.cell_resolution_date, holidays), "decision_overdue"
    elif stage == "admitted" and candidate.admission_date:
        due, kind = rules.probation_end(candidate.admission_date), "probation_ending"
    else:
        return None
    return Deadline(kind, due, as_of > due)
