"""Benchmark of the notification API's inbox as the web pages ask for it: a page of the list with
its total (shared/pagination.py), a deep page, the live poll (`after_id` = the newest shown: nothing
new) and the header's unread count, on a large inbox, in process (Flask's test client; no network).

    python -m bench.notifications_inbox [--notices 20000] [--db postgresql|sqlite] [--requests 200]

One ward's inbox gets the notices (half of them read by the person asking); prints p50/p95/p99 per
request kind, in milliseconds.
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from services.notifications import tree
from services.notifications.app import create_app
from services.notifications.models import Base, Notification, NotificationRead
from shared.config import Settings
from shared.db import Database
from tests.keys import test_issuer, token
from tests.support import REDIS_URL, fresh_database, org_state

ORG = "P-DONG-SON"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=20_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    with fresh_database(args.db, prefix="bench") as url:
        settings = Settings(service="notifications", database_url=url, namespace=f"bench{uuid.uuid4().hex[:8]}",
                            redis_url=REDIS_URL, log_level="WARNING", **test_issuer().settings())
        db = Database(url, Base.metadata)
        db.create_all()
        seed(db, args.notices)
        client = create_app(settings, db=db).test_client()
        headers = {"Authorization": "Bearer " + token(sub="can-bo", org=ORG, role="officer", ttl=timedelta(hours=1))}
        newest = client.get(f"/api/v1/inbox/{ORG}", query_string={"per_page": 1}, headers=headers).json["items"][0]["id"]
        last_page = args.notices // 20
        kinds = {"page 1 (20 + total)": (f"/api/v1/inbox/{ORG}", {"per_page": 20}),
                 f"page {last_page} (20 + total)": (f"/api/v1/inbox/{ORG}", {"per_page": 20, "page": last_page}),
                 "live poll (after_id)": (f"/api/v1/inbox/{ORG}", {"after_id": newest}),
                 "unread count": (f"/api/v1/inbox/{ORG}/unread", {})}
        print(f"inbox of {args.notices:,} notices ({args.db}), {args.requests} requests each:")
        for name, (path, query) in kinds.items():
            times = []
            for _ in range(args.requests):
                started = time.perf_counter()
                answer = client.get(path, query_string=query, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200, answer.json
            q = statistics.quantiles(times, n=100)
            print(f"  {name:28s} p50 {q[49]:7.1f} ms  p95 {q[94]:7.1f} ms  p99 {q[98]:7.1f} ms")
        db.dispose()


def seed(db: Database, count: int) -> None:
    with db.transaction() as session:
        tree.REPLICA.apply(session, org_state(ORG, "Đảng bộ phường Đông Sơn", "grassroots", None))
    rows = [{"delivery_id": str(uuid.uuid4()), "recipient": f"inbox:{ORG}", "channel": "inbox",
             "recipient_org_code": ORG, "org_code": ORG, "org_name": "Đảng bộ phường Đông Sơn",
             "kind": ("quota_met", "milestone_reached")[i % 2], "period": str(2000 + i % 25),
             "occurrence": f"bench-{i}", "language": "vi", "text": "Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu.",
             "payload": {}, "source_event_id": str(uuid.uuid4()), "status": "delivered"} for i in range(count)]
    with db.transaction() as session:
        for start in range(0, count, 5000):
            session.execute(insert(Notification), rows[start:start + 5000])
    with db.transaction() as session:
        ids = list(session.scalars(select(Notification.id).order_by(Notification.id)))
        read = [{"notification_id": i, "reader": "can-bo"} for i in ids[::2]]
        for start in range(0, len(read), 5000):
            session.execute(insert(NotificationRead), read[start:start + 5000])


if __name__ == "__main__":
    main()
