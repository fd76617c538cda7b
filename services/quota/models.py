"""Tables of the quota service's own database.

The organisation tree keeps its history: an organisation's parent and name are rows with
`valid_from` / `valid_to` (half-open: valid_from <= day < valid_to, NULL = still in force), so
"the tree in force on a date" can always be answered, e.g. before and after a merger.

Progress has one truth, the admissions ledger: one row per admission (a revocation marks it),
which also records the organisations and periods it counted toward (`counted_orgs` x
`counted_periods`), so taking it back removes exactly what was added even if the tree changed since. `progress_counters` are the
per (organisation, period) sums of the ledger; Redis holds the same figures for fast reads.
`milestones` has a UNIQUE (org, period, kind): a milestone event is written once, however often
an admission is redelivered and however many consumers run.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint,
                        func, text)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.contracts.quotas import COMPOSITION_ATTRIBUTES
from shared.db import BigIntId, messaging_tables

CODE = String(64)
PERIOD = String(9)  # "2024" or "2020-2025"

# Attributes measured for composition targets; also the counter columns.
ATTRIBUTES = COMPOSITION_ATTRIBUTES


class Base(DeclarativeBase):
    pass


outbox, processed_events = messaging_tables(Base.metadata)


class Organization(Base):
    __tablename__ = "organizations"

    code: Mapped[str] = mapped_column(CODE, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))  # the current name; history in organization_names
    # The current name folded (shared/text.py), searched by GET /organizations?q=.
    name_folded: Mapped[str] = mapped_column(String(300), index=True, default="", server_default="")
    type: Mapped[str] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | merged | dissolved
    # The parent in force now (denormalised from organization_parents for fast child listings).
    parent_code: Mapped[str | None] = mapped_column(CODE, index=True)
    founded_on: Mapped[date] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)  # the day of the merger or dissolution
    merged_into: Mapped[str | None] = mapped_column(CODE)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrganizationParent(Base):
    __tablename__ = "organization_parents"
    __table_args__ = (Index("ix_organization_parents_code_from", "code", "valid_from"),
                      Index("ix_organization_parents_parent", "parent_code", "valid_from"))

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(CODE, ForeignKey("organizations.code"))
    parent_code: Mapped[str | None] = mapped_column(CODE)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class OrganizationName(Base):
    __tablename__ = "organization_names"
    __table_args__ = (Index("ix_organization_names_code_from", "code", "valid_from"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(CODE, ForeignKey("organizations.code"))
    name: Mapped[str] = mapped_column(String(300))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)


class TreeVersion(Base):
    """One row, bumped by every tree change: consumers cache the tree and reload when it moves."""

    __tablename__ = "tree_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


class Quota(Base):
    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("org_code", "period", name="uq_quotas_org_period"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(CODE, ForeignKey("organizations.code"))
    period: Mapped[str] = mapped_column(PERIOD)
    target: Mapped[int] = mapped_column(Integer)
    composition: Mapped[str] = mapped_column(Text, default="[]")  # JSON list of CompositionTarget
    assigner_org_code: Mapped[str | None] = mapped_column(CODE)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(),
                                                 onupdate=func.now())


class QuotaChange(Base):
    __tablename__ = "quota_changes"
    __table_args__ = (Index("ix_quota_changes_org_period", "org_code", "period"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(CODE)
    period: Mapped[str] = mapped_column(PERIOD)
    previous_target: Mapped[int | None] = mapped_column(Integer)
    target: Mapped[int] = mapped_column(Integer)
    composition: Mapped[str] = mapped_column(Text)
    changed_by: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CountedTerm(Base):
    """Terms counted besides the standard five-year ones (2020-2025, 2025-2030, ...): a quota for
    any other term (say 2021-2026) adds it here and back-fills it from the ledger."""

    __tablename__ = "counted_terms"

    period: Mapped[str] = mapped_column(PERIOD, primary_key=True)


class Admission(Base):
    __tablename__ = "admissions"
    # One row per admission event. A person counts at most once at a time: one open (not revoked)
    # admission per candidate, so the same admission sent twice under two event ids counts once,
    # while admit / revoke / admit again (a corrected decision, even on the same day) counts 1.
    __table_args__ = (
        Index("uq_admissions_open_candidate", "candidate_id", unique=True,
              sqlite_where=text("revoked_on IS NULL"), postgresql_where=text("revoked_on IS NULL")),
        Index("ix_admissions_candidate_date", "candidate_id", "admission_date"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    candidate_id: Mapped[str] = mapped_column(String(64))
    org_code: Mapped[str] = mapped_column(CODE)  # where it happened (usually a cell)
    admission_date: Mapped[date] = mapped_column(Date)
    student: Mapped[bool] = mapped_column(Boolean)
    non_state_enterprise: Mapped[bool] = mapped_column(Boolean)
    woman: Mapped[bool] = mapped_column(Boolean)
    ethnic_minority: Mapped[bool] = mapped_column(Boolean)
    under_30: Mapped[bool] = mapped_column(Boolean)
    youth_union: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    religious: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # JSON lists: the organisations (bottom up) and the periods the admission counted toward.
    counted_orgs: Mapped[str] = mapped_column(Text)
    counted_periods: Mapped[str] = mapped_column(Text)
    revoked_on: Mapped[date | None] = mapped_column(Date)
    revoke_event_id: Mapped[str | None] = mapped_column(String(36))


class ProgressCounter(Base):
    __tablename__ = "progress_counters"

    org_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    period: Mapped[str] = mapped_column(PERIOD, primary_key=True)
    admitted: Mapped[int] = mapped_column(Integer, default=0)
    student: Mapped[int] = mapped_column(Integer, default=0)
    non_state_enterprise: Mapped[int] = mapped_column(Integer, default=0)
    woman: Mapped[int] = mapped_column(Integer, default=0)
    ethnic_minority: Mapped[int] = mapped_column(Integer, default=0)
    under_30: Mapped[int] = mapped_column(Integer, default=0)
    youth_union: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    religious: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class DailyCounter(Base):
    """Per (organisation, admission date) sums of the ledger: figures as of a past date (a cut-off)
    and the pace by month are sums of these rows, whatever the period. A revocation takes the
    admission off its own date: it never counted."""

    __tablename__ = "daily_counters"

    org_code: Mapped[str] = mapped_column(CODE, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    admitted: Mapped[int] = mapped_column(Integer, default=0)
    student: Mapped[int] = mapped_column(Integer, default=0)
    non_state_enterprise: Mapped[int] = mapped_column(Integer, default=0)
    woman: Mapped[int] = mapped_column(Integer, default=0)
    ethnic_minority: Mapped[int] = mapped_column(Integer, default=0)
    under_30: Mapped[int] = mapped_column(Integer, default=0)
    youth_union: Mapped[int] = mapped_column(Integer, default=0)
    religious: Mapped[int] = mapped_column(Integer, default=0)


class Milestone(Base):
    __tablename__ = "milestones"
    __table_args__ = (UniqueConstraint("org_code", "period", "kind", name="uq_milestones_org_period_kind"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True, autoincrement=True)
    org_code: Mapped[str] = mapped_column(CODE)
    period: Mapped[str] = mapped_column(PERIOD)
    kind: Mapped[str] = mapped_column(String(12))  # "50" | "75" | "met" | "exceeded"
    admitted: Mapped[int] = mapped_column(Integer)
    target: Mapped[int] = mapped_column(Integer)
    reached_on: Mapped[date] = mapped_column(Date)  # of the admission that crossed the line
