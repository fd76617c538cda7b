"""The HTTP API: validation with problem+json and nothing written, scope by token, subscriptions,
notices, resend, inbox (Flask test client over a real database of each kind)."""
import pytest
from sqlalchemy import func, select

from services.notifications.app import create_app
from services.notifications.models import Notification, Subscription

from .conftest import quota_met, record_of

pytestmark = pytest.mark.integration
HOOK = "https://tinh-uy.example.vn/chitieu/hook"


@pytest.fixture
def client(db, settings):
    return create_app(settings, db=db).test_client()


def count(db, model) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model))


def webhook(**overrides):
    body = {"org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": HOOK}
    body.update(overrides)
    return body


@pytest.mark.parametrize("body, field", [
    (webhook(target="ftp://tinh-uy.example.vn/hook"), "target"),
    (webhook(target="javascript:alert(1)"), "target"),
    (webhook(target="http://"), "target"),
    (webhook(target=None), "target"),
    (webhook(org_code="NOWHERE"), "org_code"),
    (webhook(events=[]), "events"),
    (webhook(events=["quota_missed"]), "events"),
    (webhook(channel="sms"), "channel"),
    (webhook(channel="email", target="not-an-address"), "target"),
    (webhook(channel="inbox", target=HOOK), "target"),
    (webhook(language="fr"), "language"),
    (webhook(secret="short"), "secret"),
])
def test_bad_subscriptions_are_refused_and_nothing_is_written(client, db, body, field, token):
    response = client.post("/api/v1/subscriptions", json=body, headers=token())
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    assert field in response.json["errors"]
    assert count(db, Subscription) == 0


def test_subscription_lifecycle(client, db, token):
    created = client.post("/api/v1/subscriptions", json=webhook(include_subtree=True), headers=token())
    assert created.status_code == 201
    body = created.json
    assert len(body["secret"]) == 64 and body["include_subtree"] is True and body["language"] == "vi"
    twin = client.post("/api/v1/subscriptions", json=webhook(include_subtree=True, events=["quota_exceeded"]),
                       headers=token())
    assert twin.status_code == 409 and twin.mimetype == "application/problem+json"
    listed = client.get("/api/v1/subscriptions", headers=token()).json["items"]
    assert [s["id"] for s in listed] == [body["id"]] and "secret" not in listed[0]
    assert client.get(f"/api/v1/subscriptions/{body['id']}", headers=token()).json["target"] == HOOK
    assert client.delete(f"/api/v1/subscriptions/{body['id']}", headers=token()).status_code == 204
    assert client.get("/api/v1/subscriptions", headers=token()).json["items"] == []
    assert client.get(f"/api/v1/subscriptions/{body['id']}", headers=token()).status_code == 404
    assert count(db, Subscription) == 1  # kept for the notices that point at it
    again = client.post("/api/v1/subscriptions", json=webhook(include_subtree=True), headers=token())
    assert again.status_code == 201  # the deleted one no longer counts


def test_scope_by_token(client, db, token):
    ward_officer = token("DONGSON", "officer")
    assert client.post("/api/v1/subscriptions", json=webhook()).status_code == 401
    assert client.post("/api/v1/subscriptions", json=webhook(), headers=token("DONGSON", "viewer")).status_code == 403
    assert client.post("/api/v1/subscriptions", json=webhook(org_code="QUANGCAT"),
                       headers=ward_officer).status_code == 403
    mine = client.post("/api/v1/subscriptions", json=webhook(org_code="DONGSON-1"), headers=ward_officer)
    assert mine.status_code == 201
    theirs = client.post("/api/v1/subscriptions", json=webhook(org_code="QUANGCAT"), headers=token()).json
    assert [s["org_code"] for s in client.get("/api/v1/subscriptions", headers=ward_officer).json["items"]] == ["DONGSON-1"]
    assert client.delete(f"/api/v1/subscriptions/{theirs['id']}", headers=ward_officer).status_code == 403
    assert count(db, Subscription) == 2


