"""Benchmark of the notification service alone: time from a quota.met published to Kafka to the
signed webhook arriving at a local receiver, through the deployed processes
(`worker consume` and `worker deliver`, as subprocesses) on the real broker, Redis and database.

    python -m bench.notifications_delivery [--events 1000] [--rate 100] [--db sqlite|postgresql]

Events are published open-loop at --rate per second (so the figure is latency, not a queue
draining), one organisation each, all under one province with a subtree webhook subscription.
Prints p50/p90/p99/max latency, the delivery rate, and checks: every notice arrived exactly once,
every signature verifies. (bench/notifications_latency.py, the lead's, measures from the admission
request instead, through all three services.)
"""
from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from sqlalchemy import func, select

from services.notifications import subscriptions, tree
from services.notifications.models import Base, Notification
from services.notifications.webhooks import SIGNATURE_HEADER, verify
from tests.support import fresh_database, org_state
from shared.config import ROOT, Settings
from shared.contracts import QUOTA_MET, build_event, to_message
from shared.db import Database
from shared.kafka import ensure_topics, make_producer





class Receiver:
    def __init__(self, secret_box: dict):
        self.arrivals: dict[str, list[float]] = {}
        self.bad_signatures = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                now = time.time()
                ok = verify(secret_box["secret"], body, self.headers[SIGNATURE_HEADER])
                org = body.split(b'"org_code":"', 1)[1].split(b'"', 1)[0].decode()
                with receiver.lock:
                    receiver.arrivals.setdefault(org, []).append(now)
                    receiver.bad_signatures += 0 if ok else 1
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=100.0, help="events published per second")
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    args = parser.parse_args()

    namespace = f"bench{uuid.uuid4().hex[:8]}"
    with fresh_database(args.db, prefix="bench") as url:
        settings = Settings(service="notifications", database_url=url, namespace=namespace)
        db = Database(url, Base.metadata)
        db.create_all()
        wards = [f"W{i:05d}" for i in range(args.events)]
        secret_box: dict = {}
        receiver = Receiver(secret_box)
        with db.transaction() as session:
            tree.REPLICA.apply(session, org_state("P", "Đảng bộ tỉnh Thanh Hóa", "province", None))
            for code in wards:
                tree.REPLICA.apply(session, org_state(code, f"Đảng bộ phường {code}", "grassroots", "P"))
            secret_box["secret"] = subscriptions.create(
                session, org_code="P", include_subtree=True, events=["quota_met"], channel="webhook",
                target=receiver.url, secret=None, language="vi", created_by="bench").secret
        ensure_topics(settings)

        env = {**os.environ, "CHITIEU_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8", "CHITIEU_NAMESPACE": namespace, "CHITIEU_NOTIFICATIONS_DATABASE_URL": url,
               "CHITIEU_LOG_LEVEL": "WARNING"}
        logs = tempfile.TemporaryDirectory()
        procs = [subprocess.Popen([sys.executable, "-m", "services.notifications.worker", cmd], cwd=ROOT, env=env,
                                  stdout=open(f"{logs.name}/{cmd}.log", "wb"), stderr=subprocess.STDOUT)
                 for cmd in ("consume", "deliver")]
        producer = make_producer(settings)
        try:
            # Warm-up: the consumer has joined its group when a first notice arrives.
            warm = build_event(QUOTA_MET, payload("P", "2023"), source="/bench")
            publish(producer, settings, warm)
            deadline = time.time() + 120
            while "P" not in receiver.arrivals:
                if time.time() > deadline:
                    raise SystemExit(f"no warm-up notice; logs in {logs.name}")
                time.sleep(0.05)

            sent_at: dict[str, float] = {}
            started = time.time()
            for i, code in enumerate(wards):
                pause = started + i / args.rate - time.time()
                if pause > 0:
                    time.sleep(pause)
                event = build_event(QUOTA_MET, payload(code, "2024"), source="/bench")
                message = to_message(event)
                sent_at[code] = time.time()
                producer.send(settings.topic("quotas"), key=event.key.encode(), value=message.value,
                              headers=list(message.headers.items()))
            producer.flush()
            deadline = time.time() + 300
            while sum(1 for c in wards if c in receiver.arrivals) < len(wards) and time.time() < deadline:
                time.sleep(0.1)
            finished = time.time()
            time.sleep(2)  # anything sent twice would arrive now
        finally:
            producer.close()
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                p.wait(timeout=60)

        latencies = [(receiver.arrivals[c][0] - sent_at[c]) * 1000 for c in wards if c in receiver.arrivals]
        duplicates = sum(len(v) - 1 for v in receiver.arrivals.values())
        with db.sessions() as session:
            inbox = session.scalar(select(func.count()).select_from(Notification).where(Notification.channel == "inbox"))
            stages = session.execute(select(Notification.org_code, Notification.created_at, Notification.delivered_at)
                                     .where(Notification.channel == "webhook", Notification.org_code.in_(wards))).all()
        # Where the time goes: publish → notice recorded (consumer), recorded → webhook answered (deliverer).
        recorded = [(_ts(c) - sent_at[o]) * 1000 for o, c, _ in stages]
        sending = [(_ts(d) - _ts(c)) * 1000 for _, c, d in stages if d is not None]
        db.dispose()
        print(f"notifications delivery bench ({args.db}, {args.events} quota.met at {args.rate:g}/s, "
              f"consume + deliver as processes)")
        print(f"  delivered {len(latencies)}/{len(wards)} webhooks, duplicates {duplicates}, "
              f"bad signatures {receiver.bad_signatures}, inbox notices {inbox}")
        if latencies:
            print(f"  publish → webhook latency ms: p50 {statistics.median(latencies):.1f}  "
                  f"p90 {percentile(latencies, 90):.1f}  p99 {percentile(latencies, 99):.1f}  max {max(latencies):.1f}")
            print(f"  of which publish → recorded p50 {statistics.median(recorded):.1f} ms, "
                  f"recorded → delivered p50 {statistics.median(sending):.1f} ms")
            tenth = max(len(latencies) // 10, 1)
            print("  p50 by tenth of the run (send order): " + " ".join(
                f"{statistics.median(latencies[i:i + tenth]):.0f}" for i in range(0, len(latencies), tenth)))
            print(f"  throughput: {len(latencies) / (finished - started):.0f} notices/s over {finished - started:.1f}s")


def _ts(value) -> float:
    from datetime import timezone
    return (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).timestamp()


def payload(code: str, period: str) -> dict:
    return {"org_code": code, "org_name": f"Đảng bộ phường {code}", "org_type": "grassroots_committee",
            "parent_code": "P", "assigner_org_code": "P", "period": period, "target": 13, "admitted": 14,
            "percent": "107.69", "reached_on": date(2024, 11, 20)}


def publish(producer, settings, event) -> None:
    message = to_message(event)
    producer.send(settings.topic("quotas"), key=event.key.encode(), value=message.value,
                  headers=list(message.headers.items())).get(timeout=30)


if __name__ == "__main__":
    main()
