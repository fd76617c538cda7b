"""The questions the notification service asks the organisation tree (is it known and active,
which organisations are above it, what lies below), answered by its copy of the tree
(shared/replica.py) on a date, as the quota service answers them: today for scope, the day a
quota was reached for the subtree subscriptions a notice reaches."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from shared import clock
from shared.replica import Org, TreeReplica

from .models import Base

REPLICA = TreeReplica(Base.metadata)


def get(session: Session, code: str) -> Org | None:
    return REPLICA.get(session, code)


def known(session: Session, codes: set[str]) -> set[str]:
    return REPLICA.known(session, codes)


def is_active(session: Session, code: str) -> bool:
    org = get(session, code)
    return org is not None and org.active


def ancestors_of(session: Session, codes: set[str], *, on: date | None = None) -> dict[str, list[str]]:
    """For each of `codes`, itself and every organisation above it on `on` (today), nearest first."""
    return REPLICA.ancestors_of(session, codes, on=on or clock.today())


def ancestors(session: Session, code: str) -> list[str]:
    return ancestors_of(session, {code})[code]


def is_within(session: Session, code: str, ancestor: str) -> bool:
    """True when `code` is `ancestor` or lies below it today."""
    return REPLICA.is_within(session, code, ancestor, on=clock.today())


def subtree(session: Session, code: str):
    """A SELECT of the codes of `code` and everything below it today."""
    return REPLICA.subtree(code, on=clock.today())
