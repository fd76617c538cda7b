"""The candidate service's copy of the tree, kept from organization.state records (handlers applied as
the consumer would), answering scope on today's date; organization.merged hands candidates over."""
import uuid
from datetime import date, timedelta
from types import SimpleNamespace

from shared import clock
from services.candidates import handlers, tree
from services.candidates.models import Candidate, Transfer
from tests.candidates.factories import auth, candidate_body, create
from tests.support import org_state

FUTURE = clock.today() + timedelta(days=30)


def apply(db, handler, **data):
    event = SimpleNamespace(id=str(uuid.uuid4()))
    with db.transaction() as session:
        handler(session, event, data)


def test_a_state_record_places_an_organisation_whatever_arrived_before(db):
    # Its parent need not be known yet: records arrive in any order and each replaces one history.
    apply(db, handlers.on_state, **org_state("X-CB1", "Chi bộ thôn 1", "cell", "X-MOI", on=date(2025, 7, 1)))
    apply(db, handlers.on_state, **org_state("X-MOI", "Đảng bộ xã Mới", "grassroots", "TP-THANH-HOA",
                                             on=date(2025, 7, 1)))
    with db.transaction() as s:
        assert tree.is_within(s, "X-CB1", "TP-THANH-HOA") and tree.is_within(s, "X-CB1", "TINH-THANH-HOA")
        assert not tree.is_within(s, "X-CB1", "P-DONG-SON")
        assert tree.get(s, "X-CB1").type == "cell" and tree.parent_of(s, "X-CB1") == "X-MOI"


def test_a_move_dated_next_month_changes_scope_on_its_date_and_not_before(client, db, monkeypatch):
    cid = create(client, org_code="P-DONG-SON-CB1")["id"]
    moved = org_state("P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", "TP-THANH-HOA")
    moved["parents"] = [{"parent_code": "TP-THANH-HOA", "valid_from": date(2020, 1, 1), "valid_to": FUTURE},
                        {"parent_code": "TINH-THANH-HOA", "valid_from": FUTURE, "valid_to": None}]
    apply(db, handlers.on_state, **moved)
    city = auth(org="TP-THANH-HOA", role="viewer")
    assert client.get(f"/api/v1/candidates/{cid}", headers=city).status_code == 200
    assert client.get("/api/v1/candidates", headers=city).json["total"] == 1
    monkeypatch.setattr(clock, "today", lambda: FUTURE - timedelta(days=1))
    assert client.get(f"/api/v1/candidates/{cid}", headers=city).status_code == 200
    monkeypatch.setattr(clock, "today", lambda: FUTURE)
    assert client.get(f"/api/v1/candidates/{cid}", headers=city).status_code == 403
    assert client.get("/api/v1/candidates", headers=city).json["total"] == 0
    province = auth(org="TINH-THANH-HOA", role="viewer")
    assert client.get(f"/api/v1/candidates/{cid}", headers=province).status_code == 200


def test_merged_cell_hands_its_candidates_over(client, db):
    cid = create(client, org_code="P-DONG-SON-CB2")["id"]
    merged = org_state("P-DONG-SON-CB2", "Chi bộ khu phố 2", "cell", "P-DONG-SON")
    merged.update(status="merged", ended_on=date(2025, 1, 1), merged_into="P-DONG-SON-CB1")
    apply(db, handlers.on_state, **merged)
    apply(db, handlers.on_merged, code="P-DONG-SON-CB2", into_code="P-DONG-SON-CB1", children_codes=[],
          effective_date=date(2025, 1, 1))
    with db.transaction() as s:
        assert tree.get(s, "P-DONG-SON-CB2").active is False
        assert s.get(Candidate, cid).org_code == "P-DONG-SON-CB1"
        assert s.query(Transfer).one().from_org_code == "P-DONG-SON-CB2"
    gone = client.post("/api/v1/candidates", json=candidate_body(org_code="P-DONG-SON-CB2"), headers=auth())
    assert gone.status_code == 422 and "org_code" in gone.json["errors"]


def test_a_rename_comes_with_the_history(db):
    renamed = org_state("P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA")
    renamed["names"] = [{"name": "Đảng bộ phường Quảng Cát", "valid_from": date(2020, 1, 1), "valid_to": date(2025, 7, 1)},
                        {"name": "Đảng bộ phường Quảng Phú", "valid_from": date(2025, 7, 1), "valid_to": None}]
    apply(db, handlers.on_state, **renamed)
    with db.transaction() as s:
        org = tree.get(s, "P-QUANG-CAT")
        assert org.name == "Đảng bộ phường Quảng Phú" and org.name_on(date(2024, 1, 1)) == "Đảng bộ phường Quảng Cát"
