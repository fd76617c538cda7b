"""Authentication and scope, the same for every API.

`Authorization: Bearer <JWT>`, HS256 with CHITIEU_JWT_SECRET. Claims: `sub` (who), `org` (the code
of the organisation whose subtree the caller may act on, or `*` for the whole country) and `role`:
`admin` > `officer` > `viewer` (each may do what the ones after it may). Missing or bad token: 401;
a role too low or an organisation outside the caller's subtree: 403.
Whether one organisation lies inside another's subtree is each service's knowledge of the tree,
passed in as `is_within`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import jwt
from flask import current_app, g, request

from .problems import Problem

ROLES = ("viewer", "officer", "admin")  # ascending power
ALL_ORGS = "*"


@dataclass(frozen=True)
class Principal:
    sub: str
    org: str
    role: str

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


def mint_token(*, secret: str, sub: str, org: str, role: str, ttl: timedelta = timedelta(days=30)) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    now = datetime.now(timezone.utc)
    claims = {"sub": sub, "org": org, "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(token: str, *, secret: str) -> Principal:
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], options={"require": ["sub", "org", "role", "exp"]})
    except jwt.PyJWTError as exc:
        raise Problem(401, "Unauthorized", f"invalid token: {exc}") from exc
    if claims["role"] not in ROLES:
        raise Problem(401, "Unauthorized", f"unknown role {claims['role']!r}")
    return Principal(sub=str(claims["sub"]), org=str(claims["org"]), role=claims["role"])


def current_principal() -> Principal:
    """The caller of this request (401 unless a valid bearer token was sent).

    The token comes in the `Authorization: Bearer` header; a GET may instead carry it as the
    `access_token` query parameter (RFC 6750 §2.3), because a browser's EventSource cannot send
    headers to a live stream."""
    if "principal" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if not header and request.method == "GET":
            scheme, token = "bearer", request.args.get("access_token", "")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "Unauthorized", "Chưa xác thực: gửi 'Authorization: Bearer <token>' / "
                                               "send 'Authorization: Bearer <token>'")
        g.principal = decode_token(token.strip(), secret=current_app.config["CHITIEU_SETTINGS"].jwt_secret)
    return g.principal


def require_role(role: str) -> Principal:
    principal = current_principal()
    if not principal.has_role(role):
        raise Problem(403, "Forbidden", f"this action needs the role '{role}' (you have '{principal.role}')")
    return principal


def require_scope(org_code: str, *, role: str = "viewer",
                  is_within: Callable[[str, str], bool]) -> Principal:
    """Allow the caller to act on `org_code` only if it lies in their subtree.
    `is_within(code, ancestor)` is True when `code` is `ancestor` or below it."""
    principal = require_role(role)
    if principal.org != ALL_ORGS and not is_within(org_code, principal.org):
        raise Problem(403, "Forbidden", f"organisation '{org_code}' is outside your scope '{principal.org}'")
    return principal
