"""SQL both databases understand that SQLAlchemy's core does not spell portably."""
from __future__ import annotations

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_or_ignore(session: Session, model, rows: list[dict]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING of many rows (batched into one statement by SQLAlchemy's
    "insertmanyvalues"); returns how many were new where the driver tells (else 0).
    A row that collides with a unique constraint is skipped, even against a concurrent transaction
    (PostgreSQL waits for it to commit, then skips)."""
    if not rows:
        return 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    # Parameters passed apart from the statement: its compiled form is cached across calls.
    result = session.connection().execute(insert(model).on_conflict_do_nothing(), rows)
    return max(result.rowcount, 0)
