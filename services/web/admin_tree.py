"""The organisation tree (/admin/tree), for administrators: one organisation with its children and
history, and its changes (create a child, rename, move, merge, dissolve) from an effective date,
all through the quota API with the signed-in person's token.

Every change is two steps. The form posts without `confirm`: the page answers a confirmation that
states the consequences, which for a move, merger or dissolution come from the quota API's
preview (`POST /organizations/{code}/move|merge|dissolve/preview`: what goes where from which
date, how many organisations lie below, the quotas touched; the quota service owns the rules);
the number of candidates in the subtree comes from the candidate API when it answers. The
confirmation posts the same values with `confirm=1`, and the change is made. A refusal (of the
preview or of the change) is shown next to the field it names, on the tree page.
"""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared.auth import ALL_ORGS
from shared.problems import Problem

from .admin import FormRefused, bp, form_values, nav, refusal_errors, require
from .apiclient import path_part
from .current import api, login_required
from .formatting import day, number

CHANGES = ("create", "rename", "move", "merge", "dissolve")
FIELDS = {"create": ("code", "name", "type", "effective_date"), "rename": ("name", "effective_date"),
          "move": ("parent_code", "effective_date"), "merge": ("into_code", "effective_date"),
          "dissolve": ("children_to", "effective_date")}
TYPE_LABELS = {"province": _l("Tỉnh ủy / Đảng bộ tỉnh"), "city": _l("Thành ủy"), "district": _l("Huyện ủy"),
               "block": _l("Đảng ủy Khối"), "grassroots": _l("Đảng bộ cơ sở"), "cell": _l("Chi bộ"),
               "central": _l("Trung ương"), "other": _l("Khác")}
STATUS_LABELS = {"active": _l("Đang hoạt động"), "merged": _l("Đã hợp nhất"), "dissolved": _l("Đã giải thể")}
CHANGE_TITLES = {"create": _l("Thành lập tổ chức trực thuộc"), "rename": _l("Đổi tên"),
                 "move": _l("Chuyển sang cấp trên khác"), "merge": _l("Hợp nhất vào tổ chức khác"),
                 "dissolve": _l("Giải thể")}


def _org_path(code: str, tail: str = "") -> str:
    return f"/api/v1/organizations/{path_part(code)}{tail}"


def _type_label(value: str) -> str:
    return str(TYPE_LABELS.get(value, value))


def _tree_page(code: str | None, *, errors: dict | None = None, values: dict | None = None, status: int = 200):
    caller = require("admin")
    org, children = None, []
    if code:
        org = api().get("quota", _org_path(code))
        children = api().get("quota", _org_path(code, "/children"), params={"per_page": 500}).get("items", [])
        parent_name = None
        if org.get("parent_code"):
            try:
                parent_name = api().get("quota", _org_path(org["parent_code"])).get("name")
            except Problem:
                parent_name = None  # a parent outside the caller's subtree: its code is enough
        org = {**org, "type_text": _type_label(org["type"]), "parent_name": parent_name,
               "status_text": str(STATUS_LABELS.get(org["status"], org["status"])),
               "parents": [{"code": p["parent_code"], "from": day(p["valid_from"]), "to": day(p["valid_to"])}
                           for p in org.get("parent_history", [])],
               "names": [{"name": n["name"], "from": day(n["valid_from"]), "to": day(n["valid_to"])}
                         for n in org.get("name_history", [])]}
    return render_template("admin/tree.html", admin_nav=nav("admin.tree"), org=org, code=code,
                           children=[{**c, "type_text": _type_label(c["type"])} for c in children],
                           types=[(k, str(v)) for k, v in TYPE_LABELS.items()], errors=errors or {},
                           values=values or {}, change_titles={k: str(v) for k, v in CHANGE_TITLES.items()},
                           national=caller.org == ALL_ORGS), status


@bp.route("/tree")
@login_required
def tree():
    caller = require("admin")
    code = (request.args.get("org") or "").strip()[:64] or (None if caller.org == ALL_ORGS else caller.org)
    return _tree_page(code)


def _body(change: str, values: dict) -> dict:
    """The quota API's body of a change from the form's values (empty ones left out: the API's defaults)."""
    body = {k: v for k, v in values.items() if v}
    if change == "dissolve":
        body.setdefault("children_to", None)
    return body


def _candidates_below(code: str) -> str | None:
    """How many candidates the subtree holds, if the candidate API answers (one short call)."""
    try:
        total = api().get("candidates", "/api/v1/candidates", params={"org": code, "per_page": 1}).get("total")
    except Problem:
        return None
    return number(total) if total is not None else None


