"""Many rows in one statement, fast on both databases.

PostgreSQL: `INSERT ... SELECT * FROM unnest(<one array per column>)`: one statement, one
parameter per column, whatever the number of rows (an executemany costs a round trip per row, and
a multi-VALUES statement costs psycopg a parse of thousands of placeholders).
SQLite: the driver's executemany, a C loop in the same process.
"""
from __future__ import annotations

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
    arrays = ", ".join(f"CAST(:a{i} AS {table.c[c].type.compile(dialect)}[])" for i, c in enumerate(columns))
    sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
           f"SELECT * FROM unnest({arrays})")
    if conflict:
        sets = ", ".join(f"{quote(c)} = {quote(table.name)}.{quote(c)} + EXCLUDED.{quote(c)}" for c in add)
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {sets}"
    elif ignore:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in ignore)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(quote(c) for c in returning)}"
    params = {f"a{i}": [row[c] for row in rows] for i, c in enumerate(columns)}
    result = session.execute(text(sql), params)
    return result.all() if returning else []


def _sqlite(value):
    # As SQLAlchemy's SQLite types store them: dates as ISO text.
    return value.isoformat() if isinstance(value, date) else value
