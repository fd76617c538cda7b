"""The outbox never blocks: a row Kafka can never take is set aside as failed while other keys go
on and its own key waits; `chitieu outbox retry` sends them again in order; the relay holds no
SQLite write lock while it waits for Kafka; one relay replica publishes at a time; old sent rows,
processed events and idempotency keys are pruned, nothing else. Through the real broker, on
SQLite and PostgreSQL (CHITIEU_TEST_DATABASES)."""
from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time

import pytest
from alembic import command
from sqlalchemy import insert, select, text, update

from shared import clock, contracts
from shared.cli import main as cli
from shared.db import Database
from shared.kafka import ensure_topics
from shared.migrations import alembic_config, target_metadata, upgrade
from shared.outbox import record_event, retry_failed
from shared.relay import OutboxRelay
from shared.retention import Pruner, prune, rules_for
from tests.shared.effects_app import make_db
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def settings(real_stack, make_settings):
    s = make_settings("effects")
    ensure_topics(s)
    return s


@pytest.fixture
def db(settings):
    database = make_db(settings.database_url)
    yield database
    database.dispose()


def write(db, candidate_id: str, *, pad: int = 0) -> int:
    """One candidate.listed event through the outbox (key: the candidate), `pad` bytes larger."""
    with db.transaction() as session:
        event = record_event(session, outbox=db.outbox, event_type=contracts.CANDIDATE_LISTED,
                             data={"candidate_id": candidate_id, "org_code": "CB1",
                                   "listed_on": dt.date(2024, 3, 1)}, source="/tests")
        if pad:
            value = json.loads(event.to_kafka_value())
            value["padding"] = "x" * pad
            session.execute(update(db.outbox).where(db.outbox.c.event_id == event.id)
                            .values(value=json.dumps(value).encode()))
        return session.execute(select(db.outbox.c.seq).where(db.outbox.c.event_id == event.id)).scalar_one()


def states(db) -> dict[int, tuple]:
    with db.reading() as conn:
        return {r.seq: (r.state, r.attempts, r.last_error) for r in conn.execute(
            select(db.outbox.c.seq, db.outbox.c.state, db.outbox.c.attempts, db.outbox.c.last_error))}


def seqs_on_topic(db, settings, expected: int) -> list[int]:
    """The outbox seqs of the records on the topic, in the order each partition holds them."""
    with db.reading() as conn:
        seq_of = dict(conn.execute(select(db.outbox.c.event_id, db.outbox.c.seq)).all())
    records = sorted(read_topic(settings, "candidates", expected=expected), key=lambda r: (r.partition, r.offset))
    return [seq_of[json.loads(r.value)["id"]] for r in records]


@pytest.mark.parametrize("refused_by", ["producer", "broker"])
def test_an_oversized_row_is_set_aside_other_keys_go_on_its_key_waits_until_retried(db, settings, refused_by):
    # producer: larger than the producer's max_request_size (refused before sending);
    # broker: within it, but larger than the topic's max.message.bytes (1 MB by default).
    limit, pad = (10_000, 20_000) if refused_by == "producer" else (4_000_000, 1_500_000)
    a1, b1, a2, b2, c1 = write(db, "A"), write(db, "B", pad=pad), write(db, "A"), write(db, "B"), write(db, "C")
    relay = OutboxRelay(db=db, settings=settings, producer_config={"max_request_size": limit})
    result = relay.publish_batch()
    relay.close()

    assert sorted(result.sent) == [a1, a2, c1]
    assert list(result.failed) == [b1] and not result.waiting
    now = states(db)
    assert now[b1][0] == "failed" and now[b1][1] == 1 and "MessageSizeTooLargeError" in now[b1][2]
    assert now[b2] == ("pending", 0, None), "a row of the failed row's key must wait behind it"
    assert {now[s][0] for s in (a1, a2, c1)} == {"sent"}
    on_topic = seqs_on_topic(db, settings, expected=3)
    assert sorted(on_topic) == [a1, a2, c1] and on_topic.index(a1) < on_topic.index(a2)

    again = OutboxRelay(db=db, settings=settings, producer_config={"max_request_size": limit})
    assert again.publish_pending() == 0, "nothing is sent until the failed row is retried"
    again.close()

    with db.transaction() as session:  # what `chitieu outbox retry` does (tested below)
        assert retry_failed(session, outbox=db.outbox) == [b1]
    fixed = OutboxRelay(db=db, settings=settings,  # the limit fixed: the producer takes 4 MB
                        producer_config={"max_request_size": 4_000_000})
    if refused_by == "broker":
        # The broker's limit is the topic's: raise it, as an administrator would.
        from kafka import KafkaAdminClient
        from kafka.admin import ConfigResource, ConfigResourceType
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic("candidates"),
                                            configs={"max.message.bytes": "4000000"})])
        admin.close()
    assert fixed.publish_pending() == 2
    fixed.close()
    assert {s for s, _, _ in states(db).values()} == {"sent"}
    on_topic = seqs_on_topic(db, settings, expected=5)
    assert [s for s in on_topic if s in (b1, b2)] == [b1, b2], "key B keeps its order"


