"""Database migrations with Alembic, one history per service (services/<name>/migrations).

    python -m shared.migrations upgrade quota          # to the newest revision
    python -m shared.migrations revision quota "add x"  # autogenerate from the models

The database URL is the service's CHITIEU_<SERVICE>_DATABASE_URL.
"""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

from alembic import command
from alembic.config import Config

from .config import ROOT, Settings


def alembic_config(service: str, database_url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(ROOT / "services" / service / "migrations"))
    cfg.set_main_option("sqlalchemy.url", database_url or Settings.from_env(service).database_url)
    cfg.attributes["service"] = service
    return cfg


def target_metadata(service: str):
    return importlib.import_module(f"services.{service}.models").Base.metadata


def upgrade(service: str, database_url: str | None = None) -> None:
    command.upgrade(alembic_config(service, database_url), "head")


def run_env(context) -> None:
    """Body of every service's migrations/env.py."""
    from sqlalchemy import engine_from_config, pool

    cfg = context.config
    service = cfg.attributes.get("service") or Path(cfg.get_main_option("script_location")).parent.name
    metadata = target_metadata(service)
    connectable = cfg.attributes.get("connection")
    if connectable is None:
        engine = engine_from_config(cfg.get_section(cfg.config_ini_section, {}), prefix="sqlalchemy.",
                                    poolclass=pool.NullPool)
        with engine.connect() as connection:
            _migrate(context, connection, metadata)
    else:
        _migrate(context, connectable, metadata)


def _migrate(context, connection, metadata) -> None:
    # render_as_batch: SQLite cannot ALTER most things; batch mode rebuilds the table instead.
    context.configure(connection=connection, target_metadata=metadata, render_as_batch=True,
                      compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def main(argv: list[str]) -> None:
    action, service = argv[0], argv[1]
    if action == "upgrade":
        upgrade(service)
    elif action == "revision":
        command.revision(alembic_config(service), message=argv[2], autogenerate=True)
    else:
        raise SystemExit("usage: python -m shared.migrations upgrade|revision SERVICE [MESSAGE]")


if __name__ == "__main__":
    main(sys.argv[1:])
