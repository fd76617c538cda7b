"""Transitions through the API: each refusal names its rule and writes nothing, each warning comes with
the accepted answer, and the events of each transition are in the outbox."""
import json
from datetime import date

from sqlalchemy import func, select

from services.candidates.models import Candidate, Transition, outbox
from tests.candidates.factories import HAPPY_PATH, auth, create, evidence, walk


def post(client, cid, body):
    return client.post(f"/api/v1/candidates/{cid}/transitions", json=body, headers=auth())


def outbox_events(db, type_suffix=None):
    with db.transaction() as s:
        rows = s.execute(select(outbox.c.event_type, outbox.c.value).order_by(outbox.c.seq)).all()
    events = [json.loads(bytes(r.value)) for r in rows]
    return [e for e in events if type_suffix is None or e["type"].endswith(type_suffix)]


def history_len(db, cid):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Transition).where(Transition.candidate_id == cid))


def test_the_whole_pipeline_with_events(client, db):
    cid = create(client, gender="female", ethnicity="Mường", occupation_group="student", youth_union_member=True,
                 religion="Phật giáo")["id"]
    walk(client, cid, "official")
    detail = client.get(f"/api/v1/candidates/{cid}", headers=auth(role="viewer")).json
    assert detail["stage"] == "official"
    assert [t["to_stage"] for t in detail["history"]["transitions"]] == [
        "source", "trained", "applied", "proposed", "admitted", "official"]
    assert detail["history"]["transitions"][4]["decision_number"] == "QĐ-admitted"
    assert detail["history"]["transitions"][4]["recorded_by"] == "can-bo-1"

    types = [e["type"] for e in outbox_events(db)]
    assert types.count("vn.chitieu.candidate.stage_changed.v1") == 5
    assert types[0] == "vn.chitieu.candidate.listed.v1"
    admitted = outbox_events(db, "candidate.admitted.v1")[0]
    assert admitted["data"]["attributes"] == {"gender": "female", "ethnic_minority": True,
                                              "occupation_group": "student", "age_years": 22,
                                              "education_level": "university", "youth_union_member": True,
                                              "religious_follower": True}
    assert "Phật" not in json.dumps(admitted, ensure_ascii=False)  # which religion stays here
    assert admitted["data"]["admission_date"] == "2022-10-03" and admitted["data"]["deciding_org_code"] == "P-DONG-SON"
    assert admitted["partitionkey"] == cid
    # No personal identifiers anywhere in the events.
    body = json.dumps(outbox_events(db), ensure_ascii=False)
    assert "Nguyễn" not in body and "2000-03-15" not in body  # name, birth date
    assert outbox_events(db, "candidate.recognised_official.v1")[0]["data"]["date"] == "2023-10-03"


def test_national_id_is_never_in_an_event_nor_in_a_response(client, db):
    created = create(client)
    assert "national_id" not in created and created["national_id_masked"].startswith("********")
    walk(client, created["id"], "admitted")
    with db.transaction() as s:
        nid = s.get(Candidate, created["id"]).national_id
        stored = s.execute(select(outbox.c.value)).scalars().all()
    assert len(stored) == 6 and all(nid.encode() not in bytes(v) for v in stored)
    detail = client.get(f"/api/v1/candidates/{created['id']}", headers=auth()).get_data(as_text=True)
    assert nid not in detail and nid[-4:] in detail


def test_pipeline_refuses_a_skipped_stage(client, db):
    cid = create(client)["id"]
    resp = post(client, cid, evidence("admitted", date(2022, 5, 1)))
    assert resp.status_code == 409
    assert resp.json["type"] == "urn:chitieu:rule:pipeline" and "to" in resp.json["errors"]
    assert history_len(db, cid) == 1
    assert post(client, cid, evidence("trained", date(2022, 5, 1))).status_code == 201


def test_closed_candidates_are_final(client):
    cid = create(client)["id"]
    assert post(client, cid, {"to": "withdrawn", "date": "2022-02-01", "reason": "chuyển vùng"}).status_code == 201
    resp = post(client, cid, evidence("trained", date(2022, 3, 1)))
    assert resp.status_code == 409 and resp.json["type"] == "urn:chitieu:rule:pipeline"


