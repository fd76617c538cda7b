"""The service as it is deployed (Procfile): the database migrated, gunicorn serving the API on a
free port, and the `consume` and `deliver` worker processes, all on the real broker and Redis.
The tree arrives as organization.* events, a webhook is subscribed through the API, a met quota
is published, and the consumer is stopped and restarted while the event is published again."""
import os
import signal
import subprocess
import sys

import pytest
import requests

from tests.keys import test_issuer
from tests.keys import token as issue_token
from shared.config import ROOT
from shared.contracts import to_message
from shared.kafka import ensure_topics, make_producer
from services.notifications.webhooks import SIGNATURE_HEADER, verify
from tests.support import wait_until

from .conftest import free_port, org_state, quota_met

pytestmark = pytest.mark.integration
SENTENCE = "Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 14/13, đạt 107,7% kế hoạch."


class Service:
    def __init__(self, settings, tmp_path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "CHITIEU_NAMESPACE": settings.namespace, **test_issuer().env(),
                    "CHITIEU_NOTIFICATIONS_DATABASE_URL": settings.database_url, "CHITIEU_NOTIFY_BACKOFF_S": "0.1",
                    "CHITIEU_NOTIFY_POLL_S": "1", "CHITIEU_LOG_LEVEL": "WARNING", "CHITIEU_WEB_WORKERS": "1"}
        self.logs = tmp_path
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, *args):
        subprocess.run([sys.executable, *args], env=self.env, cwd=ROOT, check=True, timeout=120)

    def start(self, name, *args):
        log = open(self.logs / f"{name}.log", "ab")
        self.procs[name] = subprocess.Popen(list(args), env=self.env, cwd=ROOT, stdout=log, stderr=log)

    def worker(self, command):
        self.start(command, sys.executable, "-m", "services.notifications.worker", command)

    def api(self):
        self.start("api", str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "--bind",
                   f"127.0.0.1:{self.port}", "services.notifications.app:create_app()")

    def stop(self, name):
        proc = self.procs.pop(name)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0, (self.logs / f"{name}.log").read_text()

    def close(self):
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def service(settings, tmp_path):
    svc = Service(settings, tmp_path)
    yield svc
    svc.close()


def test_deployed_processes_notify_once_across_a_consumer_restart(service, settings, receivers):
    ensure_topics(settings)
    service.run("-m", "shared.migrations", "upgrade", "notifications")
    service.api()
    service.worker("consume")
    service.worker("deliver")
    producer = make_producer(settings)

    def publish(topic, event):
        message = to_message(event)
        producer.send(settings.topic(topic), key=event.key.encode(), value=message.value,
                      headers=list(message.headers.items())).get(timeout=30)

    for code, name, type_, parent in [("TH", "Đảng bộ tỉnh Thanh Hóa", "province_committee", None),
                                      ("TPTH", "Đảng bộ thành phố Thanh Hóa", "city_committee", "TH"),
                                      ("DONGSON", "Đảng bộ phường Đông Sơn", "grassroots_committee", "TPTH")]:
        publish("organization-state", org_state(code, name, parent, type_))
    headers = {"Authorization": "Bearer " + issue_token(sub="t", org="TPTH", role="officer")}
    wait_until(lambda: _ready(service.url), timeout=60, message="the API never became ready")
    receiver = receivers()
    subscription = {"org_code": "TPTH", "include_subtree": True, "events": ["quota_met"], "channel": "webhook",
                    "target": receiver.url, "secret": "the-provincial-system-s-own-secret"}
    # The subscription is refused (unknown organisation) until the consumer has learnt the tree.
    created = wait_until(lambda: _created(service.url, subscription, headers), timeout=60,
                         message="the tree never reached the notification service")

    event = quota_met()
    publish("quotas", event)
    wait_until(lambda: receiver.count() >= 1, timeout=60, message="no webhook received")
    assert verify(created["secret"], receiver.requests[0]["body"], receiver.requests[0]["headers"][SIGNATURE_HEADER])
    assert receiver.payloads()[0]["text"] == SENTENCE

    service.stop("consume")  # SIGTERM: finishes, commits, exits 0
    publish("quotas", event)
    service.worker("consume")
    publish("quotas", quota_met(period="2025"))
    wait_until(lambda: receiver.count() >= 2, timeout=90, message="the restarted consumer sent nothing new")
    assert [p["period"] for p in receiver.payloads()] == ["2024", "2025"]

    listed = requests.get(f"{service.url}/api/v1/notifications", params={"channel": "webhook"}, headers=headers,
                          timeout=10).json()["items"]
    assert [(n["period"], n["status"], n["attempts"]) for n in listed] == [("2025", "delivered", 1),
                                                                          ("2024", "delivered", 1)]
    inbox = requests.get(f"{service.url}/api/v1/inbox/TPTH", headers=headers, timeout=10).json()["items"]
    assert [n["text"] for n in inbox][-1] == SENTENCE
    producer.close()


def _ready(url):
    try:
        return requests.get(f"{url}/readyz", timeout=5).status_code == 200
    except requests.RequestException:
        return False


def _created(url, body, headers):
    try:
        response = requests.post(f"{url}/api/v1/subscriptions", json=body, headers=headers, timeout=30)
    except requests.RequestException:  # a slow answer on a busy machine: ask again
        return None
    if response.status_code == 409:  # an earlier try was created after all
        return {"secret": body["secret"]}
    return response.json() if response.status_code == 201 else None
