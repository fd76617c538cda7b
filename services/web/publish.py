"""The web service's events (accounts and API clients, shared/contracts/accounts.py), written to
its outbox in the transaction of the change; its relay publishes them (`worker relay`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from shared.contracts import EventType
from shared.outbox import record_event

from .models import outbox

SOURCE = "/web"


def publish(session: Session, *, event_type: EventType, subject: str, data: dict[str, Any]) -> None:
    record_event(session, outbox=outbox, event_type=event_type, source=SOURCE, subject=subject, data=data)
