"""The progress counters: per (organisation, period) sums of the ledger, the truth Redis copies.

Two ways in: `add` (the ledger's writers: the consumer's apply, a term's back-fill) and `read_locked`
(the Redis projection, rebuild, reconcile), which reads rows under a share lock so that no writer
can change them until the reader's transaction ends (see projection.py for why). Both touch rows
in the same order, code point order of (org_code, period), so they never deadlock.
"""
from __future__ import annotations

import json
from typing import Iterable

from sqlalchemy import Select, select, text, tuple_
from sqlalchemy.orm import Session

from shared.bulk import insert_many

from .models import ATTRIBUTES, ProgressCounter

FIELDS = ("admitted",) + ATTRIBUTES
Key = tuple[str, str]  # (org_code, period)
Figures = dict[str, int]
CHUNK = 400  # keys per IN list


def add(session: Session, totals: dict[Key, Figures]) -> dict[Key, int]:
    """Add `totals` to the counters, one upsert in key order (replicas lock rows in the same
    order); returns each counter's admitted after the addition."""
    rows = insert_many(session, ProgressCounter.__table__,
                       [{"org_code": org, "period": period, **{f: totals[(org, period)].get(f, 0) for f in FIELDS}}
                        for org, period in sorted(totals)],
                       conflict=("org_code", "period"), add=FIELDS, returning=("org_code", "period", "admitted"))
    return {(org, period): admitted for org, period, admitted in rows}


def _ordered(session: Session, query: Select) -> Select:
    """`query` ordered by (org_code, period) in code point order, the order `add` locks in (Python's
    sort); PostgreSQL's default collation may sort otherwise, "C" does not."""
    return query.order_by(_c(session, ProgressCounter.org_code), _c(session, ProgressCounter.period))


def _c(session: Session, column):
    return column.collate("C") if session.get_bind().dialect.name == "postgresql" else column


def _columns():
    return (ProgressCounter.org_code, ProgressCounter.period, *[getattr(ProgressCounter, f) for f in FIELDS])


def read_locked(session: Session, keys: Iterable[Key]) -> dict[Key, Figures]:
    """The counters of `keys` (those that exist), share-locked until the transaction ends
    (PostgreSQL: FOR SHARE; SQLite: the write lock every transaction takes at BEGIN)."""
    wanted = sorted(set(keys))
    out: dict[Key, Figures] = {}
    if not wanted:
        return out
    if session.get_bind().dialect.name == "postgresql":
        # A join with the keys as one JSON parameter: an index lookup per key (a row-value IN list
        # of hundreds of keys is planned as a scan).
        names = ", ".join(f"c.{f}" for f in FIELDS)
        rows = session.execute(text(
            f"SELECT c.org_code, c.period, {names} FROM progress_counters c "
            "JOIN json_to_recordset(CAST(:keys AS json)) AS k(org_code text, period text) "
            "ON c.org_code = k.org_code AND c.period = k.period "
            'ORDER BY c.org_code COLLATE "C", c.period COLLATE "C" FOR SHARE OF c'),
            {"keys": json.dumps([{"org_code": o, "period": p} for o, p in wanted])})
        return {(org, period): dict(zip(FIELDS, values)) for org, period, *values in rows}
    for i in range(0, len(wanted), CHUNK):
        query = _ordered(session, select(*_columns()).where(
            tuple_(ProgressCounter.org_code, ProgressCounter.period).in_(wanted[i:i + CHUNK])))
        for org, period, *values in session.execute(query.with_for_update(read=True)):
            out[(org, period)] = dict(zip(FIELDS, values))
    return out


def page_locked(session: Session, *, after: Key | None, size: int) -> tuple[dict[Key, Figures], Key | None]:
    """The next `size` counters after `after`, share-locked, and where the next page starts (a
    walk over every counter in short transactions: rebuild, reconcile). The walk follows the
    primary key's own order (an index scan); the rows are then locked in `add`'s order."""
    org, period = ProgressCounter.org_code, ProgressCounter.period
    query = select(org, period)
    if after is not None:
        query = query.where((org > after[0]) | ((org == after[0]) & (period > after[1])))
    keys = [tuple(k) for k in session.execute(query.order_by(org, period).limit(size))]
    return read_locked(session, keys), (keys[-1] if keys else None)


def existing(session: Session, keys: Iterable[Key]) -> set[Key]:
    wanted = sorted(set(keys))
    out: set[Key] = set()
    if wanted and session.get_bind().dialect.name == "postgresql":
        # As read_locked: a join with the keys as one JSON parameter (an IN list of pairs is a scan).
        rows = session.execute(text(
            "SELECT c.org_code, c.period FROM progress_counters c "
            "JOIN json_to_recordset(CAST(:keys AS json)) AS k(org_code text, period text) "
            "ON c.org_code = k.org_code AND c.period = k.period"),
            {"keys": json.dumps([{"org_code": o, "period": p} for o, p in wanted])})
        return {tuple(r) for r in rows}
    for i in range(0, len(wanted), CHUNK):
        out.update(tuple(r) for r in session.execute(select(ProgressCounter.org_code, ProgressCounter.period).where(
            tuple_(ProgressCounter.org_code, ProgressCounter.period).in_(wanted[i:i + CHUNK]))))
    return out

