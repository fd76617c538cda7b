"""The local copy of the organisation tree (owned by the quota service, received as organization.*
events) and the questions the candidate service asks it: does this cell exist, is X inside Y's
subtree. Each organisation keeps a materialized path ("/TINH/TP/P/CB1/") so both are cheap."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from .models import Organization

# Organisation types that hold candidates. The tree's other levels (committees) hold none.
CELL_TYPES = frozenset({"cell"})  # the quota service's ORG_TYPES name for a chi bộ


class UnknownParent(Exception):
    """An organisation's parent is not in the local tree (the events arrived out of order)."""


def get(session: Session, code: str) -> Organization | None:
    return session.get(Organization, code)


def is_within(session: Session, code: str, ancestor: str) -> bool:
    """True when `code` is `ancestor` or lies below it (unknown organisations are within nothing)."""
    if code == ancestor:
        return get(session, code) is not None
    org, top = get(session, code), get(session, ancestor)
    return bool(org and top and org.path.startswith(top.path))


def subtree_condition(session: Session, code: str):
    """A WHERE clause on Organization selecting `code` and everything below it (None if unknown)."""
    top = get(session, code)
    if top is None:
        return None
    return Organization.path.startswith(top.path, autoescape=True)


# --- applying organization.* events --------------------------------------------------------------

def create(session: Session, *, code: str, name: str, type: str, parent_code: str | None,
           effective_date: date) -> Organization:
    parent_path = "/"
    if parent_code:
        parent = get(session, parent_code)
        if parent is None:
            raise UnknownParent(f"parent {parent_code!r} of {code!r} is unknown")
        parent_path = parent.path
    org = get(session, code)
    if org is None:
        org = Organization(code=code)
        session.add(org)
    org.name, org.type, org.parent_code = name, type, parent_code
    org.path = f"{parent_path}{code}/"
    org.active, org.merged_into, org.effective_date = True, None, effective_date
    session.flush()
    return org


def rename(session: Session, *, code: str, name: str, effective_date: date) -> None:
    org = get(session, code)
    if org is not None:
        org.name = name


def move(session: Session, *, code: str, parent_code: str | None) -> None:
    """Re-parent `code`; every path below it is rewritten in one statement."""
    org = get(session, code)
    if org is None:
        raise UnknownParent(f"organisation {code!r} is unknown")
    parent_path = "/"
    if parent_code:
        parent = get(session, parent_code)
        if parent is None:
            raise UnknownParent(f"parent {parent_code!r} of {code!r} is unknown")
        if parent.path.startswith(org.path):
            raise UnknownParent(f"moving {code!r} under its own descendant {parent_code!r}")
        parent_path = parent.path
    old_path, new_path = org.path, f"{parent_path}{code}/"
    org.parent_code = parent_code
    if old_path == new_path:
        return
    session.flush()
    descendants = session.scalars(select(Organization).where(
        Organization.path.startswith(old_path, autoescape=True))).all()
    for item in descendants:
        item.path = new_path + item.path[len(old_path):]
    session.flush()


def deactivate(session: Session, *, code: str, merged_into: str | None = None) -> None:
    session.execute(update(Organization).where(Organization.code == code).values(
        active=False, merged_into=merged_into))
