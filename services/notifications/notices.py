"""Turning events into notices: who is told (matching subscriptions, and the inboxes a met quota
always reaches), in which words, exactly once.

Runs inside the consumer's transaction (`apply`), so a notice is recorded together with the
event being marked processed. On top of that, the UNIQUE (recipient, org_code, kind, occurrence)
constraint turns a second notice for the same thing, even from a re-published event with a new id,
into nothing (one INSERT ... ON CONFLICT DO NOTHING of all the event's notices).
"""
from __future__ import annotations

import uuid
from types import SimpleNamespace
from datetime import date, datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import tracing
from shared.bulk import insert_many
from shared.contracts import Event

from . import texts, tree
from .models import Notification, Subscription
from .settings import DeliverySettings

DEFAULT_LANGUAGE = "vi"
ONCE = ("recipient", "org_code", "kind", "occurrence")  # the columns of uq_notification_once


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def matching_subscriptions(session: Session, *, org_code: str, kind: str) -> list[Subscription]:
    """Live subscriptions to `kind` on `org_code` itself, or on an organisation above it with subtree."""
    chains = tree.ancestors_of(session, {org_code})
    return _matching(_live_subscriptions(session, chains[org_code]), org_code=org_code, kind=kind,
                     chain=chains[org_code])


def _live_subscriptions(session: Session, codes: set[str]) -> list[Subscription]:
    return list(session.scalars(select(Subscription).where(
        Subscription.deleted_at.is_(None), Subscription.org_code.in_(sorted(codes))).order_by(Subscription.id)))


def _matching(subscriptions: list[Subscription], *, org_code: str, kind: str, chain: set[str]) -> list[Subscription]:
    return [s for s in subscriptions if s.org_code in chain and kind in s.events
            and (s.org_code == org_code or s.include_subtree)]


def record_quota_notices(session: Session, *, items: list[tuple[str, Event, dict[str, Any]]],
                         delivery: DeliverySettings) -> list[tuple[str, list[SimpleNamespace]]]:
    """Notices for a poll's quota.met / quota.exceeded / quota.milestone_reached events, given as
    (kind, event, data); returns each event's id with its new notices. A few statements whatever
    the number of events: the tree, the subscriptions and the inserts are done for all at once."""
    chains = _chains_when_reached(session, [data for _, _, data in items])
    subscriptions = _live_subscriptions(session, set().union(*chains.values()))
    rows_of = []
    for kind, event, data in items:
        org_code = data["org_code"]
        occurrence = data["period"] + (f"@{data['milestone']}" if kind == "milestone_reached" else "")
        context = {"org_code": org_code, "org_name": data["org_name"], "period": data["period"],
                   "admitted": data["admitted"], "target": data["target"], "percent": data["percent"],
                   "reached_on": data["reached_on"], "milestone": data.get("milestone")}
        about = dict(org_code=org_code, org_name=data["org_name"], kind=kind, period=data["period"],
                     occurrence=occurrence, context=context, event=event, delivery=delivery)
        matching = _matching(subscriptions, org_code=org_code, kind=kind,
                             chain=chains[(org_code, data["reached_on"])])
        rows = _for_subscribers(matching, **about)
        if kind == "quota_met":
            # Without any subscription, a met quota still reaches the inboxes of the organisation
            # and of the one that assigned the quota.
            for inbox_org in dict.fromkeys(c for c in (org_code, data["assigner_org_code"]) if c):
                rows.append(_row(recipient=f"inbox:{inbox_org}", subscription=None, channel="inbox",
                                 recipient_org_code=inbox_org, language=DEFAULT_LANGUAGE, **about))
        rows_of.append((event.id, rows))
    return _insert(session, rows_of)


def _chains_when_reached(session: Session, items: list[dict]) -> dict[tuple[str, date], set[str]]:
    """Each organisation and those above it on the day its quota was reached (as the quota service
    counted it), one query per day. An organisation this copy does not know yet (its
    organization.state travels on another topic and may come a moment later) is taken to be
    under the organisation that assigned its quota."""
    known = tree.known(session, {d["org_code"] for d in items})
    by_day: dict[date, set[str]] = {}
    for d in items:
        by_day.setdefault(d["reached_on"], set()).update(
            c for c in (d["org_code"], d["assigner_org_code"]) if c)
    found = {day: tree.ancestors_of(session, codes, on=day) for day, codes in by_day.items()}
    chains = {}
    for d in items:
        code, day = d["org_code"], d["reached_on"]
        above = found[day][code] if code in known else found[day].get(d["assigner_org_code"] or "", [])
        chains[(code, day)] = {code, *above}
    return chains


def record_reminder_notices(session: Session, *, event: Event, data: dict[str, Any],
                            delivery: DeliverySettings) -> list[SimpleNamespace]:
    """Notices for candidate.reminder_due; the reminder's stable id is what is sent once."""
    org = tree.get(session, data["org_code"])
    org_name = org.name if org is not None else data["org_code"]
    context = {"org_code": data["org_code"], "org_name": org_name, "candidate_id": data["candidate_id"],
               "due_date": data["due_date"], "period": None}
    matching = matching_subscriptions(session, org_code=data["org_code"], kind=data["kind"])
    rows = _for_subscribers(matching, org_code=data["org_code"], org_name=org_name, kind=data["kind"],
                            period=None, occurrence=data["reminder_id"], context=context, event=event,
                            delivery=delivery)
    return _insert(session, [(event.id, rows)])[0][1]


def _for_subscribers(subscriptions: list[Subscription], *, org_code: str, kind: str, **about) -> list[dict]:
    rows = []
    for sub in subscriptions:
        # Every inbox subscription of one organisation shares that organisation's inbox.
        recipient = f"inbox:{sub.org_code}" if sub.channel == "inbox" else f"subscription:{sub.id}"
        rows.append(_row(recipient=recipient, subscription=sub, channel=sub.channel,
                         recipient_org_code=sub.org_code, language=sub.language, org_code=org_code,
                         kind=kind, **about))
    return rows


def _insert(session: Session, rows_of: list[tuple[str, list[dict]]]) -> list[tuple[str, list[SimpleNamespace]]]:
    """Insert the notices that are new (one statement for all events); returns each event's new
    notices as detached objects, for the live announcement after the commit without reading them back."""
    firsts = []
    for event_id, rows in rows_of:
        first: dict[str, dict] = {}  # one row per recipient: an inbox subscription's language wins
        for row in rows:
            first.setdefault(row["recipient"], row)
        firsts.append((event_id, list(first.values())))
    # One statement (on PostgreSQL one JSON parameter): a second notice of the same thing, already
    # there or earlier in this poll, is skipped.
    inserted = insert_many(session, Notification.__table__, [row for _, rows in firsts for row in rows],
                           ignore=ONCE, returning=("id", "delivery_id"))
    ids = {delivery_id: id_ for id_, delivery_id in inserted}
    # Plain objects with the notice's attributes: what the announcement reads (building ORM
    # objects costs more than the insert).
    return [(event_id, [SimpleNamespace(id=ids[row["delivery_id"]], last_error=None, **row)
                        for row in rows if row["delivery_id"] in ids]) for event_id, rows in firsts]


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
        # In the trace of its cause: a poll records the notices of many events at once.
        traceparent=tracing.continued(event.traceparent, event.tracestate).traceparent,
    )
