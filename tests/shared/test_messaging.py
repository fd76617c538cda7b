"""The event backbone through the real Kafka broker: outbox → relay → topic → consumer runner.

Each test has its own namespace (topics, consumer group) and its own database, SQLite and
PostgreSQL both (CHITIEU_TEST_DATABASES)."""
from __future__ import annotations

import datetime as dt
import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading

import pytest
from sqlalchemy import select

from shared import contracts
from shared.config import ROOT, Settings
from shared.consumer import PoisonEvent
from shared.kafka import ensure_topics
from shared.outbox import record_event
from shared.relay import OutboxRelay
from tests.shared.effects_app import effect_counts, effects, make_db, make_runner
from tests.support import raw_producer, read_topic, wait_until

pytestmark = pytest.mark.integration


def listed(candidate_id: str) -> dict:
    return {"candidate_id": candidate_id, "org_code": "CB1", "listed_on": dt.date(2024, 3, 1)}


@pytest.fixture
def settings(real_stack, make_settings) -> Settings:
    s = make_settings("effects")
    ensure_topics(s)
    return s


@pytest.fixture
def db(settings):
    database = make_db(settings.database_url)
    yield database
    database.dispose()


class RunningConsumer:
    """A ConsumerRunner on a thread, stopped at the end of the test."""

    def __init__(self, runner):
        self.runner, self.stop = runner, threading.Event()
        self.thread = threading.Thread(target=runner.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def close(self):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "consumer did not stop on request"


@pytest.fixture
def consume(db, settings):
    started = []

    def start(**kwargs):
        started.append(RunningConsumer(make_runner(db, settings, **kwargs)))
        return started[-1]

    yield start
    for c in started:
        c.close()


def write_events(db, ids: list[str]) -> list[str]:
    """Write candidate.listed events through the outbox, each with its own change, as a service does."""
    event_ids = []
    for cid in ids:
        with db.transaction() as session:
            event_ids.append(record_event(session, outbox=db.outbox, event_type=contracts.CANDIDATE_LISTED,
                                          data=listed(cid), source="/tests").id)
    return event_ids


def unpublished(db) -> int:
    with db.reading() as conn:
        return len(conn.execute(select(db.outbox.c.seq).where(db.outbox.c.state != "sent")).all())


def test_event_written_with_a_change_reaches_a_consumer(db, settings, consume):
    write_events(db, ["c1"])
    with pytest.raises(RuntimeError):
        with db.transaction() as session:  # a change that fails takes its event with it
            record_event(session, outbox=db.outbox, event_type=contracts.CANDIDATE_LISTED,
                         data=listed("rolled-back"), source="/tests")
            raise RuntimeError("the change failed")
    relay = OutboxRelay(db=db, settings=settings)
    assert relay.publish_pending() == 1
    relay.close()
    assert unpublished(db) == 0
    consume()
    wait_until(lambda: effect_counts(db) == (1, 1), message="the event did not reach the consumer")
    with db.engine.connect() as conn:
        assert conn.execute(select(effects.c.candidate_id)).scalars().all() == ["c1"]


def _relay_that_dies_after_publishing(url: str, namespace: str) -> None:
    """Child process: publish the outbox, then die before the rows are marked published."""
    settings = Settings(service="effects", database_url=url, namespace=namespace)
    relay = OutboxRelay(db=make_db(url), settings=settings)
    relay._record = lambda result: os._exit(9)
    relay.publish_pending()


def test_relay_killed_between_publish_and_mark_loses_nothing(db, settings, consume):
    write_events(db, [f"c{i}" for i in range(5)])
    child = multiprocessing.get_context("spawn").Process(
        target=_relay_that_dies_after_publishing, args=(settings.database_url, settings.namespace))
    child.start()
    child.join(60)
    assert child.exitcode == 9
    assert unpublished(db) == 5, "the rows must still be waiting: the mark was never committed"
    assert len(read_topic(settings, "candidates", expected=5)) == 5, "Kafka has them already"

    relay = OutboxRelay(db=db, settings=settings)
    assert relay.publish_pending() == 5  # published again, now marked
    relay.close()
    assert unpublished(db) == 0
    assert len(read_topic(settings, "candidates", expected=10)) == 10
    consume()
    wait_until(lambda: effect_counts(db)[1] == 5, message="not every event was applied")
    assert effect_counts(db) == (5, 5), "a republished event was applied twice"


def test_redelivered_event_is_applied_once(db, settings, consume):
    event = contracts.build_event(contracts.CANDIDATE_LISTED, listed("twice"), source="/tests")
    message = contracts.to_message(event)
    producer = raw_producer(settings)
    for _ in range(3):
        producer.send(settings.topic("candidates"), key=message.key.encode(), value=message.value,
                      headers=list(message.headers.items()))
    producer.flush()
    producer.close()
    consume()
    wait_until(lambda: len(read_topic(settings, "candidates", expected=3)) == 3)
    wait_until(lambda: effect_counts(db) == (1, 1), message="the event was not applied")
    with db.engine.connect() as conn:
        processed = conn.execute(select(db.processed.c.event_id)).scalars().all()
    assert processed == [event.id]


def _send(producer, settings, value: bytes, key: bytes = b"same-key"):
    return producer.send(settings.topic("candidates"), key=key, value=value,
                         headers=[("content-type", b"application/cloudevents+json")]).get(timeout=30)


def test_poison_messages_go_to_dead_letter_while_the_next_good_one_is_processed(db, settings, consume):
    good = contracts.build_event(contracts.CANDIDATE_LISTED, listed("good"), source="/tests")
    unknown = json.loads(contracts.to_message(good).value)
    unknown.update(id="u-1", type="vn.chitieu.candidate.teleported.v1")
    violating = json.loads(contracts.to_message(good).value)
    violating.update(id="v-1", data={"candidate_id": "x", "listed_on": "yesterday"})
    producer = raw_producer(settings)
    sent = {
        "not JSON": _send(producer, settings, b"{this is not json"),
        "unknown event type": _send(producer, settings, json.dumps(unknown).encode()),
        "schema violation": _send(producer, settings, json.dumps(violating).encode()),
    }
    _send(producer, settings, contracts.to_message(good).value)
    producer.close()
    consume()
    wait_until(lambda: effect_counts(db) == (1, 1), message="the good message after the poison was not processed")

    dead = read_topic(settings, contracts.DEAD_LETTER_TOPIC, expected=3)
    assert len(dead) == 3
    by_reason = {}
    for record in dead:
        headers = {k: v.decode() for k, v in record.headers}
        by_reason[headers["dlq.reason"]] = headers
    for expected_reason, metadata in sent.items():
        reason = next((r for r in by_reason if expected_reason.split()[0] in r.lower() or
                       (expected_reason == "not JSON" and "not a cloudevent" in r.lower())), None)
        assert reason, f"no dead letter for {expected_reason}: {list(by_reason)}"
        headers = by_reason[reason]
        assert headers["dlq.original.topic"] == settings.topic("candidates")
        assert headers["dlq.original.partition"] == str(metadata.partition)
        assert headers["dlq.original.offset"] == str(metadata.offset)
    assert any("listed_on" in r and "org_code" in r for r in by_reason), "the schema violation names the fields"


def test_failing_handler_is_retried_then_dead_lettered_if_it_never_succeeds(db, settings, consume):
    calls = {"flaky": 0}

    def sometimes_fails(session, event, data):
        if data["candidate_id"] == "always-fails":
            raise ValueError("bug in handler")
        if data["candidate_id"] == "poison":
            raise PoisonEvent("cell does not exist")
        if calls["flaky"] < 2:
            calls["flaky"] += 1
            raise ValueError("transient glitch")
        session.execute(effects.insert().values(event_id=event.id, candidate_id=data["candidate_id"]))

    write_events(db, ["always-fails", "poison", "flaky"])
    relay = OutboxRelay(db=db, settings=settings)
    relay.publish_pending()
    relay.close()
    consume(apply=sometimes_fails)
    wait_until(lambda: effect_counts(db) == (1, 1), message="the flaky handler never succeeded")
    assert calls["flaky"] == 2
    dead = read_topic(settings, contracts.DEAD_LETTER_TOPIC, expected=2)
    reasons = sorted(dict(r.headers)["dlq.reason"].decode() for r in dead)
    assert reasons[0].startswith("handler failed after 3 attempts") and "bug in handler" in reasons[0]
    assert reasons[1] == "rejected by handler: cell does not exist"


def _start_consumer_process(settings: Settings, sleep_s: float) -> subprocess.Popen:
    # Its log goes to a file: a consumer logs a line per event at INFO, and a pipe nobody reads
    # until the end fills up and blocks it.
    log = tempfile.TemporaryFile()
    process = subprocess.Popen([sys.executable, "-m", "tests.shared.effects_app", settings.database_url,
                                settings.namespace, str(sleep_s)], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    process.log = log
    return process


def _log_tail(process: subprocess.Popen) -> str:
    process.log.seek(0)
    return process.log.read().decode(errors="replace")[-2000:]


def test_consumer_killed_with_sigkill_mid_stream_resumes_without_loss_or_double_effect(db, settings):
    total = 300
    write_events(db, [f"k{i}" for i in range(total)])
    relay = OutboxRelay(db=db, settings=settings)
    while relay.publish_pending():
        pass
    relay.close()

    first = _start_consumer_process(settings, sleep_s=0.05)  # about 15 s of work: the kill lands inside
    try:
        wait_until(lambda: effect_counts(db)[0] >= 30, timeout=60, message="the consumer did not start")
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    applied_at_kill = effect_counts(db)[0]
    assert applied_at_kill < total, "the kill must land mid-stream"

    second = _start_consumer_process(settings, sleep_s=0)
    try:
        wait_until(lambda: effect_counts(db)[1] == total, timeout=90, message="events were lost")
        second.send_signal(signal.SIGTERM)  # stops cleanly
        assert second.wait(30) == 0, _log_tail(second)
    finally:
        second.kill()
    assert effect_counts(db) == (total, total), "an event was applied twice"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_broker(tmp_path, real_stack):
    """A second real broker on free ports, so restarting it disturbs no other test."""
    env = dict(os.environ, CHITIEU_STACK_DIR=str(tmp_path / "stack"), CHITIEU_KAFKA_PORT=str(_free_port()),
               CHITIEU_KAFKA_CONTROLLER_PORT=str(_free_port()))
    script = str(ROOT / "scripts" / "stack.sh")

    def stack(command):
        subprocess.run(["bash", script, command], env=env, check=True, stdout=subprocess.DEVNULL)

    stack("start-kafka")
    yield f"127.0.0.1:{env['CHITIEU_KAFKA_PORT']}", stack
    stack("stop-kafka")


def test_consumer_and_relay_survive_a_broker_restart(own_broker, tmp_path, namespace):
    bootstrap, stack = own_broker
    settings = Settings(service="effects", database_url=f"sqlite:///{tmp_path}/db.sqlite", namespace=namespace,
                        kafka_bootstrap=bootstrap)
    db = make_db(settings.database_url)
    relay_stop = threading.Event()
    relay = threading.Thread(target=OutboxRelay(db=db, settings=settings).run, args=(relay_stop,), daemon=True)
    relay.start()
    consumer = RunningConsumer(make_runner(db, settings))
    try:
        write_events(db, [f"before{i}" for i in range(10)])
        wait_until(lambda: effect_counts(db) == (10, 10), timeout=60, message="first events not applied")
        stack("restart-kafka")
        write_events(db, [f"after{i}" for i in range(10)])
        wait_until(lambda: effect_counts(db)[1] == 20, timeout=120, message="events after the restart were lost")
        assert effect_counts(db) == (20, 20)
        assert unpublished(db) == 0
    finally:
        consumer.close()
        relay_stop.set()
        relay.join(30)


def test_a_reader_does_not_wait_for_a_sqlite_writer(tmp_path):
    import time

    db = make_db(f"sqlite:///{tmp_path}/db.sqlite")
    with db.transaction() as session:  # holds SQLite's write lock until the block ends
        session.execute(effects.insert().values(event_id="e1", candidate_id="c1"))
        started = time.monotonic()
        assert effect_counts(db) == (0, 0)  # the committed state, read at once
        assert time.monotonic() - started < 5  # a writer's BEGIN IMMEDIATE would wait 30 s here
    assert effect_counts(db) == (1, 1)