def consequences(change: str, code: str, org_name: str, values: dict, preview: dict | None) -> list[str]:
    """The sentences of a confirmation page, in the page's language."""
    when = day(values.get("effective_date")) if values.get("effective_date") else _("hôm nay")
    if change == "create":
        return [_("Thành lập %(name)s (mã %(code)s, %(type)s) trực thuộc %(parent)s từ ngày %(date)s.",
                  name=values["name"], code=values["code"], type=_type_label(values["type"]), parent=org_name,
                  date=when)]
    if change == "rename":
        return [_("%(old)s mang tên mới „%(new)s“ từ ngày %(date)s; tên cũ được giữ trong lịch sử.",
                  old=org_name, new=values["name"], date=when)]
    when = day(preview["effective_date"])
    to = preview.get("to") or {}
    target = f"{to.get('name')} ({to.get('code')})" if to else ""
    lines = []
    if change == "move":
        origin = preview.get("from") or {}
        lines.append(_("%(name)s chuyển từ %(origin)s sang %(target)s từ ngày %(date)s.", name=org_name,
                       origin=origin.get("name") or "—", target=target, date=when))
        if preview["below"]:
            lines.append(_("%(count)s tổ chức cấp dưới của %(name)s chuyển theo.", count=number(preview["below"]),
                           name=org_name))
        lines.append(_("Các chỉ tiêu của %(name)s giữ nguyên; các trường hợp kết nạp từ ngày %(date)s được tính "
                       "cho %(target)s và các cấp trên của nó, các trường hợp trước ngày đó vẫn tính cho cấp trên cũ.",
                       name=org_name, date=when, target=target))
    else:
        below = preview["moving_count"] - preview["children_count"]
        if preview["children_count"] and not below:
            lines.append(_("%(children)s tổ chức trực thuộc chuyển về %(target)s từ ngày %(date)s.",
                           children=number(preview["children_count"]), target=target, date=when))
        if preview["children_count"] and below:
            lines.append(_("%(children)s tổ chức trực thuộc (cùng %(below)s tổ chức cấp dưới của chúng) chuyển về "
                           "%(target)s từ ngày %(date)s.", children=number(preview["children_count"]),
                           below=number(below), target=target, date=when))
        if preview["children_count"]:
            lines.append(", ".join(f"{c['name']} ({c['code']})" for c in preview["children"][:20])
                         + (" …" if len(preview["children"]) > 20 else ""))
        else:
            lines.append(_("%(name)s không có tổ chức trực thuộc vào ngày %(date)s.", name=org_name, date=when))
        if change == "merge":
            lines.append(_("%(name)s hợp nhất vào %(target)s từ ngày %(date)s: các trường hợp kết nạp từ ngày đó "
                           "được tính cho %(target)s; chỉ tiêu của %(name)s kết thúc cùng tổ chức.",
                           name=org_name, target=target, date=when))
        else:
            lines.append(_("%(name)s giải thể từ ngày %(date)s; chỉ tiêu của %(name)s kết thúc cùng tổ chức, "
                           "các trường hợp đã kết nạp vẫn được tính.", name=org_name, date=when))
    running = preview.get("quotas") or []
    if running:
        lines.append(_("Chỉ tiêu đang chạy của %(name)s: %(list)s.", name=org_name,
                       list="; ".join(f"{q['period']}: {number(q['target'])}" for q in running)))
    candidates = _candidates_below(code)
    if candidates is not None:
        lines.append(_("Quần chúng ưu tú đang theo dõi trong %(name)s và cấp dưới: %(count)s.", name=org_name,
                       count=candidates))
    return lines


@bp.route("/tree/<code>/<change>", methods=["POST"])
@login_required
def change_tree(code: str, change: str):
    require("admin")
    if change not in CHANGES:
        raise Problem(404, _("Không có trang này"), _("Thay đổi không hợp lệ."))
    values: dict = {}
    try:
        values = form_values(*FIELDS[change])
        org = api().get("quota", _org_path(code))
        body = _body(change, values)
        if request.form.get("confirm") != "1":
            preview = None
            if change in ("move", "merge", "dissolve"):
                preview = api().json("POST", "quota", _org_path(code, f"/{change}/preview"), json=body)
            return render_template("admin/tree_confirm.html", admin_nav=nav("admin.tree"), code=code,
                                   org=org, change=change, title=str(CHANGE_TITLES[change]), values=values,
                                   lines=consequences(change, code, org["name"], values, preview))
        if change == "create":
            api().json("POST", "quota", "/api/v1/organizations", json={**body, "parent_code": code})
        else:
            api().json("POST", "quota", _org_path(code, f"/{change}"), json=body)
    except FormRefused as refused:
        return _tree_page(code, errors={change: refused.errors}, values={change: values}, status=422)
    except Problem as problem:
        if problem.status >= 500 or problem.status == 401:
            raise
        field = {"create": "code", "rename": "name", "move": "parent_code", "merge": "into_code",
                 "dissolve": "children_to"}[change]
        errors = refusal_errors(problem, default_field=field)
        if problem.status == 403 and not problem.errors:  # the APIs' scope refusal names no field
            errors = {field: [_("Ngoài phạm vi quản lý của bạn."), problem.detail or problem.title]}
        return _tree_page(code, errors={change: errors}, values={change: values}, status=problem.status)
    flash(_("Đã ghi thay đổi: %(title)s (%(code)s), hiệu lực từ %(date)s.", title=str(CHANGE_TITLES[change]),
            code=values.get("code") if change == "create" else code,
            date=day(values.get("effective_date")) if values.get("effective_date") else _("hôm nay")), "success")
    return redirect(url_for("admin.tree", org=code if change in ("create", "rename", "move") else
                            (org.get("parent_code") or code)))
