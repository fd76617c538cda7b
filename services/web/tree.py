"""The organisation tree as the audit trail's scope: the web service's copy (shared/replica.py),
kept from organization.state by the audit consumer, answered on today's date in Vietnam as every
API answers scope."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shared import clock
from shared.replica import Org, TreeReplica

from .models import Base

REPLICA = TreeReplica(Base.metadata)


def get(session: Session, code: str) -> Org | None:
    return REPLICA.get(session, code)


def is_within(session: Session, code: str, ancestor: str) -> bool:
    """True when `code` is `ancestor` or lies below it today."""
    return REPLICA.is_within(session, code, ancestor, on=clock.today())


def subtree(code: str):
    """A SELECT of the codes of `code` and everything below it today."""
    return REPLICA.subtree(code, on=clock.today())
