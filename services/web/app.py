"""The web service (run by gunicorn: `services.web.app:create_app()`): accounts and sign-in pages,
the token issuer (JWKS, OAuth 2.0 client credentials), and its API under /api/v1."""
from __future__ import annotations

import hashlib
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.hashes import SHA256
from flask import Flask, jsonify, request, session
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

from shared.config import Settings
from shared.db import Database
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.web import create_app as create_service_app

from . import (accounts, assets, audit_page, compression, dashboard, inbox_pages, overview, pages, quota_pages, reports,
               subscription_pages, tree_page, views)
from .cookies import PreferencesCookie
from .issuer import Issuer
from .models import Base
from .oauth import init_oauth
from .settings import WebSettings

SERVICE = "web"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DASHBOARD_PAGES = (overview, tree_page, quota_pages, reports)  # their routes are on dashboard.bp


def create_app(settings: Settings | None = None, *, web_settings: WebSettings | None = None,
               db: Database | None = None, issuer: Issuer | None = None) -> Flask:
    settings = settings or Settings.from_env(SERVICE)
    web_settings = web_settings or WebSettings.from_env()
    configure_logging(service=SERVICE, level=settings.log_level)
    db = db or Database(settings.database_url, Base.metadata)
    issuer = issuer or Issuer.from_settings(settings, web_settings)
    app = create_service_app(
        settings=settings,
        db=db,
        title="chitieu web service",
        description="Tài khoản, đăng nhập và cấp thẻ truy cập / Accounts, sign-in and access tokens.",
        readiness={"database": db.ping, "redis": lambda: get_redis(settings.redis_url).ping()},
        blueprints=views.blueprints,
        keys=issuer.key_set(),  # its own API trusts exactly the keys it publishes
        proxy_hops=web_settings.proxy_hops,
    )
    app.extensions.update(issuer=issuer, web_settings=web_settings)
    app.config.update(
        SECRET_KEY=_flask_secret(issuer),
        SESSION_COOKIE_NAME="chitieu_prefs",  # the language and the CSRF token; who you are is server-side
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        WTF_CSRF_TIME_LIMIT=None,  # valid as long as the browser's session cookie
        BABEL_DEFAULT_LOCALE=web_settings.languages[0],
        BABEL_TRANSLATION_DIRECTORIES=str(TRANSLATIONS),
    )
    app.session_interface = PreferencesCookie()
    Babel(app, locale_selector=lambda: session.get("lang", web_settings.languages[0]))
    app.register_blueprint(pages.bp)
    app.register_blueprint(dashboard.bp)  # overview, tree_page, quota_pages and reports add its routes
    app.register_blueprint(audit_page.bp)
    app.register_blueprint(inbox_pages.bp)
    app.register_blueprint(subscription_pages.bp)
    app.register_blueprint(assets.bp)
    app.add_template_global(assets.asset_url)
    app.after_request(compression.compress_page)

    init_oauth(app, db=db, issuer=issuer)

    @app.route("/.well-known/jwks.json")
    def jwks():
        response = jsonify(issuer.jwks())
        response.headers["Cache-Control"] = "public, max-age=300"
        return response

    csrf = CSRFProtect(app)
    for bp in views.blueprints:  # bearer-token APIs: no cookie is accepted there, so no CSRF
        csrf.exempt(bp)
    csrf.exempt(app.view_functions["oauth_token"])
    _limit(app, settings, web_settings)
    return app


def _limit(app: Flask, settings: Settings, web: WebSettings) -> Limiter:
    """Flask-Limiter on Redis: sign-in attempts per address, failed sign-ins per username (a
    lock-out that answers the same for unknown usernames), token requests per address."""
    limiter = Limiter(key_func=get_remote_address, app=app, storage_uri=settings.redis_url,
                      key_prefix=settings.redis_key("limits"), strategy="fixed-window")

    def username_key() -> str:
        name = accounts.normalize_username(request.form.get("username", ""))
        return "user:" + hashlib.sha256(name.encode()).hexdigest()[:32]

    login = app.view_functions["pages.login"]
    login = limiter.limit(f"{web.login_rate_per_minute} per minute", methods=["POST"])(login)
    login = limiter.limit(f"{web.login_max_failures} per {web.login_lockout_minutes} minutes", methods=["POST"],
                          key_func=username_key, deduct_when=lambda response: response.status_code == 401)(login)
    app.view_functions["pages.login"] = login
    token = app.view_functions["oauth_token"]
    app.view_functions["oauth_token"] = limiter.limit(f"{web.login_rate_per_minute} per minute")(token)
    for name in ("health", "users", "clients", "audit"):
        limiter.exempt(app.blueprints[name])
    return limiter


def _flask_secret(issuer: Issuer) -> bytes:
    """The key of the signed preferences cookie, derived from the issuer's private key, so every
    worker has the same one and there is no other secret to deploy."""
    raw = issuer.signing_key.private_key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                                        serialization.NoEncryption())
    return HKDF(algorithm=SHA256(), length=32, salt=None, info=b"chitieu web: flask session").derive(raw)

