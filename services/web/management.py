"""Managing accounts and API clients on behalf of a caller: who may do what (scope.py: the caller's
subtree asked of the quota API with the caller's own token, roles), then the change (accounts.py,
clients.py, bulk.py). The API (views.py) and the administration pages (admin_users.py,
admin_clients.py) both call these, so a page refuses exactly what the API refuses.

The quota API is asked before a transaction opens: no database transaction waits on HTTP.
"""
from __future__ import annotations

from sqlalchemy import func, or_, select

from shared.auth import ALL_ORGS, Principal
from shared.db import Database
from shared.problems import Problem

from . import accounts, bulk, clients
from .apiclient import ServiceClient
from .models import ApiClient, User
from .scope import require_may_manage, require_org_in_scope, require_role_at_most_own


def need(principal: Principal, role: str) -> Principal:
    if not principal.has_role(role):
        raise Problem(403, "Forbidden", f"cần vai trò '{role}' (bạn có '{principal.role}') / "
                                        f"this action needs the role '{role}' (you have '{principal.role}')")
    return principal


def listed_org(*, principal: Principal, quota: ServiceClient, org: str | None) -> str | None:
    """The organisation whose accounts or clients are listed: `org` if in the caller's subtree,
    by default the caller's own (None: a country-wide caller's whole list)."""
    org = accounts.scope_code(org) if org else (None if principal.org == ALL_ORGS else principal.org)
    if org is not None:
        require_org_in_scope(org=org, principal=principal, quota=quota)
    return org


def list_users(db: Database, *, principal: Principal, quota: ServiceClient, org: str | None,
               q: str | None = None, offset: int = 0, limit: int | None = None) -> tuple[list[dict], int]:
    """Accounts whose scope is `org` (default: the caller's), by username; `q`: a part of the
    username or of the full name. Without `limit`, every one (total -1)."""
    need(principal, "officer")
    org = listed_org(principal=principal, quota=quota, org=org)
    with db.transaction() as session:
        stmt = select(User)
        if org is not None:
            stmt = stmt.where(User.org == org)
        if q:
            stmt = stmt.where(or_(User.username.contains(accounts.normalize_username(q), autoescape=True),
                                  func.lower(User.full_name).contains(q.strip().lower(), autoescape=True)))
        if limit is None:
            return [accounts.user_view(u) for u in session.scalars(stmt.order_by(User.username))], -1
        total = session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = session.scalars(stmt.order_by(User.username).offset(offset).limit(limit))
        return [accounts.user_view(u) for u in rows], total


def create_user(db: Database, *, principal: Principal, quota: ServiceClient, username: str, full_name: str,
                org: str, role: str) -> tuple[dict, str]:
    """A new account and its one-time password (shown once, never kept in clear)."""
    need(principal, "officer")
    require_role_at_most_own(role=role, principal=principal)
    require_org_in_scope(org=accounts.scope_code(org), principal=principal, quota=quota)
    with db.transaction() as session:
        user, otp = accounts.create_user(session, username=username, full_name=full_name, org=org, role=role,
                                         created_by=principal.sub)
        return accounts.user_view(user), otp


def import_people(db: Database, *, principal: Principal, quota: ServiceClient, content: bytes,
                  filename: str) -> bytes:
    """Accounts from an XLSX or CSV list, all or nothing; the answer XLSX with one-time passwords."""
    need(principal, "officer")
    people = bulk.read_people(content, filename)
    bulk.check_people(people, principal=principal,
                      org_check=lambda org: require_org_in_scope(org=org, principal=principal, quota=quota))
    with db.transaction() as session:
        return bulk.answer_workbook(bulk.create_people(session, people=people, created_by=principal.sub))


def _managed_user(session, *, principal: Principal, quota: ServiceClient, username: str) -> User:
    user = accounts.get_user(session, username)
    require_may_manage(org=user.org, role=user.role, principal=principal, quota=quota)
    return user


def get_user(db: Database, *, principal: Principal, quota: ServiceClient, username: str) -> dict:
    need(principal, "officer")
    with db.transaction() as session:
        return accounts.user_view(_managed_user(session, principal=principal, quota=quota, username=username))


def update_user(db: Database, *, principal: Principal, quota: ServiceClient, username: str,
                changes: dict) -> dict:
    """Change the name, scope, role or active flag (a deactivation signs the person out at once)."""
    need(principal, "officer")
    if "role" in changes:
        require_role_at_most_own(role=changes["role"], principal=principal)
    if "org" in changes:
        require_org_in_scope(org=accounts.scope_code(changes["org"]), principal=principal, quota=quota)
    with db.transaction() as session:
        user = _managed_user(session, principal=principal, quota=quota, username=username)
        return accounts.user_view(accounts.update_user(session, user=user, **changes))


def reset_password(db: Database, *, principal: Principal, quota: ServiceClient, username: str) -> str:
    """A new one-time password (shown once); every session of the account ends."""
    need(principal, "officer")
    with db.transaction() as session:
        user = _managed_user(session, principal=principal, quota=quota, username=username)
        return accounts.reset_password(session, user=user)


def list_clients(db: Database, *, principal: Principal, quota: ServiceClient, org: str | None) -> list[dict]:
    need(principal, "admin")
    org = listed_org(principal=principal, quota=quota, org=org)
    with db.transaction() as session:
        stmt = select(ApiClient).order_by(ApiClient.created_at)
        if org is not None:
            stmt = stmt.where(ApiClient.org == org)
        return [clients.client_view(c) for c in session.scalars(stmt)]


def register_client(db: Database, *, principal: Principal, quota: ServiceClient, name: str, org: str,
                    role: str) -> tuple[dict, str]:
    """A new API client and its secret (shown once; only its hash is kept)."""
    need(principal, "admin")
    require_role_at_most_own(role=role, principal=principal)
    require_org_in_scope(org=accounts.scope_code(org), principal=principal, quota=quota)
    with db.transaction() as session:
        client, secret = clients.register_client(session, name=name, org=org, role=role, created_by=principal.sub)
        return clients.client_view(client), secret


def revoke_client(db: Database, *, principal: Principal, quota: ServiceClient, client_id: str) -> dict:
    need(principal, "admin")
    with db.transaction() as session:
        client = clients.get_client(session, client_id)
        require_may_manage(org=client.org, role=client.role, principal=principal, quota=quota)
        return clients.client_view(clients.revoke_client(session, client=client, revoked_by=principal.sub))
