"""Tables of the candidates service's own database.

- organizations: a local copy of the organisation tree, kept from organization.* events (the quota
  service owns the tree); `path` is the materialized path ("/TINH/TP/P/CB1/") so that "is X inside
  Y's subtree" and "every candidate below Y" are one prefix comparison.
- cell_strengths: the number of official members of a cell, reported by its officers through the API
  (the tree's events do not carry it); used only for the advisory "fewer than 3 official members".
- candidates: one row per person being developed, with the facts the rules need (current stage).
- transitions: the append-only history of stage changes; never updated or deleted.
- transfers: moves of a candidate to another cell (history kept).
- idempotency_keys: the stored response of each creating request sent with an Idempotency-Key.
- reminders_sent: each reminder published once per (candidate, kind, due date).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (JSON, Boolean, Date, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint,
                        func, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.db import BigIntId, messaging_tables
from shared.replica import replica_tables


class Base(DeclarativeBase):
    pass


outbox, processed_events = messaging_tables(Base.metadata)


# The copy of the organisation tree (shared/replica.py), kept from the quota service's organization.state.
replica_tables(Base.metadata)


class CellStrength(Base):
    __tablename__ = "cell_strengths"

    org_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    official_members: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[date] = mapped_column(Date)
    reported_by: Mapped[str] = mapped_column(String(200))
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


OPEN_RECORD = "stage NOT IN ('withdrawn', 'rejected', 'removed')"


class Candidate(Base):
    __tablename__ = "candidates"
    __table_args__ = (
        Index("ix_candidates_org_stage", "org_code", "stage"),
        # One open record per person: a closed candidate (withdrawn, rejected, removed) may be listed again.
        Index("uq_candidates_open_national_id", "national_id", unique=True,
              postgresql_where=text(OPEN_RECORD), sqlite_where=text(OPEN_RECORD)),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    full_name: Mapped[str] = mapped_column(String(200))  # as given, with diacritics
    name_folded: Mapped[str] = mapped_column(String(200), index=True)  # unidecode + lower, for search
    date_of_birth: Mapped[date] = mapped_column(Date)
    gender: Mapped[str] = mapped_column(String(10))
    ethnicity: Mapped[str] = mapped_column(String(50))
    religion: Mapped[str | None] = mapped_column(String(50), nullable=True)
    education_level: Mapped[str | None] = mapped_column(String(50), nullable=True)
    occupation_group: Mapped[str] = mapped_column(String(30), index=True)
    # Personal identifier: validated, stored, shown masked; never in events or logs.
    national_id: Mapped[str] = mapped_column(String(12), index=True)
    youth_union_member: Mapped[bool] = mapped_column(Boolean, default=False)
    helpers: Mapped[list] = mapped_column(JSON, default=list)  # official members assigned to help
    org_code: Mapped[str] = mapped_column(String(64), index=True)
    stage: Mapped[str] = mapped_column(String(20), index=True)
    listed_on: Mapped[date] = mapped_column(Date)
    last_transition_on: Mapped[date] = mapped_column(Date)  # no new transition may predate it
    # Facts recorded by transitions that later rules and reminders read.
    training_certificate_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    training_certificate_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    cell_resolution_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    admission_date: Mapped[date | None] = mapped_column(Date, nullable=True, index=True)
    admission_decision_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    official_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Transition(Base):
    __tablename__ = "transitions"
    # Admission decisions in bulk find a decision already recorded by its number (decisions.py).
    __table_args__ = (Index("ix_transitions_decision_number", "decision_number"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # "transition" or "revocation"
    from_stage: Mapped[str | None] = mapped_column(String(20), nullable=True)  # None for the listing
    to_stage: Mapped[str] = mapped_column(String(20))
    date: Mapped[date] = mapped_column(Date)
    decision_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    deciding_org_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    org_code: Mapped[str] = mapped_column(String(64))  # the candidate's cell at that moment
    evidence: Mapped[dict] = mapped_column(JSON, default=dict)
    warnings: Mapped[list] = mapped_column(JSON, default=list)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Transfer(Base):
    __tablename__ = "transfers"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id"), index=True)
    from_org_code: Mapped[str] = mapped_column(String(64))
    to_org_code: Mapped[str] = mapped_column(String(64))
    date: Mapped[date] = mapped_column(Date)
    decision_number: Mapped[str | None] = mapped_column(String(100), nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(200))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class IdempotencyKey(Base):
    __tablename__ = "idempotency_keys"

    # Keys are per caller: two integrating systems may pick the same key.
    principal: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(300))
    request_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class ReminderSent(Base):
    __tablename__ = "reminders_sent"
    __table_args__ = (UniqueConstraint("candidate_id", "kind", "due_date"),)

    reminder_id: Mapped[str] = mapped_column(String(120), primary_key=True)
    candidate_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(30))
    due_date: Mapped[date] = mapped_column(Date)
    org_code: Mapped[str] = mapped_column(String(64))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
