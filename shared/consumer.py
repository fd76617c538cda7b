"""The one consumer of every service: reads events from Kafka and applies each exactly once to the
service's database, whatever Kafka redelivers.

A poll goes through small steps, each in its own place:
  1. parse and validate every record (shared/parsing.py); a record that can never succeed goes
     to the dead-letter topic (shared/deadletters.py);
  2. in ONE transaction: insert the poll's (consumer, event id) rows into `processed_events`
     (one statement; an event already there is dropped) and call the handler's
     `apply(session, events)` with the new ones;
  3. after the commit, the handler's optional `project(events, result)` (Redis, live streams)
     with every event of the poll, duplicates included, so a crash between 2 and 3 heals itself;
  4. commit the offsets.
One event is a poll of one: the same steps. If anything in a poll fails (a handler raising
`PoisonEvent`, a conflict, the database away), the poll is applied again record by record, each
with its retries: without limit while the database, Redis or Kafka is unreachable, `max_attempts`
times for any other error, then the record is dead-lettered. Too many dead letters in a row stop
the consumer (DeadLetterLimitReached) with nothing committed past them.

Polls are applied by an offload (shared/offload.py: a thread, or a child process) while the next
poll is fetched; at most one poll is in flight. SIGTERM finishes it, commits and closes.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from kafka.errors import KafkaError
from kafka.structs import OffsetAndMetadata, TopicPartition
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from . import metrics, tracing
from .actor import Actor, acting, current, system
from .bulk import insert_many
from .config import Settings
from .contracts import Event, EventType, InvalidEvent
from .db import Database
from .deadletters import DeadLetterLimitReached, DeadLetters, addressed_elsewhere
from .kafka import ensure_topics, make_consumer
from .offload import ProcessOffload, ThreadOffload
from .parsing import Parsed, Parser

log = logging.getLogger(__name__)

# Errors that say "the infrastructure is away", not "this message is bad": retry without limit.
TRANSIENT = (OperationalError, RedisConnectionError, RedisTimeoutError, KafkaError)

Events = list[tuple[Event, dict[str, Any]]]


@dataclass
class Tally:
    """What one poll did, counted where it was applied (a child process, maybe) and handed back
    with its offsets to the parent process, whose metrics Prometheus reads."""

    applied: dict[str, int] = field(default_factory=dict)  # new events, by CloudEvents type
    duplicates: int = 0
    retried: int = 0
    dead_lettered: dict[str, int] = field(default_factory=dict)  # by reason: invalid, rejected, failed

    def dead_letter(self, reason: str) -> None:
        self.dead_lettered[reason] = self.dead_lettered.get(reason, 0) + 1

    def record(self, consumer: str) -> None:
        for event_type, n in self.applied.items():
            metrics.EVENTS_APPLIED.labels(consumer, event_type).inc(n)
        if self.duplicates:
            metrics.EVENTS_DUPLICATE.labels(consumer).inc(self.duplicates)
        if self.retried:
            metrics.EVENTS_RETRIED.labels(consumer).inc(self.retried)
        for reason, n in self.dead_lettered.items():
            metrics.EVENTS_DEAD_LETTERED.labels(consumer, reason).inc(n)


@contextmanager
def caused_by(event: Event) -> Iterator[None]:
    """Inside the block, what is done for `event` is the act of the event's own actor (an older
    event without one: whoever acts now) in a span of the event's trace (a new trace for an event
    without one): the events written there carry both, and every line logged its trace id."""
    with acting(Actor(event.actor, event.actorrole) if event.actor else current()), \
            tracing.tracing(tracing.continued(event.traceparent, event.tracestate)):
        yield


class _Stopping(Exception):
    """Stop was asked while a record waited for a retry: it stays uncommitted for the next run."""


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never succeed: straight to the dead-letter topic."""


@dataclass(frozen=True)
class Handler:
    event_types: tuple[EventType, ...]
    # The new events of a poll, (event, validated data) in partition order, inside the transaction
    # that records them as processed: exactly once. Returns what `project` needs.
    apply: Callable[[Session, Events], Any]
    # After the commit, every event of the poll (duplicates too) and what `apply` returned (None
    # when no event was new): must be idempotent.
    project: Callable[[Events, Any], None] | None = None

    @classmethod
    def per_event(cls, functions: dict[EventType, Callable[[Session, Event, dict], Any]],
                  project: Callable[[Events, Any], None] | None = None) -> "Handler":
        """A handler from one function per event type; `apply` returns [(event id, its result)].
        What a function writes is the act of the event's own actor (an older event without one:
        the consumer's), in the event's trace."""
        by_type = {t.type: f for t, f in functions.items()}

        def apply(session: Session, events: Events) -> list[tuple[str, Any]]:
            results = []
            for event, data in events:
                with caused_by(event):
                    results.append((event.id, by_type[event.type](session, event, data)))
            return results

        return cls(tuple(functions), apply, project)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 5
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 10.0

    def backoff(self, attempt: int) -> float:
        return min(self.initial_backoff_s * (2 ** (attempt - 1)), self.max_backoff_s)


