"""What the candidate service writes for the audit trail: its events carry the caller of the API
as their actor, and a read of a candidate's full record (personal data) is an event naming the
reader; a refused read leaves no trace, and nothing of the person travels in it."""
from datetime import date

from shared.contracts import CANDIDATE_RECORD_READ, CANDIDATE_STAGE_CHANGED
from tests.candidates.factories import auth, create, evidence
from tests.support import outbox_events


def test_a_transition_is_the_callers_act(client, db):
    candidate = create(client)
    resp = client.post(f"/api/v1/candidates/{candidate['id']}/transitions",
                       json=evidence("trained", date(2022, 3, 1)),
                       headers=auth(org="P-DONG-SON", sub="can-bo-dong-son"))
    assert resp.status_code == 201, resp.json
    [changed] = outbox_events(db, CANDIDATE_STAGE_CHANGED)
    assert (changed.actor, changed.actorrole) == ("can-bo-dong-son", "officer")
    assert changed.data["org_code"] == "P-DONG-SON-CB1"


def test_reading_a_full_record_is_recorded_with_the_reader_and_a_refused_read_is_not(client, db):
    candidate = create(client)
    assert client.get(f"/api/v1/candidates/{candidate['id']}",
                      headers=auth(org="P-QUANG-CAT", role="viewer", sub="nguoi-ngoai")).status_code == 403
    assert outbox_events(db, CANDIDATE_RECORD_READ) == []
    resp = client.get(f"/api/v1/candidates/{candidate['id']}", headers=auth(org="P-DONG-SON", role="viewer",
                                                                             sub="nguoi-xem"))
    assert resp.status_code == 200 and resp.json["full_name"] == candidate["full_name"]
    [read] = outbox_events(db, CANDIDATE_RECORD_READ)
    assert (read.actor, read.actorrole, read.subject) == ("nguoi-xem", "viewer", candidate["id"])
    assert read.data == {"candidate_id": candidate["id"], "org_code": "P-DONG-SON-CB1"}
    # The list (no national ID) is not a read of the record.
    assert client.get("/api/v1/candidates?org=P-DONG-SON", headers=auth()).status_code == 200
    assert len(outbox_events(db, CANDIDATE_RECORD_READ)) == 1
