"""The events the notifications service consumes, one thin handler each (consumer group "notifications")."""
from __future__ import annotations

from itertools import groupby

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


# The organisation tree's events, applied one by one, by type.
TREE_FUNCTIONS = {
    ORGANIZATION_CREATED.type: lambda s, e, d: tree.upsert(s, code=d["code"], name=d["name"], type=d["type"],
                                                      parent_code=d["parent_code"]),
    ORGANIZATION_RENAMED.type: lambda s, e, d: tree.rename(s, code=d["code"], name=d["name"]),
    ORGANIZATION_MOVED.type: lambda s, e, d: tree.move(s, code=d["code"], parent_code=d["parent_code"]),
    ORGANIZATION_MERGED.type: lambda s, e, d: tree.retire(s, code=d["code"], children_to=d["into_code"],
                                                     children_codes=d["children_codes"]),
    ORGANIZATION_DISSOLVED.type: lambda s, e, d: tree.retire(s, code=d["code"], children_to=d["children_moved_to"],
                                                        children_codes=d["children_codes"]),
}
TREE_EVENTS = (ORGANIZATION_CREATED, ORGANIZATION_RENAMED, ORGANIZATION_MOVED, ORGANIZATION_MERGED,
               ORGANIZATION_DISSOLVED)
QUOTA_KINDS = {t.type: kind for t, kind in QUOTA_EVENT_KINDS.items()}
NOTICE_TYPES = set(QUOTA_KINDS) | {CANDIDATE_REMINDER_DUE.type}


def make_handler(*, db: Database, settings: Settings, delivery: DeliverySettings) -> Handler:
    """Tree events keep the local tree; quota and reminder events become notices, announced after
    the commit (so an announcement never names a notice that was rolled back)."""
    def apply(session, events: list) -> list[tuple[str, list | None]]:
        # In partition order, one event after the other, except that consecutive quota events
        # are recorded together (a few statements for the whole run).
        created = []
        for is_quota, run in groupby(events, key=lambda item: item[0].type in QUOTA_KINDS):
            if is_quota:
                created += notices.record_quota_notices(
                    session, items=[(QUOTA_KINDS[e.type], e, d) for e, d in run], delivery=delivery)
            else:
                for e, d in run:
                    if e.type == CANDIDATE_REMINDER_DUE.type:
                        created.append((e.id, notices.record_reminder_notices(session, event=e, data=d,
                                                                              delivery=delivery)))
                    else:
                        TREE_FUNCTIONS[e.type](session, e, d)
        return created

    def announce(events: list, created: list | None) -> None:
        # Live inbox streams and an immediate send; a redelivered event's notices are read back.
        created = dict(created or [])
        live.announce(db=db, redis_client=get_redis(settings.redis_url), settings=settings,
                      notices=[n for event_id, made in created.items() if made for n in made],
                      read_back=[e.id for e, _ in events if e.type in NOTICE_TYPES and e.id not in created])

    return Handler((*TREE_EVENTS, *QUOTA_EVENT_KINDS, CANDIDATE_REMINDER_DUE), apply, announce)


def make_runner(*, db: Database, settings: Settings, delivery: DeliverySettings, **consumer_config) -> ConsumerRunner:
    return ConsumerRunner(name=CONSUMER, db=db, settings=settings,
                          handler=make_handler(db=db, settings=settings, delivery=delivery), **consumer_config)
