"""The audit trail in the web service: every event of every service, fed to the audit consumer's
handler as the consumer reads it from Kafka, becomes one entry; `GET /api/v1/audit` answers who
did what, when, on which organisation, within the caller's subtree, with filters and pages (the
one convention, shared/pagination.py); bad
input is a problem naming the field; the /audit page shows the same in Vietnam time. Accounts
changed through the API are audited as the caller's acts. (Through the real broker and processes:
tests/e2e/test_audit_trail.py.)"""
from __future__ import annotations

import dataclasses
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from services.web.handlers import HANDLER
from services.web.models import AuditEntry
from shared.actor import Actor, acting
from shared.contracts import (CANDIDATE_STAGE_CHANGED, CANDIDATE_TRANSFERRED, ORGANIZATION_STATE, USER_CHANGED,
                              USER_CREATED, build_event, to_message)
from shared.parsing import Parser
from tests.support import org_state, outbox_events
from tests.web.conftest import add_user, bearer, sign_in

pytestmark = pytest.mark.integration
TREE = [("TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province", None),
        ("TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city", "TINH-THANH-HOA"),
        ("P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", "TP-THANH-HOA"),
        ("P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON"),
        ("P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA"),
        ("P-QUANG-CAT-CB1", "Chi bộ thôn 1", "cell", "P-QUANG-CAT")]
X = "can-bo-dong-son"
JUNE_30 = datetime(2024, 6, 30, 1, 5, tzinfo=timezone.utc)  # 08:05 in Vietnam
PARSER = Parser(list(HANDLER.event_types))


def feed(app, events) -> None:
    """Events as the audit consumer applies a poll of them: from Kafka records, in one transaction."""
    parsed = []
    for n, event in enumerate(events):
        message = to_message(event)
        parsed.append(PARSER.parse(SimpleNamespace(topic="t", partition=0, offset=n, key=message.key.encode(),
                                                   value=message.value, headers=list(message.headers.items()))))
    with app.extensions["db"].transaction() as session:
        HANDLER.apply(session, [(p.event, p.data) for p in parsed])


def stage_changed(cell="P-DONG-SON-CB1", *, by=X, at=JUNE_30, candidate="c-1", to="trained"):
    with acting(Actor(by, "officer")):
        event = build_event(CANDIDATE_STAGE_CHANGED, {"candidate_id": candidate, "org_code": cell,
                                                      "from_stage": "source", "to_stage": to, "date": at.date()},
                            source="/candidates", subject=candidate)
    return dataclasses.replace(event, time=at)


@pytest.fixture
def app(web):
    feed(web, [build_event(ORGANIZATION_STATE, org_state(*row), source="/quota") for row in TREE])
    return web


def audit(client, headers, **params):
    return client.get("/api/v1/audit", query_string=params, headers=headers)


def test_a_transition_by_x_is_xs_with_its_time_and_organisation(app):
    feed(app, [stage_changed()])
    client = app.test_client()
    resp = audit(client, bearer(sub=X, org="P-DONG-SON", role="officer"), org="P-DONG-SON")
    assert resp.status_code == 200, resp.json
    [entry] = resp.json["items"]
    assert (entry["actor"], entry["actor_role"], entry["kind"]) == (X, "officer", "candidate.stage_changed")
    assert entry["time"] == "2024-06-30T01:05:00+00:00"
    assert (entry["org_code"], entry["subject"], entry["data"]["to_stage"]) == ("P-DONG-SON-CB1", "c-1", "trained")
    # Above the ward, the city sees it too; another ward is refused, and its own trail is empty.
    assert len(audit(client, bearer(org="TP-THANH-HOA", role="officer")).json["items"]) == 1
    refused = audit(client, bearer(org="P-QUANG-CAT", role="officer"), org="P-DONG-SON")
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "org" in refused.json["errors"]
    assert audit(client, bearer(org="P-QUANG-CAT", role="officer")).json["items"] == []
    assert audit(client, bearer(org="P-QUANG-CAT", role="officer"), org="*").status_code == 403
    # Viewers do not read the trail; no token, no answer.
    assert audit(client, bearer(org="P-DONG-SON", role="viewer")).status_code == 403
    assert client.get("/api/v1/audit").status_code == 401


def test_an_event_is_one_entry_however_often_it_comes_and_old_events_have_no_actor(app):
    event = stage_changed()
    old = dataclasses.replace(stage_changed(candidate="c-2"), actor=None, actorrole=None)
    feed(app, [event, event, old])
    feed(app, [event])
    with app.extensions["db"].transaction() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 2
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.subject == "c-2")) is None


def test_a_transfer_is_seen_from_both_wards(app):
    with acting(Actor("can-bo-thanh-pho", "officer")):
        moved = build_event(CANDIDATE_TRANSFERRED, {"candidate_id": "c-3", "from_org_code": "P-DONG-SON-CB1",
                                                    "to_org_code": "P-QUANG-CAT-CB1", "date": date(2024, 7, 1)},
                            source="/candidates")
    feed(app, [moved])
    client = app.test_client()
    for ward in ("P-DONG-SON", "P-QUANG-CAT"):
        [entry] = audit(client, bearer(org=ward, role="officer")).json["items"]
        assert (entry["org_code"], entry["other_org_code"]) == ("P-DONG-SON-CB1", "P-QUANG-CAT-CB1")


