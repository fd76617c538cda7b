"""kafka-python clients, made per process: call these after gunicorn (or any fork) has forked,
never at import time, and never share a client across processes."""
from __future__ import annotations

import logging
import os

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from .config import Settings
from .contracts import DEAD_LETTER_TOPIC, TOPICS

log = logging.getLogger(__name__)
PARTITIONS = int(os.environ.get("CHITIEU_TOPIC_PARTITIONS", "6"))


def make_producer(settings: Settings, **overrides) -> KafkaProducer:
    config = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=f"chitieu-{settings.service}-{os.getpid()}",
        acks="all",
        enable_idempotence=True,  # broker de-duplicates the producer's own retries
        linger_ms=5,
        retries=5,
        request_timeout_ms=15000,
        delivery_timeout_ms=30000,
    )
    config.update(overrides)
    return KafkaProducer(**config)


def make_consumer(settings: Settings, *, group: str, topics: list[str], **overrides) -> KafkaConsumer:
    """A consumer of logical topics, in the group `<namespace>.<group>`; offsets committed by hand."""
    config = dict(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=settings.group(group),
        client_id=f"chitieu-{settings.service}-{group}-{os.getpid()}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
        heartbeat_interval_ms=2000,
        max_poll_records=500,
        max_poll_interval_ms=300000,
    )
    config.update(overrides)
    consumer = KafkaConsumer(**config)
    consumer.subscribe([settings.topic(t) for t in topics])
    return consumer


def ensure_topics(settings: Settings, names: tuple[str, ...] = TOPICS + (DEAD_LETTER_TOPIC,),
                  partitions: int = PARTITIONS) -> None:
    """Create the contract's topics if they are missing (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(settings.topic(n), partitions, 1) for n in names if settings.topic(n) not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            log.info("topics created", extra={"topics": [t.name for t in wanted]})
    finally:
        admin.close()


_admin_by_pid: dict[int, KafkaAdminClient] = {}


def check_broker(settings: Settings) -> None:
    """Raise unless the broker answers; one admin client per process, made on first use."""
    pid = os.getpid()
    admin = _admin_by_pid.get(pid)
    if admin is None:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=3000)
        _admin_by_pid.clear()
        _admin_by_pid[pid] = admin
    try:
        admin.describe_cluster()
    except Exception:
        _admin_by_pid.pop(pid, None)
        admin.close()
        raise
