"""SQL that differs between SQLite and PostgreSQL, written in shared/ once: insert_or_ignore
(shared/bulk.py) and the row locks of shared/db.py, on both databases."""
from __future__ import annotations

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, UniqueConstraint, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from shared.bulk import insert_or_ignore
from shared.db import Database, lock_rows, messaging_tables


class Base(DeclarativeBase):
    pass


messaging_tables(Base.metadata)


class Thing(Base):
    __tablename__ = "things"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    __table_args__ = (UniqueConstraint("code", "kind"),)


@pytest.fixture
def db(database_url):
    database = Database(database_url, Base.metadata)
    database.create_all()
    yield database
    database.dispose()


@pytest.mark.parametrize("target", [Thing, Thing.__table__], ids=["model", "table"])
def test_insert_or_ignore_counts_the_new_rows_and_skips_the_others(db, target):
    with db.transaction() as session:
        assert insert_or_ignore(session, target, [{"code": "A", "kind": "x"}, {"code": "B", "kind": "x"}]) == 2
    with db.transaction() as session:
        assert insert_or_ignore(session, target, [{"code": "A", "kind": "x"}, {"code": "C", "kind": "x"}]) == 1
        assert insert_or_ignore(session, target, []) == 0
    with db.reading() as conn:
        assert sorted(conn.execute(select(Thing.code)).scalars()) == ["A", "B", "C"]


def test_insert_or_ignore_returns_only_the_rows_it_wrote(db):
    with db.transaction() as session:
        insert_or_ignore(session, Thing, [{"code": "A", "kind": "x"}])
    with db.transaction() as session:
        rows = insert_or_ignore(session, Thing, [{"code": "A", "kind": "x"}, {"code": "B", "kind": "y"}],
                                returning=(Thing.code, Thing.kind))
        assert [tuple(r) for r in rows] == [("B", "y")]
        assert insert_or_ignore(session, Thing, [], returning=(Thing.code,)) == []


def test_row_locks_are_written_for_postgresql_only():
    table = Table("t", MetaData(), Column("a", Integer))
    query = select(table)
    pg = str(lock_rows(query, skip_locked=True, of=table).compile(dialect=postgresql.dialect()))
    assert pg.endswith("FOR UPDATE OF t SKIP LOCKED")
    assert str(lock_rows(query, shared=True).compile(dialect=postgresql.dialect())).endswith("FOR SHARE")
    # SQLite has no row locks: BEGIN IMMEDIATE (shared/db.py) already gives a writer the whole file.
    assert "FOR" not in str(lock_rows(query, skip_locked=True, of=table).compile(dialect=sqlite.dialect()))


def test_a_locking_query_runs_on_both_databases(db):
    with db.transaction() as session:
        insert_or_ignore(session, Thing, [{"code": "A", "kind": "x"}])
        assert session.execute(lock_rows(select(Thing.code), shared=True)).scalars().all() == ["A"]
        assert session.execute(lock_rows(select(Thing), skip_locked=True, of=Thing)).scalars().one().code == "A"