def test_age_under_18_on_the_cell_resolution_is_refused(client, db):
    # Born 2004-09-02: a full 18 years on 2022-09-02, not on 2022-09-01.
    cid = create(client, date_of_birth=date(2004, 9, 2))["id"]
    walk(client, cid, "applied")
    refused = post(client, cid, evidence("proposed", date(2022, 9, 1)))
    assert refused.status_code == 422 and refused.json["type"] == "urn:chitieu:rule:age_minimum"
    assert "date_of_birth" in refused.json["errors"] and "24-QĐ/TW" in refused.json["detail"]
    assert client.get(f"/api/v1/candidates/{cid}", headers=auth()).json["stage"] == "applied"
    assert post(client, cid, evidence("proposed", date(2022, 9, 2))).status_code == 201


def test_expired_training_certificate_is_refused(client):
    cid = create(client, listed_on=date(2017, 1, 5))["id"]
    assert post(client, cid, evidence("trained", date(2017, 3, 1))).status_code == 201
    assert post(client, cid, evidence("applied", date(2017, 6, 1))).status_code == 201
    refused = post(client, cid, evidence("proposed", date(2022, 3, 2)))  # 60 months ended 2022-03-01
    assert refused.status_code == 422 and refused.json["type"] == "urn:chitieu:rule:training_certificate"
    assert "training_certificate_date" in refused.json["errors"]
    # The class retaken: the new certificate is given with the resolution.
    retaken = dict(evidence("proposed", date(2022, 3, 2)), training_certificate_date="2022-02-20")
    accepted = post(client, cid, retaken)
    assert accepted.status_code == 201 and accepted.json["candidate"]["training_certificate_date"] == "2022-02-20"


def test_certificate_within_60_months_passes(client):
    cid = create(client, listed_on=date(2017, 1, 5))["id"]
    post(client, cid, evidence("trained", date(2017, 3, 1)))
    post(client, cid, evidence("applied", date(2017, 6, 1)))
    assert post(client, cid, evidence("proposed", date(2022, 3, 1))).status_code == 201


def test_introducers(client, db):
    cid = create(client)["id"]
    walk(client, cid, "trained")
    one = {"to": "applied", "date": "2022-06-01", "introducers": [{"full_name": "Lê Văn Bình", "official_member": True},
                                                                   {"full_name": "Hà Văn Dự", "official_member": False}]}
    refused = post(client, cid, one)
    assert refused.status_code == 422 and refused.json["type"] == "urn:chitieu:rule:introducers"
    assert "introducers" in refused.json["errors"]
    # Not a Youth Union member: the Youth Union's resolution does not replace an introducer.
    assert post(client, cid, dict(one, youth_union_resolution="NQ-12/ĐTN")).status_code == 422
    assert history_len(db, cid) == 2
    assert post(client, cid, evidence("applied", date(2022, 6, 1))).status_code == 201


def test_youth_union_member_needs_one_introducer_and_the_resolution(client):
    cid = create(client, youth_union_member=True)["id"]
    walk(client, cid, "trained")
    one = {"to": "applied", "date": "2022-06-01", "introducers": [{"full_name": "Lê Văn Bình", "official_member": True}]}
    assert post(client, cid, one).json["type"] == "urn:chitieu:rule:introducers"
    accepted = post(client, cid, dict(one, youth_union_resolution="NQ-12/ĐTN"))
    assert accepted.status_code == 201
    assert accepted.json["transition"]["evidence"]["youth_union_resolution"] == "NQ-12/ĐTN"


def test_official_recognition_before_12_months_is_refused(client):
    cid = create(client)["id"]
    walk(client, cid, "admitted")  # admitted 2022-10-03
    refused = post(client, cid, evidence("official", date(2023, 10, 2)))
    assert refused.status_code == 422 and refused.json["type"] == "urn:chitieu:rule:probation"
    assert post(client, cid, evidence("official", date(2023, 10, 3))).status_code == 201


def test_age_over_60_is_warned_and_accepted(client):
    cid = create(client, date_of_birth=date(1961, 5, 1))["id"]
    walk(client, cid, "applied")
    accepted = post(client, cid, evidence("proposed", date(2022, 9, 1)))
    assert accepted.status_code == 201
    assert [w["rule"] for w in accepted.json["warnings"]] == ["age_maximum"]
    assert accepted.json["transition"]["warnings"][0]["rule"] == "age_maximum"  # kept in the history


