"""Signed-in sessions, kept server-side: the browser's cookie holds a random token, the database
its SHA-256 with the user and the expiry. Every request looks it up, so deleting the rows signs
the person out at once (no wait for a cookie to expire)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from shared import clock

from .models import User, WebSession
from .settings import WebSettings

TOUCH_EVERY = timedelta(minutes=1)  # last_seen_at is written at most this often


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, *, user: User, settings: WebSettings) -> str:
    """A new session for the user; returns the cookie's token (never stored)."""
    token = secrets.token_urlsafe(32)
    now = clock.now()
    session.add(WebSession(token_hash=token_hash(token), user_id=user.id, created_at=now, last_seen_at=now,
                           expires_at=now + timedelta(hours=settings.session_max_hours)))
    return token


def resolve(session: Session, *, token: str, settings: WebSettings) -> tuple[WebSession, User] | None:
    """The live session of this cookie and its active user, or None (and the row is gone)."""
    if not token:
        return None
    row = session.execute(select(WebSession, User).join(User, User.id == WebSession.user_id)
                          .where(WebSession.token_hash == token_hash(token))).one_or_none()
    if row is None:
        return None
    web_session, user = row
    now = clock.now()
    idle_limit = _aware(web_session.last_seen_at) + timedelta(minutes=settings.session_idle_minutes)
    if not user.active or now >= _aware(web_session.expires_at) or now >= idle_limit:
        session.delete(web_session)
        return None
    if now - _aware(web_session.last_seen_at) >= TOUCH_EVERY:
        web_session.last_seen_at = now
    return web_session, user


def close(session: Session, *, token: str) -> None:
    session.execute(delete(WebSession).where(WebSession.token_hash == token_hash(token)))


def revoke_all(session: Session, *, user_id: int, except_token_hash: str | None = None) -> None:
    query = delete(WebSession).where(WebSession.user_id == user_id)
    if except_token_hash:
        query = query.where(WebSession.token_hash != except_token_hash)
    session.execute(query)


def _aware(moment):
    # SQLite gives back naive datetimes for timezone-aware columns; they were written in UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
