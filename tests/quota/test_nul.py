"""A NUL character anywhere in a request (query, path, JSON body) answers 422 naming where it was
and changes nothing. PostgreSQL refuses NUL in text, so it was a 500 there (found by the fuzz test
on GET /organizations?q=)."""
from __future__ import annotations

from tests.quota.conftest import table_counts, thanh_hoa_tree


def test_a_nul_in_the_search_query_is_named(client, admin):
    thanh_hoa_tree(client, admin)
    resp = client.get("/api/v1/organizations?q=dong%00son", headers=admin)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert list(resp.get_json()["errors"]) == ["q"]


def test_a_nul_in_a_path_or_a_body_changes_nothing(client, admin, db):
    thanh_hoa_tree(client, admin)
    before = table_counts(db)
    resp = client.get("/api/v1/organizations/TP-THANH%00HOA", headers=admin)
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["code"]
    resp = client.post("/api/v1/organizations", headers=admin, json={
        "code": "P-MOI", "name": "Đảng bộ\u0000phường mới", "type": "grassroots", "parent_code": "TP-THANH-HOA",
        "effective_date": "2024-01-01"})
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["name"]
    resp = client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", headers=admin,
                      json={"target": 13, "composition": [{"attribute": "x\u0000", "min_share": 0.1}]})
    assert resp.status_code == 422 and list(resp.get_json()["errors"]) == ["composition.0.attribute"]
    assert table_counts(db) == before


def test_an_anonymous_nul_is_still_a_401(client):
    assert client.get("/api/v1/organizations?q=%00").status_code == 401
