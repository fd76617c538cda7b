"""The questions the candidate service asks the organisation tree (does this cell exist, is X
inside Y's subtree), answered by its copy of the tree (shared/replica.py) on today's date in
Vietnam, as the quota service answers them: a move dated next month changes scope next month."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared import clock
from shared.replica import Org, TreeReplica

from .models import Base, Candidate

# Organisation types that hold candidates. The tree's other levels (committees) hold none.
CELL_TYPES = frozenset({"cell"})  # the quota service's ORG_TYPES name for a chi bộ
REPLICA = TreeReplica(Base.metadata)


def get(session: Session, code: str) -> Org | None:
    return REPLICA.get(session, code)


def parent_of(session: Session, code: str) -> str | None:
    return REPLICA.parent_on(session, code, on=clock.today())


def is_within(session: Session, code: str, ancestor: str) -> bool:
    """True when `code` is `ancestor` or lies below it today (unknown organisations are within nothing)."""
    return REPLICA.is_within(session, code, ancestor, on=clock.today())


def subtree_condition(session: Session, code: str):
    """A WHERE clause on Candidate selecting those of `code` and everything below it (None if unknown)."""
    if get(session, code) is None:
        return None
    return Candidate.org_code.in_(REPLICA.subtree(code, on=clock.today()))
