"""Reminders as data, listed per organisation and published once per (candidate, kind, due date)."""
import json
from datetime import date

from sqlalchemy import select

from services.candidates.models import outbox
from services.candidates.worker import reminder_pass
from tests.candidates.factories import auth, create, evidence, walk


def reminders(client, org="P-DONG-SON", **query):
    resp = client.get(f"/api/v1/organizations/{org}/reminders", query_string=query, headers=auth(role="viewer"))
    assert resp.status_code == 200, resp.json
    return [(r["kind"], r["due_date"]) for r in resp.json["reminders"]]


def test_probation_ending_within_30_days(client):
    cid = create(client)["id"]
    walk(client, cid, "admitted")  # 2022-10-03: probation ends 2023-10-03
    assert reminders(client, as_of="2023-09-02") == []
    assert reminders(client, as_of="2023-09-03") == [("probation_ending", "2023-10-03")]
    walk_official = client.post(f"/api/v1/candidates/{cid}/transitions", json=evidence("official", date(2023, 10, 3)),
                                headers=auth())
    assert walk_official.status_code == 201
    assert reminders(client, as_of="2023-09-03") == []


def test_certificate_expiring(client):
    cid = create(client, listed_on=date(2017, 1, 5))["id"]
    client.post(f"/api/v1/candidates/{cid}/transitions", json=evidence("trained", date(2017, 3, 1)), headers=auth())
    assert reminders(client, as_of="2022-01-29") == []
    assert reminders(client, as_of="2022-01-30") == [("certificate_expiring", "2022-03-01")]
    assert reminders(client, as_of="2022-06-01") == [("certificate_expiring", "2022-03-01")]  # still not retaken


def test_decision_overdue(client):
    cid = create(client)["id"]
    walk(client, cid, "proposed")  # resolution 2022-09-01, decision due 2022-11-24
    assert reminders(client, as_of="2022-11-24") == []
    assert reminders(client, as_of="2022-11-25") == [("decision_overdue", "2022-11-24")]
    assert reminders(client, org="P-QUANG-CAT", as_of="2022-11-25") == []  # another subtree
    assert reminders(client, org="TP-THANH-HOA", as_of="2022-11-25") == [("decision_overdue", "2022-11-24")]


def test_reminders_are_published_once(client, db):
    cid = create(client)["id"]
    walk(client, cid, "proposed")
    assert reminder_pass(db, as_of=date(2022, 11, 25)) == 1
    assert reminder_pass(db, as_of=date(2022, 11, 26)) == 0
    with db.transaction() as s:
        values = s.execute(select(outbox.c.value).where(
            outbox.c.event_type == "vn.chitieu.candidate.reminder_due.v1")).scalars().all()
    assert len(values) == 1
    data = json.loads(bytes(values[0]))["data"]
    assert data == {"reminder_id": f"decision_overdue:{cid}:2022-11-24", "candidate_id": cid,
                    "org_code": "P-DONG-SON-CB1", "kind": "decision_overdue", "due_date": "2022-11-24"}
