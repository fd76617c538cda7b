"""Handlers of the organisation tree's events (consumer group "candidates-tree"): keep the local
copy of the tree that scope checks and cell checks read. One thin function per event type."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.consumer import Handler, PoisonEvent
from shared.contracts import (CANDIDATE_TRANSFERRED, ORGANIZATION_CREATED, ORGANIZATION_DISSOLVED,
                              ORGANIZATION_MERGED, ORGANIZATION_MOVED, ORGANIZATION_RENAMED, Event)
from shared.contracts.candidates import CLOSED_STAGES
from shared.outbox import record_event

from . import tree
from .models import Candidate, Transfer, outbox
from .registry import EVENT_SOURCE

CONSUMER = "candidates-tree"


def on_created(session: Session, event: Event, data: dict[str, Any]) -> None:
    try:
        tree.create(session, code=data["code"], name=data["name"], type=data["type"],
                    parent_code=data["parent_code"], effective_date=data["effective_date"])
    except tree.UnknownParent as exc:
        raise PoisonEvent(str(exc)) from exc


def on_renamed(session: Session, event: Event, data: dict[str, Any]) -> None:
    tree.rename(session, code=data["code"], name=data["name"], effective_date=data["effective_date"])


def on_moved(session: Session, event: Event, data: dict[str, Any]) -> None:
    try:
        tree.move(session, code=data["code"], parent_code=data["parent_code"])
    except tree.UnknownParent as exc:
        raise PoisonEvent(str(exc)) from exc


def on_merged(session: Session, event: Event, data: dict[str, Any]) -> None:
    """The merged organisation's children go under `into_code` (they also get organization.moved; moving
    twice is harmless), and its open candidates follow it, as a transfer recorded by the system."""
    into = tree.get(session, data["into_code"])
    for child in data["children_codes"]:
        if into is not None and tree.get(session, child) is not None:
            tree.move(session, code=child, parent_code=data["into_code"])
    tree.deactivate(session, code=data["code"], merged_into=data["into_code"])
    if into is not None and into.type in tree.CELL_TYPES:
        _follow_merge(session, from_code=data["code"], to_code=data["into_code"], on=data["effective_date"],
                      event_id=event.id)


def on_dissolved(session: Session, event: Event, data: dict[str, Any]) -> None:
    target = data["children_moved_to"]
    for child in data["children_codes"]:
        if target and tree.get(session, target) is not None and tree.get(session, child) is not None:
            tree.move(session, code=child, parent_code=target)
    tree.deactivate(session, code=data["code"])


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


HANDLER = Handler.per_event({
    ORGANIZATION_CREATED: on_created,
    ORGANIZATION_RENAMED: on_renamed,
    ORGANIZATION_MOVED: on_moved,
    ORGANIZATION_MERGED: on_merged,
    ORGANIZATION_DISSOLVED: on_dissolved,
})
