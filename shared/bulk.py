"""Many rows in one statement, fast on both databases.

PostgreSQL: `INSERT ... SELECT ... FROM json_to_recordset(:rows)`: one statement and one JSON
parameter whatever the number of rows (an executemany costs a round trip per row, a multi-VALUES
statement costs psycopg a parse of thousands of placeholders, and arrays cost it a Python loop
per element; json.dumps runs in C).
SQLite: the driver's executemany, a C loop in the same process; with RETURNING or ON CONFLICT,
multi-row VALUES statements sent straight to the driver (no per-row SQLAlchemy processing).
insert_or_ignore is the plain form for a few rows of an ORM model, through SQLAlchemy.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Date, Table, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_many(session: Session, table: Table, rows: list[dict], *, returning: tuple[str, ...] = (),
                conflict: tuple[str, ...] = (), add: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
                ignore_where: str = "") -> list:
    """Insert `rows` (dicts with the same keys). With `conflict` (unique columns) and `add`, an
    existing row gets the new values added to its own (counters); with `ignore` (unique columns,
    and `ignore_where`, the predicate of a partial unique index), a row that exists is left alone.
    Returns the `returning` columns of every row written."""
    if not rows:
        return []
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    columns = list(rows[0])
    if dialect.name != "postgresql":
        if not (returning or conflict or ignore):
            # Straight to the driver: SQLAlchemy's per-row parameter processing costs more than SQLite.
            sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                   f"VALUES ({', '.join('?' for _ in columns)})")
            encoders = _sqlite_encoders(table, columns, dialect)
            session.connection().exec_driver_sql(sql, [tuple(f(row[c]) for f, c in zip(encoders, columns))
                                                       for row in rows])
            return []
        return _sqlite_insert(session, table, rows, columns, returning=returning, conflict=conflict, add=add,
                              ignore=ignore, ignore_where=ignore_where)
    types = ", ".join(f"{quote(c)} {_pg_type(table, c, dialect)}" for c in columns)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"SELECT {', '.join(quote(c) for c in columns)} FROM json_to_recordset(CAST(:rows AS json)) AS x({types})")
    if conflict:
        sets = ", ".join(f"{quote(c)} = {quote(table.name)}.{quote(c)} + EXCLUDED.{quote(c)}" for c in add)
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {sets}"
    elif ignore:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in ignore)}){_where(ignore_where)} DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    result = session.execute(text(sql), {"rows": json.dumps(rows, default=_json, ensure_ascii=False)})
    return result.all() if returning else []


def insert_or_ignore(session: Session, table_or_model, rows: list[dict], *, returning=None):
    """INSERT ... ON CONFLICT DO NOTHING of many rows (batched into one statement by SQLAlchemy's
    "insertmanyvalues"); returns how many were new, or with `returning` (columns) the rows
    actually inserted.
    A row that collides with a unique constraint is skipped, even against a concurrent transaction
    (PostgreSQL waits for it to commit, then skips)."""
    if not rows:
        return [] if returning is not None else 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Parameters passed apart from the statement: its compiled form is cached across calls.
    statement = insert(table_or_model).on_conflict_do_nothing()
    if returning is not None:
        return session.connection().execute(statement.returning(*returning), rows).all()
    # Counted from RETURNING: psycopg reports no rowcount for a batch.
    key = inspect(table_or_model).primary_key
    return len(session.connection().execute(statement.returning(*key), rows).all())


# Below SQLite's limit of 32,766 parameters per statement.
SQLITE_MAX_PARAMETERS = 32000


def _sqlite_insert(session: Session, table: Table, rows: list[dict], columns: list[str], *,
                   returning: tuple[str, ...], conflict: tuple[str, ...], add: tuple[str, ...],
                   ignore: tuple[str, ...], ignore_where: str) -> list:
    """Multi-row INSERT ... ON CONFLICT ... RETURNING straight to the driver, in chunks (what
    SQLAlchemy's executemany would send, without its per-row parameter processing); the
    returned values are converted as SQLAlchemy converts them (dates from text)."""
    dialect = session.get_bind().dialect
    quote = dialect.identifier_preparer.quote
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    tail = ""
    if conflict:
        sets = ", ".join(f"{quote(c)} = {quote(table.name)}.{quote(c)} + excluded.{quote(c)}" for c in add)
        tail = f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {sets}"
    elif ignore:
        tail = f" ON CONFLICT ({', '.join(quote(c) for c in ignore)}){_where(ignore_where)} DO NOTHING"
    if returning:
        tail += f" RETURNING {', '.join(quote(c) for c in returning)}"
    row_marks = f"({', '.join('?' for _ in columns)})"
    per_chunk = max(1, SQLITE_MAX_PARAMETERS // len(columns))
    convert = [table.c[c].type.dialect_impl(dialect).result_processor(dialect, None) for c in returning]
    encoders = _sqlite_encoders(table, columns, dialect)
    out = []
    connection = session.connection()
    for i in range(0, len(rows), per_chunk):
        chunk = rows[i:i + per_chunk]
        params = tuple(f(row[c]) for row in chunk for f, c in zip(encoders, columns))
        result = connection.exec_driver_sql(head + ", ".join([row_marks] * len(chunk)) + tail, params)
        if returning:
            out += [tuple(v if f is None else f(v) for f, v in zip(convert, row)) for row in result.fetchall()]
    return out


def _where(predicate: str) -> str:
    # The conflict target of a partial unique index repeats the index's predicate.
    return f" WHERE {predicate}" if predicate else ""


def _pg_type(table: Table, column: str, dialect) -> str:
    return table.c[column].type.compile(dialect)


def _json(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's text form
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _sqlite_encoders(table: Table, columns: list[str], dialect) -> list:
    """Per column, what turns a Python value into what SQLAlchemy stores: its type's own bind
    processor (JSON as text, datetimes in SQLAlchemy's format), or ISO text for dates (faster)."""
    encoders = []
    for column in columns:
        column_type = table.c[column].type
        processor = None if type(column_type) is Date else column_type.dialect_impl(dialect).bind_processor(dialect)
        encoders.append(processor or _sqlite)
    return encoders


def _sqlite(value):
    # As SQLAlchemy's SQLite types store them: dates as ISO text.
    return value.isoformat() if isinstance(value, date) else value
