"""Finding organisations by name within the caller's subtree, with or without diacritics
("dong son" finds "Đảng bộ phường Đông Sơn"): the folded name column (shared/text.py), in the
tree in force today."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.text import fold

from .models import Organization

CHUNK = 2000  # codes per IN list while walking down the tree


def subtree_codes(session: Session, root: str) -> list[str]:
    """`root` and every organisation under it now (the current parents, one query per level)."""
    found, frontier = [root], [root]
    seen = {root}
    while frontier:
        below = []
        for i in range(0, len(frontier), CHUNK):
            below += [c for c in session.scalars(select(Organization.code).where(
                Organization.parent_code.in_(frontier[i:i + CHUNK]))) if c not in seen]
        seen.update(below)
        found += below
        frontier = below
    return found


def search_organizations(session: Session, *, q: str, within: str | None, offset: int,
                         limit: int) -> tuple[list[Organization], int]:
    """Organisations whose name contains every word of `q` (folded), in `within`'s subtree (None:
    the whole country), ordered by folded name then code; a page and the total."""
    query = select(Organization)
    for word in fold(q).split():
        query = query.where(Organization.name_folded.contains(word, autoescape=True))
    if within is not None:
        codes = subtree_codes(session, within)
        if len(codes) <= CHUNK:
            query = query.where(Organization.code.in_(codes))
        else:  # a large subtree: filter the (few) name matches instead of sending every code
            matches = set(session.scalars(query.with_only_columns(Organization.code)))
            query = query.where(Organization.code.in_(sorted(matches.intersection(codes))))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Organization.name_folded, Organization.code).offset(offset).limit(limit))
    return list(rows), total


def top_organizations(session: Session, *, within: str | None, offset: int,
                      limit: int) -> tuple[list[Organization], int]:
    """The tops of a subtree: `within` itself, or (None: the whole country) every active organisation
    without a parent now (the provinces and the central bodies), ordered by folded name then code."""
    query = select(Organization).where(Organization.status == "active")
    query = query.where(Organization.code == within) if within is not None else query.where(
        Organization.parent_code.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Organization.name_folded, Organization.code).offset(offset).limit(limit))
    return list(rows), total
