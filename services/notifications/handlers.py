"""The events the notifications service consumes, one thin handler each (consumer group "notifications")."""
from __future__ import annotations

from shared.config import Settings
from shared.consumer import ConsumerRunner, Handler
from shared.contracts import (CANDIDATE_REMINDER_DUE, ORGANIZATION_CREATED, ORGANIZATION_DISSOLVED,
                              ORGANIZATION_MERGED, ORGANIZATION_MOVED, ORGANIZATION_RENAMED, QUOTA_EXCEEDED,
                              QUOTA_MET, QUOTA_MILESTONE_REACHED)
from shared.db import Database
from shared.redis_client import get_redis

from . import live, notices, tree
from .settings import DeliverySettings

CONSUMER = "notifications"
QUOTA_EVENT_KINDS = {QUOTA_MET: "quota_met", QUOTA_EXCEEDED: "quota_exceeded",
                     QUOTA_MILESTONE_REACHED: "milestone_reached"}


TREE_FUNCTIONS = {
    ORGANIZATION_CREATED: lambda s, e, d: tree.upsert(s, code=d["code"], name=d["name"], type=d["type"],
                                                      parent_code=d["parent_code"]),
    ORGANIZATION_RENAMED: lambda s, e, d: tree.rename(s, code=d["code"], name=d["name"]),
    ORGANIZATION_MOVED: lambda s, e, d: tree.move(s, code=d["code"], parent_code=d["parent_code"]),
    ORGANIZATION_MERGED: lambda s, e, d: tree.retire(s, code=d["code"], children_to=d["into_code"],
                                                     children_codes=d["children_codes"]),
    ORGANIZATION_DISSOLVED: lambda s, e, d: tree.retire(s, code=d["code"], children_to=d["children_moved_to"],
                                                        children_codes=d["children_codes"]),
}
NOTICE_TYPES = {t.type for t in QUOTA_EVENT_KINDS} | {CANDIDATE_REMINDER_DUE.type}


def make_handler(*, db: Database, settings: Settings, delivery: DeliverySettings) -> Handler:
    """Tree events keep the local tree; quota and reminder events become notices, announced after
    the commit (so an announcement never names a notice that was rolled back)."""
    def quota_notices(kind: str):
        return lambda s, e, d: notices.record_quota_notices(s, kind=kind, event=e, data=d, delivery=delivery)

    functions = {**TREE_FUNCTIONS, **{t: quota_notices(kind) for t, kind in QUOTA_EVENT_KINDS.items()},
                 CANDIDATE_REMINDER_DUE: lambda s, e, d: notices.record_reminder_notices(s, event=e, data=d,
                                                                                         delivery=delivery)}

    def announce(events: list, created: list | None) -> None:
        # Live inbox streams and an immediate send; a redelivered event's notices are read back.
        created = dict(created or [])
        live.announce(db=db, redis_client=get_redis(settings.redis_url), settings=settings,
                      notices=[n for event_id, made in created.items() if made for n in made],
                      read_back=[e.id for e, _ in events if e.type in NOTICE_TYPES and e.id not in created])

    return Handler.per_event(functions, project=announce)


def make_runner(*, db: Database, settings: Settings, delivery: DeliverySettings, **consumer_config) -> ConsumerRunner:
    return ConsumerRunner(name=CONSUMER, db=db, settings=settings,
                          handler=make_handler(db=db, settings=settings, delivery=delivery), **consumer_config)
