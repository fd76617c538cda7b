"""Subscriptions are audited: creating and deleting one writes subscription.created / .deleted in
the same transaction, with the caller as the actor and without the target or its secret; a
refused one writes nothing."""
import pytest

from services.notifications.app import create_app
from shared.contracts import SUBSCRIPTION_CREATED, SUBSCRIPTION_DELETED
from tests.support import outbox_events

pytestmark = pytest.mark.integration
HOOK = "https://tinh-uy.example.vn/chitieu/hook?token=bi-mat"


def test_a_subscription_and_its_deletion_are_the_callers_acts(db, settings, token):
    client = create_app(settings, db=db).test_client()
    officer = token(org="DONGSON", role="officer", sub="can-bo-dong-son")
    refused = client.post("/api/v1/subscriptions", headers=token(org="QUANGCAT", role="officer"), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": HOOK})
    assert refused.status_code == 403
    assert outbox_events(db) == []
    created = client.post("/api/v1/subscriptions", headers=officer, json={
        "org_code": "DONGSON", "include_subtree": True, "events": ["quota_met"], "channel": "webhook",
        "target": HOOK})
    assert created.status_code == 201, created.json
    sid = created.json["id"]
    assert client.delete(f"/api/v1/subscriptions/{sid}", headers=token(sub="quan-tri")).status_code == 204
    [made] = outbox_events(db, SUBSCRIPTION_CREATED)
    [gone] = outbox_events(db, SUBSCRIPTION_DELETED)
    assert (made.actor, made.actorrole, made.subject) == ("can-bo-dong-son", "officer", str(sid))
    assert made.data == {"subscription_id": sid, "org_code": "DONGSON", "include_subtree": True,
                         "events": ["quota_met"], "channel": "webhook"}
    assert "bi-mat" not in str(made.data) and created.json["secret"] not in str(made.data)
    assert (gone.actor, gone.actorrole, gone.data) == ("quan-tri", "admin", {"subscription_id": sid,
                                                                            "org_code": "DONGSON"})
