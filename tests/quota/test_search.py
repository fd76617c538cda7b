"""GET /organizations?q= finds organisations by name with or without diacritics, only in the
caller's subtree; lists follow the one pagination convention (shared/pagination.py)."""
from __future__ import annotations

from tests.quota.conftest import add_org, thanh_hoa_tree


def codes(page):
    return [item["code"] for item in page["items"]]


def test_dong_son_found_with_or_without_diacritics_in_the_callers_subtree(client, admin, token):
    thanh_hoa_tree(client, admin)
    add_org(client, admin, "TINH-LAI-CHAU", "Đảng bộ tỉnh Lai Châu", "province")
    add_org(client, admin, "P-DONG-SON-LC", "Đảng bộ phường Đông Sơn (Lai Châu)", "grassroots", "TINH-LAI-CHAU")

    everywhere = client.get("/api/v1/organizations?q=dong son", headers=admin).get_json()
    # Both wards and the district called Đông Sơn, ordered by folded name.
    assert codes(everywhere) == ["H-DONG-SON", "P-DONG-SON", "P-DONG-SON-LC"] and everywhere["total"] == 3
    assert codes(client.get("/api/v1/organizations?q=Đông  SƠN phường", headers=admin).get_json()) == [
        "P-DONG-SON", "P-DONG-SON-LC"]

    city = token("viewer", org="TP-THANH-HOA")
    mine = client.get("/api/v1/organizations?q=dong son", headers=city).get_json()
    assert codes(mine) == ["P-DONG-SON"]  # not Lai Châu's, not the district above the city's subtree
    assert mine["items"][0]["name"] == "Đảng bộ phường Đông Sơn" and mine["next"] is None
    ward = token("viewer", org="P-DONG-SON")
    assert codes(client.get("/api/v1/organizations?q=chi bo", headers=ward).get_json()) == ["P-DONG-SON-CB1"]
    # A renamed organisation is found by its new name.
    assert client.post("/api/v1/organizations/P-QUANG-CAT-CB1/rename", json={"name": "Chi bộ thôn Quảng Thắng"},
                       headers=admin).status_code == 200
    assert codes(client.get("/api/v1/organizations?q=quang thang", headers=admin).get_json()) == ["P-QUANG-CAT-CB1"]
    # Wildcards are literal; a missing q is refused naming the field; no token, 401.
    assert client.get("/api/v1/organizations?q=%25", headers=admin).get_json()["total"] == 0
    missing = client.get("/api/v1/organizations", headers=admin)
    assert missing.status_code == 422 and "q" in str(missing.get_json()["errors"])
    assert client.get("/api/v1/organizations?q=dong").status_code == 401


def test_pages_with_total_next_link_and_limits(client, admin):
    add_org(client, admin, "TINH", "Đảng bộ tỉnh", "province")
    for i in range(7):
        add_org(client, admin, f"CB-{i}", f"Chi bộ số {i}", "cell", "TINH")
    first = client.get("/api/v1/organizations/TINH/children?per_page=3", headers=admin)
    body = first.get_json()
    assert codes(body) == ["CB-0", "CB-1", "CB-2"] and (body["total"], body["page"], body["per_page"]) == (7, 1, 3)
    assert body["next"].endswith("per_page=3&page=2") and 'rel="next"' in first.headers["Link"]
    seen = codes(body)
    while body["next"]:
        body = client.get(body["next"], headers=admin).get_json()
        seen += codes(body)
    assert seen == [f"CB-{i}" for i in range(7)] and body["page"] == 3
    assert client.get("/api/v1/organizations/TINH/children?page=9", headers=admin).get_json()["items"] == []
    searched = client.get("/api/v1/organizations?q=chi bo&per_page=5&page=2", headers=admin).get_json()
    assert codes(searched) == ["CB-5", "CB-6"] and searched["next"] is None
    for bad in ("per_page=0", "per_page=501", "page=0", "page=x"):
        resp = client.get(f"/api/v1/organizations/TINH/children?{bad}", headers=admin)
        assert resp.status_code == 422 and bad.split("=")[0] in str(resp.get_json()["errors"])


def test_progress_children_ranked_over_all_pages(client, admin, db):
    from datetime import date

    from services.quota.ledger import AdmissionChange, apply_changes
    from services.quota.models import ATTRIBUTES

    add_org(client, admin, "TINH", "Đảng bộ tỉnh", "province")
    for i in range(7):
        add_org(client, admin, f"CB-{i}", f"Chi bộ số {i}", "cell", "TINH")
        assert client.put(f"/api/v1/organizations/CB-{i}/quotas/2024", json={"target": 10},
                          headers=admin).status_code == 200
    with db.transaction() as session:  # CB-i admits i: CB-6 ranks first
        apply_changes(session, changes=[AdmissionChange(f"e{i}-{n}", f"c{i}-{n}", f"CB-{i}", date(2024, 3, 1),
                                                        dict.fromkeys(ATTRIBUTES, False))
                                        for i in range(7) for n in range(i)])
    url = "/api/v1/organizations/TINH/progress?period=2024&as_of=2024-12-30&per_page=3"
    first = client.get(url, headers=admin)
    body = first.get_json()
    assert [(c["rank"], c["code"]) for c in body["children"]] == [(1, "CB-6"), (2, "CB-5"), (3, "CB-4")]
    assert body["children_total"] == 7 and body["admitted"] == 21 and 'rel="next"' in first.headers["Link"]
    last = client.get(body["children_next"], headers=admin).get_json()
    last = client.get(last["children_next"], headers=admin).get_json()
    assert [(c["rank"], c["code"], c["percent_display"]) for c in last["children"]] == [(7, "CB-0", "0,00%")]
    assert last["children_next"] is None
    assert len(client.get(url.replace("per_page=3", "per_page=500"), headers=admin).get_json()["children"]) == 7


def test_control_characters_in_q_are_refused_naming_the_field(client, admin):
    resp = client.get("/api/v1/organizations?q=dong%00son", headers=admin)
    assert resp.status_code == 422 and "q" in str(resp.get_json()["errors"])


def test_top_lists_the_provinces_for_the_country_and_ones_own_organisation_otherwise(client, admin, token):
    thanh_hoa_tree(client, admin)
    add_org(client, admin, "TINH-LAI-CHAU", "Đảng bộ tỉnh Lai Châu", "province")
    add_org(client, admin, "TINH-CU", "Đảng bộ tỉnh Cũ", "province")
    assert client.post("/api/v1/organizations/TINH-CU/dissolve", json={}, headers=admin).status_code == 200
    national = client.get("/api/v1/organizations?top=true", headers=token("viewer")).get_json()
    assert codes(national) == ["TINH-LAI-CHAU", "TINH-THANH-HOA"] and national["total"] == 2  # not the dissolved
    city = client.get("/api/v1/organizations?top=true", headers=token("viewer", org="TP-THANH-HOA")).get_json()
    assert codes(city) == ["TP-THANH-HOA"]
    paged = client.get("/api/v1/organizations?top=true&per_page=1", headers=admin).get_json()
    assert codes(paged) == ["TINH-LAI-CHAU"] and "top=" in paged["next"]
    assert client.get("/api/v1/organizations?top=maybe", headers=admin).status_code == 422