class BlockingProducer:
    """A producer whose flush waits until the test lets it go; every send succeeds."""

    def __init__(self):
        self.flushing, self.release = threading.Event(), threading.Event()

    def send(self, topic, *, key, value, headers):
        class Done:
            def get(self, timeout=None):
                return None
        return Done()

    def flush(self, timeout=None):
        self.flushing.set()
        assert self.release.wait(30), "the test never released the flush"

    def close(self, timeout=None):
        pass


def test_the_relay_waiting_for_kafka_holds_no_sqlite_write_lock(tmp_path):
    path = tmp_path / "db.sqlite"
    db = make_db(f"sqlite:///{path}")
    seq = write(db, "A")
    producer = BlockingProducer()
    from shared.config import Settings
    relay = OutboxRelay(db=db, settings=Settings(service="effects", database_url=str(db.url)), producer=producer)
    passing = threading.Thread(target=relay.publish_pending, daemon=True)
    passing.start()
    try:
        assert producer.flushing.wait(10), "the relay never reached its flush"
        other = sqlite3.connect(path, timeout=1, isolation_level=None)
        started = time.monotonic()
        other.execute("BEGIN IMMEDIATE")  # "database is locked" after 1 s if the relay held the lock
        assert time.monotonic() - started < 1
        other.execute("ROLLBACK")
        other.close()
    finally:
        producer.release.set()
        passing.join(10)
    assert states(db)[seq][0] == "sent"
    db.dispose()


def test_one_relay_replica_publishes_at_a_time(db, settings):
    write(db, "A")
    first, second = BlockingProducer(), BlockingProducer()
    passing = threading.Thread(target=OutboxRelay(db=db, settings=settings, producer=first).publish_pending,
                               daemon=True)
    passing.start()
    try:
        assert first.flushing.wait(10)
        other = OutboxRelay(db=db, settings=settings, producer=second)
        assert other.publish_batch().sent == [], "a second replica published while the first was sending"
        assert not second.flushing.is_set()
    finally:
        first.release.set()
        passing.join(10)
    assert OutboxRelay(db=db, settings=settings, producer=second).publish_pending() == 0  # all sent already


def test_the_cli_lists_failed_rows_and_sets_chosen_ones_back_to_pending(database_url, monkeypatch, capsys):
    upgrade("quota", database_url)
    monkeypatch.setenv("CHITIEU_QUOTA_DATABASE_URL", database_url)
    db = Database(database_url, target_metadata("quota"))
    try:
        seqs = [write(db, c) for c in ("A", "B", "C")]
        with db.transaction() as session:
            session.execute(update(db.outbox).where(db.outbox.c.seq.in_(seqs[:2])).values(
                state="failed", attempts=1, last_error="MessageSizeTooLargeError: too big"))
        cli(["outbox", "failed", "--service", "quota"])
        out = capsys.readouterr().out.splitlines()
        assert [line.split("\t")[0] for line in out] == [str(s) for s in seqs[:2]]
        assert "candidate.listed" in out[0] and "attempts=1" in out[0] and "MessageSizeTooLargeError" in out[0]

        cli(["outbox", "retry", "--service", "quota", str(seqs[1])])
        assert states(db)[seqs[1]][0] == "pending" and states(db)[seqs[0]][0] == "failed"
        with pytest.raises(SystemExit):  # a row that is not failed is named, nothing else changes
            cli(["outbox", "retry", "--service", "quota", str(seqs[2])])
        cli(["outbox", "retry", "--service", "quota"])
        assert {s for s, _, _ in states(db).values()} == {"pending"}
    finally:
        db.dispose()


