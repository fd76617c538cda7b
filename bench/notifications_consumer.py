"""Benchmark of the notification consumer alone: how many quota events per second it applies
(notices recorded, announced) when a backlog waits in Kafka, on the real broker, Redis and database.

    python -m bench.notifications_consumer [--events 5000] [--db postgresql|sqlite]

The events (quota.met and quota.milestone_reached, one ward each, all under one province with a
subtree webhook subscription and the wards' own inboxes) are published first; then the service's
consumer (services.notifications.handlers.make_runner, in this process, as `worker consume` runs
it) is started and timed until every event is recorded. Prints events/s and checks that every
event made its notices exactly once. The delivery worker is not running: sending is
bench.notifications_delivery's business.
"""
from __future__ import annotations

import argparse
import threading
import time
import uuid
from datetime import date

from sqlalchemy import func, select

from services.notifications import subscriptions, tree
from services.notifications.handlers import make_runner
from services.notifications.models import Base, Notification
from services.notifications.settings import DeliverySettings
from shared.config import Settings
from shared.contracts import QUOTA_MET, QUOTA_MILESTONE_REACHED, build_event, to_message
from shared.db import Database
from shared.kafka import ensure_topics, make_producer
from tests.support import KAFKA_BOOTSTRAP, REDIS_URL, fresh_database, org_state


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--in-thread", action="store_true", help="apply polls in a thread, not a child process")
    args = parser.parse_args()

    namespace = f"bench{uuid.uuid4().hex[:8]}"
    with fresh_database(args.db, prefix="bench") as url:
        settings = Settings(service="notifications", database_url=url, namespace=namespace,
                            kafka_bootstrap=KAFKA_BOOTSTRAP, redis_url=REDIS_URL)
        db = Database(url, Base.metadata)
        db.create_all()
        wards = [f"W{i:05d}" for i in range(args.events)]
        with db.transaction() as session:
            tree.REPLICA.apply(session, org_state("P", "Đảng bộ tỉnh Thanh Hóa", "province", None))
            for code in wards:
                tree.REPLICA.apply(session, org_state(code, f"Đảng bộ phường {code}", "grassroots", "P"))
            subscriptions.create(session, org_code="P", include_subtree=True, events=["quota_met"],
                                 channel="webhook", target="https://hooks.example.vn/chitieu", secret=None, language="vi",
                                 created_by="bench")
        ensure_topics(settings)
        producer = make_producer(settings)
        for i, code in enumerate(wards):
            if i % 2:
                event = build_event(QUOTA_MILESTONE_REACHED, {**payload(code), "milestone": 75, "admitted": 10,
                                                              "percent": "76.92"}, source="/bench")
            else:
                event = build_event(QUOTA_MET, payload(code), source="/bench")
            message = to_message(event)
            producer.send(settings.topic("quotas"), key=event.key.encode(), value=message.value,
                          headers=list(message.headers.items()))
        producer.flush()
        producer.close()

        # As `worker consume` runs it: polls applied by a child process while the next is fetched.
        runner = make_runner(db=db, settings=settings, delivery=DeliverySettings.from_env(),
                             apply_in_child=not args.in_thread)
        stop = threading.Event()
        thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
        started = time.time()
        thread.start()
        deadline = started + 900
        first = None  # when the first poll was applied: the group join and first fetch are behind
        while (done := processed(db)) < args.events and time.time() < deadline:
            if first is None and done:
                first = (time.time(), done)
            time.sleep(0.05)
        finished = time.time()
        stop.set()
        thread.join(timeout=60)
        with db.reading() as conn:
            notices = conn.execute(select(Notification.channel, func.count()).group_by(Notification.channel)).all()
        done = processed(db)
        print(f"notification consumer bench ({args.db}, {args.events} quota events waiting in Kafka)")
        print(f"  applied {done}/{args.events} in {finished - started:.1f}s: {done / (finished - started):.0f} events/s "
              f"(including the consumer's start and group join)")
        if first is not None and finished > first[0]:
            print(f"  once consuming: {(done - first[1]) / (finished - first[0]):.0f} events/s")
        print(f"  notices by channel: {dict(notices)}")
        expected = {"inbox": args.events, "webhook": (args.events + 1) // 2}
        print(f"  exactly once: {'yes' if dict(notices) == expected else f'NO, expected {expected}'}")


def processed(db: Database) -> int:
    with db.reading() as conn:
        return conn.execute(select(func.count()).select_from(db.processed)).scalar()


def payload(code: str) -> dict:
    return {"org_code": code, "org_name": f"Đảng bộ phường {code}", "org_type": "grassroots_committee",
            "parent_code": "P", "assigner_org_code": "P", "period": "2024", "target": 13, "admitted": 14,
            "percent": "107.69", "reached_on": date(2024, 11, 20)}


if __name__ == "__main__":
    main()
