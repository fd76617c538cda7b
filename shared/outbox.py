"""The transactional outbox, write side: an event is a row written in the same database
transaction as the change it reports, so a change and its event are committed together or not
at all. `shared.relay` publishes the rows to Kafka."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.orm import Session

from .contracts import Event, EventType, build_event


def record_event(
    session: Session,
    *,
    outbox: Table,
    event_type: EventType,
    data: dict[str, Any],
    source: str,
    subject: str | None = None,
) -> Event:
    """Validate `data`, wrap it in a CloudEvent and add it to the outbox in `session`'s transaction."""
    event = build_event(event_type, data, source=source, subject=subject)
    session.execute(
        outbox.insert().values(
            event_id=event.id,
            event_type=event.type,
            topic=event_type.topic,
            key=event.key,
            value=event.to_kafka_value(),
        )
    )
    return event
