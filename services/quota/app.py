"""The quota service's HTTP API (run by gunicorn: `services.quota.app:create_app()`)."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings
from shared.db import Database
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.web import create_app as create_service_app
from shared.web import standard_readiness

from . import answers
from .models import Base
from .projection import ProgressStore
from .views import blueprints

SERVICE = "quota"


def create_app(settings: Settings | None = None, *, db: Database | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    configure_logging(service=SERVICE, level=settings.log_level)
    db = db or Database(settings.database_url, Base.metadata)
    answers.follow_changes(db, ProgressStore(get_redis(settings.redis_url), settings))
    return create_service_app(
        settings=settings,
        db=db,
        title="chitieu quota service",
        description="Cây tổ chức đảng, chỉ tiêu kết nạp đảng viên và tiến độ theo thời gian thực. / The organisation tree, admission quotas and real-time progress.",
        readiness=standard_readiness(settings, db),
        blueprints=blueprints,
    )
