"""Delivery settings from the environment (unit tests)."""
from services.notifications.settings import BUILTIN_TEMPLATES, DeliverySettings


def test_environment_sets_backoff_smtp_and_templates(monkeypatch, tmp_path):
    monkeypatch.setenv("CHITIEU_NOTIFY_BACKOFF_S", "2")
    monkeypatch.setenv("CHITIEU_NOTIFY_BACKOFF_MAX_S", "10")
    monkeypatch.setenv("CHITIEU_NOTIFY_MAX_ATTEMPTS", "4")
    monkeypatch.setenv("CHITIEU_SMTP_HOST", "mail.tinhuy.example.vn")
    monkeypatch.setenv("CHITIEU_SMTP_PORT", "587")
    monkeypatch.setenv("CHITIEU_SMTP_STARTTLS", "true")
    monkeypatch.setenv("CHITIEU_TEMPLATES_DIR", str(tmp_path))
    settings = DeliverySettings.from_env()
    assert [settings.backoff(n) for n in (1, 2, 3, 4, 5)] == [2, 4, 8, 10, 10]
    assert settings.max_attempts == 4
    assert (settings.smtp_host, settings.smtp_port, settings.smtp_starttls, settings.smtp_ssl) == (
        "mail.tinhuy.example.vn", 587, True, False)
    assert settings.template_dirs == [tmp_path, BUILTIN_TEMPLATES]


def test_defaults_use_the_builtin_templates_only(monkeypatch):
    monkeypatch.delenv("CHITIEU_TEMPLATES_DIR", raising=False)
    assert DeliverySettings.from_env().template_dirs == [BUILTIN_TEMPLATES]
