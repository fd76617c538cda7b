"""The events the notifications service consumes, one thin handler each (consumer group "notifications")."""
from __future__ import annotations

from sqlalchemy import event as sqlalchemy_event

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


def tree_handlers() -> list[Handler]:
    return [
        Handler(ORGANIZATION_CREATED, lambda s, e, d: tree.upsert(
            s, code=d["code"], name=d["name"], type=d["type"], parent_code=d["parent_code"])),
        Handler(ORGANIZATION_RENAMED, lambda s, e, d: tree.rename(s, code=d["code"], name=d["name"])),
        Handler(ORGANIZATION_MOVED, lambda s, e, d: tree.move(s, code=d["code"], parent_code=d["parent_code"])),
        Handler(ORGANIZATION_MERGED, lambda s, e, d: tree.retire(
            s, code=d["code"], children_to=d["into_code"], children_codes=d["children_codes"])),
        Handler(ORGANIZATION_DISSOLVED, lambda s, e, d: tree.retire(
            s, code=d["code"], children_to=d["children_moved_to"], children_codes=d["children_codes"])),
    ]


def notice_handlers(*, db: Database, settings: Settings, delivery: DeliverySettings) -> list[Handler]:
    # The notices an event created, handed from `apply` to `announce` once their transaction has
    # committed (so an announcement never names a notice that was rolled back). A redelivery, or
    # an announcement retried after a Redis error, finds nothing here and reads them back instead.
    committed: dict[str, list] = {}

    def recorded(session, event, created) -> None:
        sqlalchemy_event.listen(session, "after_commit", lambda _s: committed.__setitem__(event.id, created),
                                once=True)

    def announce(event, _data):
        # After the commit: live inbox streams and an immediate send (idempotent on redelivery).
        live.announce(db=db, redis_client=get_redis(settings.redis_url), settings=settings, event_id=event.id,
                      notices=committed.pop(event.id, None))

    def quota_handler(kind: str):
        return lambda s, e, d: recorded(s, e, notices.record_quota_notices(s, kind=kind, event=e, data=d,
                                                                           delivery=delivery))

    handlers = [Handler(t, quota_handler(kind), announce) for t, kind in QUOTA_EVENT_KINDS.items()]
    handlers.append(Handler(CANDIDATE_REMINDER_DUE, lambda s, e, d: recorded(s, e, notices.record_reminder_notices(
        s, event=e, data=d, delivery=delivery)), announce))
    return handlers


def make_runner(*, db: Database, settings: Settings, delivery: DeliverySettings, **consumer_config) -> ConsumerRunner:
    return ConsumerRunner(name=CONSUMER, db=db, settings=settings,
                          handlers=tree_handlers() + notice_handlers(db=db, settings=settings, delivery=delivery),
                          **consumer_config)