def test_filters_by_actor_kind_and_dates_and_pages(app):
    days = [datetime(2024, 6, d, 3, 0, tzinfo=timezone.utc) for d in (1, 2, 3, 4, 5)]
    feed(app, [stage_changed(at=at, candidate=f"c-{i}", by=X if i % 2 else "can-bo-khac")
               for i, at in enumerate(days)])
    client = app.test_client()
    city = bearer(org="TP-THANH-HOA", role="officer")
    assert {e["actor"] for e in audit(client, city, actor=X).json["items"]} == {X}
    assert len(audit(client, city, actor=X).json["items"]) == 2
    assert len(audit(client, city, kind="candidate").json["items"]) == 5
    assert audit(client, city, kind="quota.met").json["items"] == []
    # Dates are Vietnamese calendar days, both ends included.
    assert [e["subject"] for e in audit(client, city, **{"from": "2024-06-02", "to": "2024-06-03"}).json["items"]] \
        == ["c-2", "c-1"]
    # Pages as every list (shared/pagination.py): page, per_page; total, next and a Link header.
    seen, number = [], 1
    while True:
        resp = audit(client, city, per_page=2, page=number)
        assert resp.json["total"] == 5 and len(resp.json["items"]) <= 2
        seen += [e["subject"] for e in resp.json["items"]]
        if resp.json["next"] is None:
            assert 'rel="next"' not in resp.headers.get("Link", "")
            break
        assert 'rel="next"' in resp.headers["Link"] and f"page={number + 1}" in resp.json["next"]
        number += 1
    assert seen == ["c-4", "c-3", "c-2", "c-1", "c-0"]  # newest first, each once


@pytest.mark.parametrize("params, field", [
    ({"kind": "candidate.eaten"}, "kind"), ({"page": "0"}, "query.page"),
    ({"from": "2024-06-03", "to": "2024-06-01"}, "from"), ({"from": "30/06/2024"}, "query.from"),
    ({"per_page": "0"}, "query.per_page"), ({"per_page": "501"}, "query.per_page"), ({"org": "KHONG-CO"}, "org"),
])
def test_bad_input_is_a_problem_naming_the_field(app, params, field):
    resp = audit(app.test_client(), bearer(org="*", role="admin"), **params)
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert field in resp.json["errors"], resp.json


def test_accounts_changed_through_the_api_are_the_callers_acts(app):
    client = app.test_client()
    admin = bearer(sub="quan-tri-tinh", org="*", role="admin")
    created = client.post("/api/v1/users", headers=admin, json={
        "username": "bi-thu-khu-pho-1", "full_name": "Trần Thị Bí Thư", "org": "P-DONG-SON-CB1", "role": "viewer"})
    assert created.status_code == 201, created.json
    assert client.patch("/api/v1/users/bi-thu-khu-pho-1", headers=admin, json={"active": False}).status_code == 200
    # A change that changes nothing leaves no trace.
    assert client.patch("/api/v1/users/bi-thu-khu-pho-1", headers=admin, json={"active": False}).status_code == 200
    db = app.extensions["db"]
    [made] = outbox_events(db, USER_CREATED)
    [changed] = outbox_events(db, USER_CHANGED)
    assert made.data == {"username": "bi-thu-khu-pho-1", "org": "P-DONG-SON-CB1", "role": "viewer"}
    assert changed.data["changed"] == ["active"] and changed.data["active"] is False
    feed(app, outbox_events(db))
    entries = audit(client, bearer(sub=X, org="P-DONG-SON", role="officer"), kind="user").json["items"]
    assert [(e["kind"], e["actor"], e["org_code"]) for e in entries] == [
        ("user.changed", "quan-tri-tinh", "P-DONG-SON-CB1"), ("user.created", "quan-tri-tinh", "P-DONG-SON-CB1")]
    assert "mat-khau" not in str(entries) and "Trần Thị" not in str(entries)


def test_the_page_shows_the_trail_in_vietnam_time(app):
    feed(app, [stage_changed()])
    add_user(app, X, org="P-DONG-SON", role="officer")
    add_user(app, "nguoi-xem", org="P-DONG-SON", role="viewer")
    client = app.test_client()
    sign_in(client, X)
    page = client.get("/audit")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nhật ký thao tác" in html
    assert "30/06/2024 08:05" in html and X in html and "Chuyển bước" in html and "P-DONG-SON-CB1" in html
    assert 'href="/audit"' in client.get("/").get_data(as_text=True)  # the nav link
    assert client.get("/audit?kind=quota.met").get_data(as_text=True).count("30/06/2024") == 0
    assert client.get("/audit?from=hom-qua").status_code == 422
    assert client.get("/audit?page=-1").status_code == 422
    assert client.get("/audit?org=P-QUANG-CAT").status_code == 403
    client.get("/lang/en")
    assert "Audit trail" in client.get("/audit").get_data(as_text=True)
    viewer = app.test_client()
    sign_in(viewer, "nguoi-xem")
    assert viewer.get("/audit").status_code == 403
    assert 'href="/audit"' not in viewer.get("/").get_data(as_text=True)
