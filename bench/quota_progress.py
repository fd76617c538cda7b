"""Benchmark of the quota service, from one run:

(a) admissions per second applied from Kafka to Redis by the quota consumer (ledger, counters,
    milestones in the database, then the Redis figures), and the raw kafka-python consume rate
    (JSON-decoding every value) of the same topic in the same process; the ratio is the figure.
The progress endpoint's latency on the national tree is bench.quota_latency's.

    python -m bench.quota_progress [--admissions 30000] [--db sqlite|postgresql]

Everything lives in its own namespace (topics, group, Redis keys) and its own database, removed
at the end. Needs the local stack (Kafka, Redis, PostgreSQL) running.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import statistics
import threading
import time
import uuid
from datetime import date

import redis
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from sqlalchemy import insert, select

from bench._national import insert_tree
from services.quota.models import Base, ProgressCounter, Quota
from services.quota.projection import ProgressStore
from services.quota.worker import progress_consumer
from tests.support import fresh_database
from shared.config import Settings
from shared.offload import ProcessOffload
from shared.contracts import CANDIDATE_ADMITTED, build_event, to_message
from shared.db import Database
from shared.kafka import ensure_topics



# --- (a) consumer throughput -------------------------------------------------------------------
def throughput(db: Database, settings: Settings, n: int) -> dict:
    cells = [f"CB{i:03d}" for i in range(200)]
    orgs = [("TINH", "Đảng bộ tỉnh", "province", None)]
    orgs += [(f"H{i:02d}", f"Đảng bộ huyện {i}", "district", "TINH") for i in range(20)]
    orgs += [(c, f"Chi bộ {c}", "cell", f"H{int(c[2:]) % 20:02d}") for c in cells]
    insert_tree(db, orgs)
    with db.transaction() as session:
        session.execute(insert(Quota.__table__), [{"org_code": c, "period": "2024", "target": 60, "composition": "[]"}
                                                  for c, *_ in orgs])
    ensure_topics(settings)
    topic = settings.topic("candidates")
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", linger_ms=20,
                             batch_size=512 * 1024)
    rng = random.Random(7)
    started = time.perf_counter()
    for i in range(n):
        event = build_event(CANDIDATE_ADMITTED, {
            "candidate_id": f"c{i}", "org_code": rng.choice(cells),
            "admission_date": date(2024, 1, 1 + i % 28).replace(month=1 + i % 12), "decision_number": f"{i}-QĐ",
            "deciding_org_code": "TINH", "attributes": {
                "gender": rng.choice(["female", "male"]), "ethnic_minority": rng.random() < 0.1,
                "occupation_group": rng.choice(["student", "non_state_enterprise", "farmer", "other"]),
                "age_years": rng.randint(18, 59)}}, source="/candidates")
        message = to_message(event)
        producer.send(topic, key=message.key.encode(), value=message.value, headers=list(message.headers.items()))
    producer.flush()
    producer.close()
    print(f"  produced {n} candidate.admitted events in {time.perf_counter() - started:.1f}s")

    raw_before = raw_rate(settings, topic, n)
    # The quota consumer: from its first poll with records to the last figure in Redis.
    # As `worker consume` runs it: polls applied by a child process.
    runner = progress_consumer(db=db, settings=settings, apply_in_child=True, session_timeout_ms=6000,
                               heartbeat_interval_ms=1000)
    first: list[float] = []
    original = ProcessOffload.submit
    sizes: list[int] = []

    def timed(offload, records, stop):  # every poll handed to the apply process
        if not first:
            first.append(time.perf_counter())
        sizes.append(len(records))
        return original(offload, records, stop)

    ProcessOffload.submit = timed
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    store = ProgressStore(client, settings)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    while int(client.hget(store.key("TINH", "2024"), "admitted") or 0) < n:
        time.sleep(0.02)
    ours = n / (time.perf_counter() - first[0])
    stop.set()
    thread.join(timeout=30)
    ProcessOffload.submit = original
    with db.transaction() as session:
        counted = session.execute(select(ProgressCounter.admitted).where(
            ProgressCounter.org_code == "TINH", ProgressCounter.period == "2024")).scalar()
    assert counted == n, f"ledger counted {counted} of {n}"
    for key in client.scan_iter(f"{settings.namespace}:*"):
        client.delete(key)
    client.close()
    # The machine is shared: the raw rate is measured before and after, and their mean is the yardstick.
    raw_after = raw_rate(settings, topic, n)
    return {"raw_before": raw_before, "raw_after": raw_after, "raw": (raw_before + raw_after) / 2, "ours": ours,
            "polls": len(sizes), "mean_poll": statistics.mean(sizes)}


def raw_rate(settings: Settings, topic: str, n: int) -> float:
    """Raw kafka-python: every record of the topic, JSON-decoded, one process, no group."""
    raw = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None,
                        max_poll_records=500)
    partitions = [TopicPartition(topic, p) for p in raw.partitions_for_topic(topic)]
    raw.assign(partitions)
    raw.seek_to_beginning()
    got, started = 0, time.perf_counter()
    while got < n:
        for records in raw.poll(timeout_ms=500).values():
            for record in records:
                json.loads(record.value)
            got += len(records)
    rate = n / (time.perf_counter() - started)
    raw.close()
    return rate


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--admissions", type=int, default=30000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"quota progress benchmark ({args.db})")
    with fresh_database(args.db, prefix="bench") as url:
        settings = Settings(service="quota", database_url=url, namespace=f"bench{uuid.uuid4().hex[:8]}",
                            log_level="WARNING")
        db = Database(url, Base.metadata)
        db.create_all()
        rates = throughput(db, settings, args.admissions)
        db.dispose()
    print(f"(a) raw kafka-python consume (JSON decode): {rates['raw']:,.0f} records/s "
          f"(before: {rates['raw_before']:,.0f}, after: {rates['raw_after']:,.0f})")
    print(f"    quota consumer, Kafka -> ledger -> Redis: {rates['ours']:,.0f} admissions/s")
    print(f"    ({rates['polls']} polls of {rates['mean_poll']:.0f} records on average)")
    print(f"    ratio: {rates['ours'] / rates['raw']:.2f}")


if __name__ == "__main__":
    main()
