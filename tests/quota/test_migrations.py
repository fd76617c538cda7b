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
