"""API clients: other systems (a province's own software) that get access tokens with the OAuth
2.0 client-credentials grant (services/web/oauth.py). An administrator registers one with a name,
an organisation scope and a role, and is shown its secret once.

The secret is 256 random bits, stored as its SHA-256: a hash this fast is safe for a secret
nobody chose (no dictionary to try), and the token endpoint stays cheap. A revoked client gets no
new token; a token it already holds stays valid until it expires (minutes: ACCESS_TOKEN_MINUTES).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.contracts import CLIENT_REGISTERED, CLIENT_REVOKED
from shared.problems import Problem

from .accounts import check_role, scope_code
from .models import ApiClient
from .publish import publish


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def register_client(session: Session, *, name: str, org: str, role: str, created_by: str) -> tuple[ApiClient, str]:
    if not (name or "").strip():
        raise Problem(422, "Unprocessable Content", "thiếu tên hệ thống / the name is missing",
                      errors={"name": ["bắt buộc / required"]})
    secret = secrets.token_urlsafe(32)
    client = ApiClient(client_id=f"ct_{secrets.token_hex(12)}", name=name.strip(), org=scope_code(org),
                       role=check_role(role), secret_hash=_hash(secret), created_by=created_by,
                       created_at=clock.now())
    session.add(client)
    session.flush()
    publish(session, event_type=CLIENT_REGISTERED, subject=client.client_id,
            data={"client_id": client.client_id, "name": client.name, "org": client.org, "role": client.role})
    return client, secret


def get_client(session: Session, client_id: str) -> ApiClient:
    client = session.execute(select(ApiClient).where(ApiClient.client_id == client_id)).scalar_one_or_none()
    if client is None:
        raise Problem(404, "Not Found", "không có hệ thống này / no such API client")
    return client


def active_client(session: Session, client_id: str) -> ApiClient | None:
    return session.execute(select(ApiClient).where(ApiClient.client_id == client_id,
                                                   ApiClient.revoked_at.is_(None))).scalar_one_or_none()


def secret_matches(client: ApiClient, secret: str) -> bool:
    return hmac.compare_digest(client.secret_hash, _hash(secret or ""))


def revoke_client(session: Session, *, client: ApiClient, revoked_by: str) -> ApiClient:
    if client.revoked_at is None:
        client.revoked_at = clock.now()
        client.revoked_by = revoked_by
        publish(session, event_type=CLIENT_REVOKED, subject=client.client_id,
                data={"client_id": client.client_id, "org": client.org})
    return client


def client_view(client: ApiClient) -> dict:
    return {"client_id": client.client_id, "name": client.name, "org": client.org, "role": client.role,
            "created_by": client.created_by, "created_at": client.created_at, "revoked_at": client.revoked_at,
            "revoked_by": client.revoked_by}
