"""The signed-in person of a page request, and the platform's APIs called with their token.

`pages` loads the person from the server-side session before each page (g.user); views that need
one are decorated with `login_required`. `api()` is how a page (the dashboards) calls the quota,
candidate and notification APIs: with a short-lived token the issuer signs for this person now,
so a changed scope or role applies at the next call and a closed session gets no more tokens.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, url_for

from .apiclient import ServiceClient


@dataclass(frozen=True)
class SignedIn:
    username: str
    full_name: str
    org: str
    role: str
    must_change_password: bool
    session_hash: str


def user() -> SignedIn | None:
    return g.get("user")


def safe_next(target: str | None) -> str | None:
    """A redirect target on this site only (a path), never another host."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def login_required(view):
    """Sign in first; then change a one-time password before anything else."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        person = user()
        if person is None:
            return redirect(url_for("pages.login", next=request.full_path.rstrip("?")))
        if person.must_change_password and request.endpoint != "pages.password":
            return redirect(url_for("pages.password"))
        return view(*args, **kwargs)
    return wrapper


def access_token() -> str:
    person = user()
    if person is None or person.must_change_password:
        raise PermissionError("no signed-in person with a usable account")
    return current_app.extensions["issuer"].access_token(sub=person.username, org=person.org, role=person.role)


def api() -> ServiceClient:
    """The platform's APIs with the signed-in person's token: api().get("quota", "/api/v1/...")."""
    if "api_client" not in g:
        g.api_client = ServiceClient(urls=current_app.config["CHITIEU_SETTINGS"].service_urls, token=access_token())
    return g.api_client
