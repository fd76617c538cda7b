"""Tables of the web service's own database: accounts of people (users), their signed-in
sessions, API clients of other systems, the audit trail of the whole platform (one entry per
event, services/web/audit.py) and the copy of the organisation tree that scopes it.

A session row is the truth of a signed-in browser: its cookie holds a random token whose SHA-256
is the row's key, and every request looks the row up with its user. Deleting a user's rows
(deactivation, password reset, password change) signs those browsers out at their next request.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntId, messaging_tables
from shared.replica import replica_tables

CODE = String(64)


class Base(DeclarativeBase):
    pass


# Every service's schema has them; user and client changes are published from here (services/web/publish.py).
outbox, processed_events = messaging_tables(Base.metadata)

# The copy of the organisation tree (shared/replica.py), kept from organization.state: the audit's scope.
replica_tables(Base.metadata)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)  # lower case (accounts.normalize_username)
    full_name: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(CODE, index=True)  # organisation code of the scope, or '*'
    role: Mapped[str] = mapped_column(String(16))  # viewer | officer | admin
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id, parameters in the hash
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebSession(Base):
    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_user", "user_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)  # SHA-256 hex of the cookie
    user_id: Mapped[int] = mapped_column(BigIntId, ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ApiClient(Base):
    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    org: Mapped[str] = mapped_column(CODE, index=True)
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 hex of a 256-bit random secret
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str | None] = mapped_column(String(200))


class AuditEntry(Base):
    """One event of any service, as the audit trail shows it: who did what, when, about which
    organisations. Written once per event (its id is unique) by the audit consumer."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_org_time", "org_code", "occurred_at", "id"),
        Index("ix_audit_other_org_time", "other_org_code", "occurred_at", "id"),
        Index("ix_audit_time", "occurred_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # the event's time (UTC)
    # The event's actor (a username, client:<id>, system:<process>, cli:<user>); None for an event
    # written before events carried one.
    actor: Mapped[str | None] = mapped_column(String(200), index=True)
    actor_role: Mapped[str | None] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(100), index=True)  # the event's name: candidate.stage_changed
    source: Mapped[str] = mapped_column(String(100))  # the service: /candidates
    subject: Mapped[str | None] = mapped_column(String(200))  # a candidate id, an organisation code, ...
    # The organisation it is about and, for a move or a transfer, the other one: the entry is in
    # the scope of a caller above either ('*' for a country-wide account).
    org_code: Mapped[str | None] = mapped_column(String(64))
    other_org_code: Mapped[str | None] = mapped_column(String(64))
    data: Mapped[dict] = mapped_column(JSON)  # the event's data (the contract keeps personal data out)
