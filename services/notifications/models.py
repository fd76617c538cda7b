"""Tables of the notifications service's own database.

- `organizations`: a local copy of the organisation tree, kept from organization.* events.
- `subscriptions`: who wants which notices, about which organisation (or its subtree), by which channel.
- `notifications`: one notice to one recipient (a subscription, or an organisation's inbox). Its
  UNIQUE (recipient, org_code, kind, occurrence) is what makes a notice exactly-once, whatever
  the broker redelivers and whichever replica handles it.
- `delivery_attempts`: every attempt to send a webhook or e-mail notice, kept for inspection.
- `notification_reads`: who (a token's `sub`) has read which notice; no row = unread for that person.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        func)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.candidates import REMINDER_KINDS
from shared.db import BigIntId, messaging_tables
from shared.replica import replica_tables

CHANNELS = ("webhook", "email", "inbox")
QUOTA_KINDS = ("quota_met", "quota_exceeded", "milestone_reached")
KINDS = QUOTA_KINDS + REMINDER_KINDS
LANGUAGES = ("vi", "en")
# pending: waiting for (another) attempt; delivered; failed: out of attempts, kept for resend;
# cancelled: its subscription was deleted before it could be sent.
STATUSES = ("pending", "delivered", "failed", "cancelled")


class Base(DeclarativeBase):
    pass


outbox, processed_events = messaging_tables(Base.metadata)


# The copy of the organisation tree (shared/replica.py), kept from the quota service's organization.state.
replica_tables(Base.metadata)


class Subscription(Base):
    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(String(64), index=True)
    include_subtree: Mapped[bool] = mapped_column(Boolean, default=False)
    events: Mapped[list[str]] = mapped_column(JSON)  # kinds, e.g. ["quota_met", "milestone_reached"]
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str | None] = mapped_column(String(2000))  # webhook URL or e-mail address
    secret: Mapped[str | None] = mapped_column(String(200))  # HMAC key of a webhook
    language: Mapped[str] = mapped_column(String(2), default="vi")
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("recipient", "org_code", "kind", "occurrence", name="uq_notification_once"),
        Index("ix_notifications_due", "status", "next_attempt_at"),
        Index("ix_notifications_inbox", "recipient_org_code", "channel", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    # Stable across attempts and resends: receivers de-duplicate on it (X-Chitieu-Delivery-Id).
    delivery_id: Mapped[str] = mapped_column(String(36), unique=True)
    # "subscription:<id>" for webhook and e-mail; "inbox:<org code>" for an inbox, shared by every
    # way a notice reaches that inbox, so one inbox never shows the same notice twice.
    recipient: Mapped[str] = mapped_column(String(100))
    subscription_id: Mapped[int | None] = mapped_column(ForeignKey("subscriptions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    recipient_org_code: Mapped[str] = mapped_column(String(64))  # whose subscription or inbox
    org_code: Mapped[str] = mapped_column(String(64), index=True)  # the organisation it is about
    org_name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str | None] = mapped_column(String(16))
    # What makes two notices of one kind different: the period ("2024"), the period and the
    # milestone ("2024@75"), or a reminder's id.
    occurrence: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(2))
    text: Mapped[str] = mapped_column(Text)  # rendered once: a resend sends exactly what was recorded
    payload: Mapped[dict] = mapped_column(JSON)
    source_event_id: Mapped[str] = mapped_column(String(36), index=True)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # all attempts, every round
    round_attempts: Mapped[int] = mapped_column(Integer, default=0)  # since creation or the last resend
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The W3C trace of the event that caused it (shared/tracing.py): the delivery worker logs its
    # attempts in it and sends it as the webhook's `traceparent` header. None before it was kept.
    traceparent: Mapped[str | None] = mapped_column(String(55))


class DeliveryAttempt(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)  # HTTP status or SMTP reply code
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str] = mapped_column(String(100))


class NotificationRead(Base):
    """Read state per person, not per organisation: an organisation's inbox is shared by its officers,
    and one of them opening a notice must not hide it from the others' unread count."""

    __tablename__ = "notification_reads"

    # (notification_id, reader) also answers "is this notice read by this person" in the unread count.
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), primary_key=True)
    reader: Mapped[str] = mapped_column(String(200), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
