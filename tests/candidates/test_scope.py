"""Scope holes (issue 8, point 6), candidate side: a transfer needs scope over its destination,
and a 409 on a national ID open elsewhere names no candidate outside the caller's scope."""
from datetime import date

from tests.candidates.factories import auth, candidate_body, create


def test_a_transfer_needs_the_destination_in_scope(client):
    candidate = create(client, org_code="P-DONG-SON-CB1")
    ward = auth(org="P-DONG-SON")
    body = {"to_org_code": "P-QUANG-CAT-CB1", "date": date(2022, 5, 1).isoformat()}
    resp = client.post(f"/api/v1/candidates/{candidate['id']}/transfer", json=body, headers=ward)
    assert resp.status_code == 403 and "to_org_code" in resp.json["errors"]
    got = client.get(f"/api/v1/candidates/{candidate['id']}", headers=auth(role="viewer")).json
    assert got["org_code"] == "P-DONG-SON-CB1" and got["history"]["transfers"] == []
    inside = dict(body, to_org_code="P-DONG-SON-CB2")
    assert client.post(f"/api/v1/candidates/{candidate['id']}/transfer", json=inside,
                       headers=ward).status_code == 201


def test_a_conflict_does_not_reveal_a_candidate_outside_the_scope(client):
    body = candidate_body(org_code="P-QUANG-CAT-CB1")
    listed = client.post("/api/v1/candidates", json=body, headers=auth()).json
    twin = dict(body, org_code="P-DONG-SON-CB1")
    resp = client.post("/api/v1/candidates", json=twin, headers=auth(org="P-DONG-SON"))
    assert resp.status_code == 409 and "national_id" in resp.json["errors"]
    text = resp.get_data(as_text=True)
    assert listed["id"] not in text and "P-QUANG-CAT" not in text
    # A caller who may see that cell is told which candidate it is.
    resp = client.post("/api/v1/candidates", json=twin, headers=auth(org="TP-THANH-HOA"))
    assert resp.status_code == 409 and listed["id"] in resp.get_data(as_text=True)
