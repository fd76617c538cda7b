"""The web service's API (thin: check who may act, then call accounts / clients / bulk).

People are managed by officers and administrators within their subtree, granting at most their
own role (services/web/scope.py); API clients by administrators. The subtree is the quota
service's, asked with the caller's own token.
"""
from __future__ import annotations

from flask import Response, current_app, g, url_for
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import ALL_ORGS, Principal, require_role
from shared.pagination import page_of
from shared.web import current_db

from . import accounts, audit, bulk, clients
from .apiclient import ServiceClient
from .models import ApiClient, User
from .schemas import (AuditPage, AuditQuery, ClientCreatedOut, ClientIn, ClientOut, ImportIn, ListQuery,
                      PasswordResetOut, UserCreatedOut, UserIn, UserOut, UserPatch)
from .scope import require_may_manage, require_org_in_scope, require_role_at_most_own

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

users_blp = Blueprint("users", __name__, url_prefix="/users",
                      description="Tài khoản người dùng / Accounts of people (officer or admin, within the subtree)")
clients_blp = Blueprint("clients", __name__, url_prefix="/clients",
                        description="Hệ thống kết nối (OAuth 2.0 client credentials) / API clients (admin)")
audit_blp = Blueprint("audit", __name__, url_prefix="/audit",
                      description="Nhật ký: ai đã làm gì, khi nào, ở tổ chức nào / The audit trail (officer or admin)")



def _quota() -> ServiceClient:
    """The quota API, asked with the caller's own token."""
    return ServiceClient(urls=current_app.config["CHITIEU_SETTINGS"].service_urls, token=g.bearer_token)


def _listed_org(principal: Principal, org: str | None) -> str | None:
    org = accounts.scope_code(org) if org else (None if principal.org == ALL_ORGS else principal.org)
    if org is not None:
        require_org_in_scope(org=org, principal=principal, quota=_quota())
    return org


@users_blp.route("")
@users_blp.arguments(ListQuery, location="query")
@users_blp.response(200, UserOut(many=True))
def list_users(query):
    """Tài khoản có phạm vi là tổ chức `org` (mặc định: của bạn) / Accounts whose scope is `org` (default: yours)."""
    principal = require_role("officer")
    org = _listed_org(principal, query["org"])
    with current_db().transaction() as session:
        stmt = select(User).order_by(User.username)
        if org is not None:
            stmt = stmt.where(User.org == org)
        return [accounts.user_view(u) for u in session.scalars(stmt)]


@users_blp.route("", methods=["POST"])
@users_blp.arguments(UserIn)
@users_blp.response(201, UserCreatedOut)
def create_user(body):
    """Tạo tài khoản với mật khẩu dùng một lần / Create an account with a one-time password."""
    principal = require_role("officer")
    require_role_at_most_own(role=body["role"], principal=principal)
    require_org_in_scope(org=accounts.scope_code(body["org"]), principal=principal, quota=_quota())
    with current_db().transaction() as session:
        user, otp = accounts.create_user(session, username=body["username"], full_name=body["full_name"],
                                         org=body["org"], role=body["role"], created_by=principal.sub)
        return {**accounts.user_view(user), "one_time_password": otp}


@users_blp.route("/import", methods=["POST"])
@users_blp.arguments(ImportIn, location="files")
@users_blp.response(201, description="XLSX: the accounts created with their one-time passwords",
                    content_type=XLSX)
def import_users(files):
    """Tạo nhiều tài khoản từ danh sách XLSX, tất cả hoặc không / Accounts from an XLSX list, all or nothing."""
    principal = require_role("officer")
    upload = files["file"]
    people = bulk.read_people(upload.read(), upload.filename or "accounts.xlsx")
    quota = _quota()
    bulk.check_people(people, principal=principal,
                      org_check=lambda org: require_org_in_scope(org=org, principal=principal, quota=quota))
    with current_db().transaction() as session:
        created = bulk.create_people(session, people=people, created_by=principal.sub)
        content = bulk.answer_workbook(created)
    return Response(content, status=201, mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="tai-khoan.xlsx"',
                             "Cache-Control": "no-store"})