def test_pruning_deletes_only_old_sent_rows_old_processed_events_and_old_idempotency_keys(
        database_url, make_settings, monkeypatch, capsys):
    upgrade("candidates", database_url)
    db = Database(database_url, target_metadata("candidates"))
    keys = db.metadata.tables["idempotency_keys"]
    now = clock.now()
    ago = lambda days: now - dt.timedelta(days=days)  # noqa: E731
    try:
        old_sent = [write(db, f"old{i}") for i in range(5)]
        recent_sent, old_pending, old_failed = write(db, "recent"), write(db, "pending"), write(db, "failed")
        with db.transaction() as session:
            session.execute(update(db.outbox).where(db.outbox.c.seq.in_(old_sent)).values(state="sent", sent_at=ago(8)))
            session.execute(update(db.outbox).where(db.outbox.c.seq == recent_sent).values(state="sent", sent_at=ago(6)))
            session.execute(update(db.outbox).where(db.outbox.c.seq.in_([old_pending, old_failed])).values(
                created_at=ago(400)))
            session.execute(update(db.outbox).where(db.outbox.c.seq == old_failed).values(state="failed"))
            session.execute(insert(db.processed), [
                dict(consumer="c", event_id=f"e{days}", topic="t", partition=0, offset=days, processed_at=ago(days))
                for days in (31, 40, 29, 1)])
            session.execute(insert(keys), [
                dict(principal="p", key=f"k{days}", endpoint="/x", request_hash="h", status=201, response={},
                     created_at=ago(days)) for days in (8, 6)])

        settings = make_settings("candidates")
        assert prune(db, rules_for(db, settings), chunk=2) == {"outbox": 5, "processed_events": 2,
                                                              "idempotency_keys": 1}
        with db.reading() as conn:
            assert sorted(conn.execute(select(db.outbox.c.seq)).scalars()) == [recent_sent, old_pending, old_failed]
            assert sorted(conn.execute(select(db.processed.c.event_id)).scalars()) == ["e1", "e29"]
            assert conn.execute(select(keys.c.key)).scalars().all() == ["k6"]

        pruner = Pruner(db=db, rules=rules_for(db, settings), every_s=3600)
        assert pruner.run_if_due() == {"outbox": 0, "processed_events": 0, "idempotency_keys": 0}
        assert pruner.run_if_due() is None, "at most once an hour"

        monkeypatch.setenv("CHITIEU_CANDIDATES_DATABASE_URL", database_url)
        monkeypatch.setenv("CHITIEU_PROCESSED_RETENTION_DAYS", "10")
        cli(["prune", "--service", "candidates"])
        assert "processed_events: 1 deleted" in capsys.readouterr().out  # e29 is older than 10 days
    finally:
        db.dispose()


def test_the_relay_process_prunes_between_passes(db, settings):
    old, fresh = write(db, "old"), write(db, "fresh")
    with db.transaction() as session:
        session.execute(update(db.outbox).where(db.outbox.c.seq == old).values(
            state="sent", sent_at=clock.now() - dt.timedelta(days=settings.outbox_retention_days + 1)))
    stop = threading.Event()
    relay = OutboxRelay(db=db, settings=settings, pruner=Pruner(db=db, rules=rules_for(db, settings)))
    running = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    running.start()
    try:
        wait_until(lambda: list(states(db)) == [fresh] and states(db)[fresh][0] == "sent",
                   message="the old sent row was not pruned, or the new one not sent")
    finally:
        stop.set()
        running.join(30)


def test_the_migration_keeps_what_was_published_as_sent(database_url):
    cfg = alembic_config("quota", database_url)
    command.upgrade(cfg, "51c29eedde7d")  # before outbox states
    engine = Database(database_url, target_metadata("quota")).engine
    sent_at = dt.datetime(2025, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    with engine.begin() as conn:
        for i, published in enumerate((sent_at, None)):
            conn.execute(text("INSERT INTO outbox (event_id, event_type, topic, key, value, published_at, attempts) "
                              "VALUES (:id, 't', 'candidates', 'k', :value, :published, 0)"),
                         {"id": f"e{i}", "value": b"{}", "published": published})
    upgrade("quota", database_url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT event_id, state, sent_at FROM outbox ORDER BY event_id").all()
    engine.dispose()
    assert [(r[0], r[1]) for r in rows] == [("e0", "sent"), ("e1", "pending")]
    assert rows[0][2] is not None and rows[1][2] is None
