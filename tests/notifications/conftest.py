"""Fixtures of the notification service's tests: its database, settings with short retries, the
organisation tree of the examples (TP Thanh Hóa, phường Đông Sơn), a local webhook receiver, a
real SMTP server, and Kafka-like records built from the event contract."""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller

from tests.keys import token as issue_token
from tests.support import org_state as support_org_state
from shared.contracts import (ORGANIZATION_STATE, QUOTA_MET, QUOTA_MILESTONE_REACHED, build_event,
                              to_message)
from shared.db import Database
from services.notifications import tree
from services.notifications.handlers import make_runner
from services.notifications.models import Base
from services.notifications.settings import DeliverySettings

# Figures from the press (DOMAIN.md): phường Đông Sơn admitted 14 against a plan of 13 in 2024.
TREE = [
    ("TH", "Đảng bộ tỉnh Thanh Hóa", "province_committee", None),
    ("TPTH", "Đảng bộ thành phố Thanh Hóa", "city_committee", "TH"),
    ("DONGSON", "Đảng bộ phường Đông Sơn", "grassroots_committee", "TPTH"),
    ("DONGSON-1", "Chi bộ khu phố 1", "cell", "DONGSON"),
    ("QUANGCAT", "Đảng bộ phường Quảng Cát", "grassroots_committee", "TPTH"),
]
NAMES = {code: name for code, name, _, _ in TREE}


@pytest.fixture(autouse=True)
def loopback_receivers(monkeypatch):
    """The tests' webhook receivers listen on loopback: allowed explicitly, as an administrator would."""
    monkeypatch.setenv("CHITIEU_WEBHOOK_ALLOW_CIDRS", "127.0.0.0/8")


@pytest.fixture
def delivery_settings(tmp_path) -> DeliverySettings:
    # Short backoff so retries happen within a test; three attempts per round.
    return DeliverySettings(backoff_initial_s=0.05, backoff_max_s=0.2, max_attempts=3, webhook_timeout_s=5,
                            claim_lease_s=30, poll_interval_s=0.1, senders=4)


@pytest.fixture
def settings(real_stack, make_settings):
    return make_settings("notifications")


@pytest.fixture
def db(settings):
    database = Database(settings.database_url, Base.metadata)
    database.create_all()
    with database.transaction() as session:
        for code, name, type_, parent in TREE:
            tree.REPLICA.apply(session, support_org_state(code, name, type_, parent))
    yield database
    database.dispose()


@pytest.fixture
def runner(db, settings, delivery_settings):
    """The service's consumer, fed records by hand with runner.process(record)."""
    r = make_runner(db=db, settings=settings, delivery=delivery_settings)
    yield r
    r.close()


@pytest.fixture
def token(settings):
    """Authorization headers of a caller: token(org="DONGSON", role="officer")."""
    def make(org: str = "*", role: str = "admin", sub: str = "tester") -> dict:
        return {"Authorization": f"Bearer {issue_token(sub=sub, org=org, role=role)}"}
    return make


@dataclass
class Record:
    """What kafka-python hands a consumer, enough for ConsumerRunner.process."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list = field(default_factory=list)


_offsets = iter(range(10**9))


def record_of(event, topic: str = "t.quotas") -> Record:
    message = to_message(event)
    key = message.key.encode() if isinstance(message.key, str) else message.key
    return Record(topic=topic, partition=0, offset=next(_offsets), key=key, value=message.value,
                  headers=list(message.headers.items()))


def progress(org_code: str = "DONGSON", *, admitted: int = 14, target: int = 13, percent: str = "107.69",
             period: str = "2024", assigner: str | None = "TPTH", parent: str | None = "TPTH") -> dict:
    return {"org_code": org_code, "org_name": NAMES.get(org_code, org_code), "org_type": "grassroots_committee",
            "parent_code": parent, "assigner_org_code": assigner, "period": period, "target": target,
            "admitted": admitted, "percent": percent, "reached_on": date(2024, 11, 20)}


def quota_met(org_code: str = "DONGSON", **kwargs):
    return build_event(QUOTA_MET, progress(org_code, **kwargs), source="/quota", subject=org_code)


def milestone(org_code: str = "DONGSON", milestone: int = 50, **kwargs):
    return build_event(QUOTA_MILESTONE_REACHED, {**progress(org_code, **kwargs), "milestone": milestone},
                       source="/quota", subject=org_code)


def org_state(code: str, name: str, parent: str | None, type_: str = "cell"):
    """The organization.state event of an organisation created on 2024-01-01."""
    return build_event(ORGANIZATION_STATE, support_org_state(code, name, type_, parent, on=date(2024, 1, 1)),
                       source="/quota", subject=code)


class Receiver:
    """A local webhook endpoint: answers with the scripted statuses in turn (then 200) and keeps
    every request it got."""

    def __init__(self, statuses: list[int] | None = None, *, always: int | None = None, delay_s: float = 0):
        self.statuses = list(statuses or [])
        self.always = always
        self.delay_s = delay_s
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": dict(self.headers), "body": body})
                    status = receiver.always or (receiver.statuses.pop(0) if receiver.statuses else 200)
                    delay = receiver.delay_s
                if delay:
                    time.sleep(delay)  # a receiver slower than the sender's timeout
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender gave up waiting (timeout test)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def payloads(self) -> list[dict]:
        with self.lock:
            return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers():
    made: list[Receiver] = []

    def make(*args, **kwargs) -> Receiver:
        made.append(Receiver(*args, **kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Mailbox:
    def __init__(self):
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server():
    """A real SMTP server (aiosmtpd) on a free port; yields (mailbox, port)."""
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()
