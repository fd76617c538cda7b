"""The inbox's read state (#12 point 6): read/unread kept per person (the token's sub), the unread
count and kind filter, marking all read; a webhook subscription's "send a test"; failed deliveries
listed and resent."""
import threading

import pytest
from sqlalchemy import func, select

from services.notifications.app import create_app
from services.notifications.models import Notification, NotificationRead

from .conftest import milestone, quota_met, record_of

pytestmark = pytest.mark.integration


@pytest.fixture
def client(db, settings):
    return create_app(settings, db=db).test_client()


def inbox_ids(client, headers, **query):
    resp = client.get("/api/v1/inbox/DONGSON", query_string=query, headers=headers)
    assert resp.status_code == 200, resp.json
    return resp


def test_read_state_is_each_persons_own(client, db, runner, token):
    inbox = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met", "milestone_reached"], "channel": "inbox"})
    assert inbox.status_code == 201, inbox.json
    runner.process(record_of(milestone(milestone=50)))
    runner.process(record_of(quota_met()))
    an, binh = token("DONGSON", "viewer", sub="can-bo-an"), token("DONGSON", "viewer", sub="can-bo-binh")
    listed = inbox_ids(client, an)
    assert listed.headers["X-Unread-Count"] == "2"
    assert [(n["kind"], n["read"]) for n in listed.json["items"]] == [("quota_met", False), ("milestone_reached", False)]
    met = listed.json["items"][0]["id"]

    resp = client.post(f"/api/v1/notifications/{met}/read", headers=an)
    assert resp.status_code == 200 and resp.json["read"] is True
    assert client.post(f"/api/v1/notifications/{met}/read", headers=an).status_code == 200  # idempotent
    assert client.get("/api/v1/inbox/DONGSON/unread", headers=an).json == {
        "org_code": "DONGSON", "unread": 1, "by_kind": {"milestone_reached": 1}}
    # Bình has read nothing: An's reading does not hide the notice from him.
    assert client.get("/api/v1/inbox/DONGSON/unread", headers=binh).json["unread"] == 2
    assert [n["kind"] for n in inbox_ids(client, an, unread="true").json["items"]] == ["milestone_reached"]
    assert [n["kind"] for n in inbox_ids(client, binh, kind="quota_met").json["items"]] == ["quota_met"]

    resp = client.post(f"/api/v1/notifications/{met}/unread", headers=an)
    assert resp.status_code == 200 and resp.json["read"] is False
    assert inbox_ids(client, an).headers["X-Unread-Count"] == "2"

    marked = client.post("/api/v1/inbox/DONGSON/read", json={}, headers=binh)
    assert marked.status_code == 200 and (marked.json["marked"], marked.json["unread"]) == (2, 0)
    assert client.post("/api/v1/inbox/DONGSON/read", json={}, headers=binh).json["marked"] == 0
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotificationRead)) == 2


def test_read_state_needs_scope_and_refuses_bad_input(client, db, runner, token):
    runner.process(record_of(quota_met()))
    with db.sessions() as session:
        notice = session.scalar(select(Notification.id).where(Notification.channel == "inbox",
                                                              Notification.recipient_org_code == "DONGSON"))
    assert client.post(f"/api/v1/notifications/{notice}/read", headers=token("QUANGCAT", "viewer")).status_code == 403
    assert client.post(f"/api/v1/notifications/{notice}/read").status_code == 401
    assert client.post("/api/v1/notifications/999999/read", headers=token()).status_code == 404
    assert client.get("/api/v1/inbox/DONGSON", query_string={"kind": "gossip"}, headers=token()).status_code == 422
    bad = client.post("/api/v1/inbox/DONGSON/read", json={"up_to_id": -1}, headers=token())
    assert bad.status_code == 422 and "up_to_id" in str(bad.json["errors"])
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotificationRead)) == 0


def test_concurrent_reads_of_one_notice_keep_one_row(client, db, runner, token, settings):
    runner.process(record_of(quota_met()))
    with db.sessions() as session:
        notice = session.scalar(select(Notification.id).where(Notification.channel == "inbox"))
    app = create_app(settings, db=db)
    answers = []

    def read():
        answers.append(app.test_client().post(f"/api/v1/notifications/{notice}/read",
                                              headers=token(sub="can-bo-an")).status_code)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 6
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(NotificationRead)) == 1


def test_send_a_test_answers_the_receivers_status(client, db, token, receivers, monkeypatch):
    ok, refusing = receivers(always=200), receivers(always=503)
    ids = []
    for receiver in (ok, refusing):
        created = client.post("/api/v1/subscriptions", headers=token(), json={
            "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": receiver.url,
            "secret": "a-secret-of-the-provincial-system"})
        assert created.status_code == 201, created.json
        ids.append(created.json["id"])
    resp = client.post(f"/api/v1/subscriptions/{ids[0]}/test", headers=token("DONGSON", "officer"))
    assert resp.status_code == 200, resp.json
    assert (resp.json["ok"], resp.json["status_code"]) == (True, 200)
    sent = ok.requests[0]
    assert sent["headers"]["X-Chitieu-Event"] == "test" and "X-Chitieu-Signature" in sent["headers"]
    assert ok.payloads()[0]["kind"] == "test"
    resp = client.post(f"/api/v1/subscriptions/{ids[1]}/test", headers=token("DONGSON", "officer"))
    assert (resp.json["ok"], resp.json["status_code"]) == (False, 503)
    assert client.post(f"/api/v1/subscriptions/{ids[0]}/test", headers=token("DONGSON", "viewer")).status_code == 403
    with db.sessions() as session:  # a test is not a notice
        assert session.scalar(select(func.count()).select_from(Notification)) == 0
    # The address guard holds for tests too: loopback no longer allowed, nothing is sent.
    monkeypatch.delenv("CHITIEU_WEBHOOK_ALLOW_CIDRS")
    resp = client.post(f"/api/v1/subscriptions/{ids[0]}/test", headers=token())
    assert resp.status_code == 200 and resp.json["ok"] is False and resp.json["status_code"] is None
    assert "loopback" in resp.json["error"] and ok.count() == 1


def test_an_inbox_subscription_has_no_test(client, token):
    created = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "inbox"})
    assert created.status_code == 201, created.json
    assert client.post(f"/api/v1/subscriptions/{created.json['id']}/test", headers=token()).status_code == 409


def test_failed_deliveries_are_listed_and_resent(client, db, runner, token, receivers):
    hook = receivers(always=500)
    client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": hook.url})
    runner.process(record_of(quota_met()))
    with db.transaction() as session:  # as the deliverer leaves it after its last attempt
        notice = session.scalar(select(Notification).where(Notification.channel == "webhook"))
        notice.status, notice.last_error, failed_id = "failed", "HTTP 500", notice.id
    officer = token("DONGSON", "officer")
    failed = client.get("/api/v1/notifications", query_string={"status": "failed", "org": "DONGSON"}, headers=officer)
    assert failed.status_code == 200
    assert [(n["id"], n["last_error"], n["read"]) for n in failed.json["items"]] == [(failed_id, "HTTP 500", False)]
    assert client.post(f"/api/v1/notifications/{failed_id}/resend", headers=officer).status_code == 202
    assert client.get("/api/v1/notifications", query_string={"status": "failed"}, headers=officer).json["items"] == []