def _managed_user(session, username: str, principal: Principal) -> User:
    user = accounts.get_user(session, username)
    require_may_manage(org=user.org, role=user.role, principal=principal, quota=_quota())
    return user


@users_blp.route("/<username>")
@users_blp.response(200, UserOut)
def get_user(username):
    """Một tài khoản / One account."""
    principal = require_role("officer")
    with current_db().transaction() as session:
        return accounts.user_view(_managed_user(session, username, principal))


@users_blp.route("/<username>", methods=["PATCH"])
@users_blp.arguments(UserPatch)
@users_blp.response(200, UserOut)
def update_user(body, username):
    """Đổi họ tên, phạm vi, vai trò; khóa (đăng xuất ngay) / Change name, scope, role; deactivate (signs out at once)."""
    principal = require_role("officer")
    if "role" in body:
        require_role_at_most_own(role=body["role"], principal=principal)
    if "org" in body:
        require_org_in_scope(org=accounts.scope_code(body["org"]), principal=principal, quota=_quota())
    with current_db().transaction() as session:
        user = _managed_user(session, username, principal)
        return accounts.user_view(accounts.update_user(session, user=user, **body))


@users_blp.route("/<username>/reset-password", methods=["POST"])
@users_blp.response(200, PasswordResetOut)
def reset_password(username):
    """Cấp lại mật khẩu dùng một lần; đăng xuất mọi phiên / A new one-time password; every session ends."""
    principal = require_role("officer")
    with current_db().transaction() as session:
        user = _managed_user(session, username, principal)
        return {"username": user.username, "one_time_password": accounts.reset_password(session, user=user)}


@clients_blp.route("")
@clients_blp.arguments(ListQuery, location="query")
@clients_blp.response(200, ClientOut(many=True))
def list_clients(query):
    """Hệ thống kết nối có phạm vi `org` / API clients whose scope is `org` (default: yours)."""
    principal = require_role("admin")
    org = _listed_org(principal, query["org"])
    with current_db().transaction() as session:
        stmt = select(ApiClient).order_by(ApiClient.created_at)
        if org is not None:
            stmt = stmt.where(ApiClient.org == org)
        return [clients.client_view(c) for c in session.scalars(stmt)]


@clients_blp.route("", methods=["POST"])
@clients_blp.arguments(ClientIn)
@clients_blp.response(201, ClientCreatedOut)
def register_client(body):
    """Đăng ký hệ thống; mã bí mật chỉ hiện một lần / Register a client; its secret is shown once."""
    principal = require_role("admin")
    require_role_at_most_own(role=body["role"], principal=principal)
    require_org_in_scope(org=accounts.scope_code(body["org"]), principal=principal, quota=_quota())
    with current_db().transaction() as session:
        client, secret = clients.register_client(session, name=body["name"], org=body["org"], role=body["role"],
                                                 created_by=principal.sub)
        return {**clients.client_view(client), "client_secret": secret,
                "token_url": url_for("oauth_token", _external=True)}


@clients_blp.route("/<client_id>/revoke", methods=["POST"])
@clients_blp.response(200, ClientOut)
def revoke_client(client_id):
    """Thu hồi: không cấp thẻ mới; thẻ đã cấp hết hạn sau vài phút / Revoke: no new tokens; issued ones expire within minutes."""
    principal = require_role("admin")
    with current_db().transaction() as session:
        client = clients.get_client(session, client_id)
        require_may_manage(org=client.org, role=client.role, principal=principal, quota=_quota())
        return clients.client_view(clients.revoke_client(session, client=client, revoked_by=principal.sub))


@audit_blp.route("")
@audit_blp.arguments(AuditQuery, location="query")
@audit_blp.response(200, AuditPage)
def list_audit(query):
    """Ai đã làm gì, khi nào, ở tổ chức nào, mới nhất trước / Who did what, when, on which organisation, newest first.

    Scoped to `org`'s subtree (default: yours), which must lie in yours; filters by actor, kind
    (an event name or its family) and dates (Vietnam, both included); pages as every list."""
    principal = require_role("officer")
    with current_db().transaction() as session:
        items, total = audit.page(session, principal=principal, query=audit.Query(**query))
        return page_of([audit.entry_view(e) for e in items], total=total, query=query)


blueprints = [users_blp, clients_blp, audit_blp]