def test_inbox_and_notifications_lists(client, db, runner, token):
    runner.process(record_of(quota_met()))
    runner.process(record_of(quota_met("QUANGCAT", admitted=13, target=10, percent="130.00")))
    inbox = client.get("/api/v1/inbox/DONGSON", headers=token("DONGSON", "viewer"))
    assert inbox.status_code == 200
    assert [n["text"] for n in inbox.json["items"]] == [
        "Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 14/13, đạt 107,7% kế hoạch."]
    city_inbox = client.get("/api/v1/inbox/TPTH", headers=token("TPTH", "viewer")).json["items"]
    assert [n["org_code"] for n in city_inbox] == ["QUANGCAT", "DONGSON"]  # newest first
    assert client.get("/api/v1/inbox/TPTH", headers=token("DONGSON", "viewer")).status_code == 403
    assert client.get("/api/v1/inbox/NOWHERE", headers=token()).status_code == 404

    everything = client.get("/api/v1/notifications", headers=token()).json["items"]
    assert len(everything) == 4
    ward_view = client.get("/api/v1/notifications", headers=token("DONGSON", "viewer")).json["items"]
    assert [(n["recipient_org_code"], n["org_code"]) for n in ward_view] == [("DONGSON", "DONGSON")]
    about_quangcat = client.get("/api/v1/notifications?org=QUANGCAT&kind=quota_met&status=delivered",
                                headers=token()).json["items"]
    assert {n["org_code"] for n in about_quangcat} == {"QUANGCAT"} and len(about_quangcat) == 2
    assert client.get("/api/v1/notifications?org_code=QUANGCAT", headers=token()).json["items"] == about_quangcat
    bad = client.get("/api/v1/notifications?status=lost", headers=token())
    assert bad.status_code == 422 and "query.status" in bad.json["errors"]


def test_resend(client, db, runner, token):
    sub = client.post("/api/v1/subscriptions", json=webhook(), headers=token()).json
    runner.process(record_of(quota_met()))
    with db.sessions() as session:
        webhook_id = session.scalar(select(Notification.id).where(Notification.channel == "webhook"))
        inbox_id = session.scalar(select(Notification.id).where(Notification.channel == "inbox"))
    # Still waiting for its first attempt: nothing to resend yet.
    assert client.post(f"/api/v1/notifications/{webhook_id}/resend", headers=token()).status_code == 409
    with db.transaction() as session:
        session.get(Notification, webhook_id).status = "failed"
    assert client.post(f"/api/v1/notifications/{webhook_id}/resend",
                       headers=token("DONGSON", "viewer")).status_code == 403
    resent = client.post(f"/api/v1/notifications/{webhook_id}/resend", headers=token("DONGSON", "officer"))
    assert resent.status_code == 202 and resent.json["status"] == "pending"
    detail = client.get(f"/api/v1/notifications/{webhook_id}", headers=token("DONGSON", "viewer")).json
    assert detail["status"] == "pending" and detail["attempts_log"] == [] and detail["kind"] == "quota_met"
    assert resent.json["subscription_id"] == sub["id"]
    assert client.post(f"/api/v1/notifications/{inbox_id}/resend", headers=token()).status_code == 409
    assert client.post("/api/v1/notifications/999999/resend", headers=token()).status_code == 404


def test_openapi_documents_every_endpoint(client):
    spec = client.get("/openapi.json").json
    assert {"/api/v1/subscriptions", "/api/v1/subscriptions/{subscription_id}", "/api/v1/notifications",
            "/api/v1/notifications/{notification_id}/resend", "/api/v1/inbox/{org_code}",
            "/api/v1/inbox/{org_code}/stream"} <= set(spec["paths"])
    assert "X-Chitieu-Signature" in str(spec)
    assert "text/event-stream" in str(spec["paths"]["/api/v1/inbox/{org_code}/stream"])
