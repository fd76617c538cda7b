"""Authentication and scope, the same for every API.

`Authorization: Bearer <JWT>`, signed by the issuer (the web service) with its Ed25519 key (EdDSA,
with a `kid`) and verified here with the public keys only (shared/keys.py, CHITIEU_JWKS): HS256 and
tokens signed by any other key are refused. Claims: `sub` (who), `org` (the code of the organisation
whose subtree the caller may act on, or `*` for the whole country) and `role`: `admin` > `officer` >
`viewer` (each may do what the ones after it may). Missing or bad token: 401; a role too low or an
organisation outside the caller's subtree: 403.
Whether one organisation lies inside another's subtree is each service's knowledge of the tree,
passed in as `is_within`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Callable

import jwt
from flask import current_app, g, request

from .keys import ALGORITHM, KeySet, KeysUnavailable, SigningKey
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


ACCESS_TOKEN_TTL = timedelta(minutes=10)


def mint_token(*, key: SigningKey, sub: str, org: str, role: str, ttl: timedelta = ACCESS_TOKEN_TTL) -> str:
    """An access token signed with the issuer's private key (only the issuer holds one)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    now = datetime.now(timezone.utc)
    claims = {"sub": sub, "org": org, "role": role, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


# Tokens already verified in this process: token -> (principal, exp, kid, the key that verified it).
# Every request of a signed-in page or a provincial system carries the same token for minutes; its
# signature and claims are checked once, and a hit still needs the same key object from the key set
# (a rotated or withdrawn key misses) and an unexpired `exp`.
_VERIFIED: dict[str, tuple[Principal, float, str, object]] = {}
VERIFIED_MAX = 10_000  # emptied when full: a cache, not a session store


def decode_token(token: str, *, keys: KeySet) -> Principal:
    """The principal of a token signed by one of the issuer's published keys; 401 otherwise."""
    hit = _VERIFIED.get(token)
    if hit is not None and hit[1] > time.time():
        try:
            if keys.key(hit[2]) is hit[3]:
                return hit[0]
        except KeysUnavailable:
            pass  # the full check below answers 503
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM or not isinstance(header.get("kid"), str):
            raise jwt.InvalidAlgorithmError("only EdDSA tokens with a kid are accepted")
        try:
            key = keys.key(header["kid"])
        except KeysUnavailable as exc:
            raise Problem(503, "Service Unavailable",
                          "Không đọc được khóa công khai của máy chủ cấp thẻ; hãy thử lại sau / "
                          "the token issuer's public keys cannot be read; retry later") from exc
        if key is None:
            raise jwt.InvalidKeyError("signed by an unknown key")
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "org", "role", "exp"]})
    except jwt.PyJWTError as exc:
        raise Problem(401, "Unauthorized", f"invalid token: {exc}") from exc
    if claims["role"] not in ROLES:
        raise Problem(401, "Unauthorized", f"unknown role {claims['role']!r}")
    principal = Principal(sub=str(claims["sub"]), org=str(claims["org"]), role=claims["role"])
    if len(_VERIFIED) >= VERIFIED_MAX:
        _VERIFIED.clear()
    _VERIFIED[token] = (principal, float(claims["exp"]), header["kid"], key)
    return principal


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
        g.principal = decode_token(token.strip(), keys=current_app.extensions["chitieu_keys"])
        g.bearer_token = token.strip()  # for calls to the other APIs on the caller's behalf
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
