"""The organisation tree through the API: changes with effective dates and history, refusals
with nothing written, events in the outbox, scope by token."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from services.quota.models import outbox
from services.quota.organizations import is_within
from services.quota.tree import SqlTree
from tests.quota.conftest import add_org, table_counts, thanh_hoa_tree


def outbox_types(db) -> list[str]:
    with db.transaction() as session:
        return [r.event_type for r in session.execute(select(outbox.c.event_type).order_by(outbox.c.seq))]


def test_create_and_read_with_history(client, admin, db):
    thanh_hoa_tree(client, admin)
    org = client.get("/api/v1/organizations/P-DONG-SON", headers=admin).get_json()
    assert org["name"] == "Đảng bộ phường Đông Sơn"
    assert org["parent_code"] == "TP-THANH-HOA" and org["status"] == "active"
    kids = client.get("/api/v1/organizations/TP-THANH-HOA/children", headers=admin).get_json()["items"]
    assert [k["code"] for k in kids] == ["P-DONG-SON", "P-QUANG-CAT"]
    assert outbox_types(db).count("vn.chitieu.organization.created.v1") == 9


def test_dong_son_merger_keeps_the_tree_of_each_date(client, admin, db):
    thanh_hoa_tree(client, admin)
    resp = client.post("/api/v1/organizations/H-DONG-SON/merge",
                       json={"into_code": "TP-THANH-HOA", "effective_date": "2025-01-01"}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "merged" and resp.get_json()["merged_into"] == "TP-THANH-HOA"
    with db.transaction() as session:
        tree = SqlTree(session)
        assert tree.ancestors("X-DONG-TIEN-CB1", date(2024, 12, 31)) == [
            "X-DONG-TIEN-CB1", "X-DONG-TIEN", "H-DONG-SON", "TINH-THANH-HOA"]
        assert tree.ancestors("X-DONG-TIEN-CB1", date(2025, 1, 1)) == [
            "X-DONG-TIEN-CB1", "X-DONG-TIEN", "TP-THANH-HOA", "TINH-THANH-HOA"]
        assert tree.resolve("H-DONG-SON", date(2025, 3, 1)) == "TP-THANH-HOA"
    before = client.get("/api/v1/organizations/TP-THANH-HOA/children?as_of=2024-12-31", headers=admin).get_json()["items"]
    after = client.get("/api/v1/organizations/TP-THANH-HOA/children?as_of=2025-01-01", headers=admin).get_json()["items"]
    assert [k["code"] for k in before] == ["P-DONG-SON", "P-QUANG-CAT"]
    assert [k["code"] for k in after] == ["P-DONG-SON", "P-QUANG-CAT", "X-DONG-TIEN"]
    types = [t for t in outbox_types(db) if t != "vn.chitieu.organization.state.v1"]
    assert types[-2:] == ["vn.chitieu.organization.moved.v1", "vn.chitieu.organization.merged.v1"]


def test_district_dissolution_reparents_under_the_province(client, admin):
    thanh_hoa_tree(client, admin)
    resp = client.post("/api/v1/organizations/H-DONG-SON/dissolve", json={"effective_date": "2025-07-01"},
                       headers=admin)
    assert resp.status_code == 200 and resp.get_json()["status"] == "dissolved"
    x = client.get("/api/v1/organizations/X-DONG-TIEN", headers=admin).get_json()
    assert x["parent_code"] == "TINH-THANH-HOA"
    assert x["parent_history"] == [
        {"parent_code": "H-DONG-SON", "valid_from": "2020-01-01", "valid_to": "2025-07-01"},
        {"parent_code": "TINH-THANH-HOA", "valid_from": "2025-07-01", "valid_to": None}]


def test_rename_and_move_keep_history(client, admin):
    thanh_hoa_tree(client, admin)
    resp = client.post("/api/v1/organizations/P-DONG-SON-CB1/rename",
                       json={"name": "Chi bộ khu phố Tân Thọ", "effective_date": "2024-06-01"}, headers=admin)
    assert resp.status_code == 200
    assert [h["name"] for h in resp.get_json()["name_history"]] == ["Chi bộ khu phố 1", "Chi bộ khu phố Tân Thọ"]
    resp = client.post("/api/v1/organizations/P-DONG-SON-CB1/move",
                       json={"parent_code": "P-QUANG-CAT", "effective_date": "2024-09-01"}, headers=admin)
    assert resp.status_code == 200 and resp.get_json()["parent_code"] == "P-QUANG-CAT"


REFUSALS = [
    ("post", "/api/v1/organizations", {"code": "X1", "name": "X", "type": "cell", "parent_code": "NOPE"}, 404,
     "parent_code"),
    ("post", "/api/v1/organizations", {"code": "P-DONG-SON", "name": "Trùng", "type": "grassroots",
                                       "parent_code": "TP-THANH-HOA"}, 409, "code"),
    ("post", "/api/v1/organizations", {"code": "X2", "name": "X", "type": "planet", "parent_code": None}, 422,
     "type"),
    ("post", "/api/v1/organizations", {"name": "no code", "type": "cell"}, 422, "code"),
    ("post", "/api/v1/organizations/TINH-THANH-HOA/move", {"parent_code": "P-DONG-SON-CB1"}, 409, "parent_code"),
    ("post", "/api/v1/organizations/P-DONG-SON/move", {"parent_code": "P-DONG-SON"}, 409, "parent_code"),
    ("post", "/api/v1/organizations/P-DONG-SON/move", {"parent_code": "NOPE"}, 404, "parent_code"),
    ("post", "/api/v1/organizations/P-DONG-SON/merge", {"into_code": "P-DONG-SON"}, 422, "into_code"),
    ("post", "/api/v1/organizations/TP-THANH-HOA/merge", {"into_code": "P-DONG-SON"}, 409, "into_code"),
    ("post", "/api/v1/organizations/P-DONG-SON/merge", {"into_code": "GONE"}, 409, "into_code"),
    ("post", "/api/v1/organizations/P-DONG-SON/move", {"parent_code": "TP-THANH-HOA",
                                                        "effective_date": "2019-01-01"}, 409, "effective_date"),
    ("post", "/api/v1/organizations/GONE/dissolve", {}, 409, "code"),
    ("post", "/api/v1/organizations/TINH-THANH-HOA/dissolve", {}, 409, "children_to"),
]


@pytest.mark.parametrize("method,url,body,status,field", REFUSALS)
def test_refusals_write_nothing(client, admin, db, method, url, body, status, field):
    thanh_hoa_tree(client, admin)
    add_org(client, admin, "GONE", "Đảng bộ đã giải thể", "grassroots", "TP-THANH-HOA")
    assert client.post("/api/v1/organizations/GONE/dissolve", json={"effective_date": "2021-01-01"},
                       headers=admin).status_code == 200
    before = table_counts(db)
    resp = getattr(client, method)(url, json=body, headers=admin)
    assert resp.status_code == status, resp.get_json()
    assert resp.mimetype == "application/problem+json"
    assert field in resp.get_json()["errors"], resp.get_json()
    assert table_counts(db) == before


def test_scope_by_token(client, admin, token, db):
    thanh_hoa_tree(client, admin)
    ward_admin = token("admin", org="P-DONG-SON")
    viewer = token("viewer", org="TP-THANH-HOA")
    assert client.get("/api/v1/organizations/P-DONG-SON-CB1", headers=ward_admin).status_code == 200
    assert client.get("/api/v1/organizations/P-QUANG-CAT", headers=ward_admin).status_code == 403
    assert client.get("/api/v1/organizations/P-QUANG-CAT", headers=viewer).status_code == 200
    before = table_counts(db)
    assert client.post("/api/v1/organizations", json={"code": "CB9", "name": "Chi bộ 9", "type": "cell",
                                                       "parent_code": "P-QUANG-CAT"}, headers=ward_admin).status_code == 403
    assert client.post("/api/v1/organizations", json={"code": "CB9", "name": "Chi bộ 9", "type": "cell",
                                                       "parent_code": "P-DONG-SON"}, headers=viewer).status_code == 403
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/move", json={"parent_code": "P-QUANG-CAT"},
                       headers=ward_admin).status_code == 403
    assert client.get("/api/v1/organizations/P-DONG-SON").status_code == 401
    assert table_counts(db) == before
    assert client.post("/api/v1/organizations", json={"code": "CB9", "name": "Chi bộ 9", "type": "cell",
                                                       "parent_code": "P-DONG-SON"}, headers=ward_admin).status_code == 201
    with db.transaction() as session:
        assert is_within(session, "CB9", "TINH-THANH-HOA")
        assert not is_within(session, "CB9", "P-QUANG-CAT")


def test_events_match_the_contract(client, admin, db):
    from shared.contracts import BY_TYPE, parse_record
    thanh_hoa_tree(client, admin)
    client.post("/api/v1/organizations/H-DONG-SON/merge", json={"into_code": "TP-THANH-HOA",
                                                                 "effective_date": "2025-01-01"}, headers=admin)
    with db.transaction() as session:
        rows = session.execute(select(outbox.c.key, outbox.c.value)).all()
    for key, value in rows:
        event = parse_record(bytes(value), key.encode(), None)
        BY_TYPE[event.type].validate(event.data)
        # Changes share one key (their order); a state record is keyed by its organisation (compaction).
        assert event.key == (event.data["code"] if event.type.endswith("organization.state.v1") else "organization-tree")
    merged = [json.loads(bytes(v)) for _, v in rows if b"organization.merged" in bytes(v)][0]
    assert merged["data"]["children_codes"] == ["X-DONG-TIEN"]
