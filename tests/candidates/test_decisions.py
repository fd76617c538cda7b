"""Admission decisions in bulk (POST /admission-decisions): the same history and events as one by one,
idempotent by decision number, all or nothing with a row report, JSON or a Vietnamese XLSX file."""
import io
import json
from datetime import date

from openpyxl import load_workbook
from sqlalchemy import func, select

from services.candidates.models import Candidate, outbox
from tests.candidates.factories import auth, create, walk
from tests.spreadsheets import workbook_bytes


def proposed(client, n: int, **overrides) -> list[str]:
    ids = []
    for _ in range(n):
        cid = create(client, **overrides)["id"]
        walk(client, cid, "proposed")
        ids.append(cid)
    return ids


def events(db, type_suffix: str) -> list[dict]:
    with db.transaction() as s:
        rows = s.execute(select(outbox.c.value).order_by(outbox.c.seq)).scalars().all()
    return [e for e in (json.loads(bytes(v)) for v in rows) if e["type"].endswith(type_suffix)]


def admitted(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Candidate).where(Candidate.stage == "admitted"))


def decision(cid: str, n: int, on: str = "2022-10-03", org: str = "P-DONG-SON") -> dict:
    return {"candidate_id": cid, "decision_number": f"{n}-QĐ/ĐU", "date": on, "deciding_org_code": org}


def test_json_decisions_admit_as_one_by_one_and_again_change_nothing(client, db):
    ids = proposed(client, 3)
    body = {"decisions": [decision(cid, i) for i, cid in enumerate(ids)]}
    resp = client.post("/api/v1/admission-decisions", json=body, headers=auth(sub="tinh-uy"))
    assert resp.status_code == 201, resp.json
    assert (resp.json["recorded"], resp.json["already_recorded"]) == (3, 0)
    assert [r["status"] for r in resp.json["rows"]] == ["admitted"] * 3
    assert admitted(db) == 3
    admissions = events(db, "candidate.admitted.v1")
    assert sorted(e["data"]["candidate_id"] for e in admissions) == sorted(ids)
    assert {e["data"]["decision_number"] for e in admissions} == {"0-QĐ/ĐU", "1-QĐ/ĐU", "2-QĐ/ĐU"}
    detail = client.get(f"/api/v1/candidates/{ids[0]}", headers=auth()).json
    line = detail["history"]["transitions"][-1]
    assert (line["to_stage"], line["decision_number"], line["recorded_by"]) == ("admitted", "0-QĐ/ĐU", "tinh-uy")

    again = client.post("/api/v1/admission-decisions", json=body, headers=auth())
    assert again.status_code == 200, again.json
    assert (again.json["recorded"], again.json["already_recorded"]) == (0, 3)
    assert len(events(db, "candidate.admitted.v1")) == 3


def test_one_bad_row_changes_nothing_and_is_named(client, db):
    ids = proposed(client, 3)
    body = {"decisions": [decision(ids[0], 1), decision(ids[1], 2, on="2099-01-01"), decision(ids[2], 3),
                          {"candidate_id": ids[2], "decision_number": "", "date": "03/10/2022"}]}
    resp = client.post("/api/v1/admission-decisions", json=body, headers=auth())
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert set(resp.json["errors"]) == {"decisions[1]", "decisions[3]"}
    assert "date" in resp.json["errors"]["decisions[1]"]
    assert {"decision_number", "date", "deciding_org_code"} <= set(resp.json["errors"]["decisions[3]"])
    assert admitted(db) == 0 and events(db, "candidate.admitted.v1") == []


def test_numbers_people_and_scope_are_checked(client, db):
    a, b = proposed(client, 2)
    other = proposed(client, 1, org_code="P-QUANG-CAT-CB1")[0]
    client.post("/api/v1/admission-decisions", json={"decisions": [decision(a, 7)]}, headers=auth())
    rows = [decision(b, 7),  # the number was used for someone else
            decision(b, 8), decision(b, 9),  # the same person twice
            decision(other, 10, org="P-QUANG-CAT"),  # outside the caller's scope
            decision("no-such-id", 11)]
    resp = client.post("/api/v1/admission-decisions", json={"decisions": rows},
                       headers=auth(org="P-DONG-SON"))
    assert resp.status_code == 422
    errors = resp.json["errors"]
    assert "decision_number" in errors["decisions[0]"]
    assert "decisions[1]" not in errors and "candidate_id" in errors["decisions[2]"]
    assert errors["decisions[3]"] == errors["decisions[4]"]  # not yours = does not exist
    assert admitted(db) == 1


def test_a_refused_rule_names_its_row(client, db):
    cid = create(client)["id"]
    walk(client, cid, "applied")  # no cell resolution yet: admission is not allowed
    resp = client.post("/api/v1/admission-decisions", json={"decisions": [decision(cid, 1)]}, headers=auth())
    assert resp.status_code == 422 and "to" in resp.json["errors"]["decisions[0]"]


def test_vietnamese_xlsx_file_with_national_ids(client, db):
    people = [create(client) for _ in range(2)]
    for p in people:
        walk(client, p["id"], "proposed")
    with db.transaction() as s:
        national = dict(s.execute(select(Candidate.id, Candidate.national_id)).all())
    sheet = [["Mã quần chúng", "Số CCCD", "Số quyết định", "Ngày quyết định", "Mã cấp ủy quyết định"],
             [people[0]["id"], "", "1-QĐ/ĐU", "03/10/2022", "P-DONG-SON"],
             ["", national[people[1]["id"]], "2-QĐ/ĐU", date(2022, 10, 3), "P-DONG-SON"]]
    resp = client.post("/api/v1/admission-decisions", headers=auth(),
                       data={"file": (io.BytesIO(workbook_bytes(sheet)), "quyet-dinh.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 201, resp.json
    assert [r["row"] for r in resp.json["rows"]] == ["row 2", "row 3"]
    assert admitted(db) == 2
    assert national[people[1]["id"]] not in resp.get_data(as_text=True)

    bad = [sheet[0], ["", "", "3-QĐ/ĐU", "31/02/2022", "P-DONG-SON"]]
    resp = client.post("/api/v1/admission-decisions", headers=auth(),
                       data={"file": (io.BytesIO(workbook_bytes(bad)), "quyet-dinh.xlsx")},
                       content_type="multipart/form-data")
    assert resp.status_code == 422
    assert "date" in resp.json["errors"]["row 2"] and admitted(db) == 2
    assert {(c["row"], c["column"], c["header"]) for c in resp.json["cells"]} == {(2, "D", "Ngày quyết định")}


def test_template_and_roles(client):
    resp = client.get("/api/v1/admission-decisions/template", headers=auth(role="viewer"))
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.data)).worksheets[0]
    assert [c.value for c in sheet[1]][:3] == ["Mã quần chúng", "Số CCCD", "Số quyết định"]
    assert sheet["D2"].value == "04/03/2024"
    assert client.post("/api/v1/admission-decisions", json={"decisions": []},
                       headers=auth(role="viewer")).status_code == 403
    assert client.post("/api/v1/admission-decisions", json={"decisions": []}).status_code == 401
