"""What a progress report reads from the database besides the figures (an organisation, its
children on a day, their quotas, a caller's ancestors for the scope check), kept in each process
and reused while nothing it depends on changed: one small query (the versions) instead of four or
more per request, the national root's progress among them.

The versions are the rows of `tree_version`: row TREE_ROW (tree.py), bumped by every tree change (the
consumer's CachedTree reads it too), and row CATALOG_ROW, bumped by every rename and quota change,
each in the transaction of its change. The row of names and quotas is apart from the tree's, which
the consumer share-locks while it applies a poll: a quota change does not wait for it.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Organization, OrganizationParent, Quota, TreeVersion
from .tree import SqlTree

MAX_ENTRIES = 4096  # reports and ancestor chains kept per process (emptied when full)


@dataclass(frozen=True)
class Child:
    code: str
    name: str
    type: str


@dataclass(frozen=True)
class ReportRows:
    org_code: str
    org_name: str
    children: tuple[Child, ...]
    quotas: dict  # code -> (target, composition list)


class Catalog:
    def __init__(self):
        self._lock = threading.Lock()
        self._versions: tuple | None = None
        self._entries: dict = {}

    def _current(self, session: Session) -> dict:
        """The entries valid for the database's versions now (emptied when a version moved)."""
        # The database is part of the key: tests (and tools) open several in one process.
        versions = (str(session.get_bind().url),
                    *session.execute(select(TreeVersion.id, TreeVersion.version).order_by(TreeVersion.id)))
        with self._lock:
            if versions != self._versions or len(self._entries) >= MAX_ENTRIES:
                self._versions, self._entries = versions, {}
            return self._entries

    def report_rows(self, session: Session, *, org_code: str, period: str, day: date) -> ReportRows | None:
        """The organisation (None if there is none), its children on `day` by code, their quotas."""
        entries = self._current(session)
        key = ("report", org_code, period, day)
        rows = entries.get(key)
        if rows is None:
            rows = entries[key] = _load_report_rows(session, org_code, period, day)
        return rows

    def ancestors(self, session: Session, code: str, day: date) -> list[str]:
        entries = self._current(session)
        key = ("ancestors", code, day)
        chain = entries.get(key)
        if chain is None:
            chain = entries[key] = SqlTree(session).ancestors(code, day)
        return chain


def _load_report_rows(session: Session, org_code: str, period: str, day: date) -> ReportRows | None:
    name = session.execute(select(Organization.name).where(Organization.code == org_code)).scalar()
    if name is None:
        return None
    children = tuple(Child(*row) for row in session.execute(
        select(Organization.code, Organization.name, Organization.type)
        .join(OrganizationParent, OrganizationParent.code == Organization.code)
        .where(OrganizationParent.parent_code == org_code, OrganizationParent.valid_from <= day,
               (OrganizationParent.valid_to.is_(None)) | (OrganizationParent.valid_to > day))
        .order_by(Organization.code)))
    codes = [org_code] + [c.code for c in children]
    quotas = {}
    for i in range(0, len(codes), 1000):
        for code, target, composition in session.execute(select(Quota.org_code, Quota.target, Quota.composition).where(
                Quota.period == period, Quota.org_code.in_(codes[i:i + 1000]))):
            quotas[code] = (target, json.loads(composition) if composition else [])
    return ReportRows(org_code, name, children, quotas)


CATALOG = Catalog()  # one per process
