"""The audit consumer (group "web-audit"): every audited event of every service becomes an entry
of the trail (audit.py), and organization.state keeps the copy of the tree that scopes it."""
from __future__ import annotations

from shared.config import Settings
from shared.consumer import ConsumerRunner, Handler
from shared.contracts import ORGANIZATION_STATE
from shared.db import Database

from . import audit, tree

CONSUMER = "web-audit"


def apply(session, events: list) -> int:
    for event, data in events:
        if event.type == ORGANIZATION_STATE.type:
            tree.REPLICA.apply(session, data)
    return audit.record(session, [(e, d) for e, d in events if e.type != ORGANIZATION_STATE.type])


HANDLER = Handler((ORGANIZATION_STATE, *audit.AUDITED), apply)


def audit_consumer(*, db: Database, settings: Settings, **consumer_config) -> ConsumerRunner:
    consumer_config.setdefault("max_poll_records", 2000)
    return ConsumerRunner(name=CONSUMER, db=db, settings=settings, handler=HANDLER, **consumer_config)
