"""The quotas page: an officer assigns or changes the quotas of the organisations below it for a
year or a term (PUT /organizations/{child}/quotas/{period} on the quota API, assigned by the page's
organisation), sees the allocation check (children's sum against its own target: fully, under,
over allocated) and the history of changes with who made them."""
from __future__ import annotations

from flask import flash, redirect, request, url_for
from flask_babel import gettext as _

from shared.problems import Problem

from . import formatting
from .current import api, login_required, user
from .dashboard import bp, org_path, page, period_arg, quota_get
from .labels import allocation_label

HISTORY_CHILDREN = 60  # beyond this many children the history is not gathered (one call each)
MAX_TARGET = 1_000_000


@bp.route("/org/<code>/quotas", methods=["GET", "POST"])
@login_required
def quotas(code: str):
    period = period_arg()
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        errors = _assign(code, period)
        if not errors:
            return redirect(url_for("dash.quotas", code=code, period=period))
    allocation = quota_get(org_path(code, "/allocation"), period=period)
    children = allocation.get("children", [])
    history = _history(children, period) if len(children) <= HISTORY_CHILDREN else None
    can_assign = user().role in ("officer", "admin")
    return page("dashboard/quotas.html", code=code, period=period, active="dash.quotas",
                org_name=_name(code), errors=errors, can_assign=can_assign,
                allocation={"target": formatting.number(allocation.get("target")),
                            "allocated": formatting.number(allocation.get("allocated", 0)),
                            "unallocated": formatting.number(allocation.get("unallocated")),
                            "state": allocation.get("allocation") or "none",
                            "label": allocation_label(allocation.get("allocation"))},
                children=[{"code": c["code"], "name": c["name"], "target": c.get("target"),
                           "target_text": formatting.number(c.get("target"))} for c in children],
                history=history), 422 if errors else 200


def _assign(code: str, period: str) -> dict[str, list[str]]:
    """Set one child's quota; the refusal's fields, none when it was set."""
    child = (request.form.get("child") or "").strip()
    raw = (request.form.get("target") or "").strip()
    if not raw.isdigit() or int(raw) > MAX_TARGET:
        return {f"target-{child}": [_("Chỉ tiêu là một số nguyên từ 0 đến 1.000.000.")]}
    children = {c["code"] for c in quota_get(org_path(code, "/allocation"), period=period).get("children", [])}
    if child not in children:
        return {"child": [_("Tổ chức này không trực thuộc %(org)s.", org=code)]}
    current = [q for q in quota_get(org_path(child, "/quotas")) if q["period"] == period]
    body = {"target": int(raw), "assigner_org_code": code,
            # a changed target keeps the composition targets already set
            "composition": current[0]["composition"] if current else []}
    try:
        api().json("PUT", "quota", org_path(child, f"/quotas/{period}"), json=body)
    except Problem as problem:
        if problem.status in (400, 422):
            return {f"target-{child}": [problem.detail or problem.title]}
        raise
    flash(_("Đã giao chỉ tiêu %(period)s cho %(org)s: %(target)s.", period=period, org=child,
            target=formatting.number(int(raw))), "success")
    return {}


def _history(children: list[dict], period: str) -> list[dict]:
    """Every change of the children's quotas for the period, newest first, with who made it."""
    rows = []
    for child in children:
        for quota in quota_get(org_path(child["code"], "/quotas")):
            if quota["period"] != period:
                continue
            for change in quota.get("history") or []:
                rows.append({"name": child["name"], "code": child["code"], "at_raw": change.get("changed_at") or "",
                             "at": formatting.moment(change.get("changed_at")),
                             "previous": formatting.number(change.get("previous_target")),
                             "target": formatting.number(change.get("target")), "by": change.get("changed_by")})
    rows.sort(key=lambda r: r["at_raw"], reverse=True)
    return rows


def _name(code: str) -> str:
    return quota_get(org_path(code)).get("name") or code
