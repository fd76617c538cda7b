"""The candidates service's HTTP API (run by gunicorn: `services.candidates.app:create_app()`)."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.db import Database
from shared.logs import configure_logging
from shared.web import create_app as create_service_app
from shared.web import standard_readiness

from .models import Base
from .views import blueprints

SERVICE = "candidates"


def open_database(url: str) -> Database:
    """The service's database (shared.db hides SQL parameters from errors and logs, and the shared
    error handler never logs a driver's message: national IDs never reach the logs)."""
    return Database(url, Base.metadata)


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    configure_logging(service=SERVICE, level=settings.log_level)
    db = db or open_database(settings.database_url)
    return create_service_app(
        settings=settings,
        db=db,
        title="chitieu candidate service",
        description="Quần chúng ưu tú từ khi lập danh sách đến khi là đảng viên chính thức. / Candidates from first listing to official membership.",
        readiness=standard_readiness(settings, db, redis=False),
        blueprints=blueprints,
    )
