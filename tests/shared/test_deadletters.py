"""Dead letters through the real broker: a consumer whose every event fails stops at the limit with
nothing committed past it; a dead letter replayed after the fix is applied once, and only by the
consumer that set it aside."""
from __future__ import annotations

import threading
from collections import namedtuple

import pytest
from kafka import KafkaAdminClient

from shared import cli, contracts
from shared.consumer import PoisonEvent
from shared.deadletters import (REPLAY_FOR, DeadLetterLimit, DeadLetterLimitReached, addressed_elsewhere,
                                read_dead_letters, replay)
from shared.kafka import ensure_topics
from shared.relay import OutboxRelay
from tests.shared.effects_app import effect_counts, make_db, make_runner
from tests.shared.test_messaging import write_events
from tests.support import wait_until

pytestmark = pytest.mark.integration
TOTAL = 12


@pytest.fixture
def settings(real_stack, make_settings):
    s = make_settings("effects", dead_letter_window=10, dead_letter_max_share=0.3)
    ensure_topics(s)
    return s


@pytest.fixture
def db(settings):
    database = make_db(settings.database_url)
    yield database
    database.dispose()


def committed(settings) -> int:
    """How many records the consumer group has committed, over all partitions."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        group = settings.group("effects")
        return sum(max(o.offset, 0) for o in admin.list_group_offsets(group)[group].values())
    finally:
        admin.close()


def run_until_done(runner, stop: threading.Event) -> tuple[threading.Thread, list]:
    raised = []

    def target():
        try:
            runner.run(stop)
        except Exception as exc:  # looked at by the test
            raised.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, raised


def chitieu(settings, monkeypatch, capsys, *argv) -> str:
    """The administrator's command, in this test's namespace; returns what it printed."""
    monkeypatch.setenv("CHITIEU_NAMESPACE", settings.namespace)
    monkeypatch.setenv("CHITIEU_KAFKA_BOOTSTRAP", settings.kafka_bootstrap)
    capsys.readouterr()
    cli.main(list(argv))
    return capsys.readouterr().out


def test_the_limit_stops_a_consumer_whose_every_event_fails_and_a_replay_after_the_fix_applies_once(
        db, settings, monkeypatch, capsys):
    write_events(db, [f"k{i}" for i in range(TOTAL)])
    relay = OutboxRelay(db=db, settings=settings)
    while relay.publish_pending():
        pass
    relay.close()

    def broken(session, event, data):  # bad code deployed: every event "can never succeed"
        raise PoisonEvent("the handler is broken")

    stop = threading.Event()
    thread, raised = run_until_done(make_runner(db, settings, apply=broken), stop)
    thread.join(timeout=60)
    stop.set()
    assert not thread.is_alive(), "the consumer did not stop at the limit"
    assert len(raised) == 1 and isinstance(raised[0], DeadLetterLimitReached)
    assert "3 of the last" in str(raised[0]) and "the handler is broken" in str(raised[0])
    letters = read_dead_letters(settings, consumer="effects")
    assert len(letters) == 3  # 30% of a window of 10, then the fourth stopped it
    assert committed(settings) == 3, "offsets must not pass the record that tripped the limit"
    assert effect_counts(db) == (0, 0)

    # The cause is fixed: the consumer goes on from the fourth event, and the three set aside
    # come back, replayed twice by a hasty administrator, and are applied once.
    positions = [letter.position for letter, _ in letters]
    assert {letter.event_type for letter, _ in letters} == {contracts.CANDIDATE_LISTED.type}
    assert all(letter.origin.startswith(settings.topic("candidates") + "/") for letter, _ in letters)
    listing = chitieu(settings, monkeypatch, capsys, "dead-letters", "list", "--consumer", "effects").splitlines()
    assert [line.split("\t")[0] for line in listing] == positions
    assert all("rejected by handler: the handler is broken" in line and "vn.chitieu.candidate.listed" in line
               for line in listing)
    replayed = chitieu(settings, monkeypatch, capsys, "dead-letters", "replay", *positions)
    assert replayed.count("replayed") == 3
    replay(settings, positions)
    stop = threading.Event()
    thread, raised = run_until_done(make_runner(db, settings), stop)
    try:
        wait_until(lambda: effect_counts(db) == (TOTAL, TOTAL), timeout=60, message="not every event applied")
        wait_until(lambda: committed(settings) == TOTAL + 6, timeout=30, message="replays not committed")
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not raised
    assert effect_counts(db) == (TOTAL, TOTAL)


def test_a_replay_is_addressed_to_the_consumer_that_set_it_aside():
    Record = namedtuple("Record", "headers")
    replayed = Record([("content-type", b"application/cloudevents+json"), (REPLAY_FOR, b"quota-progress")])
    assert not addressed_elsewhere(replayed, "quota-progress")
    assert addressed_elsewhere(replayed, "notifications")
    assert not addressed_elsewhere(Record([]), "notifications")


def test_the_limit_counts_a_sliding_window():
    limit = DeadLetterLimit(window=10, max_share=0.2)
    limit.check("a")
    limit.check("b")
    with pytest.raises(DeadLetterLimitReached):
        limit.check("c")
    limit.passed(10)  # ten good records push the two failures out of the window
    limit.check("d")
    limit.check("e")
    with pytest.raises(DeadLetterLimitReached):
        limit.check("f")


def test_replaying_an_unknown_position_is_refused(settings):
    with pytest.raises(LookupError):
        replay(settings, ["0:999999"])

