"""The candidates service's HTTP API (run by gunicorn: `services.candidates.app:create_app()`)."""
from __future__ import annotations

from flask import Flask, current_app

from shared.config import Settings
from shared.db import Database
from shared.kafka import check_broker
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.web import create_app as create_service_app

from .models import Base
from .views import blueprints

SERVICE = "candidates"


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    configure_logging(service=SERVICE, level=settings.log_level)
    db = db or Database(settings.database_url, Base.metadata)
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
    return app


def current_db() -> Database:
    return current_app.extensions["db"]
