"""A ConsumerRunner that applies a whole poll of records in one database transaction.

The per-record runner costs one transaction per event; at the national rate of admissions a
year-end catch-up replays hundreds of thousands. This runner keeps the same guarantees:
- the processed_events rows of the poll's new events are inserted in the same transaction as
  their effect (a redelivered event, or one a second replica already applied, is filtered out);
- `project` runs after the commit for every event of the poll, duplicates included;
- offsets are committed only after that.
If anything in the batch fails (a poison record, a conflict with another replica, the database
away), the poll falls back to the per-record path of ConsumerRunner, with its retries and
dead-lettering, record by record.
"""
from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable

from kafka.errors import KafkaError
from kafka.structs import TopicPartition
from marshmallow import ValidationError
from sqlalchemy.orm import Session

from shared.consumer import ConsumerRunner
from shared.contracts import BY_TYPE, Event, InvalidEvent, parse_record
from shared.kafka import ensure_topics, make_consumer

from .bulk import insert_many
from .fastpath import compile_loader, parse_structured

log = logging.getLogger(__name__)


class BatchConsumerRunner(ConsumerRunner):
    def __init__(self, *, apply_batch: Callable[[Session, list[tuple[Event, dict[str, Any]]]], Any],
                 project_batch: Callable[[list[tuple[Event, dict[str, Any]]], Any], None],
                 apply_process: Callable[[], "BatchConsumerRunner"] | None = None, **kwargs):
        """`apply_batch(session, events)` applies the new events of a poll and returns what the
        projection needs; `project_batch(events, result)` projects every event of the poll
        (duplicates included; `result` is None when none was new)."""
        super().__init__(**kwargs)
        self.apply_batch = apply_batch
        self.project_batch = project_batch
        self.apply_process = apply_process
        # One schema instance per event type: building one per record costs more than loading.
        self._schemas = {t.type: t.schema() for t in (h.event_type for h in self.handlers.values())}
        self._fast_loaders = {name: compile_loader(schema) for name, schema in self._schemas.items()}

    def run(self, stop: threading.Event) -> None:
        """Poll N+1 is fetched while poll N is applied on a worker (the database, Redis and the
        broker wait in parallel); at most one poll is in flight, and its offsets are committed
        here, on the consumer's own thread, once it is done.

        The worker is a thread, or, with `apply_process` (a picklable factory of an equivalent
        runner), a child process of its own: kafka-python's fetching and the apply step each take
        a core instead of sharing one interpreter lock."""
        ensure_topics(self.settings)
        self._consumer = make_consumer(self.settings, group=self.name, topics=self.topics, **self.consumer_config)
        log.info("batch consumer started", extra={"consumer": self.name, "topics": self.topics,
                                                  "apply": "process" if self.apply_process else "thread"})
        child_stop = None
        if self.apply_process is not None:
            context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited sockets
            child_stop = context.Event()
            worker = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_child,
                                         initargs=(self.apply_process, child_stop))
            worker.submit(_child_ready).result()  # started and connected before the first poll
        else:
            worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{self.name}-apply")
        pending: tuple[Future, list] | None = None
        try:
            while not stop.is_set():
                try:
                    polled = self._consumer.poll(timeout_ms=500)
                except KafkaError:
                    log.exception("poll failed; retrying")
                    stop.wait(1)
                    continue
                records = [r for batch in polled.values() for r in batch]
                if pending is not None:
                    current, pending = pending, None
                    records = self._finish(*current, records)
                if records and not stop.is_set():
                    pending = (self._submit(worker, records, stop), records)
        finally:
            if child_stop is not None:
                child_stop.set()  # a record waiting for a retry in the child gives up, uncommitted
            try:
                if pending is not None:  # stopping: the poll in flight is finished and committed
                    self._finish(*pending, [])
            finally:
                worker.shutdown(wait=True)
                self.close()

    def _submit(self, worker, records: list, stop: threading.Event) -> Future:
        if isinstance(worker, ProcessPoolExecutor):
            return worker.submit(_child_process_batch, records)
        return worker.submit(self.process_batch, records, stop)

    def _finish(self, future: Future, records: list, following: list) -> list:
        """Wait for the poll in flight, commit its offsets, and return the `following` records
        still to apply: if it stopped part-way (a stop asked during a retry), its partitions are
        rewound to the first record not applied and their later records dropped, so no offset
        ever passes a record whose effect is not durable."""
        done = future.result()
        self._commit(done)
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

    def process_batch(self, records: list, stop: threading.Event | None = None) -> dict[TopicPartition, int]:
        """Apply `records` (one poll) and return the last handled offset per partition."""
        done: dict[TopicPartition, int] = {}
        events, rest = [], False
        for record in records:
            try:
                event = parse_structured(record) or parse_record(record.value, record.key, record.headers)
                if BY_TYPE.get(event.type) is None:
                    rest = True  # unknown type: the per-record path dead-letters it
                    break
                if event.type in self.handlers:
                    data = self._fast_loaders[event.type](event.data)
                    if data is None:
                        data = self._schemas[event.type].load(event.data)
                    events.append((record, event, data))
            except (InvalidEvent, ValidationError, TypeError):
                rest = True
                break
        if not rest:
            try:
                result = self._apply_batch(events)
                self.project_batch([(e, d) for _, e, d in events], result)
                for record in records:
                    done[TopicPartition(record.topic, record.partition)] = record.offset
                return done
            except Exception:
                log.warning("batch failed; applying its records one by one", exc_info=True)
        for record in records:
            try:
                self.process(record, stop)
            except Exception:  # _Stopping: leave the rest uncommitted for the next run
                break
            done[TopicPartition(record.topic, record.partition)] = record.offset
        return done

    def _apply_batch(self, events: list) -> Any:
        processed = self.db.processed
        with self.db.transaction() as session:
            rows = {}
            for record, event, _data in events:
                rows.setdefault(event.id, dict(consumer=self.name, event_id=event.id, topic=record.topic,
                                               partition=record.partition, offset=record.offset))
            # Sorted: two replicas inserting overlapping polls lock in the same order. A row that
            # exists (or that a replica is inserting: the insert waits for its commit) is skipped,
            # and so is its event.
            new_ids = {event_id for (event_id,) in insert_many(
                session, processed, [rows[k] for k in sorted(rows)], ignore=("consumer", "event_id"),
                returning=("event_id",))}
            new, seen = [], set()
            for _record, event, data in events:
                if event.id in new_ids and event.id not in seen:
                    seen.add(event.id)
                    new.append((event, data))
            return self.apply_batch(session, new) if new else None


# --- the apply process (BatchConsumerRunner(apply_process=...)) ------------------------------------
_child: tuple[BatchConsumerRunner, Any] | None = None


def _start_child(factory: Callable[[], BatchConsumerRunner], stop) -> None:
    """Runs once in the child: it builds its own runner (database, Redis, tree cache). Signals are
    the parent's business: it finishes the poll in flight, then closes the pool."""
    global _child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    _child = (factory(), stop)


def _child_ready() -> bool:
    return _child is not None


def _child_process_batch(records: list) -> dict[TopicPartition, int]:
    runner, stop = _child
    return runner.process_batch(records, stop)
