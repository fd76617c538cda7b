"""Quotas through the API: set and change with history and events, composition, allocation,
and every refusal with nothing written."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from services.quota.models import outbox
from shared.contracts import BY_TYPE, parse_record
from tests.quota.conftest import table_counts, thanh_hoa_tree


def put(client, headers, code, period, body):
    return client.put(f"/api/v1/organizations/{code}/quotas/{period}", json=body, headers=headers)


def test_set_and_change_quota_records_history_and_events(client, admin, token, db):
    thanh_hoa_tree(client, admin)
    officer = token("officer", org="TINH-THANH-HOA", sub="can-bo-to-chuc")  # the level above
    assert put(client, officer, "TP-THANH-HOA", "2024", {"target": 700}).status_code == 200
    resp = put(client, officer, "TP-THANH-HOA", "2024", {"target": 712, "composition": [
        {"attribute": "student", "min_share": "10"}, {"attribute": "non_state_enterprise", "min_share": "2"}]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["assigner_org_code"] == "TINH-THANH-HOA"
    quotas = client.get("/api/v1/organizations/TP-THANH-HOA/quotas", headers=officer).get_json()
    assert quotas[0]["target"] == 712
    assert [(h["previous_target"], h["target"], h["changed_by"]) for h in quotas[0]["history"]] == [
        (None, 700, "can-bo-to-chuc"), (700, 712, "can-bo-to-chuc")]
    with db.transaction() as session:
        rows = session.execute(select(outbox.c.key, outbox.c.value).where(
            outbox.c.event_type == "vn.chitieu.quota.assigned.v1").order_by(outbox.c.seq)).all()
    events = [parse_record(bytes(v), k.encode(), None) for k, v in rows]
    data = BY_TYPE[events[-1].type].validate(events[-1].data)
    assert data["previous_target"] == 700 and data["target"] == 712 and data["org_name"] == "Đảng bộ thành phố Thanh Hóa"
    assert [c["attribute"] for c in data["composition"]] == ["student", "non_state_enterprise"]


def test_term_quota_and_allocation(client, admin):
    thanh_hoa_tree(client, admin)
    assert put(client, admin, "TP-THANH-HOA", "2020-2025", {"target": 3500}).status_code == 200
    put(client, admin, "TP-THANH-HOA", "2024", {"target": 712})
    put(client, admin, "P-DONG-SON", "2024", {"target": 13})
    alloc = client.get("/api/v1/organizations/TP-THANH-HOA/allocation?period=2024", headers=admin).get_json()
    assert alloc["allocation"] == "under" and alloc["allocated"] == 13 and alloc["unallocated"] == 699
    assert alloc["children_without_quota"] == ["P-QUANG-CAT"]
    put(client, admin, "P-QUANG-CAT", "2024", {"target": 699})
    assert client.get("/api/v1/organizations/TP-THANH-HOA/allocation?period=2024",
                      headers=admin).get_json()["allocation"] == "fully"
    put(client, admin, "P-QUANG-CAT", "2024", {"target": 700})
    assert client.get("/api/v1/organizations/TP-THANH-HOA/allocation?period=2024",
                      headers=admin).get_json()["allocation"] == "over"


REFUSALS = [
    ("TP-THANH-HOA", "2024", {"target": -1}, 422, "target"),
    ("TP-THANH-HOA", "24", {"target": 10}, 422, "period"),
    ("TP-THANH-HOA", "2025-2020", {"target": 10}, 422, "period"),
    ("TP-THANH-HOA", "năm-2024", {"target": 10}, 422, "period"),
    ("TP-THANH-HOA", "2024", {"target": 10, "composition": [{"attribute": "student", "min_share": "100.5"}]}, 422,
     "composition"),
    ("TP-THANH-HOA", "2024", {"target": 10, "composition": [{"attribute": "pilots", "min_share": "5"}]}, 422,
     "composition"),
    ("TP-THANH-HOA", "2024", {"target": 10, "composition": [{"attribute": "woman"}]}, 422, "composition.0"),
    ("TP-THANH-HOA", "2024", {}, 422, "target"),
    ("H-DONG-SON", "2025", {"target": 10}, 409, "org_code"),
    ("NOPE", "2024", {"target": 10}, 404, "code"),
]


@pytest.mark.parametrize("code,period,body,status,field", REFUSALS)
def test_quota_refusals_write_nothing(client, admin, db, code, period, body, status, field):
    thanh_hoa_tree(client, admin)
    client.post("/api/v1/organizations/H-DONG-SON/merge", json={"into_code": "TP-THANH-HOA",
                                                                 "effective_date": "2025-01-01"}, headers=admin)
    put(client, admin, "TP-THANH-HOA", "2024", {"target": 712})
    before = table_counts(db)
    resp = put(client, admin, code, period, body)
    assert resp.status_code == status, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    errors = resp.get_json()["errors"]
    assert any(k == field or k.startswith(field + ".") for k in errors), errors
    assert table_counts(db) == before


def test_quota_needs_officer_in_scope(client, admin, token, db):
    thanh_hoa_tree(client, admin)
    before = table_counts(db)
    assert put(client, token("viewer", org="*"), "P-DONG-SON", "2024", {"target": 13}).status_code == 403
    assert put(client, token("officer", org="P-QUANG-CAT"), "P-DONG-SON", "2024", {"target": 13}).status_code == 403
    assert table_counts(db) == before
    assert put(client, token("officer", org="P-DONG-SON"), "P-DONG-SON", "2024", {"target": 13}).status_code == 403
    assert table_counts(db) == before
    assert put(client, token("officer", org="TP-THANH-HOA"), "P-DONG-SON", "2024", {"target": 13}).status_code == 200
