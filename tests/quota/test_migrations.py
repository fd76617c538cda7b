"""The schema the migrations build (not create_all) works for the API and the ledger, on both databases."""
from __future__ import annotations

from datetime import date

from services.quota.app import create_app
from services.quota.models import ATTRIBUTES, Base
from services.quota.ledger import AdmissionChange, apply_changes
from shared.db import Database
from shared.migrations import upgrade


def test_migrated_database_serves_the_api_and_the_ledger(settings, token):
    upgrade("quota", settings.database_url)
    db = Database(settings.database_url, Base.metadata)
    try:
        client = create_app(settings, db=db).test_client()
        admin = token("admin")
        assert client.post("/api/v1/organizations", json={"code": "TINH-THANH-HOA", "name": "Đảng bộ tỉnh Thanh Hóa",
                                                          "type": "province"}, headers=admin).status_code == 201
        assert client.put("/api/v1/organizations/TINH-THANH-HOA/quotas/2024", json={"target": 2},
                          headers=admin).status_code == 200
        with db.transaction() as session:
            apply_changes(session, changes=[AdmissionChange(f"e{i}", f"c{i}", "TINH-THANH-HOA", date(2024, 5, i + 1),
                                                            dict.fromkeys(ATTRIBUTES, False)) for i in range(3)])
        with db.transaction() as session:
            from sqlalchemy import select
            from services.quota.models import Milestone
            assert {m for (m,) in session.execute(select(Milestone.kind))} == {"50", "75", "met", "exceeded"}
    finally:
        db.dispose()


def test_upgrading_publishes_the_state_of_every_organisation_once(settings):
    from alembic import command
    from sqlalchemy import select, text

    from shared.contracts import parse_record
    from shared.migrations import alembic_config

    config = alembic_config("quota", settings.database_url)
    command.upgrade(config, "eed6142f9e1a")  # the version before the tree was published as state
    db = Database(settings.database_url, Base.metadata)
    try:
        with db.transaction() as session:
            for code, parent in (("TINH-THANH-HOA", None), ("TP-THANH-HOA", "TINH-THANH-HOA")):
                session.execute(text("INSERT INTO organizations (code, name, type, status, parent_code, founded_on) "
                                     "VALUES (:c, :c, 'city', 'active', :p, '2020-01-01')"), {"c": code, "p": parent})
                session.execute(text("INSERT INTO organization_parents (code, parent_code, valid_from) "
                                     "VALUES (:c, :p, '2020-01-01')"), {"c": code, "p": parent})
                session.execute(text("INSERT INTO organization_names (code, name, valid_from) "
                                     "VALUES (:c, :c, '2020-01-01')"), {"c": code})
        command.upgrade(config, "head")
        with db.transaction() as session:
            rows = session.execute(select(db.outbox.c.key, db.outbox.c.value, db.outbox.c.state)).all()
        events = [parse_record(bytes(value), key.encode(), None) for key, value, _ in rows]
        assert sorted(e.data["code"] for e in events if e.type.endswith("organization.state.v1")) == [
            "TINH-THANH-HOA", "TP-THANH-HOA"]
        assert {state for *_, state in rows} == {"pending"}
        parents = {e.data["code"]: e.data["parents"][0]["parent_code"] for e in events}
        assert parents == {"TINH-THANH-HOA": None, "TP-THANH-HOA": "TINH-THANH-HOA"}
    finally:
        db.dispose()
