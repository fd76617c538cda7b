"""Accounts of the subtree (/admin/users): the list of one organisation's accounts (default: one's
own; paged, searched by username or name) with links down the tree, create (the one-time password
shown once), bulk creation from an XLSX list (the answer XLSX downloaded at once), and one
account's page: deactivate / activate, reset the password (shown once), change the scope and role.

Every change goes through management.py, as the API's, so the same rules refuse the same things;
a refusal is shown next to the field it names.
"""
from __future__ import annotations

from flask import Response, flash, redirect, request, url_for
from flask_babel import gettext as _

from shared.auth import ALL_ORGS, ROLES
from shared.pagination import MAX_PAGE
from shared.problems import Problem
from shared.web import current_db

from . import management
from .admin import FormRefused, bp, form_values, load, page, refusal_errors, require
from .apiclient import path_part
from .current import api, login_required
from .formatting import number
from .labels import ROLE_LABELS, role_label
from .schemas import UserIn, UserPatch

PAGE_SIZE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _roles(up_to: str) -> list[tuple[str, str]]:
    """The roles the caller may grant (at most its own)."""
    return [(r, str(ROLE_LABELS[r])) for r in ROLES[:ROLES.index(up_to) + 1]]


def _page_number() -> int:
    raw = (request.args.get("page") or "1").strip()
    return int(raw) if raw.isdigit() and 1 <= int(raw) <= MAX_PAGE else 1


def _children(org: str | None) -> list[dict]:
    """The organisations directly under `org` (one page), to reach their accounts."""
    if not org or org == ALL_ORGS:
        return []
    try:
        return api().get("quota", f"/api/v1/organizations/{path_part(org)}/children",
                         params={"per_page": 100}).get("items", [])
    except Problem:
        return []


@bp.route("/users", methods=["GET"])
@login_required
def users():
    return _users_page()


def _users_page(*, errors: dict | None = None, values: dict | None = None, created: dict | None = None,
                status: int = 200):
    caller = require("officer")
    org = (request.args.get("org") or "").strip()[:64] or None
    q = (request.args.get("q") or "").strip()[:100] or None
    number_ = _page_number()
    listing_errors: dict = {}
    try:
        items, total = management.list_users(current_db(), principal=caller, quota=api(), org=org, q=q,
                                             offset=(number_ - 1) * PAGE_SIZE, limit=PAGE_SIZE)
    except Problem as problem:
        if problem.status not in (403, 422):
            raise
        items, total, listing_errors = [], 0, refusal_errors(problem, default_field="org")
    shown = org or (None if caller.org == ALL_ORGS else caller.org)
    args = {k: v for k, v in (("org", org), ("q", q)) if v}
    return page("admin/users.html", active="admin.users", status=status,
                users=[{**u, "role_text": role_label(u["role"])} for u in items],
                total=number(total), org=shown, q=q or "", listing_errors=listing_errors,
                children=[] if listing_errors else _children(shown),
                newer=url_for("admin.users", page=number_ - 1, **args) if number_ > 1 else None,
                older=url_for("admin.users", page=number_ + 1, **args) if number_ * PAGE_SIZE < total else None,
                roles=_roles(caller.role), errors=errors or {},
                values=values or {"org": shown or "", "role": "officer"},
                created=created)


@bp.route("/users", methods=["POST"])
@login_required
def create_user():
    caller = require("officer")
    values: dict = {}
    try:
        values = form_values("username", "full_name", "org", "role")
        body = load(UserIn(), values)
        view, otp = management.create_user(current_db(), principal=caller, quota=api(), **body)
    except FormRefused as refused:
        return _users_page(errors=refused.errors, values=values, status=422)
    except Problem as problem:
        if problem.status >= 500:
            raise
        return _users_page(errors=refusal_errors(problem, default_field="username"), values=values,
                           status=problem.status)
    # The one-time password is in this answer only: never kept in clear, never in a redirect.
    response = _users_page(created={"username": view["username"], "full_name": view["full_name"],
                                    "org": view["org"], "password": otp}, status=201)
    return response[0], 201, {"Cache-Control": "no-store"}


@bp.route("/users/import", methods=["POST"])
@login_required
def import_users():
    caller = require("officer")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _users_page(errors={"file": [_("Hãy chọn tệp XLSX / choose an XLSX file")]}, status=422)
    try:
        content = management.import_people(current_db(), principal=caller, quota=api(), content=upload.read(),
                                           filename=upload.filename)
    except Problem as problem:
        if problem.status >= 500:
            raise
        return _users_page(errors={"file": _import_report(problem)}, status=problem.status)
    return Response(content, status=201, mimetype=XLSX,
                    headers={"Content-Disposition": 'attachment; filename="tai-khoan.xlsx"',
                             "Cache-Control": "no-store"})


def _import_report(problem: Problem) -> list[str]:
    """A refused list's messages, one per row (bulk.py: errors.rows = [{line, errors: {field: [..]}}]),
    or per cell of a spreadsheet that could not be read."""
    messages = [problem.detail or problem.title]
    for cell in (problem.cells or [])[:50]:
        messages.append(f"{_('Dòng')} {cell.get('row')}, {cell.get('header') or cell.get('field')}: "
                        f"{'; '.join(map(str, cell.get('messages', [])))}")
    for field, value in (problem.errors or {}).items():
        if field == "rows" and isinstance(value, list):
            for row in value[:50]:
                found = "; ".join(f"{name}: {', '.join(map(str, texts))}" for name, texts in row.get("errors", {}).items())
                messages.append(f"{_('Dòng')} {row.get('line')}: {found}")
        elif not problem.cells:
            messages.append(f"{field}: {'; '.join(map(str, value if isinstance(value, list) else [value]))}")
    return messages


@bp.route("/users/<username>", methods=["GET"])
@login_required
def user_page(username: str):
    return _user_page(username)


def _user_page(username: str, *, errors: dict | None = None, password: str | None = None, status: int = 200):
    caller = require("officer")
    account = management.get_user(current_db(), principal=caller, quota=api(), username=username)
    return page("admin/user.html", active="admin.users", status=status, account=account,
                role_text=role_label(account["role"]), roles=_roles(caller.role), errors=errors or {},
                password=password)


@bp.route("/users/<username>", methods=["POST"])
@login_required
def change_user(username: str):
    """One change of an account: `action` = active, inactive, reset, or scope (org and role)."""
    caller = require("officer")
    action = (request.form.get("action") or "").strip()
    try:
        if action == "reset":
            otp = management.reset_password(current_db(), principal=caller, quota=api(), username=username)
            page_, _status = _user_page(username, password=otp)
            return page_, 200, {"Cache-Control": "no-store"}
        if action in ("active", "inactive"):
            changes = {"active": action == "active"}
            message = _("Đã mở lại tài khoản.") if action == "active" else _(
                "Đã khóa tài khoản; các phiên đăng nhập của tài khoản đã bị đăng xuất.")
        elif action == "scope":
            changes = load(UserPatch(), {k: v for k, v in form_values("org", "role").items() if v})
            message = _("Đã đổi phạm vi và vai trò.")
        else:
            raise FormRefused({"action": [_("Thao tác không hợp lệ / unknown action")]})
        management.update_user(current_db(), principal=caller, quota=api(), username=username, changes=changes)
    except FormRefused as refused:
        return _user_page(username, errors=refused.errors, status=422)
    except Problem as problem:
        if problem.status >= 500 or problem.status == 404:
            raise
        return _user_page(username, errors=refusal_errors(problem, default_field=action or "action"),
                          status=problem.status)
    flash(message, "success")
    return redirect(url_for("admin.user_page", username=username))
