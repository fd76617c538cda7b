"""Settings from files: any CHITIEU_X may be given as CHITIEU_X_FILE (docker-compose secrets), and
the database password is put into a database URL that has none."""
from __future__ import annotations

import pytest

from shared.config import Settings, SettingError, database_url, setting
from services.notifications.settings import DeliverySettings
from services.web.settings import WebSettings


@pytest.fixture
def secret(tmp_path):
    def write(name: str, content: str):
        path = tmp_path / name
        path.write_text(content, encoding="utf-8")
        return str(path)
    return write


def test_the_variable_or_the_default_when_no_file_is_named(monkeypatch):
    monkeypatch.delenv("CHITIEU_SOMETHING", raising=False)
    monkeypatch.delenv("CHITIEU_SOMETHING_FILE", raising=False)
    assert setting("SOMETHING", "fallback") == "fallback"
    monkeypatch.setenv("CHITIEU_SOMETHING", "direct")
    assert setting("SOMETHING", "fallback") == "direct"


def test_the_file_content_without_its_trailing_newline(monkeypatch, secret):
    monkeypatch.setenv("CHITIEU_SOMETHING_FILE", secret("one", "mật khẩu với dấu\n"))
    assert setting("SOMETHING", "fallback") == "mật khẩu với dấu"
    # Only the one newline an editor or `echo` adds: inner and leading spaces are the value's.
    monkeypatch.setenv("CHITIEU_SOMETHING_FILE", secret("two", "  a b \r\n"))
    assert setting("SOMETHING", "") == "  a b "
    monkeypatch.setenv("CHITIEU_SOMETHING_FILE", secret("empty", ""))
    assert setting("SOMETHING", "fallback") == ""


def test_both_the_variable_and_the_file_is_refused(monkeypatch, secret):
    monkeypatch.setenv("CHITIEU_SOMETHING", "direct")
    monkeypatch.setenv("CHITIEU_SOMETHING_FILE", secret("one", "from file"))
    with pytest.raises(SettingError, match="CHITIEU_SOMETHING and CHITIEU_SOMETHING_FILE"):
        setting("SOMETHING", "")


def test_a_missing_file_stops_the_process_naming_the_setting(monkeypatch, tmp_path):
    monkeypatch.setenv("CHITIEU_SOMETHING_FILE", str(tmp_path / "absent"))
    with pytest.raises(SettingError, match="CHITIEU_SOMETHING_FILE: cannot read .*absent"):
        setting("SOMETHING", "")


def test_every_settings_class_reads_files(monkeypatch, secret):
    """The rule is the one reader every settings class uses, not a copy per class."""
    monkeypatch.setenv("CHITIEU_SMTP_PASSWORD_FILE", secret("smtp", "smtp-secret\n"))
    monkeypatch.setenv("CHITIEU_NAMESPACE_FILE", secret("ns", "from-file"))
    monkeypatch.setenv("CHITIEU_ACCESS_TOKEN_MINUTES_FILE", secret("minutes", "7"))
    monkeypatch.delenv("CHITIEU_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("CHITIEU_NAMESPACE", raising=False)
    monkeypatch.delenv("CHITIEU_ACCESS_TOKEN_MINUTES", raising=False)
    assert DeliverySettings.from_env().smtp_password == "smtp-secret"
    assert Settings.from_env("quota").namespace == "from-file"
    assert WebSettings.from_env().access_token_minutes == 7


def test_the_database_password_goes_into_a_url_without_one(monkeypatch, secret):
    monkeypatch.delenv("CHITIEU_DATABASE_PASSWORD", raising=False)
    monkeypatch.setenv("CHITIEU_QUOTA_DATABASE_URL", "postgresql+psycopg://chitieu@postgres:5432/chitieu_quota")
    monkeypatch.setenv("CHITIEU_DATABASE_PASSWORD_FILE", secret("pg", "p@ss:/word\n"))
    # Quoted in the URL, so a password with @ : / still reaches the driver unchanged.
    url = database_url("quota")
    assert url == "postgresql+psycopg://chitieu:p%40ss%3A%2Fword@postgres:5432/chitieu_quota"
    from sqlalchemy.engine import make_url
    assert make_url(url).password == "p@ss:/word"
    assert Settings.from_env("quota").database_url == url


def test_a_url_with_its_own_password_and_a_password_setting_is_refused(monkeypatch):
    monkeypatch.setenv("CHITIEU_QUOTA_DATABASE_URL", "postgresql+psycopg://chitieu:old@postgres/chitieu_quota")
    monkeypatch.setenv("CHITIEU_DATABASE_PASSWORD", "new")
    with pytest.raises(SettingError, match="CHITIEU_QUOTA_DATABASE_URL holds a password"):
        database_url("quota")


def test_no_password_setting_leaves_the_url_and_sqlite_ignores_it(monkeypatch):
    monkeypatch.delenv("CHITIEU_DATABASE_PASSWORD", raising=False)
    monkeypatch.delenv("CHITIEU_DATABASE_PASSWORD_FILE", raising=False)
    monkeypatch.setenv("CHITIEU_QUOTA_DATABASE_URL", "postgresql+psycopg://chitieu:old@postgres/chitieu_quota")
    assert database_url("quota") == "postgresql+psycopg://chitieu:old@postgres/chitieu_quota"
    monkeypatch.setenv("CHITIEU_QUOTA_DATABASE_URL", "sqlite:////tmp/q.db")
    monkeypatch.setenv("CHITIEU_DATABASE_PASSWORD", "unused")
    assert database_url("quota") == "sqlite:////tmp/q.db"
