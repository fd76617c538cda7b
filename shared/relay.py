"""The outbox relay: publishes unpublished outbox rows to Kafka in the order they were written,
then marks them published.

Guarantees: at least once, in order per key. If the relay dies after Kafka acknowledged a row but
before the mark is committed, the row is published again on the next pass; consumers drop the
duplicate by event id. If one send fails, nothing after it in the batch is marked, so a later
event of the same key can never overtake an earlier one.
"""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timezone

from sqlalchemy import select, update

from .config import Settings
from .db import Database
from .kafka import ensure_topics, make_producer

log = logging.getLogger(__name__)
CONTENT_TYPE = [("content-type", b"application/cloudevents+json")]


class OutboxRelay:
    def __init__(self, *, db: Database, settings: Settings, batch_size: int = 500, producer=None):
        self.db = db
        self.settings = settings
        self.batch_size = batch_size
        self._producer = producer

    @property
    def producer(self):
        # Made on first use, in the process that uses it (never before a fork).
        if self._producer is None:
            self._producer = make_producer(self.settings)
        return self._producer

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were marked published."""
        outbox = self.db.outbox
        with self.db.transaction() as session:
            query = select(outbox.c.seq, outbox.c.topic, outbox.c.key, outbox.c.value).where(
                outbox.c.published_at.is_(None)).order_by(outbox.c.seq).limit(self.batch_size)
            if self.db.is_postgres:
                # A second relay replica waits here instead of publishing the same rows out of order.
                query = query.with_for_update()
            rows = session.execute(query).all()
            if not rows:
                return 0
            futures = [
                self.producer.send(self.settings.topic(r.topic), key=r.key.encode(), value=bytes(r.value),
                                   headers=CONTENT_TYPE)
                for r in rows
            ]
            self.producer.flush(timeout=30)
            sent, error = [], None
            for row, future in zip(rows, futures):
                try:
                    future.get(timeout=0)
                except Exception as exc:  # the first failure ends the batch: order per key
                    error = (row.seq, exc)
                    break
                sent.append(row.seq)
            self._mark_published(session, sent)
            if error:
                session.execute(update(outbox).where(outbox.c.seq == error[0]).values(
                    attempts=outbox.c.attempts + 1, last_error=str(error[1])[:2000]))
                log.warning("outbox publish failed", extra={"seq": error[0], "error": str(error[1])})
            return len(sent)

    def _mark_published(self, session, seqs: list[int]) -> None:
        if seqs:
            outbox = self.db.outbox
            session.execute(update(outbox).where(outbox.c.seq.in_(seqs)).values(
                published_at=datetime.now(timezone.utc)))

    def run(self, stop: threading.Event, *, idle_sleep: float = 0.1) -> None:
        """Publish until `stop` is set; backs off while the broker or the database is away."""
        ensure_topics_done = False
        backoff = 0.5
        while not stop.is_set():
            try:
                if not ensure_topics_done:
                    ensure_topics(self.settings)
                    ensure_topics_done = True
                if self.publish_pending() == 0:
                    stop.wait(idle_sleep)
                backoff = 0.5
            except Exception:
                log.exception("outbox relay pass failed; retrying")
                stop.wait(backoff)
                backoff = min(backoff * 2, 10)
        self.close()

    def close(self) -> None:
        if self._producer is not None:
            self._producer.flush(timeout=10)
            self._producer.close(timeout=10)
            self._producer = None
