"""The candidates service's HTTP API (run by gunicorn: `services.candidates.app:create_app()`)."""
from __future__ import annotations

import logging

from flask import Flask, current_app, request
from sqlalchemy.exc import DBAPIError, OperationalError

from shared.config import Settings
from shared.db import Database
from shared.kafka import check_broker
from shared.logs import configure_logging
from shared.problems import problem_response
from shared.redis_client import get_redis
from shared.web import create_app as create_service_app

from .models import Base
from .views import blueprints

SERVICE = "candidates"
log = logging.getLogger("chitieu.candidates")


def open_database(url: str) -> Database:
    """The service's database. SQL parameters are left out of database errors: they would carry
    national ID numbers into the logs."""
    db = Database(url, Base.metadata)
    db.engine.hide_parameters = True
    return db


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    configure_logging(service=SERVICE, level=settings.log_level)
    db = db or open_database(settings.database_url)
    app = create_service_app(
        settings=settings,
        title="chitieu candidate service",
        description="Quần chúng ưu tú từ khi lập danh sách đến khi là đảng viên chính thức. / Candidates from first listing to official membership.",
        readiness={
            "database": db.ping,
            "kafka": lambda: check_broker(settings),
            "redis": lambda: get_redis(settings.redis_url).ping(),
        },
        blueprints=blueprints,
    )
    app.extensions["db"] = db

    @app.errorhandler(DBAPIError)
    def _database_error(exc: DBAPIError):
        # PostgreSQL's own message may quote the failing row ("Failing row contains (...)"), national
        # ID included: log the kind of error only, never its text.
        log.error("database error", extra={"path": request.path, "error": type(exc.orig).__name__,
                                           "sqlstate": getattr(exc.orig, "sqlstate", None)})
        if isinstance(exc, OperationalError):
            return problem_response(503, "Service Unavailable", "the database does not answer; retry later")
        return problem_response(500, "Internal Server Error", "an unexpected error occurred; it was logged")

    return app


def current_db() -> Database:
    return current_app.extensions["db"]