def test_cell_with_fewer_than_3_official_members_is_warned(client):
    cid = create(client)["id"]
    walk(client, cid, "applied")
    resp = client.put("/api/v1/organizations/P-DONG-SON-CB1/official-members",
                      json={"official_members": 2, "as_of": "2022-01-01"}, headers=auth())
    assert resp.status_code == 200 and resp.json["official_members"] == 2
    accepted = post(client, cid, evidence("proposed", date(2022, 9, 1)))
    assert accepted.status_code == 201 and [w["rule"] for w in accepted.json["warnings"]] == ["cell_strength"]

    other = create(client)["id"]
    walk(client, other, "applied")
    client.put("/api/v1/organizations/P-DONG-SON-CB1/official-members", json={"official_members": 3},
               headers=auth())
    assert post(client, other, evidence("proposed", date(2022, 9, 1))).json["warnings"] == []


def test_late_decision_is_warned_and_accepted(client):
    cid = create(client)["id"]
    walk(client, cid, "proposed")  # resolution 2022-09-01; 60 working days end 2022-11-24
    on_time = post(client, cid, evidence("admitted", date(2022, 11, 24)))
    assert on_time.status_code == 201 and on_time.json["warnings"] == []

    late = create(client)["id"]
    walk(client, late, "proposed")
    accepted = post(client, late, evidence("admitted", date(2022, 11, 25)))
    assert accepted.status_code == 201 and [w["rule"] for w in accepted.json["warnings"]] == ["decision_deadline"]


def test_dates_cannot_go_back_in_time(client, db):
    cid = create(client)["id"]
    walk(client, cid, "applied")  # 2022-06-01
    refused = post(client, cid, evidence("proposed", date(2022, 5, 31)))
    assert refused.status_code == 422 and refused.json["type"] == "urn:chitieu:rule:chronology"
    future = post(client, cid, evidence("proposed", date(2100, 1, 1)))
    assert future.status_code == 422 and future.json["type"] == "urn:chitieu:rule:chronology"


def test_admission_needs_a_decision_and_a_committee_above_the_cell(client, db):
    cid = create(client)["id"]
    walk(client, cid, "proposed")
    no_number = {"to": "admitted", "date": "2022-10-03", "deciding_org_code": "P-DONG-SON"}
    assert post(client, cid, no_number).json["errors"].keys() == {"decision_number"}
    elsewhere = dict(evidence("admitted", date(2022, 10, 3)), deciding_org_code="P-QUANG-CAT")
    assert post(client, cid, elsewhere).json["errors"].keys() == {"deciding_org_code"}
    assert history_len(db, cid) == 4


def test_revoking_a_mistaken_admission_is_its_own_transition(client, db):
    cid = create(client)["id"]
    walk(client, cid, "admitted")
    assert post(client, cid, {"to": "revoked", "date": "2022-11-01"}).json["errors"].keys() == {"reason"}
    resp = post(client, cid, evidence("revoked", date(2022, 11, 1)))
    assert resp.status_code == 201 and resp.json["candidate"]["stage"] == "proposed"
    assert resp.json["candidate"]["admission_date"] is None
    revoked = outbox_events(db, "candidate.admission_revoked.v1")
    assert len(revoked) == 1 and revoked[0]["data"]["admission_date"] == "2022-10-03"
    assert revoked[0]["data"]["revoked_on"] == "2022-11-01"
    lines = client.get(f"/api/v1/candidates/{cid}", headers=auth()).json["history"]["transitions"]
    # The admission stays in the history; the revocation is a line of its own.
    assert [(t["kind"], t["to_stage"]) for t in lines][-2:] == [("transition", "admitted"), ("revocation", "proposed")]
    assert lines[-2]["decision_number"] == "QĐ-admitted"
    # It can be admitted again by a new decision.
    assert post(client, cid, evidence("admitted", date(2022, 11, 15))).status_code == 201


def test_removal_during_probation_closes(client, db):
    cid = create(client)["id"]
    walk(client, cid, "admitted")
    assert post(client, cid, evidence("removed", date(2023, 3, 1))).json["candidate"]["stage"] == "removed"
    closed = outbox_events(db, "candidate.closed.v1")
    assert closed[0]["data"]["outcome"] == "removed"
    assert post(client, cid, evidence("official", date(2023, 10, 3))).status_code == 409


def test_happy_path_dates_are_consistent():
    assert [d for _, d in HAPPY_PATH] == sorted(d for _, d in HAPPY_PATH)
