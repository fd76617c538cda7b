"""The web service's Alembic history builds its models' schema (SQLite, PostgreSQL), and its
texts: every Vietnamese message has its English translation, compiled (.mo) from the .po."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import create_engine

from services.web.app import TRANSLATIONS
from services.web.models import Base
from shared.config import ROOT
from shared.migrations import upgrade

PO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.po"
MO = TRANSLATIONS / "en" / "LC_MESSAGES" / "messages.mo"


def test_migrations_match_the_models(database_url):
    upgrade("web", database_url)
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "services/web/migrations lag behind models.py: make migration SERVICE=web MSG='...'"


def test_every_message_has_its_english_and_the_mo_is_compiled():
    with PO.open("rb") as f:
        catalog = read_po(f)
    translated = {m.id: m.string for m in catalog if m.id}
    method_map = [("**.py", "python"), ("**/templates/**.html", "jinja2")]
    used = {msg[2] if isinstance(msg[2], str) else msg[2][0]
            for msg in extract_from_dir(str(ROOT / "services" / "web"), method_map,
                                        keywords={"_": None, "_l": None, "gettext": None, "lazy_gettext": None})}
    missing = sorted(m for m in used if not translated.get(m))
    assert not missing, f"no English for {missing}: pybabel extract/update, translate, pybabel compile (README)"
    with MO.open("rb") as f:
        compiled = {m.id: m.string for m in read_mo(f) if m.id}
    assert compiled == translated, "messages.mo is older than messages.po: run pybabel compile (README)"
