"""API clients of the subtree (/admin/clients), for administrators: the list of one organisation's
clients (default: one's own), register (the client id and secret shown once, with the token URL),
revoke. Through management.py, as the API."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from shared.auth import ALL_ORGS, ROLES
from shared.problems import Problem
from shared.web import current_db

from . import management
from .admin import FormRefused, bp, form_values, load, page, refusal_errors, require
from .audit_page import local_time
from .current import api, login_required
from .labels import ROLE_LABELS, role_label
from .schemas import ClientIn


def _clients_page(*, errors: dict | None = None, values: dict | None = None, created: dict | None = None,
                  status: int = 200):
    caller = require("admin")
    org = (request.args.get("org") or "").strip()[:64] or None
    listing_errors: dict = {}
    try:
        items = management.list_clients(current_db(), principal=caller, quota=api(), org=org)
    except Problem as problem:
        if problem.status not in (403, 422):
            raise
        items, listing_errors = [], refusal_errors(problem, default_field="org")
    shown = org or (None if caller.org == ALL_ORGS else caller.org)
    return page("admin/clients.html", active="admin.clients", status=status, org=shown,
                clients=[{**c, "role_text": role_label(c["role"]), "created": local_time(c["created_at"]),
                          "revoked": local_time(c["revoked_at"]) if c.get("revoked_at") else None} for c in items],
                listing_errors=listing_errors, roles=[(r, str(ROLE_LABELS[r])) for r in ROLES],
                errors=errors or {}, values=values or {"org": shown or "", "role": "officer"}, created=created)


@bp.route("/clients", methods=["GET"])
@login_required
def clients():
    return _clients_page()


@bp.route("/clients", methods=["POST"])
@login_required
def register_client():
    caller = require("admin")
    values: dict = {}
    try:
        values = form_values("name", "org", "role")
        body = load(ClientIn(), values)
        view, secret = management.register_client(current_db(), principal=caller, quota=api(), **body)
    except FormRefused as refused:
        return _clients_page(errors=refused.errors, values=values, status=422)
    except Problem as problem:
        if problem.status >= 500:
            raise
        return _clients_page(errors=refusal_errors(problem, default_field="name"), values=values,
                             status=problem.status)
    html, _status = _clients_page(created={**view, "client_secret": secret,
                                           "token_url": url_for("oauth_token", _external=True)}, status=201)
    return html, 201, {"Cache-Control": "no-store"}  # the secret is in this answer only


@bp.route("/clients/<client_id>/revoke", methods=["POST"])
@login_required
def revoke_client(client_id: str):
    caller = require("admin")
    view = management.revoke_client(current_db(), principal=caller, quota=api(), client_id=client_id[:64])
    flash(_("Đã thu hồi hệ thống kết nối %(name)s: không cấp thẻ truy cập mới.", name=view["name"]), "success")
    return redirect(url_for("admin.clients", org=view["org"]))  # the list it was on
