"""Passwords of people: argon2id hashes (argon2-cffi's PasswordHasher, RFC 9106 low-memory
profile), one-time passwords for new and reset accounts, and the rules a new password follows.

Checking a password costs the same whether the account exists or not (`verify` against a dummy
hash when there is none), so the answer's timing does not tell which usernames exist.
"""
from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.problems import Problem

HASHER = PasswordHasher()  # argon2id; parameters are stored in each hash, so they can be raised later
_DUMMY_HASH = HASHER.hash(secrets.token_urlsafe(16))
MIN_LENGTH = 10
# One-time passwords are read off a sheet and typed: no 0/O, 1/l/I.
_OTP_ALPHABET = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def hash_password(password: str) -> str:
    return HASHER.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash (unknown user) it spends the same time and fails."""
    try:
        return HASHER.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """The hash was made with weaker parameters than today's: re-hash at the next sign-in."""
    return HASHER.check_needs_rehash(password_hash)


def one_time_password() -> str:
    return "".join(secrets.choice(_OTP_ALPHABET) for _ in range(14))


def check_new_password(password: str, *, username: str, current: str | None = None) -> None:
    """422 naming `new_password` unless the password is acceptable."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"Mật khẩu cần ít nhất {MIN_LENGTH} ký tự. / At least {MIN_LENGTH} characters.")
    if username and username.lower() in password.lower():
        problems.append("Mật khẩu không được chứa tên đăng nhập. / It must not contain the username.")
    if current is not None and password == current:
        problems.append("Mật khẩu mới phải khác mật khẩu cũ. / It must differ from the current one.")
    if problems:
        raise Problem(422, "Unprocessable Content", "mật khẩu mới chưa đạt yêu cầu / the new password is not acceptable",
                      errors={"new_password": problems})
