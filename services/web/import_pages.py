"""The imports page of an organisation: download the Vietnamese XLSX template and upload a filled
file, for candidates (the candidate API's `POST /candidates/import`) and for the organisation tree
(the quota API's `POST /organizations/import`, administrators). Both are all or nothing; a refusal's
report is shown with each error next to its row, column letter and header (the problem's `cells`).
One template (templates/imports.html) and one partial (partials/import_box.html) serve both."""
from __future__ import annotations

from dataclasses import dataclass

from flask import Response, current_app, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared.problems import Problem
from shared.spreadsheets import XLSX_MIMETYPE

from . import candidate_view as view
from .apiclient import as_problem
from .current import api, login_required, user
from .dashboard import bp, org_path, page, period_arg, quota_get


@dataclass(frozen=True)
class Import:
    kind: str
    service: str
    path: str  # the API's import; its template is path + "/template"
    title: object
    hint: object
    filename: str
    roles: tuple[str, ...]


IMPORTS = {
    "candidates": Import("candidates", "candidates", "/api/v1/candidates/import", _l("Danh sách quần chúng ưu tú"),
                         _l("Mỗi dòng một người; cột “Mã chi bộ” là mã chi bộ trong hệ thống; ngày ghi dd/mm/yyyy; "
                            "giới tính Nam/Nữ."), "mau-danh-sach-quan-chung.xlsx", ("officer", "admin")),
    "tree": Import("tree", "quota", "/api/v1/organizations/import", _l("Cây tổ chức"),
                   _l("Mỗi dòng một tổ chức; tổ chức cấp trên phải có trước hoặc ở trong tệp; "
                      "ngày hiệu lực dd/mm/yyyy."),
                   "mau-cay-to-chuc.xlsx", ("admin",)),
}


def _import(kind: str) -> Import:
    found = IMPORTS.get(kind)
    if found is None:
        raise Problem(404, _("Không tìm thấy"), _("Không có loại nhập này."))
    return found


def _boxes(code: str, period: str, *, report: dict | None = None) -> list[dict]:
    role = user().role
    return [{"kind": i.kind, "title": str(i.title), "hint": str(i.hint),
             "template_url": url_for("dash.import_template", code=code, kind=i.kind),
             "action": url_for("dash.import_file", code=code, kind=i.kind, period=period),
             "report": report if report and report["kind"] == i.kind else None}
            for i in IMPORTS.values() if role in i.roles]


@bp.route("/org/<code>/import")
@login_required
def imports(code: str):
    period = period_arg()
    org = quota_get(org_path(code))  # the organisation within one's subtree (403 otherwise)
    return page("imports.html", code=code, period=period, active="dash.imports", org_name=org.get("name") or code,
                boxes=_boxes(code, period))


@bp.route("/org/<code>/import/<kind>/template.xlsx")
@login_required
def import_template(code: str, kind: str):
    """The API's XLSX template, passed through unchanged."""
    chosen = _import(kind)
    quota_get(org_path(code))
    answer = api().request("GET", chosen.service, chosen.path + "/template")
    if not answer.ok:
        raise as_problem(answer)
    response = Response(answer.content, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{chosen.filename}"'
    return response


@bp.route("/org/<code>/import/<kind>", methods=["POST"])
@login_required
def import_file(code: str, kind: str):
    chosen, period = _import(kind), period_arg()
    org = quota_get(org_path(code))
    limit = current_app.config["CHITIEU_SETTINGS"].max_upload_bytes  # the APIs' own limit
    upload, report = request.files.get("file"), None
    content = upload.stream.read(limit + 1) if upload and upload.filename else None
    if content is None:
        report = _report(kind, errors={"file": [_("Hãy chọn một tệp .xlsx hoặc .csv.")]})
    elif len(content) > limit:
        report = _report(kind, errors={"file": [_("Tệp quá lớn (tối đa %(n)s MB).", n=limit // (1024 * 1024))]})
    if report is None:
        try:
            done = api().json("POST", chosen.service, chosen.path,
                              files={"file": (upload.filename, content, upload.mimetype or "application/octet-stream")})
        except Problem as problem:
            if problem.status not in (400, 409, 413, 422):
                raise
            report = _report(kind, errors=problem.errors, cells=problem.cells,
                             summary=view.in_language(problem.detail or problem.title))
        else:
            if kind == "candidates":
                flash(_("Đã nhập %(n)s quần chúng.", n=done.get("imported", 0)), "success")
                return redirect(url_for("dash.candidates", code=code, period=period))
            flash(_("Đã tạo %(n)s tổ chức: %(codes)s.", n=done.get("created", 0),
                    codes=", ".join(done.get("codes") or [])), "success")
            return redirect(url_for("dash.imports", code=code, period=period))
    return page("imports.html", code=code, period=period, active="dash.imports", org_name=org.get("name") or code,
                boxes=_boxes(code, period, report=report)), 422


def _report(kind: str, *, errors: dict | None, cells: list | None = None, summary: str | None = None) -> dict:
    """A refusal as the page shows it: each cell's errors (row, column letter, header) and those of the
    file as a whole."""
    shown = [{"row": c.get("row"), "column": c.get("column") or "–",
              "header": c.get("header") or c.get("field") or "–",
              "messages": [view.in_language(m) for m in c.get("messages") or []]} for c in cells or []]
    general = []
    for name, messages in (errors or {}).items():
        if name.startswith("row ") and shown:
            continue  # already in the cells
        for message in view.form_errors({name: messages}, (), mapping={}).get("_form", []):
            general.append(message if name in ("file", "_schema") or name.startswith("row ") else f"{name}: {message}")
    return {"kind": kind, "cells": sorted(shown, key=lambda c: (c["row"] or 0, c["column"])), "general": general,
            "summary": summary}
