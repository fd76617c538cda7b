"""The web service's cookies: HttpOnly and SameSite=Lax always; Secure when the request came over
HTTPS (CHITIEU_WEB_COOKIE_SECURE=auto, the default), always (1) or never (0)."""
from __future__ import annotations

from flask import current_app, request
from flask.sessions import SecureCookieSessionInterface

SESSION_COOKIE = "chitieu_session"  # the server-side session's token (services/web/sessions.py)


def cookie_secure() -> bool:
    mode = current_app.extensions["web_settings"].cookie_secure
    return request.is_secure if mode == "auto" else mode in ("1", "true", "yes", "on")


def set_session_cookie(response, token: str | None) -> None:
    """Set the session's cookie, or delete it (token None)."""
    if token is None:
        response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="Lax", secure=cookie_secure())
    else:
        max_age = current_app.extensions["web_settings"].session_max_hours * 3600
        response.set_cookie(SESSION_COOKIE, token, max_age=max_age, httponly=True, samesite="Lax",
                            secure=cookie_secure(), path="/")


class PreferencesCookie(SecureCookieSessionInterface):
    """Flask's signed cookie (the language and the CSRF token), Secure like the session's."""

    def get_cookie_secure(self, app) -> bool:
        return cookie_secure()
