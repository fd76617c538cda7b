"""Corrections (PATCH /candidates/{id}, #12 point 3): recorded in the history with who and why, the
affected rules judged again, nothing counted by the quota service changed without events."""
import json
import threading
from datetime import date

from sqlalchemy import func, select

from services.candidates.models import Candidate, Transition, outbox
from shared.contracts import CANDIDATE_RECORD_READ
from tests.candidates.factories import auth, candidate_body, create, walk


def patch(client, cid, body, **headers):
    return client.patch(f"/api/v1/candidates/{cid}", json=body, headers=auth(**headers))


def lines(db, cid, kind="correction"):
    with db.transaction() as s:
        return s.scalars(select(Transition).where(Transition.candidate_id == cid, Transition.kind == kind)).all()


def outbox_count(db):
    """Events about candidates' records; reads of a full record are audited events of their own."""
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(outbox)
                        .where(outbox.c.event_type != CANDIDATE_RECORD_READ.type))


def test_a_misspelt_name_is_corrected_with_author_and_reason(client, db):
    cid = create(client, full_name="Nguyen Van Aan")["id"]
    events_before = outbox_count(db)
    resp = patch(client, cid, {"full_name": "Nguyễn Văn An", "reason": "Sai chính tả"}, sub="bi-thu-chi-bo")
    assert resp.status_code == 200, resp.json
    assert resp.json["candidate"]["full_name"] == "Nguyễn Văn An"
    line = resp.json["correction"]
    assert (line["kind"], line["recorded_by"], line["evidence"]["reason"]) == ("correction", "bi-thu-chi-bo",
                                                                            "Sai chính tả")
    assert line["evidence"]["changes"] == {"full_name": {"from": "Nguyen Van Aan", "to": "Nguyễn Văn An"}}
    history = client.get(f"/api/v1/candidates/{cid}", headers=auth()).json["history"]["transitions"]
    assert [h["kind"] for h in history] == ["listing", "correction"]
    found = client.get("/api/v1/candidates", query_string={"q": "nguyen van an"}, headers=auth()).json
    assert [c["id"] for c in found["items"]] == [cid]
    # The same correction again is no change: no second line; nothing published either way.
    again = patch(client, cid, {"full_name": "Nguyễn Văn An", "reason": "Sai chính tả"})
    assert again.status_code == 200 and again.json["correction"] is None
    assert len(lines(db, cid)) == 1 and outbox_count(db) == events_before


def test_bad_input_changes_nothing(client, db):
    cid = create(client)["id"]
    for body, field in (({"full_name": "Ai Đó"}, "reason"), ({"reason": "x"}, "_schema"),
                        ({"gender": "robot", "reason": "x"}, "gender"), ({"stage": "admitted", "reason": "x"}, "stage"),
                        ({"date_of_birth": "2030-01-01", "reason": "x"}, "date_of_birth")):
        resp = patch(client, cid, body)
        assert resp.status_code == 422 and resp.mimetype == "application/problem+json", body
        assert field in resp.json["errors"] or field == "date_of_birth", (body, resp.json)
    assert lines(db, cid) == []
    assert patch(client, cid, {"full_name": "A", "reason": "x"}, role="viewer").status_code == 403
    assert patch(client, cid, {"full_name": "A", "reason": "x"}, org="P-QUANG-CAT").status_code == 403
    assert client.patch(f"/api/v1/candidates/{cid}", json={"full_name": "A", "reason": "x"}).status_code == 401


