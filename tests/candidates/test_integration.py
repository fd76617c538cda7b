"""Through the real broker: organization.created events on Kafka build the local tree (the
candidates-tree consumer), and an admission made through the API reaches the candidates topic
as candidate.admitted via the outbox relay."""
import json
import threading

import pytest

from shared.contracts import ORGANIZATION_STATE, build_event, parse_record
from shared.db import Database
from shared.kafka import ensure_topics
from shared.relay import CONTENT_TYPE, OutboxRelay
from services.candidates import tree
from services.candidates.app import create_app
from services.candidates.models import Base
from services.candidates.worker import tree_consumer
from tests.candidates.factories import TREE, auth, create, walk
from tests.support import raw_producer, read_topic, wait_until, org_state

pytestmark = pytest.mark.integration


def test_tree_from_kafka_and_admission_to_kafka(real_stack, make_settings):
    settings = make_settings("candidates")
    db = Database(settings.database_url, Base.metadata)
    db.create_all()
    ensure_topics(settings)

    producer = raw_producer(settings)
    for code, name, type_, parent in TREE:
        event = build_event(ORGANIZATION_STATE, org_state(code, name, type_, parent), source="/quota")
        producer.send(settings.topic("organization-state"), key=event.key.encode(), value=event.to_kafka_value(),
                      headers=CONTENT_TYPE)
    producer.flush()
    producer.close()

    stop = threading.Event()
    runner = tree_consumer(db=db, settings=settings, session_timeout_ms=6000, heartbeat_interval_ms=1000)
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        def known():
            with db.transaction() as s:
                return tree.get(s, "P-QUANG-CAT-CB2")
        org = wait_until(known, timeout=60, message="the consumer never built the tree")
        assert org.type == "cell" and org.name == "Chi bộ thôn 2"
    finally:
        stop.set()
        thread.join(timeout=30)

    client = create_app(settings, db=db).test_client()
    # A ward officer's scope is checked against the tree that came through Kafka.
    cid = create(client, org_code="P-QUANG-CAT-CB2", gender="female")["id"]
    assert client.get(f"/api/v1/candidates/{cid}", headers=auth(org="P-QUANG-CAT", role="viewer")).status_code == 200
    assert client.get(f"/api/v1/candidates/{cid}", headers=auth(org="P-DONG-SON", role="viewer")).status_code == 403
    walk(client, cid, "admitted", deciding="P-QUANG-CAT")

    relay = OutboxRelay(db=db, settings=settings)
    try:
        while relay.publish_pending():
            pass
    finally:
        relay.close()
    records = read_topic(settings, "candidates", expected=6, timeout=60)
    events = [parse_record(r.value, r.key, r.headers) for r in records]
    admitted = [e for e in events if e.type == "vn.chitieu.candidate.admitted.v1"]
    assert len(admitted) == 1
    assert admitted[0].key == cid and admitted[0].data["org_code"] == "P-QUANG-CAT-CB2"
    assert admitted[0].data["attributes"]["gender"] == "female"
    assert [e.type.split(".")[-2] for e in events] == ["listed", "stage_changed", "stage_changed", "stage_changed",
                                                         "stage_changed", "admitted"]
    assert all(r.key.decode() == cid for r in records)
    assert "national_id" not in json.dumps([e.data for e in events])
    db.dispose()
