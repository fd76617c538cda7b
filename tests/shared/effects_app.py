"""A tiny consuming service for the platform tests: its handler writes one `effects` row per
candidate.listed event, so a lost or doubled event shows in the table. Runs in-process or as
`python -m tests.shared.effects_app DB_URL NAMESPACE [SLEEP_S]` (for the SIGKILL test)."""
from __future__ import annotations

import sys
import time

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select

from shared import contracts
from shared.config import Settings
from shared.consumer import ConsumerRunner, Handler, RetryPolicy
from shared.db import Database, messaging_tables
from shared.worker import run_consumer

metadata = MetaData()
messaging_tables(metadata)
effects = Table("effects", metadata, Column("id", Integer, primary_key=True, autoincrement=True),
                Column("event_id", String(36), nullable=False), Column("candidate_id", String(64), nullable=False))


def make_db(url: str) -> Database:
    db = Database(url, metadata)
    db.create_all()
    return db


def make_runner(db: Database, settings: Settings, *, sleep_s: float = 0.0, apply=None, **config) -> ConsumerRunner:
    def record_effect(session, event, data):
        if sleep_s:
            time.sleep(sleep_s)  # slows the stream so a kill lands mid-way
        session.execute(effects.insert().values(event_id=event.id, candidate_id=data["candidate_id"]))

    handler = Handler.per_event({contracts.CANDIDATE_LISTED: apply or record_effect})
    return ConsumerRunner(name="effects", db=db, settings=settings, handler=handler,
                          retry=RetryPolicy(max_attempts=3, initial_backoff_s=0.05),
                          session_timeout_ms=6000, heartbeat_interval_ms=1000, **config)


def effect_counts(db: Database) -> tuple[int, int]:
    """(rows, distinct events) in the effects table."""
    with db.reading() as conn:
        return conn.execute(select(func.count(), func.count(effects.c.event_id.distinct()))).one()


if __name__ == "__main__":
    url, namespace = sys.argv[1], sys.argv[2]
    sleep = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    settings = Settings(service="effects", database_url=url, namespace=namespace)
    run_consumer(make_runner(make_db(url), settings, sleep_s=sleep, max_poll_records=20))
