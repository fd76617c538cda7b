"""The tree page: an organisation's children ranked by achievement (progress bar, percent, status,
counts), each a link one level down, so any organisation of the person's subtree is reached; and
the search by name, with or without diacritics, answered by the quota API
(`GET /api/v1/organizations?q=`) within the person's subtree."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _

from shared.problems import Problem

from . import formatting
from .current import api, login_required, user
from .dashboard import bp, org_path, page, period_arg, quota_get, together
from .progress_view import figures, ranked_children

SEARCH_LIMIT = 20
PER_PAGE = 100  # rows of a ranking on one page


@bp.route("/org/<code>/tree")
@login_required
def tree(code: str):
    period, client, number = period_arg(), api(), page_number()
    params = {"period": period, "page": number, "per_page": PER_PAGE}
    got = together(progress=lambda: client.get("quota", org_path(code, "/progress"), params=params),
                   org=lambda: client.get("quota", org_path(code)))
    progress, org = got["progress"], got["org"]
    parent = org.get("parent_code") if code != user().org else None
    return page("dashboard/tree.html", code=code, period=period, active="dash.tree",
                org_name=progress["org_name"], own=figures(progress), children=ranked_children(progress),
                parent=parent, pages=pages(code, period, number, progress.get("children_total")))


def page_number() -> int:
    value = request.args.get("page", "1")
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise Problem(400, _("Trang không hợp lệ"), _("Trang là một số từ 1."),
                      errors={"page": [_("Trang là một số từ 1.")]})
    return int(value)


def pages(code: str, period: str, number: int, total: int | None) -> dict | None:
    """Links to the previous and next pages of a long ranking (the quota API ranks them all)."""
    if not total or total <= PER_PAGE:
        return None
    last = (total + PER_PAGE - 1) // PER_PAGE

    def link(n: int) -> str:
        return url_for("dash.tree", code=code, period=period, page=n)

    return {"text": _("Trang %(n)s / %(last)s (%(total)s tổ chức)", n=number, last=last,
                      total=formatting.number(total)),
            "previous": link(number - 1) if number > 1 else None, "next": link(number + 1) if number < last else None}


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
