"""kafka-python clients, made per process: call these after gunicorn (or any fork) has forked,
never at import time, and never share a client across processes."""
from __future__ import annotations

import logging
import os
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from .config import Settings, setting
from .contracts import DEAD_LETTER_TOPIC, TOPICS
from .contracts.organizations import STATE_TOPIC

log = logging.getLogger(__name__)
PARTITIONS = int(setting("TOPIC_PARTITIONS", "6"))


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
        # A topic another process created a moment ago is seen within this (kafka-python: 5 min).
        metadata_max_age_ms=30000,
    )
    config.update(overrides)
    consumer = KafkaConsumer(**config)
    names = [settings.topic(t) for t in topics]
    # Know every topic's partitions before the first poll joins the group: a topic missing from
    # the metadata then would get no partitions in the assignment until the next rebalance.
    deadline = time.monotonic() + 60
    while not all(consumer.partitions_for_topic(name) for name in names) and time.monotonic() < deadline:
        time.sleep(0.2)
    consumer.subscribe(names)
    return consumer


# Every topic's retention is set here, explicitly (nothing relies on the broker's default):
# - event topics keep CHITIEU_TOPIC_RETENTION_DAYS (14): long enough for a consumer away for days, or
#   a restore from last night's backup, to replay what it missed; the processed-events records
#   (CHITIEU_PROCESSED_RETENTION_DAYS, 30) outlive them, so a redelivery is always recognised;
# - the dead-letter topic keeps CHITIEU_DEAD_LETTER_RETENTION_DAYS (90): time to fix and replay;
# - the tree's state topic is compacted, never deleted: the latest record of every organisation stays.
DAY_MS = 24 * 3600 * 1000
COMPACTED = {STATE_TOPIC}


def topic_configs(name: str) -> dict[str, str]:
    """The configuration of a logical topic."""
    if name in COMPACTED:
        return {"cleanup.policy": "compact", "retention.ms": "-1"}
    days = (setting("DEAD_LETTER_RETENTION_DAYS", "") if name == DEAD_LETTER_TOPIC
            else setting("TOPIC_RETENTION_DAYS", "")) or ("90" if name == DEAD_LETTER_TOPIC else "14")
    return {"cleanup.policy": "delete", "retention.ms": str(int(float(days) * DAY_MS))}


def ensure_topics(settings: Settings, names: tuple[str, ...] = TOPICS + (DEAD_LETTER_TOPIC,),
                  partitions: int = PARTITIONS) -> None:
    """Create the contract's topics if they are missing, with their retention; a topic that exists
    with another retention gets ours (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        wanted = [NewTopic(settings.topic(n), partitions, 1, topic_configs=topic_configs(n))
                  for n in names if settings.topic(n) not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            log.info("topics created", extra={"topics": [t.name for t in wanted]})
        # All of them: one that another process created a moment ago may not be listed yet.
        _align_configs(admin, {settings.topic(n): topic_configs(n) for n in names})
    finally:
        admin.close()


def _align_configs(admin: KafkaAdminClient, configs: dict[str, dict[str, str]]) -> None:
    if not configs:
        return
    # {"topic": {name: {key: {"value": ...}}}}, only the keys set on the topic itself.
    described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, name) for name in configs])
    current = {name: {key: entry["value"] for key, entry in entries.items()}
               for name, entries in described.get("topic", {}).items()}
    stale = [ConfigResource(ConfigResourceType.TOPIC, name, configs=wanted) for name, wanted in configs.items()
             if any(current.get(name, {}).get(k) != v for k, v in wanted.items())]
    if stale:
        admin.alter_configs(stale)
        log.info("topic retention set", extra={"topics": [r.name for r in stale]})


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
