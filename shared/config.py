"""Settings, read only from CHITIEU_* environment variables, with defaults for a local run.

Every process reads its settings once at start (`Settings.from_env`). Each service has its own
database URL (`CHITIEU_QUOTA_DATABASE_URL`, ...) because services never share a database.
Any setting CHITIEU_X may instead be given as CHITIEU_X_FILE, the path of a file holding the value
(docker-compose secrets), so that passwords never sit in a container's environment (`setting`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
# The issuer's signing key (the web service, `chitieu token`) and where verifiers read the public
# keys: the local stack writes the key on first start (scripts/run.sh); docker-compose mounts it.
DEFAULT_PRIVATE_KEY_FILE = str(ROOT / ".stack" / "keys" / "jwt-ed25519.pem")
DEFAULT_JWKS = "http://127.0.0.1:8000/.well-known/jwks.json"


class SettingError(RuntimeError):
    """A setting that cannot be read: the process stops at start, saying which and why."""


def setting(name: str, default: str) -> str:
    """CHITIEU_<name> from the environment, or the content of the file named by CHITIEU_<name>_FILE
    (one trailing newline dropped, as `echo` and editors leave one). Both set is refused rather
    than guessed: an administrator who moves a value into a file and forgets the old variable
    would otherwise run with whichever one we happened to prefer."""
    key = f"CHITIEU_{name}"
    value = os.environ.get(key)
    path = os.environ.get(f"{key}_FILE")
    if not path:
        return default if value is None else value
    if value is not None:
        raise SettingError(f"{key} and {key}_FILE are both set; keep one")
    try:
        content = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingError(f"{key}_FILE: cannot read {path} ({exc.__class__.__name__})") from None
    return content.removesuffix("\n").removesuffix("\r")


def _env(name: str, default: str) -> str:
    return setting(name, default)


def default_database_url(service: str) -> str:
    data = Path(_env("DATA_DIR", str(ROOT / ".stack" / "data")))
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / service}.db"


def database_url(service: str) -> str:
    """The service's database URL. CHITIEU_DATABASE_PASSWORD (in practice CHITIEU_DATABASE_PASSWORD_FILE,
    a compose secret) is put into a URL that has no password: the URL (host, database, user) is
    configuration anyone may read in `docker inspect`, the password alone is the secret."""
    url = _env(f"{service.upper()}_DATABASE_URL", "") or default_database_url(service)
    password = _env("DATABASE_PASSWORD", "")
    if not password:
        return url
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return url
    if parsed.password is not None:
        raise SettingError(f"CHITIEU_{service.upper()}_DATABASE_URL holds a password and "
                           "CHITIEU_DATABASE_PASSWORD is set too; keep one")
    return parsed.set(password=password).render_as_string(hide_password=False)


@dataclass(frozen=True)
class Settings:
    service: str
    database_url: str
    kafka_bootstrap: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Where the APIs read the issuer's public keys (a JWK Set URL or file) and, for the issuer
    # only, its private key file (shared/keys.py).
    jwks: str = DEFAULT_JWKS
    jwt_private_key_file: str = DEFAULT_PRIVATE_KEY_FILE
    # Names every topic, consumer group and Redis key; tests give each test its own, so nothing mixes.
    namespace: str = "chitieu"
    log_level: str = "INFO"
    # Base URLs of the other services' public HTTP APIs (for demo loading and integration).
    service_urls: dict[str, str] = field(default_factory=dict)
    # Request bodies above these sizes are refused (413) from their headers, before being read:
    # JSON bodies, and multipart uploads (CSV/XLSX imports).
    max_json_bytes: int = 2 * 1024 * 1024
    max_upload_bytes: int = 20 * 1024 * 1024
    # Pruning (shared/retention.py), in days: sent outbox rows; processed-event records, which must
    # outlive the Kafka topics' retention (CHITIEU_TOPIC_RETENTION_DAYS, 14) so a redelivered event is still
    # recognised; the candidate service's stored Idempotency-Key answers.
    outbox_retention_days: int = 7
    processed_retention_days: int = 30
    idempotency_retention_days: int = 7
    # A consumer stops (without committing past the record) when more than this share of its last
    # `dead_letter_window` records would go to the dead-letter topic: bad code, not bad data.
    dead_letter_window: int = 100
    dead_letter_max_share: float = 0.2
    # The quota service's reconciler compares the Redis figures with the database counters this
    # often (seconds; 0: never).
    reconcile_interval_s: float = 3600
    # An idle outbox relay looks for new rows this often (seconds). Two relays lie between an
    # admission and its notice, so half of this, twice, is in every notice's latency.
    relay_idle_s: float = 0.05
    # Reverse proxies in front of an API whose X-Forwarded-For/-Proto/-Host/-Prefix are trusted:
    # 1 behind the compose file's Caddy, which serves each API under a path prefix (/quota).
    proxy_hops: int = 0

    @classmethod
    def from_env(cls, service: str) -> "Settings":
        return cls(
            service=service,
            database_url=database_url(service),
            kafka_bootstrap=_env("KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            redis_url=_env("REDIS_URL", "redis://127.0.0.1:6379/0"),
            jwks=_env("JWKS", DEFAULT_JWKS),
            jwt_private_key_file=_env("JWT_PRIVATE_KEY_FILE", DEFAULT_PRIVATE_KEY_FILE),
            namespace=_env("NAMESPACE", "chitieu"),
            log_level=_env("LOG_LEVEL", "INFO"),
            max_json_bytes=int(_env("MAX_JSON_BYTES", str(2 * 1024 * 1024))),
            max_upload_bytes=int(_env("MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
            outbox_retention_days=int(_env("OUTBOX_RETENTION_DAYS", "7")),
            processed_retention_days=int(_env("PROCESSED_RETENTION_DAYS", "30")),
            idempotency_retention_days=int(_env("IDEMPOTENCY_RETENTION_DAYS", "7")),
            dead_letter_window=int(_env("DEAD_LETTER_WINDOW", "100")),
            dead_letter_max_share=float(_env("DEAD_LETTER_MAX_SHARE", "0.2")),
            reconcile_interval_s=float(_env("RECONCILE_INTERVAL_S", "3600")),
            relay_idle_s=float(_env("RELAY_IDLE_S", "0.05")),
            proxy_hops=int(_env("PROXY_HOPS", "0")),
            service_urls={
                "quota": _env("QUOTA_URL", "http://127.0.0.1:8001"),
                "candidates": _env("CANDIDATES_URL", "http://127.0.0.1:8002"),
                "notifications": _env("NOTIFICATIONS_URL", "http://127.0.0.1:8003"),
                "web": _env("WEB_URL", "http://127.0.0.1:8000"),
            },
        )

    def topic(self, name: str) -> str:
        """The real Kafka topic of a logical topic name from the contract: chitieu.candidates."""
        return f"{self.namespace}.{name}"

    def group(self, name: str) -> str:
        """The Kafka consumer group of a consumer: chitieu.quota-progress."""
        return f"{self.namespace}.{name}"

    def redis_key(self, *parts: str) -> str:
        """A Redis key in this namespace: chitieu:progress:TH:2024."""
        return ":".join((self.namespace, *parts))
