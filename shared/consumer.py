"""The consumer runner: reads events from Kafka and applies each exactly once to the service's
database, whatever Kafka redelivers.

For every record, in partition order:
  1. Parse the CloudEvent and check its data against the contract. A record that can never
     succeed (bad JSON, unknown type, schema violation, or a handler raising `PoisonEvent`) goes
     to the dead-letter topic with the reason and its original topic, partition and offset.
  2. In ONE database transaction: record (consumer, event id) in `processed_events` and run the
     handler's `apply`. A redelivered event finds its row and is skipped.
  3. After the commit, run the handler's optional `project` (an idempotent write to a read model
     such as Redis). It runs on redeliveries too, so a crash between 2 and 3 heals itself.
  4. Commit the offsets of the records whose effect is durable.
A failing handler is retried with exponential backoff: without limit while the database or Redis
is unreachable, `max_attempts` times for any other error, then the record goes to the dead-letter
topic. SIGTERM finishes the record in hand, commits and closes.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from .config import Settings
from .contracts import BY_TYPE, DEAD_LETTER_TOPIC, Event, EventType, InvalidEvent, parse_record
from .db import Database
from .kafka import ensure_topics, make_consumer, make_producer

log = logging.getLogger(__name__)

# Errors that say "the infrastructure is away", not "this message is bad": retry without limit.
TRANSIENT = (OperationalError, RedisConnectionError, RedisTimeoutError, KafkaError)


class _Stopping(Exception):
    """Stop was asked while a record waited for a retry: it stays uncommitted for the next run."""


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never succeed: straight to the dead-letter topic."""


@dataclass(frozen=True)
class Handler:
    event_type: EventType
    # Runs inside the transaction that records the event as processed: exactly once.
    apply: Callable[[Session, Event, dict[str, Any]], None]
    # Runs after the commit, on every delivery: must be idempotent.
    project: Callable[[Event, dict[str, Any]], None] | None = None


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        return min(self.initial_backoff_s * (2 ** (attempt - 1)), self.max_backoff_s)


class ConsumerRunner:
    def __init__(self, *, name: str, db: Database, settings: Settings, handlers: list[Handler],
                 retry: RetryPolicy = RetryPolicy(), **consumer_config):
        self.name = name
        self.db = db
        self.settings = settings
        self.handlers = {h.event_type.type: h for h in handlers}
        self.topics = sorted({h.event_type.topic for h in handlers})
        self.retry = retry
        self.consumer_config = consumer_config
        self._consumer = None
        self._producer = None

    # --- the loop ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        ensure_topics(self.settings)
        self._consumer = make_consumer(self.settings, group=self.name, topics=self.topics,
                                       **self.consumer_config)
        log.info("consumer started", extra={"consumer": self.name, "topics": self.topics})
        try:
            while not stop.is_set():
                try:
                    batches = self._consumer.poll(timeout_ms=500)
                except KafkaError:
                    log.exception("poll failed; retrying")
                    stop.wait(1)
                    continue
                done: dict[TopicPartition, int] = {}
                try:
                    for tp, records in batches.items():
                        for record in records:
                            if stop.is_set():
                                raise _Stopping
                            self.process(record, stop)
                            done[tp] = record.offset
                except _Stopping:
                    pass
                finally:
                    self._commit(done)
        finally:
            self.close()

    def _commit(self, done: dict[TopicPartition, int]) -> None:
        if not done:
            return
        offsets = {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in done.items()}
        try:
            self._consumer.commit(offsets)
        except Exception:
            # A rebalance or broker restart: the records come again and are skipped as processed.
            log.warning("offset commit failed; records will be redelivered and skipped", exc_info=True)

    # --- one record ----------------------------------------------------------------------------
    def process(self, record, stop: threading.Event | None = None) -> str:
        """Handle one Kafka record; returns what happened: applied, duplicate, skipped or dead-lettered."""
        try:
            event = parse_record(record.value, record.key, record.headers)
            event_type = BY_TYPE.get(event.type)
            if event_type is None:
                raise InvalidEvent(f"unknown event type {event.type!r}")
            handler = self.handlers.get(event.type)
            if handler is None:
                return "skipped"  # a contract event this consumer does not need
            data = event_type.validate(event.data)
        except InvalidEvent as exc:
            self.dead_letter(record, str(exc))
            return "dead-lettered"

        attempt = 0
        while True:
            attempt += 1
            try:
                outcome = self._apply_once(handler, event, data, record)
                if handler.project is not None:
                    handler.project(event, data)
                return outcome
            except PoisonEvent as exc:
                self.dead_letter(record, f"rejected by handler: {exc}")
                return "dead-lettered"
            except TRANSIENT as exc:
                wait = self.retry.backoff(min(attempt, 10))
                log.warning("infrastructure unavailable; retrying", extra={"event_id": event.id,
                                                                           "error": str(exc)[:300], "wait_s": wait})
            except Exception as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    wait = self.retry.backoff(min(attempt, 10))
                elif attempt >= self.retry.max_attempts:
                    log.exception("handler failed %s times; dead-lettering", attempt, extra={"event_id": event.id})
                    self.dead_letter(record, f"handler failed after {attempt} attempts: {exc!r}"[:1000])
                    return "dead-lettered"
                else:
                    wait = self.retry.backoff(attempt)
                    log.warning("handler failed; retrying", extra={"event_id": event.id, "attempt": attempt,
                                                                   "error": repr(exc)[:300]})
            if stop is not None and stop.is_set():
                raise _Stopping
            time.sleep(wait)

    def _apply_once(self, handler: Handler, event: Event, data: dict[str, Any], record) -> str:
        processed = self.db.processed
        with self.db.transaction() as session:
            seen = session.execute(select(processed.c.event_id).where(
                processed.c.consumer == self.name, processed.c.event_id == event.id)).first()
            if seen:
                return "duplicate"
            # Inserted before the effect: a concurrent replica with the same event blocks on the
            # primary key, then fails, retries and finds the row.
            session.execute(processed.insert().values(
                consumer=self.name, event_id=event.id, topic=record.topic, partition=record.partition,
                offset=record.offset))
            handler.apply(session, event, data)
        return "applied"

    # --- dead letters --------------------------------------------------------------------------
    def dead_letter(self, record, reason: str) -> None:
        """Publish the record unchanged to the dead-letter topic, with why and where it came from."""
        if self._producer is None:
            self._producer = make_producer(self.settings)
        headers = list(record.headers or []) + [
            ("dlq.reason", reason.encode()),
            ("dlq.consumer", self.name.encode()),
            ("dlq.original.topic", record.topic.encode()),
            ("dlq.original.partition", str(record.partition).encode()),
            ("dlq.original.offset", str(record.offset).encode()),
        ]
        # Wait for the acknowledgement: the offset is committed after this, so it must not be lost.
        self._producer.send(self.settings.topic(DEAD_LETTER_TOPIC), key=record.key,
                            value=record.value if record.value is not None else b"",
                            headers=headers).get(timeout=30)
        log.error("event dead-lettered", extra={"reason": reason, "topic": record.topic,
                                                "partition": record.partition, "offset": record.offset})

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None
        log.info("consumer stopped", extra={"consumer": self.name})


def install_sigterm(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set `stop`, so the loop finishes the record in hand and commits."""
    import signal

    def _stop(signum, _frame):
        log.info("signal received; stopping", extra={"signal": signum, "pid": os.getpid()})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
