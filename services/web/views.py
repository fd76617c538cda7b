"""The web service's API (thin: check who may act, then call accounts / clients / bulk).

People are managed by officers and administrators within their subtree, granting at most their
own role; API clients by administrators (management.py, which the administration pages call too).
The subtree is the quota service's, asked with the caller's own token.
"""
from __future__ import annotations

from flask import Response, current_app, g, url_for
from flask_smorest import Blueprint

from shared.auth import require_role
from shared.pagination import page_of
from shared.web import current_db

from . import accounts, audit, management
from .apiclient import ServiceClient
from .schemas import (AuditPage, AuditQuery, ClientCreatedOut, ClientIn, ClientOut, ImportIn, ListQuery,
                      PasswordResetOut, UserCreatedOut, UserIn, UserOut, UserPatch)

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


def _as(role: str) -> dict:
    """What every management call takes: the caller (who must have `role`), the quota API, the database."""
    return {"principal": require_role(role), "quota": _quota()}


@users_blp.route("")
@users_blp.arguments(ListQuery, location="query")
@users_blp.response(200, UserOut(many=True))
def list_users(query):
    """Tài khoản có phạm vi là tổ chức `org` (mặc định: của bạn) / Accounts whose scope is `org` (default: yours)."""
    return management.list_users(current_db(), **_as("officer"), org=query["org"])[0]


@users_blp.route("", methods=["POST"])
@users_blp.arguments(UserIn)
@users_blp.response(201, UserCreatedOut)
def create_user(body):
    """Tạo tài khoản với mật khẩu dùng một lần / Create an account with a one-time password."""
    view, otp = management.create_user(current_db(), **_as("officer"), username=body["username"],
                                       full_name=body["full_name"], org=body["org"], role=body["role"])
    return {**view, "one_time_password": otp}


@users_blp.route("/import", methods=["POST"])
@users_blp.arguments(ImportIn, location="files")
@users_blp.response(201, description="XLSX: the accounts created with their one-time passwords",
                    content_type=XLSX)
def import_users(files):
    """Tạo nhiều tài khoản từ danh sách XLSX, tất cả hoặc không / Accounts from an XLSX list, all or nothing."""
    caller = _as("officer")
    upload = files["file"]
    content = management.import_people(current_db(), **caller, content=upload.read(),
                                       filename=upload.filename or "accounts.xlsx")
    return Response(content, status=201, mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="tai-khoan.xlsx"',
                             "Cache-Control": "no-store"})


@users_blp.route("/<username>")
@users_blp.response(200, UserOut)
def get_user(username):
    """Một tài khoản / One account."""
    return management.get_user(current_db(), **_as("officer"), username=username)


@users_blp.route("/<username>", methods=["PATCH"])
@users_blp.arguments(UserPatch)
@users_blp.response(200, UserOut)
def update_user(body, username):
    """Đổi họ tên, phạm vi, vai trò; khóa (đăng xuất ngay) / Change name, scope, role; deactivate (signs out at once)."""
    return management.update_user(current_db(), **_as("officer"), username=username, changes=body)


@users_blp.route("/<username>/reset-password", methods=["POST"])
@users_blp.response(200, PasswordResetOut)
def reset_password(username):
    """Cấp lại mật khẩu dùng một lần; đăng xuất mọi phiên / A new one-time password; every session ends."""
    otp = management.reset_password(current_db(), **_as("officer"), username=username)
    return {"username": accounts.normalize_username(username), "one_time_password": otp}


@clients_blp.route("")
@clients_blp.arguments(ListQuery, location="query")
@clients_blp.response(200, ClientOut(many=True))
def list_clients(query):
    """Hệ thống kết nối có phạm vi `org` / API clients whose scope is `org` (default: yours)."""
    return management.list_clients(current_db(), **_as("admin"), org=query["org"])


@clients_blp.route("", methods=["POST"])
@clients_blp.arguments(ClientIn)
@clients_blp.response(201, ClientCreatedOut)
def register_client(body):
    """Đăng ký hệ thống; mã bí mật chỉ hiện một lần / Register a client; its secret is shown once."""
    view, secret = management.register_client(current_db(), **_as("admin"), name=body["name"], org=body["org"],
                                              role=body["role"])
    return {**view, "client_secret": secret, "token_url": url_for("oauth_token", _external=True)}


@clients_blp.route("/<client_id>/revoke", methods=["POST"])
@clients_blp.response(200, ClientOut)
def revoke_client(client_id):
    """Thu hồi: không cấp thẻ mới; thẻ đã cấp hết hạn sau vài phút / Revoke: no new tokens; issued ones expire within minutes."""
    return management.revoke_client(current_db(), **_as("admin"), client_id=client_id)


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
