"""End to end, with all three services running as real processes (the Procfile's commands) over
the real Kafka broker, Redis and PostgreSQL:

a ward with two cells; the first cell has a 2024 quota of 2, the ward a quota of 3; a local webhook
receiver subscribes to the ward's subtree. Candidates admitted through the candidate API reach the
quota service's progress, and the receiver gets exactly one signed "quota met" notice for the cell
at its second admission and one for the ward at its third, in Vietnamese, and nothing more after
every event is delivered again.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import date, timedelta

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from tests.system import System
from tests.support import KAFKA_BOOTSTRAP, end_offsets, wait_until

pytestmark = pytest.mark.integration

PROVINCE, WARD, CELL1, CELL2 = "E2E-TINH", "E2E-PHUONG", "E2E-CB1", "E2E-CB2"
TREE = [
    (PROVINCE, "Đảng bộ tỉnh Thử Nghiệm", "province", None),
    (WARD, "Đảng bộ phường Đông Sơn", "grassroots", PROVINCE),
    (CELL1, "Chi bộ khu phố 1", "cell", WARD),
    (CELL2, "Chi bộ khu phố 2", "cell", WARD),
]


@pytest.fixture(scope="module")
def system(tmp_path_factory, real_stack):
    with System(log_dir=tmp_path_factory.mktemp("e2e-logs"),
                env={"CHITIEU_NOTIFY_BACKOFF_S": "0.2", "CHITIEU_NOTIFY_BACKOFF_MAX_S": "1"}) as running:
        yield running


def person(n: int, cell: str) -> dict:
    # A valid 12-digit national ID: province 038, century/gender digit (2000s male = 2), year 02.
    return {"full_name": f"Nguyễn Văn Thử {n}", "date_of_birth": "2002-05-0%d" % (n + 1), "gender": "male",
            "ethnicity": "Kinh", "religion": None, "education_level": "university",
            "occupation_group": "student", "national_id": f"038202{n:06d}", "org_code": cell,
            "listed_on": "2023-01-02", "youth_union_member": False, "helpers": ["Lê Văn Bình"]}


def admit(system: System, n: int, cell: str, admitted_on: date) -> str:
    """Take a new candidate through the pipeline to admission, through the candidate API."""
    resp = system.api("candidates", "POST", "/candidates", json=person(n, cell))
    assert resp.status_code == 201, resp.text
    cid = resp.json()["id"]
    steps = [
        {"to": "trained", "date": "2023-03-01", "training_certificate_number": f"GCN-{n}"},
        {"to": "applied", "date": "2023-09-01", "introducers": [
            {"full_name": "Lê Văn Bình", "official_member": True},
            {"full_name": "Trần Thị Cúc", "official_member": True}]},
        {"to": "proposed", "date": (admitted_on - timedelta(days=20)).isoformat(), "decision_number": f"{n}/NQ-CB"},
        {"to": "admitted", "date": admitted_on.isoformat(), "decision_number": f"{n}-QĐ/ĐU",
         "deciding_org_code": WARD},
    ]
    for step in steps:
        resp = system.api("candidates", "POST", f"/candidates/{cid}/transitions", json=step)
        assert resp.status_code == 201, resp.text
    return cid


def progress(system: System, code: str) -> dict:
    resp = system.api("quota", "GET", f"/organizations/{code}/progress", params={"period": "2024",
                                                                                   "as_of": "2024-12-31"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def verify_signature(secret: str, received) -> bool:
    parts = dict(p.split("=", 1) for p in received.headers["X-Chitieu-Signature"].split(","))
    mac = hmac.new(secret.encode(), f"{parts['t']}.".encode() + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(mac, parts["v1"])


def consumers_caught_up(system: System) -> bool:
    """Every consumer group of the system has committed up to the end of every partition."""
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP)
    probe = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP)
    try:
        groups = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(system.namespace + ".")]
        for group in groups:
            committed = admin.list_group_offsets(group)[group]
            ends = end_offsets(probe, list(committed))
            if any(meta.offset < ends.get(tp, 0) for tp, meta in committed.items()):
                return False
        return len(groups) >= 3
    finally:
        probe.close()
        admin.close()


def replay_topics(system: System, topics: list[str]) -> int:
    """Deliver every record of these topics a second time (same ids, same keys)."""
    consumer = KafkaConsumer(bootstrap_servers=KAFKA_BOOTSTRAP, enable_auto_commit=False, group_id=None)
    producer = KafkaProducer(bootstrap_servers=KAFKA_BOOTSTRAP, acks="all")
    count = 0
    try:
        for topic in topics:
            name = f"{system.namespace}.{topic}"
            parts = [TopicPartition(name, p) for p in consumer.partitions_for_topic(name) or []]
            consumer.assign(parts)
            consumer.seek_to_beginning(*parts)
            ends = end_offsets(consumer, parts)
            records = []
            while any(consumer.position(tp) < ends[tp] for tp in parts):
                for batch in consumer.poll(timeout_ms=500).values():
                    records.extend(batch)
            for r in records:
                producer.send(name, key=r.key, value=r.value, headers=r.headers)
            count += len(records)
        producer.flush()
    finally:
        producer.close()
        consumer.close()
    return count


def test_quota_met_is_notified_once_per_organisation_signed_and_in_vietnamese(system, receiver):
    for code, name, type_, parent in TREE:
        resp = system.api("quota", "POST", "/organizations", json={
            "code": code, "name": name, "type": type_, "parent_code": parent, "effective_date": "2020-01-01"})
        assert resp.status_code == 201, resp.text
    for code, target in ((CELL1, 2), (WARD, 3)):
        resp = system.api("quota", "PUT", f"/organizations/{code}/quotas/2024", json={"target": target})
        assert resp.status_code in (200, 201), resp.text

    # The other services learn the tree from the quota service's events.
    wait_until(lambda: system.api("notifications", "POST", "/subscriptions", json={
        "org_code": WARD, "include_subtree": True, "events": ["quota_met"], "channel": "webhook",
        "target": receiver.url}).status_code == 201 or None, timeout=60,
        message="the notification service never learnt the ward")
    subscription = system.api("notifications", "GET", "/subscriptions", params={"org_code": WARD}).json()["items"]
    assert len(subscription) == 1
    # The secret is returned once, at creation: create a second subscription to learn one.
    second = system.api("notifications", "POST", "/subscriptions", json={
        "org_code": WARD, "include_subtree": True, "events": ["quota_met"], "channel": "webhook",
        "target": receiver.url + "?second", "secret": "a-secret-of-the-provincial-system"})
    assert second.status_code == 201, second.text
    wait_until(lambda: system.api("candidates", "GET", f"/organizations/{CELL2}").status_code == 200,
               timeout=60, message="the candidate service never learnt the cells")

    admit(system, 1, CELL1, date(2024, 3, 4))
    wait_until(lambda: progress(system, CELL1)["admitted"] == 1, timeout=60, message="admission 1 not counted")
    assert receiver.received == [], "nothing is met after one admission"

    admit(system, 2, CELL1, date(2024, 4, 8))
    wait_until(lambda: len(receiver.received) >= 2, timeout=60, message="no notice for the cell's quota")
    cell_notices = [r for r in receiver.received if r.json()["org_code"] == CELL1]
    assert len(cell_notices) == 2  # one per subscription
    assert progress(system, WARD)["admitted"] == 2

    admit(system, 3, CELL2, date(2024, 5, 6))
    wait_until(lambda: len(receiver.received) >= 4, timeout=60, message="no notice for the ward's quota")

    cell, ward = progress(system, CELL1), progress(system, WARD)
    assert (cell["admitted"], cell["target"], cell["percent"]) == (2, 2, "100.00")
    assert (ward["admitted"], ward["target"], ward["percent"]) == (3, 3, "100.00")

    by_sub = {}
    for r in receiver.received:
        by_sub.setdefault(r.path.endswith("?second"), []).append(r)
    for second_sub, notices in by_sub.items():
        assert [n.json()["org_code"] for n in notices] == [CELL1, WARD]
        assert all(n.json()["kind"] == "quota_met" and n.json()["period"] == "2024" for n in notices)
    texts = {r.json()["org_code"]: r.json()["text"] for r in receiver.received}
    assert "Chi bộ khu phố 1 đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 2/2, đạt 100" in texts[CELL1]
    assert ("Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 3/3, đạt 100"
            in texts[WARD])
    assert all(verify_signature("a-secret-of-the-provincial-system", r) for r in by_sub[True])
    assert not any(verify_signature("a-wrong-secret-of-someone-else", r) for r in by_sub[True])

    # Every event delivered a second time: nothing more is counted or sent.
    wait_until(lambda: consumers_caught_up(system), timeout=60, message="consumers did not catch up")
    replayed = replay_topics(system, ["candidates", "quotas", "organizations"])
    assert replayed > 10
    time.sleep(1)  # let the consumers fetch the replayed records
    wait_until(lambda: consumers_caught_up(system), timeout=90, message="consumers did not take the replay")
    time.sleep(2)  # and give a wrongly sent duplicate notice the time to arrive
    assert len(receiver.received) == 4
    assert progress(system, CELL1)["admitted"] == 2 and progress(system, WARD)["admitted"] == 3
    listed = system.api("notifications", "GET", "/notifications", params={"org_code": WARD, "per_page": 500}).json()["items"]
    webhooks = [n for n in listed if n["channel"] == "webhook"]
    assert {(n["org_code"], n["status"]) for n in webhooks} == {(CELL1, "delivered"), (WARD, "delivered")}
    assert len(webhooks) == 4


def test_a_revoked_admission_is_taken_back_from_progress(system):
    cid = admit(system, 4, CELL2, date(2024, 6, 3))
    wait_until(lambda: progress(system, WARD)["admitted"] == 4, timeout=60, message="admission 4 not counted")
    resp = system.api("candidates", "POST", f"/candidates/{cid}/transitions", json={
        "to": "revoked", "date": "2024-06-10", "reason": "Quyết định kết nạp nhầm / admitted by mistake"})
    assert resp.status_code == 201, resp.text
    wait_until(lambda: progress(system, WARD)["admitted"] == 3, timeout=60, message="revocation not applied")
    assert progress(system, CELL1)["admitted"] == 2
