"""Reading notices: an organisation's inbox, and the notices list of the API."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import reads, tree
from .models import Notification


def list_inbox(session: Session, *, org_code: str, after_id: int = 0, limit: int = 100,
               oldest_first: bool = False, kind: str | None = None, unread_for: str | None = None
               ) -> list[Notification]:
    """An organisation's inbox, newest first; of one `kind`; only those `unread_for` has not read."""
    query = select(Notification).where(Notification.channel == "inbox", Notification.recipient_org_code == org_code,
                                       Notification.id > after_id)
    if kind:
        query = query.where(Notification.kind == kind)
    if unread_for is not None:
        query = query.where(reads.unread_by(unread_for))
    order = Notification.id.asc() if oldest_first else Notification.id.desc()
    return list(session.scalars(query.order_by(order).limit(limit)))


def list_notifications(session: Session, *, scope_org: str | None, org_code: str | None = None,
                       kind: str | None = None, status: str | None = None, channel: str | None = None,
                       subscription_id: int | None = None, limit: int = 100, offset: int = 0) -> list[Notification]:
    """Notices whose recipient organisation lies in `scope_org`'s subtree (None: the whole country),
    newest first. `org_code` matches the organisation a notice is about or the one that received it."""
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
    return list(session.scalars(query.order_by(Notification.id.desc()).limit(limit).offset(offset)))
