"""Previews of tree changes (POST /organizations/{code}/move|merge|dissolve/preview): the
consequences of the change, the change's own refusals, and nothing written."""
from __future__ import annotations

from tests.quota.conftest import add_org, table_counts, thanh_hoa_tree


def _quota(client, headers, code, period, target):
    resp = client.put(f"/api/v1/organizations/{code}/quotas/{period}", json={"target": target}, headers=headers)
    assert resp.status_code in (200, 201), resp.get_json()


def test_move_preview_states_what_moves_where_and_writes_nothing(client, admin, db):
    thanh_hoa_tree(client, admin)
    add_org(client, admin, "P-DONG-SON-CB1-TO1", "Tổ đảng 1", "other", "P-DONG-SON-CB1")
    _quota(client, admin, "P-DONG-SON-CB1", "2030", 3)
    _quota(client, admin, "P-DONG-SON-CB1", "2021", 2)  # ended before the date: not touched
    before = table_counts(db)
    resp = client.post("/api/v1/organizations/P-DONG-SON-CB1/move/preview",
                       json={"parent_code": "P-QUANG-CAT", "effective_date": "2030-03-01"}, headers=admin)
    assert resp.status_code == 200, resp.get_json()
    body = resp.get_json()
    assert body["change"] == "move" and body["effective_date"] == "2030-03-01"
    assert body["from"] == {"code": "P-DONG-SON", "name": "Đảng bộ phường Đông Sơn"}
    assert body["to"] == {"code": "P-QUANG-CAT", "name": "Đảng bộ phường Quảng Cát"}
    assert body["below"] == 1 and body["moving_count"] == 2
    assert body["quotas"] == [{"period": "2030", "target": 3}] and body["quota_effect"] == "follows"
    assert table_counts(db) == before
    org = client.get("/api/v1/organizations/P-DONG-SON-CB1", headers=admin).get_json()
    assert org["parent_code"] == "P-DONG-SON" and len(org["parent_history"]) == 1


def test_merge_and_dissolve_previews_count_children_and_everything_below(client, admin, db):
    thanh_hoa_tree(client, admin)
    add_org(client, admin, "X-DONG-TIEN-CB2", "Chi bộ thôn 2", "cell", "X-DONG-TIEN")
    add_org(client, admin, "X-DONG-HOA", "Đảng bộ xã Đông Hòa", "grassroots", "H-DONG-SON")
    before = table_counts(db)
    merge = client.post("/api/v1/organizations/H-DONG-SON/merge/preview",
                        json={"into_code": "TP-THANH-HOA", "effective_date": "2025-01-01"}, headers=admin).get_json()
    assert merge["children_count"] == 2 and merge["moving_count"] == 4
    assert [(c["code"], c["below"]) for c in merge["children"]] == [("X-DONG-HOA", 0), ("X-DONG-TIEN", 2)]
    assert merge["to"]["code"] == "TP-THANH-HOA" and merge["quota_effect"] == "successor"
    dissolve = client.post("/api/v1/organizations/H-DONG-SON/dissolve/preview",
                           json={"effective_date": "2025-07-01"}, headers=admin).get_json()
    assert dissolve["to"] == {"code": "TINH-THANH-HOA", "name": "Đảng bộ tỉnh Thanh Hóa"}
    assert dissolve["children_count"] == 2 and dissolve["moving_count"] == 4 and dissolve["quota_effect"] == "ended"
    # The tree on an earlier date has only what existed then.
    early = client.post("/api/v1/organizations/X-DONG-TIEN/dissolve/preview",
                        json={"effective_date": "2020-01-01"}, headers=admin).get_json()
    assert early["children_count"] == 2 and early["to"]["code"] == "H-DONG-SON"
    assert table_counts(db) == before
    # The preview said what the change then does.
    done = client.post("/api/v1/organizations/H-DONG-SON/dissolve", json={"effective_date": "2025-07-01"},
                       headers=admin)
    assert done.status_code == 200
    kids = client.get("/api/v1/organizations/TINH-THANH-HOA/children?as_of=2025-07-01", headers=admin).get_json()
    assert {"X-DONG-HOA", "X-DONG-TIEN"} <= {k["code"] for k in kids["items"]}


def test_previews_refuse_what_the_change_refuses_naming_the_field(client, admin, token, db):
    thanh_hoa_tree(client, admin)
    client.post("/api/v1/organizations/P-DONG-SON-CB1/move",
                json={"parent_code": "P-QUANG-CAT", "effective_date": "2024-09-01"}, headers=admin)
    before = table_counts(db)
    cases = [
        ("P-DONG-SON-CB1/move", {"parent_code": "P-DONG-SON", "effective_date": "2024-01-01"}, 409, "effective_date"),
        ("TP-THANH-HOA/move", {"parent_code": "P-DONG-SON"}, 409, "parent_code"),  # a cycle
        ("P-DONG-SON/merge", {"into_code": "P-DONG-SON"}, 422, "into_code"),
        ("P-DONG-SON/merge", {"into_code": "NOPE"}, 404, "into_code"),
        ("TINH-THANH-HOA/dissolve", {}, 409, "children_to"),  # a top organisation with children
        ("P-DONG-SON/dissolve", {"effective_date": "2024-01-01"}, 409, "effective_date"),  # its child moved later
        ("P-DONG-SON/move", {"parent_code": "TP-THANH-HOA", "effective_date": "31/12/2030"}, 422, "effective_date"),
    ]
    for path, body, status, field in cases:
        resp = client.post(f"/api/v1/organizations/{path}/preview", json=body, headers=admin)
        assert resp.status_code == status, (path, resp.get_json())
        assert resp.content_type == "application/problem+json"
        assert field in resp.get_json()["errors"], (path, resp.get_json())
        # The change itself refuses the same way.
        change = client.post(f"/api/v1/organizations/{path}", json=body, headers=admin)
        assert change.status_code == status, (path, change.get_json())
    assert table_counts(db) == before


def test_previews_need_an_administrator_of_both_sides(client, admin, token):
    thanh_hoa_tree(client, admin)
    ward_admin = token("admin", org="P-DONG-SON")
    officer = token("officer", org="TP-THANH-HOA")
    body = {"parent_code": "P-QUANG-CAT", "effective_date": "2030-01-01"}
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/move/preview", json=body,
                       headers=ward_admin).status_code == 403  # the new parent is outside its subtree
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/move/preview", json=body,
                       headers=officer).status_code == 403
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/move/preview", json=body).status_code == 401
    city_admin = token("admin", org="TP-THANH-HOA")
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/move/preview", json=body,
                       headers=city_admin).status_code == 200
