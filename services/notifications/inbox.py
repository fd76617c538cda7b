"""Reading notices: an organisation's inbox, and the notices list of the API. Each list is read a
page at a time (shared/pagination.py): the rows of the page, and how many rows all pages hold."""
from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from . import reads, tree
from .models import Notification


def _inbox(*, org_code: str, after_id: int, kind: str | None, unread_for: str | None) -> Select:
    query = select(Notification).where(Notification.channel == "inbox", Notification.recipient_org_code == org_code,
                                       Notification.id > after_id)
    if kind:
        query = query.where(Notification.kind == kind)
    if unread_for is not None:
        query = query.where(reads.unread_by(unread_for))
    return query


def list_inbox(session: Session, *, org_code: str, after_id: int = 0, limit: int = 100, offset: int = 0,
               oldest_first: bool = False, kind: str | None = None, unread_for: str | None = None
               ) -> list[Notification]:
    """An organisation's inbox, newest first; newer than `after_id`; of one `kind`; only those
    `unread_for` has not read."""
    query = _inbox(org_code=org_code, after_id=after_id, kind=kind, unread_for=unread_for)
    order = Notification.id.asc() if oldest_first else Notification.id.desc()
    return list(session.scalars(query.order_by(order).limit(limit).offset(offset)))


def count_inbox(session: Session, *, org_code: str, after_id: int = 0, kind: str | None = None,
                unread_for: str | None = None) -> int:
    query = _inbox(org_code=org_code, after_id=after_id, kind=kind, unread_for=unread_for)
    return session.scalar(select(func.count()).select_from(query.subquery()))


def _notifications(session: Session, *, scope_org: str | None, org_code: str | None, kind: str | None,
                   status: str | None, channel: str | None, subscription_id: int | None) -> Select:
    query = select(Notification)
    if scope_org is not None:
        query = query.where(Notification.recipient_org_code.in_(tree.subtree(session, scope_org)))
    if org_code:
        query = query.where((Notification.org_code == org_code) | (Notification.recipient_org_code == org_code))
    if kind:
        query = query.where(Notification.kind == kind)
    if status:
        query = query.where(Notification.status == status)
    if channel:
        query = query.where(Notification.channel == channel)
    if subscription_id is not None:
        query = query.where(Notification.subscription_id == subscription_id)
    return query


def page_notifications(session: Session, *, scope_org: str | None, org_code: str | None = None,
                       kind: str | None = None, status: str | None = None, channel: str | None = None,
                       subscription_id: int | None = None, limit: int = 100, offset: int = 0
                       ) -> tuple[list[Notification], int]:
    """Notices whose recipient organisation lies in `scope_org`'s subtree (None: the whole country),
    newest first, and how many match. `org_code` matches the organisation a notice is about or the
    one that received it; `status` is the delivery's outcome (failed: out of attempts)."""
    query = _notifications(session, scope_org=scope_org, org_code=org_code, kind=kind, status=status,
                           channel=channel, subscription_id=subscription_id)
    rows = list(session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset)))
    return rows, session.scalar(select(func.count()).select_from(query.subquery()))
