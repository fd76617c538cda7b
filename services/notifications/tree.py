"""The local copy of the organisation tree, kept from the quota service's organization.* events.
It answers "is this organisation known?", "which organisations are above it?" (for subtree
subscriptions) and "is it inside the caller's scope?"."""
from __future__ import annotations

from sqlalchemy import literal, select, update
from sqlalchemy.orm import Session

from .models import Organization
from .sql import insert_or_ignore

MAX_DEPTH = 32  # guards against a cycle in a corrupted tree


# Codes this process has seen in the database. Organisations are never deleted (a merged or
# dissolved one is only made inactive), so a code once present stays present.
_known_codes: set[str] = set()


def ensure(session: Session, *, orgs: list[dict]) -> None:
    """Fill in organisations not known yet (dicts of code, name, type, parent_code), from the
    figures quota events carry (they must not undo a later tree change, so a known organisation is
    left as it is). One statement for a whole poll."""
    url = session.get_bind().url
    wanted = {org["code"]: org for org in orgs if f"{url}|{org['code']}" not in _known_codes}
    if not wanted:
        return
    inserted = {code for (code,) in insert_or_ignore(
        session, Organization, [dict(org, active=True) for org in wanted.values()], returning=(Organization.code,))}
    # Those that were there before this transaction are safe to remember.
    _known_codes.update(f"{url}|{code}" for code in wanted if code not in inserted)


def upsert(session: Session, *, code: str, name: str, type: str, parent_code: str | None) -> None:
    """Create or update one organisation (organization.created)."""
    org = session.get(Organization, code)
    if org is None:
        session.add(Organization(code=code, name=name, type=type, parent_code=parent_code, active=True))
        session.flush()
    else:
        org.name, org.type, org.parent_code, org.active = name, type, parent_code, True


def rename(session: Session, *, code: str, name: str) -> None:
    session.execute(update(Organization).where(Organization.code == code).values(name=name))


def move(session: Session, *, code: str, parent_code: str | None) -> None:
    session.execute(update(Organization).where(Organization.code == code).values(parent_code=parent_code))


def retire(session: Session, *, code: str, children_to: str | None, children_codes: list[str]) -> None:
    """A merged or dissolved organisation: kept (its notices name it) but no longer active."""
    session.execute(update(Organization).where(Organization.code == code).values(active=False))
    if children_to and children_codes:
        session.execute(update(Organization).where(Organization.code.in_(children_codes))
                        .values(parent_code=children_to))


def get(session: Session, code: str) -> Organization | None:
    return session.get(Organization, code)


def is_active(session: Session, code: str) -> bool:
    org = session.get(Organization, code)
    return org is not None and org.active


def ancestors_query(code: str, *, ordered: bool = True):
    """A SELECT of `code` and every organisation above it, nearest first (one recursive query)."""
    up = select(Organization.code, Organization.parent_code, literal(0).label("depth")).where(
        Organization.code == code).cte("up", recursive=True)
    up = up.union_all(select(Organization.code, Organization.parent_code, up.c.depth + 1).where(
        Organization.code == up.c.parent_code, up.c.depth < MAX_DEPTH))
    query = select(up.c.code)
    return query.order_by(up.c.depth) if ordered else query


def ancestors(session: Session, code: str) -> list[str]:
    """`code` and every organisation above it, nearest first."""
    chain = list(session.scalars(ancestors_query(code)))
    return list(dict.fromkeys(chain)) or [code]  # dict: a corrupted cycle repeats codes


def ancestors_of(session: Session, codes: set[str]) -> dict[str, set[str]]:
    """For each of `codes`, itself and every organisation above it (one recursive query)."""
    up = select(Organization.code.label("origin"), Organization.code, Organization.parent_code,
                literal(0).label("depth")).where(Organization.code.in_(sorted(codes))).cte("up_many", recursive=True)
    up = up.union_all(select(up.c.origin, Organization.code, Organization.parent_code, up.c.depth + 1).where(
        Organization.code == up.c.parent_code, up.c.depth < MAX_DEPTH))
    chains: dict[str, set[str]] = {code: {code} for code in codes}
    for origin, code in session.execute(select(up.c.origin, up.c.code)):
        chains[origin].add(code)
    return chains


def is_within(session: Session, code: str, ancestor: str) -> bool:
    """True when `code` is `ancestor` or lies below it."""
    return ancestor in ancestors(session, code)


def subtree(session: Session, code: str):
    """A SELECT of the codes of `code` and everything below it (a recursive query, both databases)."""
    tree = select(Organization.code).where(Organization.code == code).cte("subtree", recursive=True)
    tree = tree.union(select(Organization.code).where(Organization.parent_code == tree.c.code))
    return select(tree.c.code)
