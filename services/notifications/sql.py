"""SQL both databases understand that SQLAlchemy's core does not spell portably."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model, rows: list[dict], *, returning=None):
    """INSERT ... ON CONFLICT DO NOTHING of many rows (batched into one statement by SQLAlchemy's
    "insertmanyvalues"); returns how many were new where the driver tells (else 0), or with
    `returning` (columns) the rows actually inserted.
    A row that collides with a unique constraint is skipped, even against a concurrent transaction
    (PostgreSQL waits for it to commit, then skips)."""
    if not rows:
        return [] if returning is not None else 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Parameters passed apart from the statement: its compiled form is cached across calls.
    statement = insert(model).on_conflict_do_nothing()
    if returning is not None:
        return session.connection().execute(statement.returning(*returning), rows).all()
    return max(session.connection().execute(statement, rows).rowcount, 0)