class ConsumerRunner:
    def __init__(self, *, name: str, db: Database, settings: Settings, handler: Handler,
                 retry: RetryPolicy = RetryPolicy(), offload: Callable[[], "ConsumerRunner"] | None = None,
                 **consumer_config):
        """`offload`: a picklable factory of an equivalent runner, to apply polls in a child process."""
        self.name = name
        self.db = db
        self.settings = settings
        self.handler = handler
        self.topics = sorted({t.topic for t in handler.event_types})
        self.retry = retry
        self.offload_factory = offload
        self.consumer_config = consumer_config
        self.parser = Parser(list(handler.event_types))
        self.dead_letters = DeadLetters(consumer=name, settings=settings)
        self._consumer = None
        self._tally = Tally()  # process() alone (tests, tools) counts here; process_batch anew

    # --- the loop ------------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        ensure_topics(self.settings)
        self._consumer = make_consumer(self.settings, group=self.name, topics=self.topics, **self.consumer_config)
        offload = (ProcessOffload(self.offload_factory) if self.offload_factory is not None
                   else ThreadOffload(self.process_batch, name=self.name))
        log.info("consumer started", extra={"consumer": self.name, "topics": self.topics,
                                            "apply": type(offload).__name__})
        pending: tuple[Any, list] | None = None
        try:
            while not stop.is_set():
                try:
                    polled = self._consumer.poll(timeout_ms=500)
                except KafkaError:
                    log.exception("poll failed; retrying")
                    stop.wait(1)
                    continue
                records = [r for batch in polled.values() for r in batch]
                if not records and pending is None:
                    self._measure_lag()  # idle: the lag gauge still says so (cheap: no request)
                if pending is not None:
                    current, pending = pending, None
                    records = self._finish(*current, records)
                if records and not stop.is_set():
                    pending = (offload.submit(records, stop), records)
        finally:
            if isinstance(offload, ProcessOffload):
                offload.stopping()
            try:
                if pending is not None:  # stopping: the poll in flight is finished and committed
                    self._finish(*pending, [])
            finally:
                offload.close()
                self.close()

    def _finish(self, future, records: list, following: list) -> list:
        """Wait for the poll in flight, commit its offsets, and return the `following` records
        still to apply: if it stopped part-way (a stop asked during a retry), its partitions are
        rewound to the first record not applied and their later records dropped, so no offset
        ever passes a record whose effect is not durable."""
        done, limit, tally = future.result()
        tally.record(self.name)
        self._commit(done)
        self._measure_lag()
        if limit is not None:
            raise DeadLetterLimitReached(limit)
        rewind: dict[TopicPartition, int] = {}
        for record in records:
            tp = TopicPartition(record.topic, record.partition)
            if record.offset > done.get(tp, -1) and tp not in rewind:
                rewind[tp] = record.offset
        if not rewind:
            return following
        for tp, offset in rewind.items():
            try:
                self._consumer.seek(tp, offset)
            except Exception:  # no longer assigned: its new owner starts from the committed offset
                log.warning("could not rewind %s", tp, exc_info=True)
        return [r for r in following if TopicPartition(r.topic, r.partition) not in rewind]

    def _measure_lag(self) -> None:
        """Lag per partition from what the fetches already told: the end offset (highwater) less
        the next offset to consume."""
        try:
            for tp in self._consumer.assignment():
                end = self._consumer.highwater(tp)
                if end is not None:
                    lag = max(0, end - self._consumer.position(tp))
                    metrics.CONSUMER_LAG.labels(self.name, tp.topic, tp.partition).set(lag)
        except Exception:  # a figure must never stop the consumer
            log.debug("lag not measured", exc_info=True)

    def _commit(self, done: dict[TopicPartition, int]) -> None:
        if not done:
            return
        offsets = {tp: OffsetAndMetadata(offset + 1, "", -1) for tp, offset in done.items()}
        try:
            self._consumer.commit(offsets)
        except Exception:
            # A rebalance or broker restart: the records come again and are skipped as processed.
            log.warning("offset commit failed; records will be redelivered and skipped", exc_info=True)

    # --- one poll ------------------------------------------------------------------------------
    def process_batch(self, records: list, stop: threading.Event | None = None
                      ) -> tuple[dict[TopicPartition, int], str | None, Tally]:
        """Apply `records` (one poll). Returns the last handled offset per partition, why the
        consumer must stop if the dead-letter limit was reached (a string that crosses processes),
        and what the poll did."""
        done: dict[TopicPartition, int] = {}
        self._tally = tally = Tally()
        try:
            parsed, invalid = [], {}
            for record in records:
                try:
                    item = None if addressed_elsewhere(record, self.name) else self.parser.parse(record)
                except InvalidEvent as exc:
                    invalid[id(record)] = str(exc)
                    continue
                if item is not None:
                    parsed.append(item)
            if not invalid:
                try:
                    self._apply_and_project(parsed)
                    self.dead_letters.limit.passed(len(records))
                    for record in records:
                        done[TopicPartition(record.topic, record.partition)] = record.offset
                    return done, None, tally
                except Exception:
                    log.warning("poll failed; applying its records one by one", exc_info=True)
            for record in records:
                if id(record) in invalid:
                    self.dead_letters.publish(record, invalid[id(record)])
                    tally.dead_letter("invalid")
                else:
                    self.process(record, stop)
                done[TopicPartition(record.topic, record.partition)] = record.offset
        except _Stopping:
            pass  # the rest stays uncommitted for the next run
        except DeadLetterLimitReached as exc:
            log.critical("consumer stopping: too many dead letters", extra={"consumer": self.name,
                                                                            "why": str(exc)})
            return done, str(exc), tally
        return done, None, tally

    # --- one record: a poll of one, with retries ----------------------------------------------
    def process(self, record, stop: threading.Event | None = None) -> str:
        """Handle one record; returns what happened: applied, duplicate, skipped or dead-lettered."""
        try:
            parsed = None if addressed_elsewhere(record, self.name) else self.parser.parse(record)
        except InvalidEvent as exc:
            self.dead_letters.publish(record, str(exc))
            self._tally.dead_letter("invalid")
            return "dead-lettered"
        if parsed is None:
            self.dead_letters.limit.passed()
            return "skipped"
        with tracing.tracing(tracing.continued(parsed.event.traceparent, parsed.event.tracestate)):
            return self._process_parsed(record, parsed, stop)

    def _process_parsed(self, record, parsed: Parsed, stop: threading.Event | None) -> str:
        """process() for a record that parsed, with its retries, logged in the event's trace."""
        attempt = 0
        while True:
            attempt += 1
            try:
                new = self._apply_and_project([parsed])
                self.dead_letters.limit.passed()
                return "applied" if new else "duplicate"
            except PoisonEvent as exc:
                self.dead_letters.publish(record, f"rejected by handler: {exc}")
                self._tally.dead_letter("rejected")
                return "dead-lettered"
            except TRANSIENT as exc:
                wait = self.retry.backoff(min(attempt, 10))
                log.warning("infrastructure unavailable; retrying",
                            extra={"event_id": parsed.event.id, "error": str(exc)[:300], "wait_s": wait})
            except Exception as exc:
                if isinstance(exc, DBAPIError) and exc.connection_invalidated:
                    wait = self.retry.backoff(min(attempt, 10))
                elif attempt >= self.retry.max_attempts:
                    log.exception("handler failed %s times; dead-lettering", attempt,
                                  extra={"event_id": parsed.event.id})
                    self.dead_letters.publish(record, f"handler failed after {attempt} attempts: {exc!r}"[:1000])
                    self._tally.dead_letter("failed")
                    return "dead-lettered"
                else:
                    wait = self.retry.backoff(attempt)
                    log.warning("handler failed; retrying", extra={"event_id": parsed.event.id, "attempt": attempt,
                                                                   "error": repr(exc)[:300]})
            if stop is not None and stop.is_set():
                raise _Stopping
            self._tally.retried += 1
            time.sleep(wait)

    def _apply_and_project(self, parsed: list[Parsed]) -> Events:
        """Steps 2 and 3 for parsed records; returns the events that were new."""
        processed = self.db.processed
        with self.db.transaction() as session:
            rows = {}
            for record, event, _data in parsed:
                rows.setdefault(event.id, dict(consumer=self.name, event_id=event.id, topic=record.topic,
                                               partition=record.partition, offset=record.offset))
            # Sorted: two replicas inserting overlapping polls lock in the same order. A row that
            # exists (or that a replica is inserting: the insert waits for its commit) is skipped,
            # and so is its event.
            new_ids = {event_id for (event_id,) in insert_many(
                session, processed, [rows[k] for k in sorted(rows)], ignore=("consumer", "event_id"),
                returning=("event_id",))}
            new: Events = []
            for _record, event, data in parsed:
                if event.id in new_ids:
                    new_ids.discard(event.id)  # the same event twice in a poll is applied once
                    new.append((event, data))
            # Events a whole poll causes are the consumer's act (per_event handlers narrow it).
            with acting(system(self.name)):
                result = self.handler.apply(session, new) if new else None
        # Committed: now they count, and each is logged in its own trace (a whole poll is applied
        # at once, so the lines written while applying it cannot name one trace).
        logged = log.isEnabledFor(logging.INFO)  # a line per event costs: none below INFO
        for event, _data in new:
            self._tally.applied[event.type] = self._tally.applied.get(event.type, 0) + 1
            if logged:
                with tracing.tracing(tracing.continued(event.traceparent, event.tracestate)):
                    log.info("event applied", extra={"consumer": self.name, "event_id": event.id,
                                                     "event_type": event.type, "actor": event.actor})
        self._tally.duplicates += len(parsed) - len(new)
        if self.handler.project is not None and parsed:
            self.handler.project([(p.event, p.data) for p in parsed], result)
        return new

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        self.dead_letters.close()
        log.info("consumer stopped", extra={"consumer": self.name})


def install_sigterm(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set `stop`, so the loop finishes the record in hand and commits."""
    import signal

    def _stop(signum, _frame):
        log.info("signal received; stopping", extra={"signal": signum, "pid": os.getpid()})
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
