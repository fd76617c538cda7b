"""Scope holes (issue 8, point 6), quota side: a quota is assigned from above, and a tree change
needs scope over every organisation it touches, including where the children go by default."""
from tests.quota.conftest import add_org, thanh_hoa_tree


def test_an_officer_sets_quotas_below_its_organisation_not_its_own(client, admin, token):
    thanh_hoa_tree(client, admin)
    ward = token("officer", org="P-DONG-SON")
    own = client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", json={"target": 13}, headers=ward)
    assert own.status_code == 403 and "code" in own.get_json()["errors"]
    below = client.put("/api/v1/organizations/P-DONG-SON-CB1/quotas/2024", json={"target": 5}, headers=ward)
    assert below.status_code == 200
    city = token("officer", org="TP-THANH-HOA")
    assert client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", json={"target": 13},
                      headers=city).status_code == 200
    assert client.get("/api/v1/organizations/P-DONG-SON/quotas", headers=admin).get_json()[0]["target"] == 13


def test_dissolving_checks_where_the_children_go_by_default(client, admin, token):
    thanh_hoa_tree(client, admin)
    ward_admin = token("admin", org="P-DONG-SON")
    # Its children would go to TP Thanh Hóa, outside the ward's scope.
    resp = client.post("/api/v1/organizations/P-DONG-SON/dissolve", json={"effective_date": "2025-07-01"},
                       headers=ward_admin)
    assert resp.status_code == 403
    assert client.get("/api/v1/organizations/P-DONG-SON", headers=admin).get_json()["status"] == "active"
    # Inside its scope it may: a cell's (childless) dissolution goes to the ward itself.
    add_org(client, admin, "P-DONG-SON-CB9", "Chi bộ 9", "cell", "P-DONG-SON")
    assert client.post("/api/v1/organizations/P-DONG-SON-CB9/dissolve", json={"effective_date": "2025-07-01"},
                       headers=ward_admin).status_code == 200


def test_merging_or_moving_out_of_scope_is_refused(client, admin, token):
    thanh_hoa_tree(client, admin)
    ward_admin = token("admin", org="P-DONG-SON")
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/merge", json={"into_code": "P-QUANG-CAT-CB1",
                       "effective_date": "2025-07-01"}, headers=ward_admin).status_code == 403
    assert client.post("/api/v1/organizations/P-DONG-SON-CB1/move", json={"parent_code": "P-QUANG-CAT",
                       "effective_date": "2025-07-01"}, headers=ward_admin).status_code == 403
