"""National ID numbers never reach the logs, even through a database error: SQLAlchemy's parameters
are hidden, and PostgreSQL's own message (which may quote the failing row) is not logged."""
import logging

import pytest
from sqlalchemy.exc import IntegrityError

from services.candidates.models import Candidate

NATIONAL_ID = "038200123456"


def failing_insert(db):
    with db.transaction() as session:
        # full_name and the other required columns are missing: NOT NULL violation.
        session.execute(Candidate.__table__.insert(), [{"id": "c-1", "national_id": NATIONAL_ID}])


def test_database_errors_hide_their_parameters(db):
    with pytest.raises(IntegrityError) as info:
        failing_insert(db)
    assert "hidden due to hide_parameters" in str(info.value)


def test_a_database_error_in_a_request_logs_no_personal_data(app, db, caplog):
    @app.route("/boom")
    def boom():
        failing_insert(db)

    with caplog.at_level(logging.DEBUG):
        resp = app.test_client().get("/boom")
    assert resp.status_code == 500 and NATIONAL_ID not in resp.get_data(as_text=True)
    formatter = logging.Formatter()
    logged = " ".join(f"{r.getMessage()} {r.__dict__} {formatter.formatException(r.exc_info) if r.exc_info else ''}"
                      for r in caplog.records)
    assert NATIONAL_ID not in logged
    assert any(r.getMessage() == "database error" for r in caplog.records)
