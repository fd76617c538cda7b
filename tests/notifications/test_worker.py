"""The worker's processes over the real broker and Redis: events published to Kafka become signed
webhook notices, exactly once — redelivered, re-published, replayed from the start by a consumer
that lost its offsets, or shared between two consumer replicas."""
import dataclasses
import threading

import sqlalchemy.event

import pytest
from sqlalchemy import func, select

from shared.kafka import ensure_topics, make_producer
from shared.redis_client import get_redis
from services.notifications import subscriptions
from services.notifications.delivery import Deliverer
from services.notifications.handlers import make_runner
from services.notifications.models import Notification
from services.notifications.webhooks import SIGNATURE_HEADER, verify
from tests.support import wait_until

from .conftest import quota_met

pytestmark = pytest.mark.integration
SENTENCE = "Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 14/13, đạt 107,7% kế hoạch."
FAST_GROUP = dict(session_timeout_ms=6000, heartbeat_interval_ms=1000)


class Processes:
    """Consumer replicas and a delivery worker running in threads, stopped at the end of the test."""

    def __init__(self, db, settings, delivery):
        self.db, self.settings, self.delivery = db, settings, delivery
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.runners = []
        self.outcomes: list[str] = []  # per event handled: "applied" (new) or "seen" (every delivery)
        self.lock = threading.Lock()

    def consumer(self, **config):
        runner = make_runner(db=self.db, settings=self.settings, delivery=self.delivery, **FAST_GROUP, **config)
        handler = runner.handler

        def apply(session, events):
            result = handler.apply(session, events)
            # Counted once the transaction commits: a poll that is rolled back and retried counts once.
            sqlalchemy.event.listen(session, "after_commit", lambda _s: self._count("applied", events), once=True)
            return result

        def project(events, result):
            handler.project(events, result)
            self._count("seen", events)

        runner.handler = dataclasses.replace(handler, apply=apply, project=project)
        self._start(runner.run)
        self.runners.append(runner)
        return runner

    def _count(self, outcome: str, events: list) -> None:
        with self.lock:
            self.outcomes.extend([outcome] * len(events))

    def deliverer(self):
        worker = Deliverer(db=self.db, settings=self.settings, delivery=self.delivery,
                           redis_client=get_redis(self.settings.redis_url))
        self._start(worker.run)
        return worker

    def _start(self, target):
        thread = threading.Thread(target=target, args=(self.stop,), daemon=True)
        thread.start()
        self.threads.append(thread)

    def close(self):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)


@pytest.fixture
def processes(db, settings, delivery_settings):
    ensure_topics(settings)
    procs = Processes(db, settings, dataclasses.replace(delivery_settings, poll_interval_s=1.0))
    yield procs
    procs.close()


@pytest.fixture
def publish(settings):
    from shared.contracts import to_message
    producer = make_producer(settings)

    def send(event, *, key: str | None = None):
        message = to_message(event)
        producer.send(settings.topic("quotas"), key=(key or event.key).encode(), value=message.value,
                      headers=list(message.headers.items())).get(timeout=30)

    yield send
    producer.close()


def webhook_notices(db) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Notification).where(Notification.channel == "webhook"))


def subscribe(db, org_code, target, include_subtree=False):
    with db.transaction() as session:
        return subscriptions.create(session, org_code=org_code, include_subtree=include_subtree, events=["quota_met"],
                                    channel="webhook", target=target, secret=None, language="vi",
                                    created_by="tester").secret


def test_met_quota_on_the_broker_reaches_the_webhook_once(db, processes, publish, receivers):
    receiver = receivers()
    secret = subscribe(db, "DONGSON", receiver.url)
    processes.consumer()
    processes.deliverer()
    event = quota_met()
    publish(event)
    wait_until(lambda: receiver.count() >= 1, timeout=180, message="the webhook never received the notice")
    [request] = receiver.requests
    assert verify(secret, request["body"], request["headers"][SIGNATURE_HEADER])
    assert receiver.payloads()[0]["text"] == SENTENCE

    # The same event again, and the same fact under a new event id; then a later, different notice
    # of the same organisation (same partition, so it is handled after the replays).
    publish(event)
    publish(quota_met())
    publish(quota_met(period="2025"))
    wait_until(lambda: receiver.count() >= 2, timeout=180, message="the later notice never arrived")
    assert [p["period"] for p in receiver.payloads()] == ["2024", "2025"]

    # A consumer that lost its offsets (another group) replays the topic from the start: nothing new.
    before = len(processes.outcomes)
    processes.consumer(group_id=processes.settings.group("notifications-replay"))
    wait_until(lambda: processes.outcomes[before:].count("seen") >= 4, timeout=180, message="replay did not finish")
    assert processes.outcomes[before:] == ["seen"] * 4  # none applied again
    assert webhook_notices(db) == 2 and receiver.count() == 2


def test_two_consumer_replicas_make_one_notice_each(db, processes, publish, receivers):
    receiver = receivers()
    subscribe(db, "TH", receiver.url, include_subtree=True)
    replicas = [processes.consumer(), processes.consumer()]
    wait_until(lambda: all(r._consumer is not None and r._consumer.assignment() for r in replicas),
               timeout=180, message="both replicas never got partitions")
    processes.deliverer()
    wards = ["DONGSON", "QUANGCAT", "DONGSON-1", "TPTH", "TH"] + [f"WARD-{i}" for i in range(7)]
    for ward in wards:
        event = quota_met(ward, parent="TPTH" if ward.startswith("WARD") else None)
        publish(event)
        publish(event)  # redelivered
        publish(quota_met(ward, parent="TPTH" if ward.startswith("WARD") else None))  # re-published, new id
    wait_until(lambda: processes.outcomes.count("seen") >= 3 * len(wards), timeout=90,
               message="events not all consumed")
    wait_until(lambda: receiver.count() >= len(wards), timeout=180, message="notices not all delivered")
    assert sorted(p["org_code"] for p in receiver.payloads()) == sorted(wards)
    assert webhook_notices(db) == len(wards)
    assert processes.outcomes.count("applied") >= len(wards)
