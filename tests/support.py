"""Helpers for tests that talk to the real broker, Redis and databases."""
from __future__ import annotations

import os
import socket
import subprocess
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from sqlalchemy import create_engine, text

from shared.config import ROOT, Settings



def stack_setting(name: str, default: str) -> str:
    """A setting of the local stack: from the environment, else from the env file scripts/stack.sh
    wrote (its ports move off those another program holds), else the default."""
    if name in os.environ:
        return os.environ[name]
    env_file = Path(os.environ.get("CHITIEU_STACK_DIR") or ROOT / ".stack") / "env"
    if env_file.exists():
        for line in env_file.read_text(encoding="utf-8").splitlines():
            key, sep, value = line.partition("=")
            if sep and key == name:
                return value
    return default


PG_SERVER_URL = stack_setting("CHITIEU_PG_URL", "postgresql+psycopg://chitieu:chitieu@127.0.0.1:5432")
PG_ADMIN_URL = f"{PG_SERVER_URL}/postgres"
PG_URL = PG_SERVER_URL + "/{name}"
REDIS_URL = stack_setting("CHITIEU_REDIS_URL", "redis://127.0.0.1:6379/0")
KAFKA_BOOTSTRAP = stack_setting("CHITIEU_KAFKA_BOOTSTRAP", "127.0.0.1:9092")


@contextmanager
def fresh_database(kind: str, *, prefix: str = "test") -> Iterator[str]:
    """The URL of an empty database, dropped afterwards: a SQLite file or a new PostgreSQL database."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/{prefix}.sqlite"
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    try:
        yield PG_URL.format(name=name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


# Every namespace this test session made. Their topics are deleted when the session ends: a local
# broker that kept every test's topics reached 20,000 partitions and ran out of file descriptors.
NAMESPACES: set[str] = set()


def unique_namespace() -> str:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    NAMESPACES.add(namespace)
    return namespace


def delete_session_topics() -> int:
    """Delete the topics of this session's namespaces; returns how many."""
    if not NAMESPACES:
        return 0
    host, port = KAFKA_BOOTSTRAP.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
    except OSError:
        return 0  # no broker: nothing to clean
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP, request_timeout_ms=60000)
    try:
        names = [t for t in admin.list_topics() if t.split(".", 1)[0] in NAMESPACES]
        for i in range(0, len(names), 200):
            admin.delete_topics(names[i:i + 200])
        return len(names)
    finally:
        admin.close()


def wait_until(predicate: Callable[[], object], *, timeout: float = 30, interval: float = 0.1, message: str = ""):
    """Poll `predicate` until it returns something truthy; fail with `message` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s: {message}")
        time.sleep(interval)


def read_topic(settings: Settings, topic: str, *, expected: int, timeout: float = 30) -> list:
    """Every record of a logical topic from the beginning, waiting until `expected` have arrived."""
    consumer = KafkaConsumer(settings.topic(topic), bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
                             consumer_timeout_ms=1000)
    records: list = []
    deadline = time.monotonic() + timeout
    try:
        while len(records) < expected and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
    finally:
        consumer.close()
    return records


def raw_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")


def stack(command: str) -> None:
    subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), command], check=True)


def sqlite_url(tmp: Path, name: str = "db") -> str:
    return f"sqlite:///{tmp / name}.sqlite"


def org_state(code: str, name: str, type_: str, parent: str | None, *, on=None) -> dict:
    """The organization.state data of an organisation created on `on` and never changed since."""
    from datetime import date
    on = on or date(2020, 1, 1)
    return {"code": code, "type": type_, "status": "active", "founded_on": on, "ended_on": None,
            "merged_into": None, "names": [{"name": name, "valid_from": on, "valid_to": None}],
            "parents": [{"parent_code": parent, "valid_from": on, "valid_to": None}]}


def end_offsets(consumer: KafkaConsumer, partitions: list) -> dict:
    # kafka-python 3.0 raises KeyError when a ListOffsets answer lacks a partition whose metadata
    # is being refreshed: ask again.
    for _ in range(20):
        try:
            return consumer.end_offsets(partitions)
        except KeyError:
            time.sleep(0.5)
    return consumer.end_offsets(partitions)


def group_caught_up(settings: Settings, group: str, topic: str) -> bool:
    """The consumer group has committed up to the end of every partition of a logical topic."""
    from kafka import KafkaAdminClient, TopicPartition
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    probe = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        name = settings.topic(topic)
        partitions = [TopicPartition(name, p) for p in probe.partitions_for_topic(name) or ()]
        committed = admin.list_group_offsets(settings.group(group))[settings.group(group)]
        ends = end_offsets(probe, partitions)
        return all(committed.get(tp) is not None and committed[tp].offset >= end for tp, end in ends.items())
    finally:
        probe.close()
        admin.close()


def outbox_events(db, event_type=None) -> list:
    """The events a service wrote to its outbox, oldest first, as a consumer reads them back
    (optionally of one contract EventType)."""
    from sqlalchemy import select

    from shared.contracts import parse_record
    with db.engine.connect() as conn:
        values = conn.execute(select(db.outbox.c.value).order_by(db.outbox.c.seq)).scalars().all()
    events = [parse_record(value, None, []) for value in values]
    return [e for e in events if event_type is None or e.type == event_type.type]
