"""The migrated schema (not create_all) works on both databases: server defaults included
(SQLite has no now(), which PostgreSQL-generated migrations would otherwise carry)."""
from collections import namedtuple

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from shared.contracts import ORGANIZATION_STATE, build_event
from shared.db import Database
from shared.migrations import upgrade
from services.candidates.app import create_app
from services.candidates.models import Base, Candidate
from services.candidates.worker import tree_consumer
from tests.candidates.factories import TREE, auth, create, walk
from tests.support import org_state

Record = namedtuple("Record", "topic partition offset key value headers")


def test_the_migrated_schema_takes_events_and_requests(make_settings):
    settings = make_settings("candidates")
    upgrade("candidates", settings.database_url)
    db = Database(settings.database_url, Base.metadata)
    runner = tree_consumer(db=db, settings=settings)
    for offset, (code, name, type_, parent) in enumerate(TREE):
        event = build_event(ORGANIZATION_STATE, org_state(code, name, type_, parent), source="/quota")
        record = Record("organization-state", 0, offset, event.key.encode(), event.to_kafka_value(), [])
        assert runner.process(record) == "applied"
    assert runner.process(record) == "duplicate"
    client = create_app(settings, db=db).test_client()
    cid = create(client)["id"]
    walk(client, cid, "admitted")
    detail = client.get(f"/api/v1/candidates/{cid}", headers=auth()).json
    assert detail["stage"] == "admitted" and all(t["recorded_at"] for t in detail["history"]["transitions"])

    # The partial unique index came with the migration: one OPEN record per national ID.
    with db.transaction() as s:
        row = dict(s.execute(select(Candidate.__table__).where(Candidate.id == cid)).mappings().one())
    row.pop("created_at")
    with pytest.raises(IntegrityError):
        with db.transaction() as s:
            s.execute(Candidate.__table__.insert(), [dict(row, id="copy-1", stage="source")])
    with db.transaction() as s:
        s.execute(Candidate.__table__.insert(), [dict(row, id="copy-2", stage="withdrawn")])
    db.dispose()
