"""The web service's own settings (accounts, sessions, sign-in), read once from CHITIEU_WEB_*
environment variables. The platform's `shared.config.Settings` holds what every service needs
(database, Redis, the issuer's key file). Tests pass `WebSettings(...)` directly."""
from __future__ import annotations

from dataclasses import dataclass

from shared.config import setting


def _env(name: str, default: str) -> str:
    return setting(name, default)


@dataclass(frozen=True)
class WebSettings:
    # Access tokens the web service signs (for signed-in users and API clients), in minutes.
    access_token_minutes: int = 10
    # Public keys published besides the signing key's (PEM files, comma-separated): the next key
    # before signing with it, the previous one until its last tokens expire (README: rotation).
    extra_public_keys: tuple[str, ...] = ()
    # A signed-in session ends after this many idle minutes, and in any case after max hours.
    session_idle_minutes: int = 60
    session_max_hours: int = 12
    # Secure cookies: "auto" when the request came over HTTPS (as the proxy says, see proxy_hops),
    # "1" always, "0" never (plain-HTTP local runs).
    cookie_secure: str = "auto"
    # Reverse proxies in front of the service whose X-Forwarded-* headers are trusted.
    proxy_hops: int = 0
    # Sign-in: after max_failures failed attempts for one username within lockout_minutes, that
    # username is locked out until the window ends; every address may try rate per minute.
    login_max_failures: int = 5
    login_lockout_minutes: int = 15
    login_rate_per_minute: int = 30
    # Languages of the pages, the first is the default.
    languages: tuple[str, ...] = ("vi", "en")
    # An open overview asks the APIs for its figures and new notices, an open inbox for its new
    # notices and every page's header for its unread count, this often (seconds).
    live_poll_s: int = 5

    @classmethod
    def from_env(cls) -> "WebSettings":
        extra = tuple(p.strip() for p in _env("JWT_EXTRA_PUBLIC_KEYS", "").split(",") if p.strip())
        return cls(
            access_token_minutes=int(_env("ACCESS_TOKEN_MINUTES", "10")),
            extra_public_keys=extra,
            session_idle_minutes=int(_env("WEB_SESSION_IDLE_MINUTES", "60")),
            session_max_hours=int(_env("WEB_SESSION_MAX_HOURS", "12")),
            cookie_secure=_env("WEB_COOKIE_SECURE", "auto").strip().lower(),
            proxy_hops=int(_env("WEB_PROXY_HOPS", "0")),
            login_max_failures=int(_env("WEB_LOGIN_MAX_FAILURES", "5")),
            login_lockout_minutes=int(_env("WEB_LOGIN_LOCKOUT_MINUTES", "15")),
            login_rate_per_minute=int(_env("WEB_LOGIN_RATE_PER_MINUTE", "30")),
            live_poll_s=max(1, int(_env("WEB_LIVE_POLL_S", "5"))),
        )
