"""The transactional outbox, write side: an event is a row written in the same database
transaction as the change it reports, so a change and its event are committed together or not
at all. `shared.relay` publishes the rows to Kafka; a row is pending, then sent, or failed when
Kafka can never take it (too large, say) until an administrator retries it (`chitieu outbox`)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Table, select, update
from sqlalchemy.engine import Connection
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


def record_events(session: Session, *, outbox: Table, events: list[tuple[EventType, dict[str, Any], str, str | None]]
                  ) -> list[Event]:
    """record_event for many (event type, data, source, subject) at once, in their order: one
    multi-row insert, for a request that makes thousands of changes (admission decisions in bulk)."""
    built = [(event_type, build_event(event_type, data, source=source, subject=subject))
             for event_type, data, source, subject in events]
    if built:
        session.execute(outbox.insert(), [
            dict(event_id=e.id, event_type=e.type, topic=t.topic, key=e.key, value=e.to_kafka_value())
            for t, e in built])
    return [e for _, e in built]


# --- states of an outbox row (shared/relay.py moves them) ------------------------------------
PENDING, SENT, FAILED = "pending", "sent", "failed"


def failed_rows(conn: Connection, *, outbox: Table) -> list[Row]:
    """The rows Kafka refused for good, oldest first: what `chitieu outbox failed` lists."""
    return conn.execute(
        select(outbox.c.seq, outbox.c.event_type, outbox.c.topic, outbox.c.key, outbox.c.attempts,
               outbox.c.last_error, outbox.c.created_at)
        .where(outbox.c.state == FAILED).order_by(outbox.c.seq)).all()


def retry_failed(session: Session, *, outbox: Table, seqs: list[int] | None = None) -> list[int]:
    """Set failed rows (those of `seqs`, or all) back to pending; returns their seqs. The relay then
    sends them before the rows of their key that waited behind them, in seq order."""
    query = select(outbox.c.seq).where(outbox.c.state == FAILED)
    if seqs:
        query = query.where(outbox.c.seq.in_(seqs))
    chosen = list(session.execute(query.order_by(outbox.c.seq)).scalars())
    if chosen:
        session.execute(update(outbox).where(outbox.c.seq.in_(chosen)).values(state=PENDING))
    return chosen
