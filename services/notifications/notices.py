"""Turning events into notices: who is told (matching subscriptions, and the inboxes a met quota
always reaches), in which words, exactly once.

Runs inside the consumer's transaction (`apply`), so a notice is recorded together with the
event being marked processed. On top of that, the UNIQUE (recipient, org_code, kind, occurrence)
constraint turns a second notice for the same thing, even from a re-published event with a new id,
into nothing (one INSERT ... ON CONFLICT DO NOTHING of all the event's notices).
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.contracts import Event

from . import texts, tree
from .models import Notification, Subscription
from .settings import DeliverySettings
from .sql import insert_or_ignore

DEFAULT_LANGUAGE = "vi"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def matching_subscriptions(session: Session, *, org_code: str, kind: str) -> list[Subscription]:
    """Live subscriptions to `kind` on `org_code` itself, or on an organisation above it with subtree."""
    candidates = session.scalars(select(Subscription).where(
        Subscription.deleted_at.is_(None), Subscription.org_code.in_(tree.ancestors_query(org_code, ordered=False)))
        .order_by(Subscription.id)).all()
    return [s for s in candidates if kind in s.events and (s.org_code == org_code or s.include_subtree)]


def record_quota_notices(session: Session, *, kind: str, event: Event, data: dict[str, Any],
                         delivery: DeliverySettings) -> list[Notification]:
    """Notices for quota.met / quota.exceeded / quota.milestone_reached; returns the new ones."""
    org_code = data["org_code"]
    # The event carries the organisation as the quota service knew it: enough to place an
    # organisation whose organization.created has not arrived yet (another topic).
    tree.ensure(session, code=org_code, name=data["org_name"], type=data["org_type"],
                parent_code=data["parent_code"])
    occurrence = data["period"] + (f"@{data['milestone']}" if kind == "milestone_reached" else "")
    context = {"org_code": org_code, "org_name": data["org_name"], "period": data["period"],
               "admitted": data["admitted"], "target": data["target"], "percent": data["percent"],
               "reached_on": data["reached_on"], "milestone": data.get("milestone")}
    about = dict(org_code=org_code, org_name=data["org_name"], kind=kind, period=data["period"],
                 occurrence=occurrence, context=context, event=event, delivery=delivery)
    rows = _for_subscribers(session, **about)
    if kind == "quota_met":
        # Without any subscription, a met quota still reaches the inboxes of the organisation
        # and of the one that assigned the quota.
        for inbox_org in dict.fromkeys(c for c in (org_code, data["assigner_org_code"]) if c):
            rows.append(_row(recipient=f"inbox:{inbox_org}", subscription=None, channel="inbox",
                             recipient_org_code=inbox_org, language=DEFAULT_LANGUAGE, **about))
    return _insert(session, rows)


def record_reminder_notices(session: Session, *, event: Event, data: dict[str, Any],
                            delivery: DeliverySettings) -> list[Notification]:
    """Notices for candidate.reminder_due; the reminder's stable id is what is sent once."""
    org = tree.get(session, data["org_code"])
    org_name = org.name if org is not None else data["org_code"]
    context = {"org_code": data["org_code"], "org_name": org_name, "candidate_id": data["candidate_id"],
               "due_date": data["due_date"], "period": None}
    rows = _for_subscribers(session, org_code=data["org_code"], org_name=org_name, kind=data["kind"],
                            period=None, occurrence=data["reminder_id"], context=context, event=event,
                            delivery=delivery)
    return _insert(session, rows)


def _for_subscribers(session: Session, *, org_code: str, kind: str, **about) -> list[dict]:
    rows = []
    for sub in matching_subscriptions(session, org_code=org_code, kind=kind):
        # Every inbox subscription of one organisation shares that organisation's inbox.
        recipient = f"inbox:{sub.org_code}" if sub.channel == "inbox" else f"subscription:{sub.id}"
        rows.append(_row(recipient=recipient, subscription=sub, channel=sub.channel,
                         recipient_org_code=sub.org_code, language=sub.language, org_code=org_code,
                         kind=kind, **about))
    return rows


def _insert(session: Session, rows: list[dict]) -> list[Notification]:
    """Insert the notices that are new (one statement); returns them as detached objects, for the
    live announcement after the commit without reading them back."""
    first: dict[str, dict] = {}  # one row per recipient: an inbox subscription's language wins
    for row in rows:
        first.setdefault(row["recipient"], row)
    inserted = insert_or_ignore(session, Notification, list(first.values()),
                                returning=(Notification.id, Notification.delivery_id))
    ids = {delivery_id: id_ for id_, delivery_id in inserted}
    return [Notification(id=ids[row["delivery_id"]], last_error=None, **row)
            for row in first.values() if row["delivery_id"] in ids]


def _row(*, recipient: str, subscription: Subscription | None, channel: str, recipient_org_code: str,
         language: str, org_code: str, org_name: str, kind: str, period: str | None, occurrence: str,
         context: dict[str, Any], event: Event, delivery: DeliverySettings) -> dict:
    now = utcnow()
    text = texts.render(kind, language=language, context=context, template_dirs=delivery.template_dirs)
    delivery_id = str(uuid.uuid4())
    payload = {
        "delivery_id": delivery_id, "kind": kind, "org_code": org_code, "org_name": org_name, "period": period,
        "language": language, "text": text, "subscription_id": subscription.id if subscription else None,
        "created_at": now.isoformat(), "event": {"id": event.id, "type": event.type, "time": event.time.isoformat(),
                                                 "data": event.data},
    }
    sent_now = channel == "inbox"  # an inbox notice is delivered by being recorded
    return dict(
        delivery_id=delivery_id, recipient=recipient, subscription_id=subscription.id if subscription else None,
        channel=channel, recipient_org_code=recipient_org_code, org_code=org_code, org_name=org_name, kind=kind,
        period=period, occurrence=occurrence, language=language, text=text, payload=payload,
        source_event_id=event.id, status="delivered" if sent_now else "pending", attempts=0, round_attempts=0,
        next_attempt_at=None if sent_now else now, created_at=now, delivered_at=now if sent_now else None,
    )
