"""A service's copy of the organisation tree, kept from the quota service's compacted
`organization-state` topic: one record per organisation with its whole dated history.

The candidate and notification services hold the same two tables (`replica_tables`) and ask them
the same questions, on any date, with the answers the quota service gives from its own history
(services/quota/tree.py): an organisation's parent on a day is the parent record in force then;
before its first record, the first; after its last, the last.

Applying a record replaces that organisation's history, so records may arrive in any order and
any number of times, and a copy can be rebuilt from the topic at any time (`rebuild`): a consumer
whose offsets expired reads the topic from the start and ends where a rebuild would.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import (JSON, Boolean, Column, Date, Index, MetaData, String, Table, and_, cast, delete, literal,
                        or_, select)
from sqlalchemy.orm import Session

from .config import Settings
from .contracts import ORGANIZATION_STATE, InvalidEvent, parse_record
from .db import BigIntId, Database

log = logging.getLogger(__name__)
MAX_DEPTH = 50  # as the quota service: far deeper than any real tree; stops a corrupt history looping


def replica_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the replica's tables to a service's metadata."""
    organizations = Table(
        "tree_organizations", metadata,
        Column("code", String(64), primary_key=True),
        Column("type", String(40), nullable=False),
        Column("status", String(20), nullable=False),
        Column("founded_on", Date, nullable=False),
        Column("ended_on", Date, nullable=True),
        Column("merged_into", String(64), nullable=True),
        Column("name", String(300), nullable=False),  # the latest name
        Column("names", JSON, nullable=False),  # [{name, valid_from, valid_to}], ISO dates, oldest first
    )
    # One row per parent record, with the start of the next one: the record in force on a day D is
    # the one with (valid_from <= D or it is the first) and (next_from is null or next_from > D).
    parents = Table(
        "tree_parents", metadata,
        Column("id", BigIntId, primary_key=True, autoincrement=True),
        Column("code", String(64), nullable=False),
        Column("parent_code", String(64), nullable=True),
        Column("valid_from", Date, nullable=False),
        Column("next_from", Date, nullable=True),
        Column("is_first", Boolean, nullable=False),
        Index("ix_tree_parents_code", "code", "valid_from"),
        Index("ix_tree_parents_parent", "parent_code"),
    )
    return organizations, parents


@dataclass(frozen=True)
class Org:
    code: str
    type: str
    status: str
    founded_on: date
    ended_on: date | None
    merged_into: str | None
    name: str
    names: list[dict]

    @property
    def active(self) -> bool:
        return self.status == "active"

    def name_on(self, day: date) -> str:
        """The name in force on `day` (before the first record, the first)."""
        chosen = self.names[0]["name"] if self.names else self.name
        for record in self.names:
            if date.fromisoformat(record["valid_from"]) <= day:
                chosen = record["name"]
        return chosen


