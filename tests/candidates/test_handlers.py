"""The local organisation tree, kept from organization.* events (handlers applied as the consumer would)."""
import uuid
from datetime import date
from types import SimpleNamespace

import pytest

from shared.consumer import PoisonEvent
from services.candidates import handlers, tree
from services.candidates.models import Candidate, Organization, Transfer
from tests.candidates.factories import auth, candidate_body, create


def apply(db, handler, **data):
    event = SimpleNamespace(id=str(uuid.uuid4()))
    with db.transaction() as session:
        handler(session, event, data)


def path(db, code):
    with db.transaction() as s:
        return s.get(Organization, code).path


def test_created_builds_paths_and_unknown_parent_is_poison(db):
    apply(db, handlers.on_created, code="P-MOI", name="Phường Mới", type="grassroots", parent_code="TP-THANH-HOA",
          effective_date=date(2025, 7, 1))
    assert path(db, "P-MOI") == "/TINH-THANH-HOA/TP-THANH-HOA/P-MOI/"
    with pytest.raises(PoisonEvent):
        apply(db, handlers.on_created, code="X", name="X", type="cell", parent_code="KHONG-CO",
              effective_date=date(2025, 7, 1))


def test_moved_rewrites_the_subtree(db):
    # 2025-07-01: the city tier is dissolved; wards sit directly under the province.
    apply(db, handlers.on_moved, code="P-DONG-SON", previous_parent_code="TP-THANH-HOA",
          parent_code="TINH-THANH-HOA", effective_date=date(2025, 7, 1))
    assert path(db, "P-DONG-SON-CB2") == "/TINH-THANH-HOA/P-DONG-SON/P-DONG-SON-CB2/"
    with db.transaction() as s:
        assert not tree.is_within(s, "P-DONG-SON-CB1", "TP-THANH-HOA")
        assert tree.is_within(s, "P-DONG-SON-CB1", "TINH-THANH-HOA")
        assert tree.is_within(s, "P-QUANG-CAT-CB1", "TP-THANH-HOA")


def test_merged_cell_hands_its_candidates_over(client, db):
    cid = create(client, org_code="P-DONG-SON-CB2")["id"]
    apply(db, handlers.on_merged, code="P-DONG-SON-CB2", into_code="P-DONG-SON-CB1", children_codes=[],
          effective_date=date(2025, 1, 1))
    with db.transaction() as s:
        assert s.get(Organization, "P-DONG-SON-CB2").active is False
        assert s.get(Candidate, cid).org_code == "P-DONG-SON-CB1"
        assert s.query(Transfer).one().from_org_code == "P-DONG-SON-CB2"
    gone = client.post("/api/v1/candidates", json=candidate_body(org_code="P-DONG-SON-CB2"), headers=auth())
    assert gone.status_code == 422 and "org_code" in gone.json["errors"]


def test_dissolved_moves_children_and_renamed_renames(db):
    apply(db, handlers.on_dissolved, code="TP-THANH-HOA", children_moved_to="TINH-THANH-HOA",
          children_codes=["P-DONG-SON", "P-QUANG-CAT"], effective_date=date(2025, 7, 1))
    assert path(db, "P-QUANG-CAT-CB1") == "/TINH-THANH-HOA/P-QUANG-CAT/P-QUANG-CAT-CB1/"
    apply(db, handlers.on_renamed, code="P-QUANG-CAT", name="Phường Quảng Phú", previous_name="Phường Quảng Cát",
          effective_date=date(2025, 7, 1))
    with db.transaction() as s:
        assert s.get(Organization, "P-QUANG-CAT").name == "Phường Quảng Phú"
        assert s.get(Organization, "TP-THANH-HOA").active is False