def test_a_date_of_birth_is_judged_again_with_the_national_id_and_the_age_rule(client, db):
    body = candidate_body(date_of_birth=date(2000, 3, 15))
    cid = client.post("/api/v1/candidates", json=body, headers=auth()).json["id"]
    walk(client, cid, "proposed")  # the cell's resolution on 2022-09-01
    # Another year no longer matches the national ID's year digits.
    resp = patch(client, cid, {"date_of_birth": "2001-03-15", "reason": "Sai năm sinh"})
    assert resp.status_code == 422 and "national_id" in resp.json["errors"]
    # The same year, but under 18 on the resolution's date: the age rule refuses.
    resp = patch(client, cid, {"date_of_birth": "2004-12-01", "national_id": body["national_id"][:4] + "04" +
                               body["national_id"][6:], "reason": "Sai ngày sinh"})
    assert resp.status_code == 422 and resp.json["type"] == "urn:chitieu:rule:age_minimum"
    assert "date_of_birth" in resp.json["errors"]
    resp = patch(client, cid, {"date_of_birth": "2000-12-01", "reason": "Sai ngày sinh"})
    assert resp.status_code == 200, resp.json
    assert resp.json["correction"]["evidence"]["changes"]["date_of_birth"] == {"from": "2000-03-15",
                                                                               "to": "2000-12-01"}


def test_a_counted_admission_is_not_rewritten(client, db):
    cid = create(client, gender="male")["id"]
    walk(client, cid, "admitted")  # admitted on 2022-10-03, counted as a man
    person = client.get(f"/api/v1/candidates/{cid}", headers=auth()).json
    resp = patch(client, cid, {"ethnicity": "Tày", "reason": "Sai dân tộc"})
    assert resp.status_code == 409 and resp.json["type"] == "urn:chitieu:rule:counted_admission"
    assert "ethnicity" in resp.json["errors"]
    religion = patch(client, cid, {"religion": "Phật giáo", "reason": "Thiếu tôn giáo"})  # counted since #11
    assert religion.status_code == 409 and "religion" in religion.json["errors"]
    # A name is not counted: corrected after admission too.
    assert patch(client, cid, {"full_name": "Nguyễn Văn Ân", "reason": "Dấu"}).status_code == 200
    # The documented way: revoke, correct, decide again: the events carry the corrected attributes.
    revoke = client.post(f"/api/v1/candidates/{cid}/transitions", headers=auth(), json={
        "to": "revoked", "date": "2022-10-04", "reason": "Đính chính dân tộc"})
    assert revoke.status_code == 201, revoke.json
    assert patch(client, cid, {"ethnicity": "Tày", "reason": "Sai dân tộc"}).status_code == 200
    again = client.post(f"/api/v1/candidates/{cid}/transitions", headers=auth(), json={
        "to": "admitted", "date": "2022-10-05", "decision_number": "QĐ-2", "deciding_org_code": "P-DONG-SON"})
    assert again.status_code == 201, again.json
    with db.transaction() as s:
        values = s.execute(select(outbox.c.value).order_by(outbox.c.seq)).scalars().all()
    admissions = [e for e in map(lambda v: json.loads(bytes(v)), values) if e["type"].endswith("candidate.admitted.v1")]
    assert [a["data"]["attributes"]["ethnic_minority"] for a in admissions] == [False, True]
    assert person["national_id_masked"] not in json.dumps([a["data"] for a in admissions])


def test_a_national_id_of_another_open_candidate_is_refused(client, db):
    first = candidate_body()
    assert client.post("/api/v1/candidates", json=first, headers=auth()).status_code == 201
    second = create(client)["id"]
    resp = patch(client, second, {"national_id": first["national_id"], "reason": "Nhầm số"})
    assert resp.status_code == 409 and "national_id" in resp.json["errors"]
    assert first["national_id"] not in resp.get_data(as_text=True)


def test_concurrent_corrections_write_one_line(client, db, app):
    cid = create(client, full_name="Tran Van B")["id"]
    answers = []

    def send():
        with app.test_client() as c:
            answers.append(c.patch(f"/api/v1/candidates/{cid}", json={"full_name": "Trần Văn Bé", "reason": "Dấu"},
                                   headers=auth()).status_code)

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers == [200] * 4
    assert len(lines(db, cid)) == 1
    with db.transaction() as s:
        assert s.get(Candidate, cid).full_name == "Trần Văn Bé"
