"""Reading the organisation tree in force on a date.

`SqlTree` asks the database (the API: a few indexed queries per request). `CachedTree` loads the
whole history into memory once and is reused until a tree change bumps `tree_version` (the
consumer: one lookup per admission must not cost a query).
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared.bulk import insert_or_ignore
from shared.db import lock_rows

from .models import Organization, OrganizationParent, TreeVersion


TREE_ROW, CATALOG_ROW = 1, 2  # the rows of tree_version: the tree's, and names' and quotas' (catalog.py)
CHANGED = "tree_version_bumped"  # set in Session.info by bump_version


def bump_version(session: Session, *, row: int) -> None:
    """Moves a row of tree_version on, in the caller's transaction. The row is made at its first
    use; two first uses at once both count (the second insert waits for the first and is skipped)
    instead of one failing on the primary key."""
    bump = update(TreeVersion).where(TreeVersion.id == row).values(version=TreeVersion.version + 1)
    if session.execute(bump).rowcount == 0:
        insert_or_ignore(session, TreeVersion, [{"id": row, "version": 0}])
        session.execute(bump)
    session.info[CHANGED] = True  # kept progress answers are dropped once this commits (answers.py)


def lock_tree(session: Session, *, exclusive: bool = False) -> None:
    """The one lock of the tree. Tree changes and term back-fills take the tree_version row
    exclusively, as their first statement, so their checks (no cycle, an active parent) see the
    tree as the previous change left it; a consumer's transaction shares it, so it sees the tree
    and the counted terms as they are when it commits. (On SQLite the database's one write lock
    already serialises them: shared/db.py lock_rows.)"""
    session.execute(lock_rows(select(TreeVersion.version).where(TreeVersion.id == TREE_ROW), shared=not exclusive))


MAX_DEPTH = 50  # far deeper than any real tree; stops a corrupt history from looping


@dataclass(frozen=True)
class OrgFacts:
    status: str
    ended_on: date | None
    merged_into: str | None


@dataclass(frozen=True)
class ParentRecord:
    valid_from: date
    valid_to: date | None
    parent_code: str | None


def pick_parent(records: list[ParentRecord], day: date) -> str | None:
    """The parent in force on `day`; before the first record, the first; after the last, the last."""
    if not records:
        return None
    starts = [r.valid_from for r in records]
    i = bisect_right(starts, day) - 1
    if i < 0:
        return records[0].parent_code
    return records[i].parent_code


_ACTIVE = OrgFacts("active", None, None)


class _Tree:
    def records(self, code: str) -> list[ParentRecord]:
        raise NotImplementedError

    def facts(self, code: str) -> OrgFacts | None:
        raise NotImplementedError

    def resolve(self, code: str, day: date) -> str:
        """The organisation an admission at `code` on `day` belongs to: a merged organisation's
        admissions after the merger belong to its successor."""
        for _ in range(MAX_DEPTH):
            facts = self.facts(code)
            if facts is None or facts.merged_into is None or facts.ended_on is None or day < facts.ended_on:
                return code
            code = facts.merged_into
        return code

    def ancestors(self, code: str, day: date) -> list[str]:
        """`code` and every organisation above it in the tree in force on `day`, bottom up."""
        chain = [code]
        current = code
        for _ in range(MAX_DEPTH):
            parent = pick_parent(self.records(current), day)
            if parent is None or parent in chain:
                break
            chain.append(parent)
            current = parent
        return chain

    def chain(self, code: str, day: date) -> list[str]:
        """The organisations an admission at `code` on `day` counts toward, bottom up."""
        return self.ancestors(self.resolve(code, day), day)


class SqlTree(_Tree):
    def __init__(self, session: Session):
        self.session = session

    def records(self, code: str) -> list[ParentRecord]:
        rows = self.session.execute(
            select(OrganizationParent.valid_from, OrganizationParent.valid_to, OrganizationParent.parent_code)
            .where(OrganizationParent.code == code).order_by(OrganizationParent.valid_from)).all()
        return [ParentRecord(*row) for row in rows]

    def facts(self, code: str) -> OrgFacts | None:
        row = self.session.execute(select(Organization.status, Organization.ended_on, Organization.merged_into)
                                   .where(Organization.code == code)).first()
        return OrgFacts(*row) if row else None


def tree_version(session: Session) -> int:
    return session.execute(select(TreeVersion.version).where(TreeVersion.id == 1)).scalar() or 0


class CachedTree(_Tree):
    """The whole tree history in memory; `refresh(session)` reloads it if the tree changed."""

    def __init__(self):
        self.version: int | None = None
        self._records: dict[str, list[ParentRecord]] = {}
        self._facts: dict[str, OrgFacts] = {}
        # code -> its chain, for the organisations whose chain is the same on every day (never
        # merged away, one parent record all the way up): most of them, most of the time.
        self._fixed_chains: dict[str, list[str]] = {}

    def refresh(self, session: Session) -> "CachedTree":
        version = tree_version(session)
        if version != self.version:
            records: dict[str, list[ParentRecord]] = {}
            for code, vf, vt, parent in session.execute(
                    select(OrganizationParent.code, OrganizationParent.valid_from, OrganizationParent.valid_to,
                           OrganizationParent.parent_code).order_by(OrganizationParent.code,
                                                                    OrganizationParent.valid_from)):
                records.setdefault(code, []).append(ParentRecord(vf, vt, parent))
            facts = {code: OrgFacts(status, ended, merged) for code, status, ended, merged in session.execute(
                select(Organization.code, Organization.status, Organization.ended_on, Organization.merged_into)
                .where(Organization.status != "active"))}
            self._records, self._facts, self.version = records, facts, version
            self._fixed_chains = {}
        return self

    def chain(self, code: str, day: date) -> list[str]:
        fixed = self._fixed_chains.get(code)
        if fixed is not None:
            return list(fixed)
        chain = super().chain(code, day)
        if (code not in self._facts and chain[0] == code
                and all(len(self._records.get(org, ())) <= 1 for org in chain)):
            self._fixed_chains[code] = chain
            return list(chain)
        return chain

    def records(self, code: str) -> list[ParentRecord]:
        return self._records.get(code, [])

    def facts(self, code: str) -> OrgFacts | None:
        # Only inactive organisations are kept: an active one is never redirected.
        return self._facts.get(code, _ACTIVE)
