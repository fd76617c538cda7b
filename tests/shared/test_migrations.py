"""Each service's Alembic history builds exactly the schema its models declare, on SQLite and
PostgreSQL: a model change without its migration fails here."""
import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from shared.migrations import upgrade


@pytest.mark.parametrize("service", ["quota", "candidates", "notifications"])
def test_migrations_match_the_models(service, database_url):
    upgrade(service, database_url)
    metadata = importlib.import_module(f"services.{service}.models").Base.metadata
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    finally:
        engine.dispose()
    summary = [f"{d[0]} {getattr(d[1], 'name', '')}" if isinstance(d, tuple) else str(d) for d in diff]
    assert diff == [], (f"services/{service}/migrations lag behind models.py ({summary}); "
                        f"run: make migration SERVICE={service} MSG='...'")
