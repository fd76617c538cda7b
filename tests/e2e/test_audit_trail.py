"""The audit trail end to end, every process of the Procfile running over the real Kafka, Redis and
PostgreSQL: a ward officer X (a token with sub X) lists a candidate and moves them along the
pipeline, reads their full record and subscribes the ward to notices; an administrator creates an
account in the ward. `GET /api/v1/audit?org=<ward>` on the web service then shows each as the act of
the one who did it, with its time and organisation; an officer of another ward is refused that
ward's trail and does not see any of it in their own."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.keys import token
from tests.system import System
from tests.support import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROVINCE, WARD, CELL, OTHER_WARD = "AU-TINH", "AU-PHUONG-DONG-SON", "AU-DONG-SON-CB1", "AU-PHUONG-QUANG-CAT"
TREE = [(PROVINCE, "Đảng bộ tỉnh Thử Nghiệm", "province", None),
        (WARD, "Đảng bộ phường Đông Sơn", "grassroots", PROVINCE),
        (CELL, "Chi bộ khu phố 1", "cell", WARD),
        (OTHER_WARD, "Đảng bộ phường Quảng Cát", "grassroots", PROVINCE)]
X = "can-bo-dong-son"
ADMIN = {"Authorization": "Bearer " + token(sub="quan-tri-tinh", org="*", role="admin", ttl=timedelta(hours=2))}
OFFICER_X = {"Authorization": "Bearer " + token(sub=X, org=WARD, role="officer", ttl=timedelta(hours=2))}
OTHER = {"Authorization": "Bearer " + token(sub="can-bo-quang-cat", org=OTHER_WARD, role="officer",
                                            ttl=timedelta(hours=2))}


@pytest.fixture(scope="module")
def system(tmp_path_factory, real_stack):
    with System(log_dir=tmp_path_factory.mktemp("e2e-audit-logs")) as running:
        yield running


def call(system: System, service: str, method: str, path: str, headers: dict, **kwargs) -> requests.Response:
    return requests.request(method, f"{system.url(service)}/api/v1{path}", headers=headers, timeout=30, **kwargs)


def trail(system: System, headers: dict, **params) -> list[dict]:
    response = call(system, "web", "GET", "/audit", headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def test_who_did_what_when_and_where(system):
    for code, name, type_, parent in TREE:
        response = call(system, "quota", "POST", "/organizations", ADMIN, json={
            "code": code, "name": name, "type": type_, "parent_code": parent, "effective_date": "2020-01-01"})
        assert response.status_code == 201, response.text
    wait_until(lambda: call(system, "candidates", "GET", f"/organizations/{CELL}", ADMIN).status_code == 200,
               timeout=90, message="the candidate service never learnt the cell")

    before = datetime.now(timezone.utc) - timedelta(seconds=1)
    listed = call(system, "candidates", "POST", "/candidates", OFFICER_X, json={
        "full_name": "Nguyễn Văn Thử", "date_of_birth": "2002-05-01", "gender": "male", "ethnicity": "Kinh",
        "religion": None, "education_level": "university", "occupation_group": "student",
        "national_id": "038202000077", "org_code": CELL, "listed_on": "2023-01-02", "youth_union_member": False,
        "helpers": ["Lê Văn Bình"]})
    assert listed.status_code == 201, listed.text
    cid = listed.json()["id"]
    moved = call(system, "candidates", "POST", f"/candidates/{cid}/transitions", OFFICER_X,
                 json={"to": "trained", "date": "2023-03-01", "training_certificate_number": "GCN-77"})
    assert moved.status_code == 201, moved.text
    assert call(system, "candidates", "GET", f"/candidates/{cid}", OFFICER_X).status_code == 200
    # The other ward's officer may not read it: refused, and no read is recorded.
    assert call(system, "candidates", "GET", f"/candidates/{cid}", OTHER).status_code == 403
    wait_until(lambda: call(system, "notifications", "POST", "/subscriptions", OFFICER_X, json={
        "org_code": WARD, "include_subtree": True, "events": ["quota_met"], "channel": "inbox"}).status_code == 201,
        timeout=90, message="the notification service never learnt the ward")
    created = call(system, "web", "POST", "/users", ADMIN, json={
        "username": "bi-thu-khu-pho-1", "full_name": "Trần Thị Bí Thư", "org": CELL, "role": "viewer"})
    assert created.status_code == 201, created.text

    wanted = {"candidate.listed", "candidate.stage_changed", "candidate.record_read", "subscription.created",
              "user.created"}

    def every_act():  # 403 until the web service's copy of the tree knows the ward
        response = call(system, "web", "GET", "/audit", OFFICER_X, params={"org": WARD})
        items = response.json()["items"] if response.status_code == 200 else []
        return items if wanted <= {e["kind"] for e in items} else None

    entries = wait_until(every_act, timeout=120, message="the trail never showed every act")
    after = datetime.now(timezone.utc) + timedelta(seconds=1)
    by_kind = {e["kind"]: e for e in entries}

    transition = by_kind["candidate.stage_changed"]
    assert (transition["actor"], transition["actor_role"], transition["org_code"]) == (X, "officer", CELL)
    assert transition["data"]["to_stage"] == "trained" and transition["subject"] == cid
    assert before <= datetime.fromisoformat(transition["time"]) <= after
    reads = [e for e in entries if e["kind"] == "candidate.record_read"]
    assert [(e["actor"], e["subject"], e["org_code"]) for e in reads] == [(X, cid, CELL)]  # not the refused one
    assert "national_id" not in str(reads[0]["data"])
    assert (by_kind["subscription.created"]["actor"], by_kind["subscription.created"]["org_code"]) == (X, WARD)
    assert (by_kind["user.created"]["actor"], by_kind["user.created"]["org_code"]) == ("quan-tri-tinh", CELL)
    # The filters: X's own acts only; one kind; a day with none.
    assert {e["actor"] for e in trail(system, OFFICER_X, org=WARD, actor=X)} == {X}
    assert {e["kind"] for e in trail(system, OFFICER_X, kind="candidate.stage_changed")} == {"candidate.stage_changed"}
    assert trail(system, OFFICER_X, to="2020-01-01") == []

    # Another ward's officer: refused the ward's trail; their own shows none of it.
    refused = call(system, "web", "GET", "/audit", OTHER, params={"org": WARD})
    assert refused.status_code == 403 and refused.headers["Content-Type"] == "application/problem+json"
    assert "org" in refused.json()["errors"]
    assert not {e["event_id"] for e in trail(system, OTHER)} & {e["event_id"] for e in entries}
