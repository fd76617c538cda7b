"""The audit trail of the platform: who did what, when, on which organisation.

Every service's events carry their actor (shared/actor.py); the audit consumer (handlers.py)
writes one entry per event here, once (the event id is unique), and `search` answers
`GET /api/v1/audit` and the /audit page: newest first (the event's time, then arrival), within
an organisation's subtree, by actor, kind and dates, a page at a time (shared/pagination.py).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shared import clock
from shared.auth import ALL_ORGS, Principal
from shared.bulk import insert_or_ignore
from shared.contracts import (ALL_EVENT_TYPES, BY_TYPE, CANDIDATE_REMINDER_DUE, ORGANIZATION_STATE, Event,
                              EventType)
from shared.codes import normalize_code
from shared.problems import Problem

from . import tree
from .models import AuditEntry

# Everything that records a change or a read; the tree's state repeats its change events, and a
# reminder is a deadline, not an act.
AUDITED: tuple[EventType, ...] = tuple(t for t in ALL_EVENT_TYPES
                                       if t not in (ORGANIZATION_STATE, CANDIDATE_REMINDER_DUE))
KINDS = tuple(sorted(t.name for t in AUDITED))
FAMILIES = tuple(sorted({k.split(".")[0] for k in KINDS}))  # "candidate": every candidate.* kind


def record(session: Session, events: list[tuple[Event, dict]]) -> int:
    """One entry per event (an id already written is left alone); returns how many were new."""
    rows = []
    for event, _data in events:
        orgs = [code for code in BY_TYPE[event.type].organizations(event.data) if code]
        rows.append(dict(event_id=event.id, occurred_at=event.time, actor=event.actor, actor_role=event.actorrole,
                         kind=BY_TYPE[event.type].name, source=event.source, subject=event.subject,
                         org_code=orgs[0] if orgs else None,
                         other_org_code=next((c for c in orgs[1:] if c != orgs[0]), None), data=event.data))
    return insert_or_ignore(session, AuditEntry, rows)


@dataclass(frozen=True)
class Query:
    org: str | None  # a subtree; None: everything (a country-wide caller only)
    actor: str | None = None
    kind: str | None = None  # a kind (candidate.stage_changed) or a family (candidate)
    since: date | None = None  # dates in Vietnam, both included
    until: date | None = None
    page: int = 1
    per_page: int = 50


def check_kind(kind: str | None) -> str | None:
    if kind is None or kind in KINDS or kind in FAMILIES:
        return kind
    raise Problem(422, "Unprocessable Content", "invalid fields: kind",
                  errors={"kind": [f"một trong / one of: {', '.join(FAMILIES + KINDS)}"]})


def page(session: Session, *, principal: Principal, query: Query) -> tuple[list[AuditEntry], int]:
    """`search` within the caller's scope: `org` (default: the caller's) must lie in the caller's
    subtree (403); a country-wide caller sees everything, or one known organisation's subtree."""
    asked = normalize_code(query.org.strip()) if query.org and query.org.strip() else None
    org = None if asked == ALL_ORGS else asked
    if principal.org != ALL_ORGS:
        org = asked or principal.org
        # The caller's own organisation too: not yet in the copy of the tree, it is not answered.
        if org == ALL_ORGS or not tree.is_within(session, org, principal.org):
            raise Problem(403, "Forbidden", f"tổ chức '{org}' nằm ngoài phạm vi '{principal.org}' của bạn / "
                                            f"organisation '{org}' is outside your scope '{principal.org}'",
                          errors={"org": ["ngoài phạm vi của bạn / outside your scope"]})
    elif org is not None and tree.get(session, org) is None:
        raise Problem(422, "Unprocessable Content", f"không có tổ chức '{org}' / no organisation '{org}'",
                      errors={"org": ["tổ chức không tồn tại / unknown organisation"]})
    return search(session, replace(query, org=org))


def search(session: Session, query: Query) -> tuple[list[AuditEntry], int]:
    """A page of entries, newest first, and how many match in all."""
    a = AuditEntry
    stmt = select(a)
    if query.org is not None:
        below = tree.subtree(query.org)
        stmt = stmt.where(or_(a.org_code.in_(below), a.other_org_code.in_(below)))
    if query.actor:
        stmt = stmt.where(a.actor == query.actor)
    kind = check_kind(query.kind)
    if kind in FAMILIES:
        stmt = stmt.where(a.kind.in_([k for k in KINDS if k.split(".")[0] == kind]))
    elif kind:
        stmt = stmt.where(a.kind == kind)
    if query.since and query.until and query.since > query.until:
        raise Problem(422, "Unprocessable Content", "invalid fields: from",
                      errors={"from": ["sau ngày 'to' / after 'to'"]})
    if query.since:
        stmt = stmt.where(a.occurred_at >= _start_of(query.since))
    if query.until:
        stmt = stmt.where(a.occurred_at < _start_of(query.until + timedelta(days=1)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.scalars(stmt.order_by(a.occurred_at.desc(), a.id.desc())
                           .offset((query.page - 1) * query.per_page).limit(query.per_page))
    return list(rows), total


def _start_of(day: date) -> datetime:
    """Midnight of a Vietnamese calendar day, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=clock.local_zone()).astimezone(timezone.utc)


def entry_view(entry: AuditEntry) -> dict:
    at = entry.occurred_at if entry.occurred_at.tzinfo else entry.occurred_at.replace(tzinfo=timezone.utc)
    return {"event_id": entry.event_id, "time": at, "actor": entry.actor, "actor_role": entry.actor_role,
            "kind": entry.kind, "source": entry.source, "subject": entry.subject, "org_code": entry.org_code,
            "other_org_code": entry.other_org_code, "data": entry.data}