class TreeReplica:
    def __init__(self, metadata: MetaData):
        self.organizations = metadata.tables["tree_organizations"]
        self.parents = metadata.tables["tree_parents"]

    # --- writing ----------------------------------------------------------------------------------
    def apply(self, session: Session, data: dict[str, Any]) -> None:
        """Replace one organisation's history with an organization.state record's (validated data)."""
        code = data["code"]
        session.execute(delete(self.parents).where(self.parents.c.code == code))
        session.execute(delete(self.organizations).where(self.organizations.c.code == code))
        names = sorted(data["names"], key=lambda r: r["valid_from"])
        session.execute(self.organizations.insert().values(
            code=code, type=data["type"], status=data["status"], founded_on=data["founded_on"],
            ended_on=data["ended_on"], merged_into=data["merged_into"],
            name=names[-1]["name"] if names else code,
            names=[{"name": r["name"], "valid_from": r["valid_from"].isoformat(),
                    "valid_to": r["valid_to"].isoformat() if r["valid_to"] else None} for r in names]))
        records = sorted(data["parents"], key=lambda r: r["valid_from"])
        session.execute(self.parents.insert(), [
            dict(code=code, parent_code=r["parent_code"], valid_from=r["valid_from"],
                 next_from=records[i + 1]["valid_from"] if i + 1 < len(records) else None, is_first=i == 0)
            for i, r in enumerate(records)])

    # --- reading ----------------------------------------------------------------------------------
    def get(self, session: Session, code: str) -> Org | None:
        row = session.execute(select(self.organizations).where(self.organizations.c.code == code)).first()
        return Org(**row._mapping) if row else None

    def known(self, session: Session, codes: set[str]) -> set[str]:
        """Which of `codes` this copy has a record of."""
        o = self.organizations.c
        return set(session.scalars(select(o.code).where(o.code.in_(sorted(codes)))))

    def parent_on(self, session: Session, code: str, *, on: date) -> str | None:
        return session.execute(select(self.parents.c.parent_code).where(
            self.parents.c.code == code, self._in_force(on))).scalar()

    def _in_force(self, day: date):
        p = self.parents.c
        return and_(or_(p.valid_from <= day, p.is_first), or_(p.next_from.is_(None), p.next_from > day))

    def ancestors_of(self, session: Session, codes: set[str], *, on: date) -> dict[str, list[str]]:
        """For each of `codes`, itself and every organisation above it on `on`, nearest first
        (one recursive query for all)."""
        p = self.parents.c
        up = select(p.code.label("origin"), p.code, p.parent_code, literal(0).label("depth")).where(
            p.code.in_(sorted(codes)), self._in_force(on)).cte("up", recursive=True)
        above = self.parents.alias("above")
        a = above.c
        up = up.union_all(select(up.c.origin, a.code, a.parent_code, up.c.depth + 1).where(
            a.code == up.c.parent_code, up.c.depth < MAX_DEPTH,
            and_(or_(a.valid_from <= on, a.is_first), or_(a.next_from.is_(None), a.next_from > on))))
        chains: dict[str, list[str]] = {code: [code] for code in codes}
        for origin, parent in session.execute(select(up.c.origin, up.c.parent_code).order_by(up.c.origin,
                                                                                            up.c.depth)):
            chain = chains[origin]
            if parent is None or parent in chain:
                continue
            chain.append(parent)
        return chains

    def ancestors(self, session: Session, code: str, *, on: date) -> list[str]:
        return self.ancestors_of(session, {code}, on=on)[code]

    def is_within(self, session: Session, code: str, ancestor: str, *, on: date) -> bool:
        """True when `code` (a known organisation) is `ancestor` or lies below it on `on`."""
        if self.get(session, code) is None:
            return False
        return ancestor in self.ancestors(session, code, on=on)

    def subtree(self, code: str, *, on: date):
        """A SELECT of the codes of `code` and everything below it on `on` (a recursive query)."""
        p = self.parents.c
        # The root is a typed literal: PostgreSQL wants both halves of the recursion to agree.
        down = select(cast(literal(code), String(64)).label("code"), literal(0).label("depth")).cte(
            "down", recursive=True)
        down = down.union_all(select(p.code, down.c.depth + 1).where(
            p.parent_code == down.c.code, self._in_force(on), down.c.depth < MAX_DEPTH))
        return select(down.c.code)

    # --- rebuilding ----------------------------------------------------------------------------------
    def rebuild(self, db: Database, settings: Settings) -> int:
        """Replace the whole copy with what the compacted topic holds; returns how many organisations."""
        latest = read_states(settings)
        with db.transaction() as session:
            session.execute(delete(self.parents))
            session.execute(delete(self.organizations))
            for data in latest.values():
                self.apply(session, data)
        log.info("tree replica rebuilt", extra={"organizations": len(latest)})
        return len(latest)


def read_states(settings: Settings) -> dict[str, dict[str, Any]]:
    """The latest organization.state record of every organisation on the topic (validated data)."""
    topic = settings.topic(ORGANIZATION_STATE.topic)
    reader = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        reader.assign(partitions)
        reader.seek_to_beginning(*partitions)
        ends = reader.end_offsets(partitions)
        latest: dict[str, dict[str, Any]] = {}
        while any(reader.position(tp) < ends[tp] for tp in partitions):
            for records in reader.poll(timeout_ms=1000).values():
                for record in records:
                    try:
                        event = parse_record(record.value, record.key, record.headers)
                        data = ORGANIZATION_STATE.validate(event.data)
                    except InvalidEvent:
                        log.error("unreadable organization.state record skipped",
                                  extra={"partition": record.partition, "offset": record.offset})
                        continue
                    latest[data["code"]] = data  # later records of a key replace earlier ones
        return latest
    finally:
        reader.close()
