"""Dead letters: records that can never succeed, set aside on one topic with why and where from,
a limit that stops a consumer which would set aside everything, and the way back.

A dead letter is the record unchanged, with headers naming the reason, the consumer and the
origin (topic, partition, offset). `replay` publishes chosen ones to their origin topic again,
addressed to the consumer that set them aside (header `dlq.replay-for`): every other consumer
group skips them, and the addressee applies them once (its processed-events record, by event id).
"""
from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from kafka import KafkaConsumer, TopicPartition

from .config import Settings
from .contracts import DEAD_LETTER_TOPIC, parse_record
from .kafka import make_producer

log = logging.getLogger(__name__)

REPLAY_FOR = "dlq.replay-for"


class DeadLetterLimitReached(Exception):
    """Too many of the last records failed: the code, not the data, is probably wrong."""


class DeadLetterLimit:
    """More than `max_share` of the last `window` records dead-lettered trips it (before the one
    that would pass the share is published, so that record stays uncommitted)."""

    def __init__(self, *, window: int, max_share: float):
        self.window = window
        self.allowed = int(window * max_share)
        self._outcomes: deque[bool] = deque(maxlen=window)

    def passed(self, count: int = 1) -> None:
        self._outcomes.extend([False] * min(count, self.window))

    def check(self, reason: str) -> None:
        if sum(self._outcomes) + 1 > self.allowed:
            raise DeadLetterLimitReached(
                f"{sum(self._outcomes)} of the last {len(self._outcomes)} records went to the dead-letter topic "
                f"(limit {self.allowed} of {self.window}); the next one failed too: {reason}")
        self._outcomes.append(True)


class DeadLetters:
    def __init__(self, *, consumer: str, settings: Settings):
        self.consumer = consumer
        self.settings = settings
        self.limit = DeadLetterLimit(window=settings.dead_letter_window, max_share=settings.dead_letter_max_share)
        self._producer = None

    def publish(self, record, reason: str) -> None:
        """Set `record` aside, unless the limit says the consumer must stop instead."""
        self.limit.check(reason)
        if self._producer is None:
            self._producer = make_producer(self.settings)
        headers = [(k, v) for k, v in (record.headers or []) if not k.startswith("dlq.")] + [
            ("dlq.reason", reason.encode()),
            ("dlq.consumer", self.consumer.encode()),
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
        if self._producer is not None:
            self._producer.close(timeout=10)
            self._producer = None


def addressed_elsewhere(record, consumer: str) -> bool:
    """A replayed dead letter is for the consumer that set it aside, not for every group."""
    for key, value in record.headers or ():
        if key == REPLAY_FOR:
            return value.decode() != consumer
    return False


# --- the administrator's side: chitieu dead-letters list / replay ------------------------------------
@dataclass(frozen=True)
class DeadLetter:
    position: str  # partition:offset on the dead-letter topic, what `replay` takes
    consumer: str
    reason: str
    origin: str  # topic/partition/offset
    event_type: str
    event_id: str


def read_dead_letters(settings: Settings, *, consumer: str | None = None) -> list[tuple[DeadLetter, object]]:
    """Every dead letter the topic holds (optionally one consumer's), oldest first, with its record."""
    topic = settings.topic(DEAD_LETTER_TOPIC)
    reader = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False,
                           consumer_timeout_ms=2000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        found = []
        while any(reader.position(tp) < ends[tp] for tp in partitions):
            for records in reader.poll(timeout_ms=1000).values():
                for record in records:
                    letter = _describe(record)
                    if consumer is None or letter.consumer == consumer:
                        found.append((letter, record))
        return found
    finally:
        reader.close()


def replay(settings: Settings, positions: list[str]) -> list[DeadLetter]:
    """Publish the dead letters at `positions` (partition:offset) to their origin topic again."""
    wanted = set(positions)
    chosen = [(letter, record) for letter, record in read_dead_letters(settings) if letter.position in wanted]
    missing = wanted - {letter.position for letter, _ in chosen}
    if missing:
        raise LookupError(f"no dead letter at {', '.join(sorted(missing))}")
    producer = make_producer(settings)
    try:
        for letter, record in chosen:
            headers = dict(record.headers)
            origin = headers["dlq.original.topic"].decode()
            kept = [(k, v) for k, v in record.headers if not k.startswith("dlq.")]
            producer.send(origin, key=record.key, value=record.value,
                          headers=kept + [(REPLAY_FOR, headers["dlq.consumer"])]).get(timeout=30)
            log.info("dead letter replayed", extra={"position": letter.position, "topic": origin})
    finally:
        producer.close(timeout=10)
    return [letter for letter, _ in chosen]


def _describe(record) -> DeadLetter:
    headers = {k: v.decode(errors="replace") for k, v in record.headers or ()}
    try:
        event = parse_record(record.value, record.key, record.headers)
        event_type, event_id = event.type, event.id
    except Exception:  # the reason it is here may be that it is not an event at all
        event_type, event_id = "?", "?"
    origin = "/".join(headers.get(f"dlq.original.{k}", "?") for k in ("topic", "partition", "offset"))
    return DeadLetter(position=f"{record.partition}:{record.offset}", consumer=headers.get("dlq.consumer", "?"),
                      reason=headers.get("dlq.reason", "?"), origin=origin, event_type=event_type,
                      event_id=event_id)
