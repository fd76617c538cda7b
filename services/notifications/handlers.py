"""The events the notifications service consumes, one thin handler each (consumer group "notifications")."""
from __future__ import annotations

from functools import partial
from itertools import groupby

from shared.config import Settings
from shared.consumer import ConsumerRunner, Handler
from shared.contracts import (CANDIDATE_REMINDER_DUE, ORGANIZATION_STATE, QUOTA_EXCEEDED, QUOTA_MET,
                              QUOTA_MILESTONE_REACHED)
from shared.db import Database
from shared.logs import configure_logging
from shared.redis_client import get_redis

from . import live, notices, tree
from .models import Base
from .settings import DeliverySettings

CONSUMER = "notifications"
QUOTA_EVENT_KINDS = {QUOTA_MET: "quota_met", QUOTA_EXCEEDED: "quota_exceeded",
                     QUOTA_MILESTONE_REACHED: "milestone_reached"}
QUOTA_KINDS = {t.type: kind for t, kind in QUOTA_EVENT_KINDS.items()}
NOTICE_TYPES = set(QUOTA_KINDS) | {CANDIDATE_REMINDER_DUE.type}


def make_handler(*, db: Database, settings: Settings, delivery: DeliverySettings) -> Handler:
    """organization.state keeps the copy of the tree; quota and reminder events become notices,
    announced after the commit (so an announcement never names a notice that was rolled back)."""
    def apply(session, events: list) -> list[tuple[str, list | None]]:
        # organization.state first: each replaces one organisation's history, whatever the order,
        # and the poll's notices then see the tree as it came.
        for event, data in events:
            if event.type == ORGANIZATION_STATE.type:
                tree.REPLICA.apply(session, data)
        # Then notices in partition order; consecutive quota events recorded together (a few
        # statements for the whole run).
        created = []
        notices_of = [item for item in events if item[0].type in NOTICE_TYPES]
        for is_quota, run in groupby(notices_of, key=lambda item: item[0].type in QUOTA_KINDS):
            if is_quota:
                created += notices.record_quota_notices(
                    session, items=[(QUOTA_KINDS[e.type], e, d) for e, d in run], delivery=delivery)
            else:
                created += [(e.id, notices.record_reminder_notices(session, event=e, data=d, delivery=delivery))
                            for e, d in run]
        return created

    def announce(events: list, created: list | None) -> None:
        # Live inbox streams and an immediate send; a redelivered event's notices are read back.
        created = dict(created or [])
        live.announce(db=db, redis_client=get_redis(settings.redis_url), settings=settings,
                      notices=[n for event_id, made in created.items() if made for n in made],
                      read_back=[e.id for e, _ in events if e.type in NOTICE_TYPES and e.id not in created])

    return Handler((ORGANIZATION_STATE, *QUOTA_EVENT_KINDS, CANDIDATE_REMINDER_DUE), apply, announce)


def make_runner(*, db: Database, settings: Settings, delivery: DeliverySettings, apply_in_child: bool = False,
                **consumer_config) -> ConsumerRunner:
    """The consumer (group `<namespace>.notifications`). With `apply_in_child`, polls are applied by
    a child process while this one fetches the next (shared/offload.py), as `worker consume` runs it."""
    offload = partial(child_runner, settings=settings, delivery=delivery) if apply_in_child else None
    # Bigger polls share each transaction's fixed cost among more events (as the quota consumer's).
    consumer_config.setdefault("max_poll_records", 2000)
    return ConsumerRunner(name=CONSUMER, db=db, settings=settings, offload=offload,
                          handler=make_handler(db=db, settings=settings, delivery=delivery), **consumer_config)


def child_runner(*, settings: Settings, delivery: DeliverySettings) -> ConsumerRunner:
    """The runner that applies polls inside the child process: its own database and Redis."""
    configure_logging(service=f"{settings.service}-{CONSUMER}-apply", level=settings.log_level)
    return make_runner(db=Database(settings.database_url, Base.metadata), settings=settings, delivery=delivery)
