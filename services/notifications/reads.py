"""Read state of notices, per person (the token's `sub`): marking read and unread, the unread count
of an inbox, and the `read` flag of listed notices. Marking is idempotent (a notice read twice has
one row) and safe between concurrent requests (the row's primary key decides; a twin's insert that
loses is no error)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import and_, delete, exists, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .models import Notification, NotificationRead


def mark_read(session: Session, *, notification_id: int, reader: str) -> None:
    if session.get(NotificationRead, (notification_id, reader)) is not None:
        return
    try:
        with session.begin_nested():
            session.add(NotificationRead(notification_id=notification_id, reader=reader))
    except IntegrityError:
        pass  # read by the same person in another request at the same moment: already what was asked


def mark_unread(session: Session, *, notification_id: int, reader: str) -> None:
    session.execute(delete(NotificationRead).where(NotificationRead.notification_id == notification_id,
                                                   NotificationRead.reader == reader))


def unread_by(reader: str):
    """A WHERE clause on Notification: not read by `reader`."""
    return ~exists().where(NotificationRead.notification_id == Notification.id, NotificationRead.reader == reader)


def _inbox(org_code: str, kind: str | None):
    condition = and_(Notification.channel == "inbox", Notification.recipient_org_code == org_code)
    return condition if kind is None else and_(condition, Notification.kind == kind)


def mark_all_read(session: Session, *, org_code: str, reader: str, up_to_id: int | None = None,
                  kind: str | None = None) -> int:
    """Every unread notice of an organisation's inbox (up to `up_to_id`, of `kind`) marked read; how many."""
    query = select(Notification.id).where(_inbox(org_code, kind), unread_by(reader))
    if up_to_id is not None:
        query = query.where(Notification.id <= up_to_id)
    ids = list(session.scalars(query))
    if not ids:
        return 0
    try:
        with session.begin_nested():
            session.execute(insert(NotificationRead), [{"notification_id": i, "reader": reader} for i in ids])
    except IntegrityError:  # some were marked read by a twin request meanwhile: the rest one by one
        for notification_id in ids:
            mark_read(session, notification_id=notification_id, reader=reader)
    return len(ids)


def unread_count(session: Session, *, org_code: str, reader: str) -> dict[str, Any]:
    """{"unread": n, "by_kind": {kind: n}} of an organisation's inbox for one person."""
    rows = session.execute(select(Notification.kind, func.count()).where(_inbox(org_code, None), unread_by(reader))
                           .group_by(Notification.kind)).all()
    by_kind = {kind: count for kind, count in rows}
    return {"org_code": org_code, "unread": sum(by_kind.values()), "by_kind": by_kind}


def read_ids(session: Session, *, notification_ids: list[int], reader: str) -> set[int]:
    if not notification_ids:
        return set()
    return set(session.scalars(select(NotificationRead.notification_id).where(
        NotificationRead.reader == reader, NotificationRead.notification_id.in_(notification_ids))))
