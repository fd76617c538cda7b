"""kafka-python clients, made per process: call these after gunicorn (or any fork) has forked,
never at import time, and never share a client across processes."""
from __future__ import annotations

import logging
import os
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
from kafka.errors import TopicAlreadyExistsError

from .config import SettingError, Settings, setting
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


def topic_configs(name: str, *, replication: int = 1) -> dict[str, str]:
    """The configuration of a logical topic with `replication` replicas per partition."""
    if name in COMPACTED:
        config = {"cleanup.policy": "compact", "retention.ms": "-1"}
    else:
        days = (setting("DEAD_LETTER_RETENTION_DAYS", "") if name == DEAD_LETTER_TOPIC
                else setting("TOPIC_RETENTION_DAYS", "")) or ("90" if name == DEAD_LETTER_TOPIC else "14")
        config = {"cleanup.policy": "delete", "retention.ms": str(int(float(days) * DAY_MS))}
    return {**config, "min.insync.replicas": str(min_insync_replicas(replication))}


# Replicas: on a cluster every partition lives on up to three brokers. The producers send with
# acks=all, so with min.insync.replicas=2 an acknowledged event is on two brokers at least and
# survives the death of any one, and writes go on while one is away. With two replicas, 2 would
# stop every write when one broker dies, so 1 (the single-broker case too).
def replication_factor(brokers: int) -> int:
    """CHITIEU_TOPIC_REPLICATION_FACTOR, else min(3, brokers in the cluster)."""
    wanted = setting("TOPIC_REPLICATION_FACTOR", "")
    if not wanted:
        return max(1, min(3, brokers))
    if not wanted.isdigit() or int(wanted) < 1:
        raise SettingError(f"CHITIEU_TOPIC_REPLICATION_FACTOR must be a whole number of at least 1, not {wanted!r}")
    return int(wanted)


def min_insync_replicas(replication: int) -> int:
    return 2 if replication >= 3 else 1


def ensure_topics(settings: Settings, names: tuple[str, ...] = TOPICS + (DEAD_LETTER_TOPIC,),
                  partitions: int = PARTITIONS) -> None:
    """Create the contract's topics if they are missing, with their retention and as many replicas
    as the cluster allows (replication_factor); a topic that exists with another retention or
    min.insync.replicas gets ours (idempotent)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        replication = replication_factor(len(admin.describe_cluster()["brokers"]))
        configs = {settings.topic(n): topic_configs(n, replication=replication) for n in names}
        existing = set(admin.list_topics())
        wanted = [NewTopic(name, partitions, replication, topic_configs=config)
                  for name, config in configs.items() if name not in existing]
        if wanted:
            try:
                admin.create_topics(wanted)
            except TopicAlreadyExistsError:
                pass
            log.info("topics created", extra={"topics": [t.name for t in wanted]})
        # All of them: one that another process created a moment ago may not be listed yet. A
        # topic's replication factor is not changed here (that is a partition reassignment).
        _align_configs(admin, configs)
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
        # raise_on_unknown=False: kafka-python checks the keys against the topic's described
        # dynamic configs, which a topic created a moment ago may not show yet (it then refused
        # retention.ms itself, and a worker starting on a fresh cluster exited); the broker
        # validates the keys anyway.
        admin.alter_configs(stale, raise_on_unknown=False)
        log.info("topic configuration set", extra={"topics": [r.name for r in stale]})


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
