"""Webhooks cannot hurt the server (issue 8, points 4 and 5): a receiver that streams an endless
body or trickles a byte a second ends within the attempt's deadline and is recorded as failed
while the other notices of the batch go out; targets inside the deployment are refused when
subscribed and again when sent to, at the address actually connected to; a failed attempt keeps
no answer of the receiver; viewers see webhook URLs with credentials masked."""
import dataclasses
import socket
import threading
import time

import pytest
from sqlalchemy import select

from services.notifications import targets
from services.notifications.app import create_app
from services.notifications.delivery import Deliverer
from services.notifications.models import DeliveryAttempt, Notification

from .conftest import quota_met, record_of
from .test_delivery import deliverer, subscribe  # noqa: F401 (a fixture)

pytestmark = pytest.mark.integration


class HostileReceiver:
    """A raw TCP server: `endless` answers 200 and streams forever; `trickle` sends a byte a second."""

    def __init__(self, mode: str):
        self.mode, self.stop, self.connections = mode, threading.Event(), 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        self.server.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.server.accept()
            except OSError:
                continue
            self.connections += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn):
        try:
            conn.recv(65536)
            if self.mode == "endless":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
                while not self.stop.is_set():
                    conn.sendall(b"x" * 65536)
            else:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                    if self.stop.wait(1):
                        break
                    conn.sendall(bytes([byte]))
        except OSError:
            pass
        finally:
            conn.close()

    def close(self):
        self.stop.set()
        self.server.close()


@pytest.fixture
def hostile():
    made = []

    def make(mode):
        made.append(HostileReceiver(mode))
        return made[-1]

    yield make
    for r in made:
        r.close()


def test_an_endless_or_trickling_receiver_cannot_stall_the_batch(db, runner, settings, delivery_settings,
                                                                 receivers, hostile):
    endless, trickle, good = hostile("endless"), hostile("trickle"), receivers()
    for receiver in (endless, trickle, good):
        subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    deadline = 2.0
    deliverer = Deliverer(db=db, settings=settings, worker="w",
                          delivery=dataclasses.replace(delivery_settings, webhook_timeout_s=deadline, max_attempts=1))
    started = time.monotonic()
    assert deliverer.deliver_due() == 3  # one batch: the three notices
    assert time.monotonic() - started < deadline + 2
    deliverer._pool.shutdown()
    assert good.count() == 1
    with db.sessions() as session:
        rows = session.execute(select(Notification, DeliveryAttempt)
                               .join(DeliveryAttempt, DeliveryAttempt.notification_id == Notification.id)).all()
    assert sorted(n.status for n, _ in rows) == ["delivered", "failed", "failed"]
    for _, attempt in rows:
        assert (attempt.finished_at - attempt.started_at).total_seconds() < deadline + 1
    assert sorted(a.error for n, a in rows if n.status == "failed") == [
        "câu trả lời quá dài / answer longer than 65536 bytes", "quá thời hạn 2 giây / no answer within 2 s"]


def test_an_attempt_is_counted_before_it_is_sent(db, runner, settings, delivery_settings, receivers):
    """A sender that dies mid-send (its record never written) has still used the attempt up."""
    from services.notifications.delivery import claim_due
    receiver = receivers()
    subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    once = dataclasses.replace(delivery_settings, max_attempts=1, claim_lease_s=0)
    assert len(claim_due(db, worker="dies-mid-send", delivery=once)) == 1  # ... and is never recorded
    assert claim_due(db, worker="next", delivery=once) == []  # its attempt is spent: not claimed again
    with db.sessions() as session:
        [notice] = session.scalars(select(Notification).where(Notification.channel == "webhook")).all()
        assert notice.status == "failed" and notice.attempts == 1
    assert receiver.count() == 0


@pytest.fixture
def client(db, settings):
    return create_app(settings, db=db).test_client()


INSIDE = ["http://127.0.0.1:8001/api/v1/organizations", "http://[::1]:5432/", "http://169.254.169.254/latest/meta-data/",
          "http://10.0.0.5/hook", "http://192.168.1.10/hook", "http://172.17.0.1/hook", "http://224.0.0.1/hook",
          "http://0.0.0.0:6379/", "http://localhost:9092/", "http://[::ffff:127.0.0.1]/hook"]


@pytest.mark.parametrize("url", INSIDE)
def test_a_target_inside_the_deployment_is_refused(client, token, monkeypatch, url):
    monkeypatch.delenv("CHITIEU_WEBHOOK_ALLOW_CIDRS")
    resp = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": url})
    assert resp.status_code == 422 and "target" in resp.get_json()["errors"], resp.get_json()


def test_an_allowed_range_is_reachable(client, token):
    # CHITIEU_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8 (the autouse fixture), as an administrator sets it.
    resp = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": "http://127.0.0.1:9/hook"})
    assert resp.status_code == 201


def test_the_send_checks_the_address_it_connects_to(db, runner, deliverer, receivers, monkeypatch):
    receiver = receivers()
    subscribe(db, channel="webhook", target=receiver.url.replace("127.0.0.1", "localhost"))
    monkeypatch.delenv("CHITIEU_WEBHOOK_ALLOW_CIDRS")  # the range allowed when subscribing is withdrawn
    runner.process(record_of(quota_met()))
    lookups = []
    real = socket.getaddrinfo
    monkeypatch.setattr(targets.socket, "getaddrinfo", lambda *a, **k: lookups.append(a) or real(*a, **k))
    deliverer.deliver_due()
    with db.sessions() as session:
        [attempt] = session.scalars(select(DeliveryAttempt)).all()
    assert attempt.ok is False and "loopback" in attempt.error
    assert receiver.count() == 0 and len(lookups) == 1


def test_a_failed_attempt_keeps_no_answer_and_viewers_see_masked_urls(client, db, runner, deliverer, token,
                                                                       receivers, monkeypatch):
    receiver = receivers(always=500)
    url = receiver.url.replace("http://", "http://user:s3cret@") + "?token=abc123&org=DONGSON"
    sub = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": url}).get_json()
    runner.process(record_of(quota_met()))
    deliverer.deliver_due()
    [notice] = client.get("/api/v1/notifications", query_string={"channel": "webhook"}, headers=token()).get_json()["items"]
    assert notice["last_error"] == "HTTP 500"
    detail = client.get(f"/api/v1/notifications/{notice['id']}", headers=token()).get_json()
    assert [a["error"] for a in detail["attempts_log"]] == ["HTTP 500"]  # the receiver's answer is not kept
    viewer = client.get(f"/api/v1/subscriptions/{sub['id']}", headers=token(role="viewer")).get_json()
    assert "s3cret" not in viewer["target"] and "abc123" not in viewer["target"] and "org=DONGSON" in viewer["target"]
    officer = client.get(f"/api/v1/subscriptions/{sub['id']}", headers=token(role="officer")).get_json()
    assert officer["target"] == url
