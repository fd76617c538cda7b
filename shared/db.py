"""Each service's own database: engine, sessions, and the two tables of the messaging mechanism
(the outbox and the processed-events ledger) that every service's schema includes.

SQLite is the embedded default; PostgreSQL is what docker-compose deploys. Both are tested.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import (BigInteger, Column, DateTime, Index, Integer, LargeBinary, MetaData, String, Table, Text,
                        create_engine, event, func, text)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session, sessionmaker

# An autoincrementing 64-bit key that SQLite also accepts as its rowid alias.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def make_engine(url: str) -> Engine:
    # hide_parameters: a failing statement's values (names, national IDs) never reach logs or errors.
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            # WAL lets readers go on while a writer commits; the relay and consumer share the file.
            dbapi_conn.execute("PRAGMA journal_mode=WAL")
            dbapi_conn.execute("PRAGMA busy_timeout=30000")
            dbapi_conn.execute("PRAGMA foreign_keys=ON")
            # Take the write lock at BEGIN, so two writers queue instead of failing on upgrade.
            dbapi_conn.isolation_level = None

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Readers (Database.reading) take no lock in WAL mode, so they never queue behind writers.
            conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("sqlite_readonly") else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


def lock_rows(query, *, shared: bool = False, skip_locked: bool = False, of=None):
    """`query` taking PostgreSQL's row locks on what it reads (FOR UPDATE; FOR SHARE when `shared`;
    SKIP LOCKED rows another transaction holds). SQLite has no row locks and SQLAlchemy writes none
    there: BEGIN IMMEDIATE (make_engine) already gives a writing transaction the whole database."""
    return query.with_for_update(read=shared, skip_locked=skip_locked, of=of)


def messaging_tables(metadata: MetaData) -> tuple[Table, Table]:
    """Add the outbox and processed_events tables to a service's metadata."""
    outbox = Table(
        "outbox",
        metadata,
        # The order events were written in; the relay publishes in this order.
        Column("seq", BigIntId, primary_key=True, autoincrement=True),
        Column("event_id", String(36), nullable=False, unique=True),
        Column("event_type", String(200), nullable=False),
        Column("topic", String(200), nullable=False),
        Column("key", String(200), nullable=False),
        Column("value", LargeBinary, nullable=False),  # the CloudEvent, serialized once
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        # pending → sent, or failed when Kafka can never take it (shared/relay.py); `chitieu outbox
        # retry` sets failed rows back to pending.
        Column("state", String(10), nullable=False, server_default=text("'pending'")),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column("last_error", Text, nullable=True),
        Column("sent_at", DateTime(timezone=True), nullable=True),
        # The relay reads pending rows in seq order; pruning finds sent rows; both by this index.
        Index("ix_outbox_state_seq", "state", "seq"),
    )
    processed = Table(
        "processed_events",
        metadata,
        # Written in the same transaction as the handler's effect: a redelivered event finds
        # its row and changes nothing.
        Column("consumer", String(100), primary_key=True),
        Column("event_id", String(36), primary_key=True),
        Column("topic", String(200), nullable=False),
        Column("partition", Integer, nullable=False),
        Column("offset", BigInteger, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    )
    return outbox, processed


class Database:
    """A service's engine and session factory."""

    def __init__(self, url: str, metadata: MetaData):
        self.url = url
        self.metadata = metadata
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.outbox = metadata.tables["outbox"]
        self.processed = metadata.tables["processed_events"]

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def create_all(self) -> None:
        self.metadata.create_all(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """A connection for reads only; on SQLite it does not wait for the write lock."""
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_readonly=True)
            yield conn

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
