"""The batch consumer's fallback: a poll with a record that can never succeed is applied record by
record; the good ones count, the bad ones go to the dead-letter topic, nothing is counted twice."""
from __future__ import annotations

from datetime import date

import pytest
from kafka import KafkaProducer, TopicPartition
from sqlalchemy import select

from services.quota.models import ProgressCounter
from services.quota.worker import progress_consumer
from tests.quota.conftest import add_org
from tests.quota.replay import admitted, many, publish, revoked
from tests.support import read_topic

pytestmark = pytest.mark.integration


def test_poison_in_a_poll_falls_back_to_one_by_one(client, admin, db, settings, redis_client):
    add_org(client, admin, "P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots")
    add_org(client, admin, "P-QUANG-CAT-CB1", "Chi bộ thôn 1", "cell", "P-QUANG-CAT")
    good = many(5, "P-QUANG-CAT-CB1", date(2024, 2, 1), date(2024, 6, 1))
    never_admitted = revoked(admitted("P-QUANG-CAT-CB1", date(2024, 3, 3)), date(2024, 4, 1))
    publish(settings, good[:3] + [never_admitted] + good[3:])
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    producer.send(settings.topic("candidates"), key=b"x", value=b"{not json")
    producer.flush()
    producer.close()
    records = read_topic(settings, "candidates", expected=7)
    assert len(records) == 7
    runner = progress_consumer(db=db, settings=settings)
    try:
        done, stopped, _tally = runner.process_batch(records)
        assert stopped is None
        assert all(done[TopicPartition(r.topic, r.partition)] >= r.offset for r in records)  # all handled
        runner.process_batch(records)  # the same poll again: nothing changes
    finally:
        runner.close()
    with db.transaction() as session:
        counted = session.execute(select(ProgressCounter.admitted).where(
            ProgressCounter.org_code == "P-QUANG-CAT", ProgressCounter.period == "2024")).scalar()
    assert counted == 5
    assert int(redis_client.hget(f"{settings.namespace}:progress:P-QUANG-CAT:2024", "admitted")) == 5
    dead = read_topic(settings, "dead-letter", expected=4)
    reasons = sorted(dict(r.headers)["dlq.reason"].decode()[:24] for r in dead)
    assert len(dead) == 4, reasons  # both bad records, once per pass
    assert any(r.startswith("rejected by handler") for r in reasons)
    assert any(r.startswith("not a CloudEvent") for r in reasons)
