"""Settings of delivery (backoff, SMTP, templates), read once from CHITIEU_* environment variables.

The platform's `shared.config.Settings` holds what every service needs; these are the
notification service's own knobs. Tests shorten the backoff through `DeliverySettings(...)`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from shared.config import setting

BUILTIN_TEMPLATES = Path(__file__).resolve().parent / "templates"


def _env(name: str, default: str) -> str:
    return setting(name, default)


def _flag(name: str) -> bool:
    return _env(name, "0").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class DeliverySettings:
    # Webhook and e-mail retries: attempt n waits initial * 2**(n-1) seconds, at most max, and
    # after max_attempts failed attempts in a row the notice is marked failed (kept for resend).
    backoff_initial_s: float = 30.0
    backoff_max_s: float = 3600.0
    max_attempts: int = 8
    webhook_timeout_s: float = 10.0
    # A claimed notice is not claimed again by another worker for this long (a crashed worker's
    # claims expire and another worker retries them).
    claim_lease_s: float = 120.0
    poll_interval_s: float = 0.5
    batch_size: int = 50
    senders: int = 8  # notices sent in parallel by one worker
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = "chitieu <no-reply@chitieu.local>"
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout_s: float = 15.0
    # An administrator's own templates; a file missing there falls back to the built-in one.
    templates_dir: str = ""

    def backoff(self, attempt: int) -> float:
        return min(self.backoff_initial_s * (2 ** max(attempt - 1, 0)), self.backoff_max_s)

    @property
    def template_dirs(self) -> list[Path]:
        dirs = [Path(self.templates_dir)] if self.templates_dir else []
        return dirs + [BUILTIN_TEMPLATES]

    @classmethod
    def from_env(cls) -> "DeliverySettings":
        return cls(
            backoff_initial_s=float(_env("NOTIFY_BACKOFF_S", "30")),
            backoff_max_s=float(_env("NOTIFY_BACKOFF_MAX_S", "3600")),
            max_attempts=int(_env("NOTIFY_MAX_ATTEMPTS", "8")),
            webhook_timeout_s=float(_env("WEBHOOK_TIMEOUT_S", "10")),
            claim_lease_s=float(_env("NOTIFY_CLAIM_LEASE_S", "120")),
            poll_interval_s=float(_env("NOTIFY_POLL_S", "0.5")),
            batch_size=int(_env("NOTIFY_BATCH", "50")),
            senders=int(_env("NOTIFY_SENDERS", "8")),
            smtp_host=_env("SMTP_HOST", "127.0.0.1"),
            smtp_port=int(_env("SMTP_PORT", "25")),
            smtp_user=_env("SMTP_USER", ""),
            smtp_password=_env("SMTP_PASSWORD", ""),
            smtp_from=_env("SMTP_FROM", "chitieu <no-reply@chitieu.local>"),
            smtp_starttls=_flag("SMTP_STARTTLS"),
            smtp_ssl=_flag("SMTP_SSL"),
            smtp_timeout_s=float(_env("SMTP_TIMEOUT_S", "15")),
            templates_dir=_env("TEMPLATES_DIR", ""),
        )
