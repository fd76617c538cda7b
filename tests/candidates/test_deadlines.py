"""A candidate's next deadline in the list and the record (#12 point 1: certificate expiry, decision
due, probation end, late ones marked), and advisories held back for confirmation (#12 point 2:
`confirm_warnings` false records nothing and names the fields)."""
from datetime import date

from sqlalchemy import func, select

from services.candidates import deadlines
from services.candidates.models import Transition
from shared import clock
from tests.candidates.factories import auth, create, evidence, walk


def listed(client, **query):
    resp = client.get("/api/v1/candidates", query_string=query, headers=auth())
    assert resp.status_code == 200, resp.json
    return {c["id"]: c for c in resp.json["items"]}


def test_each_stage_has_its_deadline_and_passed_ones_are_late(client):
    ids = {stage: create(client, full_name=f"Hạn {stage}")["id"] for stage in ("source", "trained", "proposed",
                                                                               "admitted", "official")}
    for stage, cid in ids.items():
        if stage != "source":
            walk(client, cid, stage)
    found = listed(client, q="han")
    assert found[ids["source"]]["next_deadline"] is None
    assert found[ids["official"]]["next_deadline"] is None
    # Certificate of 2022-03-01, valid 60 months: expires 2027-03-01 (the test clock is today).
    trained = found[ids["trained"]]["next_deadline"]
    assert trained["kind"] == "certificate_expiring" and trained["due_date"] == "2027-03-01"
    assert trained["late"] is (clock.today() > date(2027, 3, 1))
    # Resolution 2022-09-01: the decision was due 60 working days later, 2022-11-24; long passed.
    assert found[ids["proposed"]]["next_deadline"] == {"kind": "decision_overdue", "due_date": "2022-11-24",
                                                      "late": True}
    # Admitted 2022-10-03: probation ended 2023-10-03 without recognition: late.
    assert found[ids["admitted"]]["next_deadline"] == {"kind": "probation_ending", "due_date": "2023-10-03",
                                                      "late": True}
    record = client.get(f"/api/v1/candidates/{ids['proposed']}", headers=auth()).json
    assert record["next_deadline"]["due_date"] == "2022-11-24"
    # What may be recorded next, from the service's stage graph (the pages offer these forms).
    assert record["next_steps"] == ["admitted", "withdrawn", "rejected", "transfer"]
    assert found[ids["official"]]["next_steps"] == []
    assert found[ids["admitted"]]["next_steps"] == ["official", "removed", "revoked", "transfer"]
    # The list keeps the one pagination convention.
    page = client.get("/api/v1/candidates", query_string={"q": "han", "per_page": 2}, headers=auth()).json
    assert page["total"] == 5 and len(page["items"]) == 2 and page["next"]


def test_deadline_is_not_late_on_its_day():
    class Proposed:
        stage, cell_resolution_date = "proposed", date(2022, 9, 1)
    due = deadlines.next_deadline(Proposed, as_of=date(2022, 11, 24))
    assert (due.due_date, due.late) == (date(2022, 11, 24), False)
    assert deadlines.next_deadline(Proposed, as_of=date(2022, 11, 25)).late is True


def test_search_ignores_diacritics_and_filters_by_stage(client):
    a = create(client, full_name="Đặng Thị Ngọc Ánh")["id"]
    b = create(client, full_name="Đặng Văn Bình")["id"]
    walk(client, b, "trained")
    assert set(listed(client, q="dang")) == {a, b}
    assert set(listed(client, q="ngoc anh")) == {a}
    assert set(listed(client, q="Đặng", stage="trained")) == {b}


def test_an_advisory_is_held_back_until_confirmed(client, db):
    cid = create(client)["id"]
    walk(client, cid, "applied")
    client.put("/api/v1/organizations/P-DONG-SON-CB1/official-members",
               json={"official_members": 2, "as_of": "2022-01-01"}, headers=auth())
    body = {**evidence("proposed", date(2022, 9, 1)), "confirm_warnings": False}
    held = client.post(f"/api/v1/candidates/{cid}/transitions", json=body, headers=auth())
    assert held.status_code == 409 and held.mimetype == "application/problem+json"
    assert held.json["type"] == "urn:chitieu:rule:advisory"
    assert "cell_strength" in held.json["errors"]["org_code"][0] and "Điều lệ" not in held.json["errors"]
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Transition).where(
            Transition.candidate_id == cid, Transition.to_stage == "proposed")) == 0
    assert client.get(f"/api/v1/candidates/{cid}", headers=auth()).json["stage"] == "applied"
    confirmed = client.post(f"/api/v1/candidates/{cid}/transitions", json={**body, "confirm_warnings": True},
                            headers=auth())
    assert confirmed.status_code == 201 and [w["rule"] for w in confirmed.json["warnings"]] == ["cell_strength"]
    assert "confirm_warnings" not in confirmed.json["transition"]["evidence"]
