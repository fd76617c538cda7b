"""Helpers of the integration tests: candidate events published straight to the real topic, and
the quota consumer running in threads against the real broker, database and Redis."""
from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager
from datetime import date

from kafka import KafkaProducer

from services.quota.worker import progress_consumer
from shared.contracts import CANDIDATE_ADMISSION_REVOKED, CANDIDATE_ADMITTED, Event, build_event, to_message
from shared.kafka import ensure_topics

_ids = itertools.count(1)
FAST_GROUP = dict(session_timeout_ms=6000, heartbeat_interval_ms=1000)


def admitted(org_code: str, day: date, *, gender: str = "male", occupation: str = "other", age: int = 35,
             ethnic_minority: bool = False, candidate_id: str | None = None) -> Event:
    return build_event(CANDIDATE_ADMITTED, {
        "candidate_id": candidate_id or f"cand-{next(_ids)}", "org_code": org_code, "admission_date": day,
        "decision_number": f"{next(_ids)}-QĐ/ĐU", "deciding_org_code": org_code,
        "attributes": {"gender": gender, "ethnic_minority": ethnic_minority, "occupation_group": occupation,
                       "age_years": age}}, source="/candidates", subject=candidate_id)


def revoked(admission: Event, on: date) -> Event:
    return build_event(CANDIDATE_ADMISSION_REVOKED, {
        "candidate_id": admission.data["candidate_id"], "org_code": admission.data["org_code"],
        "admission_date": date.fromisoformat(admission.data["admission_date"]), "revoked_on": on,
        "reason": "kết nạp nhầm / admitted by mistake"}, source="/candidates")


def many(n: int, org_code: str, first: date, last: date, **attrs) -> list[Event]:
    """`n` admissions at `org_code`, spread evenly from `first` to `last`."""
    span = (last - first).days
    return [admitted(org_code, date.fromordinal(first.toordinal() + (i * span) // max(n - 1, 1)), **attrs)
            for i in range(n)]


def publish(settings, events: list[Event], *, times: int = 1) -> None:
    """Publish each event `times` times (the same record: a redelivery as the broker would make it)."""
    ensure_topics(settings)
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20,
                             batch_size=256 * 1024)
    topic = settings.topic("candidates")
    try:
        for _ in range(times):
            for event in events:
                message = to_message(event)
                producer.send(topic, key=message.key.encode(), value=message.value,
                              headers=list(message.headers.items()))
        producer.flush(timeout=60)
    finally:
        producer.close()


@contextmanager
def consumers(db, settings, replicas: int = 1, apply_in_child: bool = False):
    """`replicas` quota consumers in the same group, each in its own thread (applying its polls in
    a child process of its own with `apply_in_child`, as `worker consume` does)."""
    stop = threading.Event()
    runners = [progress_consumer(db=db, settings=settings, apply_in_child=apply_in_child, **FAST_GROUP)
               for _ in range(replicas)]
    threads = [threading.Thread(target=r.run, args=(stop,), daemon=True) for r in runners]
    for t in threads:
        t.start()
    try:
        yield runners
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
