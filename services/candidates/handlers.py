"""Handlers of the organisation tree's events (consumer group "candidates-tree"): keep the local
copy of the tree that scope checks and cell checks read. One thin function per event type."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.consumer import Handler
from shared.contracts import CANDIDATE_TRANSFERRED, ORGANIZATION_MERGED, ORGANIZATION_STATE, Event
from shared.contracts.candidates import CLOSED_STAGES
from shared.outbox import record_event

from . import tree
from .models import Candidate, Transfer, outbox
from .registry import EVENT_SOURCE

CONSUMER = "candidates-tree"


def on_state(session: Session, event: Event, data: dict[str, Any]) -> None:
    tree.REPLICA.apply(session, data)


def on_merged(session: Session, event: Event, data: dict[str, Any]) -> None:
    """The merged organisation's open candidates follow it into `into_code`, when that is a cell,
    as a transfer recorded by the system (the tree itself comes from organization.state)."""
    into = tree.get(session, data["into_code"])
    if into is not None and into.type in tree.CELL_TYPES:
        _follow_merge(session, from_code=data["code"], to_code=data["into_code"], on=data["effective_date"],
                      event_id=event.id)


def _follow_merge(session: Session, *, from_code: str, to_code: str, on: date, event_id: str) -> None:
    moving = session.scalars(select(Candidate).where(Candidate.org_code == from_code,
                                                     Candidate.stage.notin_(CLOSED_STAGES + ("official",)))).all()
    for candidate in moving:
        session.add(Transfer(candidate_id=candidate.id, from_org_code=from_code, to_org_code=to_code,
                             date=max(on, candidate.last_transition_on), decision_number=None,
                             recorded_by=f"organization.merged {event_id}"))
        record_event(session, outbox=outbox, event_type=CANDIDATE_TRANSFERRED, source=EVENT_SOURCE,
                     subject=candidate.id, data={"candidate_id": candidate.id, "from_org_code": from_code,
                                                 "to_org_code": to_code, "date": max(on, candidate.last_transition_on)})
        candidate.org_code = to_code
        candidate.last_transition_on = max(on, candidate.last_transition_on)


HANDLER = Handler.per_event({ORGANIZATION_STATE: on_state, ORGANIZATION_MERGED: on_merged})
