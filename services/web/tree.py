"""The tree page: an organisation's children ranked by achievement (progress bar, percent, status,
counts), each a link one level down, so any organisation of the person's subtree is reached; and
the search by name, with or without diacritics, answered by the quota API
(`GET /api/v1/organizations?q=`) within the person's subtree."""
from __future__ import annotations

from flask import render_template, request
from flask_babel import gettext as _

from shared.problems import Problem

from .current import api, login_required, user
from .dashboard import bp, org_path, page, period_arg, quota_get, together
from .progress_view import figures, ranked_children

SEARCH_LIMIT = 20


@bp.route("/org/<code>/tree")
@login_required
def tree(code: str):
    period, client = period_arg(), api()
    got = together(progress=lambda: client.get("quota", org_path(code, "/progress"), params={"period": period}),
                   org=lambda: client.get("quota", org_path(code)))
    progress, org = got["progress"], got["org"]
    parent = org.get("parent_code") if code != user().org else None
    return page("dashboard/tree.html", code=code, period=period, active="dash.tree",
                org_name=progress["org_name"], own=figures(progress), children=ranked_children(progress),
                parent=parent)


@bp.route("/search")
@login_required
def search():
    """Organisations whose name matches, within the person's subtree (a fragment for htmx, or a page)."""
    period = period_arg()
    q = (request.args.get("q") or "").strip()
    if len(q) > 100:
        raise Problem(400, _("Từ khóa quá dài"), _("Tối đa 100 ký tự."), errors={"q": [_("Tối đa 100 ký tự.")]})
    results = []
    if q:
        answer = quota_get("/api/v1/organizations", q=q, per_page=SEARCH_LIMIT)
        items = answer.get("items", []) if isinstance(answer, dict) else answer
        results = [{"code": o["code"], "name": o["name"]} for o in items]
    template = "partials/search_results.html" if request.headers.get("HX-Request") else "dashboard/search.html"
    return render_template(template, q=q, results=results, period=period, searched=bool(q))
