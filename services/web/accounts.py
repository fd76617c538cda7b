"""Accounts of people: create, change, deactivate, reset, sign in, change one's password.

Who may do it (subtree, roles) is checked by the caller (views, pages: services/web/scope.py);
these functions apply the change and revoke sessions where it must take effect at once.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import clock
from shared.auth import ALL_ORGS, ROLES
from shared.codes import normalize_code
from shared.contracts import USER_CHANGED, USER_CREATED, USER_PASSWORD_CHANGED, USER_PASSWORD_RESET
from shared.problems import Problem

from . import passwords, sessions
from .models import User
from .publish import publish

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,63}$")


def normalize_username(username: str) -> str:
    return (username or "").strip().lower()


def check_username(username: str) -> str:
    name = normalize_username(username)
    if not USERNAME.match(name):
        raise Problem(422, "Unprocessable Content", "tên đăng nhập không hợp lệ / invalid username",
                      errors={"username": ["3–64 ký tự: chữ không dấu, số, '.', '_' hoặc '-' / "
                                           "3-64 characters: letters without diacritics, digits, '.', '_' or '-'"]})
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise Problem(422, "Unprocessable Content", "vai trò không hợp lệ / invalid role",
                      errors={"role": [f"một trong / one of {', '.join(ROLES)}"]})
    return role


def scope_code(org: str) -> str:
    org = (org or "").strip()
    return org if org == ALL_ORGS else normalize_code(org)


def create_user(session: Session, *, username: str, full_name: str, org: str, role: str,
                created_by: str) -> tuple[User, str]:
    """A new active account with a one-time password, to be changed at the first sign-in."""
    name = check_username(username)
    if not (full_name or "").strip():
        raise Problem(422, "Unprocessable Content", "thiếu họ và tên / the full name is missing",
                      errors={"full_name": ["bắt buộc / required"]})
    otp = passwords.one_time_password()
    now = clock.now()
    user = User(username=name, full_name=full_name.strip(), org=scope_code(org), role=check_role(role), active=True,
                password_hash=passwords.hash_password(otp), must_change_password=True, created_by=created_by,
                created_at=now, updated_at=now)
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:
        raise username_taken(name) from exc
    publish(session, event_type=USER_CREATED, subject=user.username,
            data={"username": user.username, "org": user.org, "role": user.role})
    return user, otp


def username_taken(name: str) -> Problem:
    return Problem(409, "Conflict", f"tên đăng nhập '{name}' đã có / the username '{name}' is taken",
                   errors={"username": ["đã có / taken"]})


def find_user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == normalize_username(username))).scalar_one_or_none()


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise Problem(404, "Not Found", "không có tài khoản này / no such account")
    return user


def update_user(session: Session, *, user: User, full_name: str | None = None, org: str | None = None,
                role: str | None = None, active: bool | None = None) -> User:
    """Change the name, scope, role or active flag; deactivation signs the person out at once.
    A new scope or role applies at once too: the session's tokens are minted from this row."""
    before = {"full_name": user.full_name, "org": user.org, "role": user.role, "active": user.active}
    if full_name is not None:
        user.full_name = full_name.strip() or user.full_name
    if org is not None:
        user.org = scope_code(org)
    if role is not None:
        user.role = check_role(role)
    if active is not None:
        user.active = active
        if not active:
            sessions.revoke_all(session, user_id=user.id)
    user.updated_at = clock.now()
    changed = [name for name, value in before.items() if getattr(user, name) != value]
    if changed:  # a request that changes nothing leaves no trace
        publish(session, event_type=USER_CHANGED, subject=user.username,
                data={"username": user.username, "org": user.org, "role": user.role, "active": user.active,
                      "changed": changed, "previous_org": before["org"]})
    return user


def reset_password(session: Session, *, user: User) -> str:
    """A new one-time password; every session of the account ends."""
    otp = passwords.one_time_password()
    user.password_hash = passwords.hash_password(otp)
    user.must_change_password = True
    user.updated_at = clock.now()
    sessions.revoke_all(session, user_id=user.id)
    publish(session, event_type=USER_PASSWORD_RESET, subject=user.username,
            data={"username": user.username, "org": user.org})
    return otp


def authenticate(session: Session, *, username: str, password: str) -> User | None:
    """The active account with this username and password, or None: the same answer, after the
    same work, for an unknown username, a wrong password and a deactivated account."""
    user = find_user(session, username)
    ok = passwords.verify(user.password_hash if user else None, password)
    if not ok or user is None or not user.active:
        return None
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    return user


def change_password(session: Session, *, user: User, current: str, new: str, keep_token_hash: str | None) -> None:
    """The person's own change: the current password proves it; every other session ends."""
    if not passwords.verify(user.password_hash, current):
        raise Problem(422, "Unprocessable Content", "mật khẩu hiện tại không đúng / the current password is wrong",
                      errors={"current_password": ["không đúng / wrong"]})
    passwords.check_new_password(new, username=user.username, current=current)
    user.password_hash = passwords.hash_password(new)
    user.must_change_password = False
    user.password_changed_at = user.updated_at = clock.now()
    sessions.revoke_all(session, user_id=user.id, except_token_hash=keep_token_hash)
    publish(session, event_type=USER_PASSWORD_CHANGED, subject=user.username,
            data={"username": user.username, "org": user.org})


def user_view(user: User) -> dict:
    return {"username": user.username, "full_name": user.full_name, "org": user.org, "role": user.role,
            "active": user.active, "must_change_password": user.must_change_password,
            "created_by": user.created_by, "created_at": user.created_at, "updated_at": user.updated_at}
