"""The outbox relay: publishes pending outbox rows to Kafka in the order they were written, then
marks them sent, or failed when Kafka can never take them.

Guarantees: at least once, in order per key (topic and key). If the relay dies after Kafka
acknowledged a row but before the mark is committed, the row is published again on the next pass;
consumers drop the duplicate by event id.

A row that can never be sent as it is (larger than the producer's max_request_size or the topic's
max.message.bytes, any other non-retriable Kafka error) is marked failed with its error and logged
at error level; the rows of OTHER keys go on, the later rows of ITS key wait as pending until an
administrator fixes the cause and retries it (`chitieu outbox failed|retry`). A transient failure
(broker away, timeout) leaves the row pending with attempts + 1 and the error; the relay backs off.
One limit: a record the broker itself refuses, while a later record of its key in the same batch
was accepted, leaves that later record on the topic first (it is sent again, after, on retry).

The relay never holds a database transaction while it waits for Kafka: it reads a batch, sends
and flushes outside any transaction, then records the outcome in one short write transaction, so
on SQLite the API and the consumers keep the write lock to themselves meanwhile. Two replicas of
the relay on one database would publish the same rows out of order; one replica at a time runs a
pass (`_exclusive`), the others find the lock taken and wait for their next turn.
"""
from __future__ import annotations

import fcntl
import json
import logging
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timezone
from typing import Iterator

from kafka.errors import (AuthorizationError, BrokerNotAvailableError, DuplicateSequenceNumberError,
                          IllegalStateError, InvalidProducerEpochError, InvalidProducerIdMappingError,
                          KafkaConfigurationError, KafkaError, KafkaProtocolError, KafkaTimeoutError,
                          OutOfOrderSequenceNumberError, QuotaViolationError, UnknownBrokerIdError, UnknownError,
                          UnrecognizedBrokerVersion, UnsupportedVersionError)
from sqlalchemy import exists, func, select, text, update

from . import clock, metrics, tracing
from .config import Settings
from .db import Database
from .kafka import ensure_topics, make_producer
from .outbox import FAILED, PENDING, SENT
from .retention import Pruner

log = logging.getLogger(__name__)
CONTENT_TYPE = [("content-type", b"application/cloudevents+json")]
# kafka-python flags these non-retriable, yet they pass with the broker, the producer or the
# permissions, not with the record: the row stays pending rather than being set aside.
_PASSING = (BrokerNotAvailableError, IllegalStateError, AuthorizationError, KafkaConfigurationError,
            KafkaProtocolError, UnknownError, UnknownBrokerIdError, UnrecognizedBrokerVersion,
            UnsupportedVersionError, QuotaViolationError, OutOfOrderSequenceNumberError,
            DuplicateSequenceNumberError, InvalidProducerEpochError, InvalidProducerIdMappingError)
# The PostgreSQL advisory lock of "the relay of this database" (advisory locks are per database).
_PG_LOCK_KEY = zlib.crc32(b"chitieu.outbox.relay")


def can_never_succeed(exc: BaseException) -> bool:
    """A send error that sending again cannot cure (MessageSizeTooLargeError, say)."""
    return isinstance(exc, KafkaError) and not exc.retriable and not isinstance(exc, _PASSING)


def trace_of(value: bytes) -> tracing.TraceContext | None:
    """The trace an outbox row's event carries in its envelope (the `traceparent` attribute)."""
    try:
        envelope = json.loads(bytes(value))
        return tracing.parse(envelope.get("traceparent"), envelope.get("tracestate"))
    except (ValueError, AttributeError):
        return None


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


@dataclass
class PassResult:
    """What one pass did: rows sent, rows set aside as failed and rows left pending after a
    transient failure ({seq: error})."""
    sent: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    waiting: dict[int, str] = field(default_factory=dict)


