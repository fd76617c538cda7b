"""Many rows in one statement, fast on both databases.

PostgreSQL: `INSERT ... SELECT ... FROM json_to_recordset(:rows)`: one statement and one JSON
parameter whatever the number of rows (an executemany costs a round trip per row, a multi-VALUES
statement costs psycopg a parse of thousands of placeholders, and arrays cost it a Python loop
per element; json.dumps runs in C).
SQLite: the driver's executemany, a C loop in the same process.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import Table, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def insert_many(session: Session, table: Table, rows: list[dict], *, returning: tuple[str, ...] = (),
                conflict: tuple[str, ...] = (), add: tuple[str, ...] = (), ignore: tuple[str, ...] = ()) -> list:
    """Insert `rows` (dicts with the same keys). With `conflict` (unique columns) and `add`, an
    existing row gets the new values added to its own (counters); with `ignore` (unique columns),
    a row that exists is left alone. Returns the `returning` columns of every row written."""
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
            session.connection().exec_driver_sql(sql, [tuple(_sqlite(row[c]) for c in columns) for row in rows])
            return []
        stmt = sqlite_insert(table)
        if conflict:
            stmt = stmt.on_conflict_do_update(index_elements=list(conflict),
                                              set_={c: table.c[c] + stmt.excluded[c] for c in add})
        elif ignore:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(ignore))
        if returning:
            return session.execute(stmt.returning(*[table.c[c] for c in returning]), rows).all()
        session.execute(stmt, rows)
        return []
    types = ", ".join(f"{quote(c)} {_pg_type(table, c, dialect)}" for c in columns)
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"SELECT {', '.join(quote(c) for c in columns)} FROM json_to_recordset(CAST(:rows AS json)) AS x({types})")
    if conflict:
        sets = ", ".join(f"{quote(c)} = {quote(table.name)}.{quote(c)} + EXCLUDED.{quote(c)}" for c in add)
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {sets}"
    elif ignore:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in ignore)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    result = session.execute(text(sql), {"rows": json.dumps(rows, default=_json, ensure_ascii=False)})
    return result.all() if returning else []


def _pg_type(table: Table, column: str, dialect) -> str:
    return table.c[column].type.compile(dialect)


def _json(value):
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "\\x" + value.hex()  # bytea's text form
    raise TypeError(f"cannot send {type(value).__name__} as JSON")


def _sqlite(value):
    # As SQLAlchemy's SQLite types store them: dates as ISO text.
    return value.isoformat() if isinstance(value, date) else value