class OutboxRelay:
    def __init__(self, *, db: Database, settings: Settings, batch_size: int = 500, producer=None,
                 producer_config: dict | None = None, pruner: Pruner | None = None):
        self.db = db
        self.settings = settings
        self.batch_size = batch_size
        self._producer = producer
        self.producer_config = producer_config or {}  # overrides of shared.kafka.make_producer's
        self.pruner = pruner

    @property
    def producer(self):
        # Made on first use, in the process that uses it (never before a fork).
        if self._producer is None:
            self._producer = make_producer(self.settings, **self.producer_config)
        return self._producer

    def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were marked sent."""
        return len(self.publish_batch().sent)

    def publish_batch(self) -> PassResult:
        with self._exclusive() as mine:
            if not mine:
                return PassResult()  # another replica is publishing
            rows = self._read_batch()
            if not rows:
                return PassResult()
            result = self._send(rows)
            self._record(result)
        by_seq = {r.seq: r for r in rows}
        for seq in result.sent if log.isEnabledFor(logging.INFO) else ():
            row = by_seq[seq]
            with tracing.tracing(trace_of(row.value)):
                log.info("event sent", extra={"seq": seq, "event_id": row.event_id, "event_type": row.event_type,
                                              "topic": row.topic, "key": row.key})
        for seq, error in result.failed.items():
            row = by_seq[seq]
            log.error("outbox row can never be sent; set aside as failed (chitieu outbox failed / retry)",
                      extra={"seq": seq, "event_type": row.event_type, "key": row.key, "error": error})
        for seq, error in result.waiting.items():
            log.warning("outbox publish failed; will retry", extra={"seq": seq, "error": error})
        return result

    @contextmanager
    def _exclusive(self) -> Iterator[bool]:
        """Whether this relay may run a pass now; holds the claim until the pass ends."""
        if self.db.is_postgres:
            # A transaction-scoped advisory lock, rather than SELECT ... FOR UPDATE on the rows: the
            # rows are read and marked in transactions of their own, and FOR UPDATE with LIMIT and
            # the "no failed row of this key before it" condition would let a second replica skip
            # locked rows or re-check them against a stale snapshot. The lock goes with the
            # connection if the process dies. The transaction only holds the lock (no snapshot
            # between statements at READ COMMITTED), so it holds back nobody else.
            with self.db.engine.connect() as conn, conn.begin():
                yield bool(conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY}).scalar())
            return
        path = self.db.engine.url.database
        if not path or path == ":memory:":
            yield True
            return
        # SQLite: a lock file beside the database, so the database's own write lock stays free.
        with open(f"{path}.relay-lock", "a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_batch(self) -> list:
        """Pending rows in seq order, but none behind a failed row of the same topic and key."""
        outbox = self.db.outbox
        earlier = outbox.alias("earlier")
        blocked = exists().where(earlier.c.state == FAILED, earlier.c.topic == outbox.c.topic,
                                 earlier.c.key == outbox.c.key, earlier.c.seq < outbox.c.seq)
        query = (select(outbox.c.seq, outbox.c.event_id, outbox.c.event_type, outbox.c.topic, outbox.c.key,
                        outbox.c.value)
                 .where(outbox.c.state == PENDING, ~blocked).order_by(outbox.c.seq).limit(self.batch_size))
        with self.db.reading() as conn:  # on SQLite: no write lock, released before anything is sent
            return conn.execute(query).all()

    def _send(self, rows: list) -> PassResult:
        """Send and flush, outside any transaction; the outcome of each row."""
        result, suspects = self._settle(self._send_all(rows))
        if suspects:
            # The broker refused a record for good. kafka-python's idempotent producer then fails
            # every batch in flight with that same error and stays failed: a new producer, and each
            # suspect sent alone tells the refused record from the ones failed with it.
            self._discard_producer()
            if len(suspects) == 1:
                result.failed[suspects[0][0].seq] = describe(suspects[0][1])
            for row, _ in suspects if len(suspects) > 1 else ():
                alone, refused = self._settle(self._send_all([row]))
                for refused_row, error in refused:
                    self._discard_producer()
                    alone.failed[refused_row.seq] = describe(error)
                result.sent += alone.sent
                result.failed.update(alone.failed)
                result.waiting.update(alone.waiting)
        return result

    def _send_all(self, rows: list) -> list[tuple]:
        """Hand the rows to the producer and flush: (row, future | exception | None when not sent)."""
        attempts: list[tuple] = []
        refused: set[tuple[str, str]] = set()
        broker_away = False
        for row in rows:
            ident = (row.topic, row.key)
            if broker_away or ident in refused:
                attempts.append((row, None))
                continue
            try:
                attempts.append((row, self.producer.send(self.settings.topic(row.topic), key=row.key.encode(),
                                                         value=bytes(row.value), headers=CONTENT_TYPE)))
            except Exception as exc:  # refused before sending: too large for the producer, no metadata
                attempts.append((row, exc))
                refused.add(ident)
                # Without the broker every further send would block for max_block_ms.
                broker_away = not can_never_succeed(exc)
        if any(a is not None and not isinstance(a, BaseException) for _, a in attempts):
            try:
                self.producer.flush(timeout=30)
            except KafkaTimeoutError:
                pass  # the records not delivered yet count as transient failures below
        return attempts

    def _settle(self, attempts: list[tuple]) -> tuple[PassResult, list[tuple]]:
        """Each row's outcome in seq order; the first failure of a key blocks its later rows. Rows
        the broker refused for good come back apart as suspects (row, error)."""
        result, suspects = PassResult(), []
        blocked: set[tuple[str, str]] = set()
        for row, attempt in attempts:
            ident = (row.topic, row.key)
            if attempt is None or ident in blocked:
                continue  # waits behind the failure, untouched
            if isinstance(attempt, BaseException):
                error = attempt
            else:
                try:
                    attempt.get(timeout=0)
                    result.sent.append(row.seq)
                    continue
                except Exception as exc:
                    error = exc
                if can_never_succeed(error):
                    blocked.add(ident)
                    suspects.append((row, error))
                    continue
            blocked.add(ident)
            (result.failed if can_never_succeed(error) else result.waiting)[row.seq] = describe(error)
        return result, suspects

    def _discard_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=5)
            except Exception:
                log.warning("closing a failed producer failed", exc_info=True)
            self._producer = None

    def _record(self, result: PassResult) -> None:
        """The outcome of a pass, in one short write transaction."""
        outbox = self.db.outbox
        with self.db.transaction() as session:
            if result.sent:
                session.execute(update(outbox).where(outbox.c.seq.in_(result.sent)).values(
                    state=SENT, sent_at=clock.now(), attempts=outbox.c.attempts + 1))
            for seq, error in result.failed.items():
                session.execute(update(outbox).where(outbox.c.seq == seq).values(
                    state=FAILED, attempts=outbox.c.attempts + 1, last_error=error))
            for seq, error in result.waiting.items():
                session.execute(update(outbox).where(outbox.c.seq == seq).values(
                    attempts=outbox.c.attempts + 1, last_error=error))

    def run(self, stop: threading.Event, *, idle_sleep: float | None = None) -> None:
        """Publish until `stop` is set; backs off while the broker or the database is away. Prunes
        old rows between passes when given a pruner (at most once per its interval)."""
        idle_sleep = self.settings.relay_idle_s if idle_sleep is None else idle_sleep
        ensure_topics_done = False
        backoff = 0.5
        while not stop.is_set():
            try:
                if not ensure_topics_done:
                    ensure_topics(self.settings)
                    ensure_topics_done = True
                result = self.publish_batch()
                if result.sent:
                    metrics.OUTBOX_SENT.labels(self.settings.service).inc(len(result.sent))
                if result.waiting:
                    stop.wait(backoff)
                    backoff = min(backoff * 2, 10)
                    continue
                backoff = 0.5
                if self.pruner is not None:
                    self.pruner.run_if_due(stop)
                if not result.sent and not result.failed:
                    stop.wait(idle_sleep)
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


def outbox_figures(db: Database) -> tuple[int, int, float | None]:
    """(pending rows, failed rows, the oldest pending row's creation as Unix time or None), for
    the metrics a relay serves (shared/metrics.OutboxCollector)."""
    outbox = db.outbox
    with db.reading() as conn:
        counts = dict(conn.execute(select(outbox.c.state, func.count()).where(outbox.c.state.in_((PENDING, FAILED)))
                                   .group_by(outbox.c.state)).all())
        oldest = conn.execute(select(func.min(outbox.c.created_at)).where(outbox.c.state == PENDING)).scalar()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=timezone.utc)  # SQLite keeps no zone; the column is UTC
    return counts.get(PENDING, 0), counts.get(FAILED, 0), oldest.timestamp() if oldest is not None else None
