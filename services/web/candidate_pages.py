"""The candidate pages: an organisation's candidates (the funnel, the list filtered by stage and
searched by name with or without diacritics, each with its next deadline, late ones marked) and one
candidate (the record with the national ID masked, the whole history with each step's warnings and
the rule behind them, the forms of the next steps the stage allows, and a correction form).

Every answer comes from the candidate API with the signed-in person's token: a candidate outside
one's subtree is its 403, answered by dashboard.refused as a Vietnamese page. A refusal of a step
is shown next to the input it concerns and the form keeps what was typed; an advisory (the API's
409 `urn:chitieu:rule:advisory`, asked for with `confirm_warnings: false`) is shown as a warning
the officer confirms, and only then recorded."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared.problems import Problem

from . import candidate_view as view
from . import formatting
from .apiclient import path_part
from .current import api, login_required, user
from .dashboard import bp, org_path, page, period_arg, together
from .tree_page import page_number

PER_PAGE = 50
ADVISORY = "urn:chitieu:rule:advisory"
MAX_TEXT = 1000
CORRECTABLE = ("full_name", "date_of_birth", "gender", "ethnicity", "religion", "education_level", "occupation_group",
               "national_id")


def candidates_get(path: str, **params):
    return api().get("candidates", path, params=params or None)


def candidate_path(candidate_id: str, tail: str = "") -> str:
    return f"/api/v1/candidates/{path_part(candidate_id)}{tail}"


@bp.route("/org/<code>/candidates")
@login_required
def candidates(code: str):
    period, number, client = period_arg(), page_number(), api()
    stage = request.args.get("stage") or ""
    q = (request.args.get("q") or "").strip()
    if stage and stage not in view.STAGE_LABELS:
        raise Problem(400, _("Giai đoạn không hợp lệ"), _("Chọn một giai đoạn trong danh sách."),
                      errors={"stage": [_("Chọn một giai đoạn trong danh sách.")]})
    if len(q) > 100:
        raise Problem(400, _("Từ khóa quá dài"), _("Tối đa 100 ký tự."), errors={"q": [_("Tối đa 100 ký tự.")]})
    params = {"org": code, "page": number, "per_page": PER_PAGE, **({"stage": stage} if stage else {}),
              **({"q": q} if q else {})}
    got = together(org=lambda: client.get("quota", org_path(code)),
                   funnel=lambda: client.get("candidates", org_path(code, "/funnel")),
                   found=lambda: client.get("candidates", "/api/v1/candidates", params=params))
    found = got["found"]
    total = found.get("total", 0)
    last = max(1, (total + PER_PAGE - 1) // PER_PAGE)

    def link(n: int) -> str:
        return url_for("dash.candidates", code=code, period=period, stage=stage or None, q=q or None, page=n)

    pages = {"text": _("Trang %(n)s / %(last)s (%(total)s người)", n=number, last=last, total=formatting.number(total)),
             "previous": link(number - 1) if number > 1 else None,
             "next": link(number + 1) if found.get("next") else None} if total > PER_PAGE else None
    return page("candidates/list.html", code=code, period=period, active="dash.candidates",
                org_name=got["org"].get("name") or code, funnel=view.funnel(got["funnel"]),
                in_pipeline=formatting.number(got["funnel"].get("in_pipeline", 0)),
                rows=view.list_rows(found.get("items", [])), total=formatting.number(total), stage=stage, q=q,
                stages=[(s, str(label)) for s, label in view.STAGE_LABELS.items()], pages=pages,
                can_write=user().role in ("officer", "admin"))


@bp.route("/candidates/<candidate_id>")
@login_required
def candidate(candidate_id: str):
    return _candidate_page(candidate_id)


def _candidate_page(candidate_id: str, *, status: int = 200, open_step: str | None = None,
                    errors: dict | None = None, values: dict | None = None, advisories: list[str] | None = None,
                    correction_errors: dict | None = None):
    got = candidates_get(candidate_path(candidate_id))
    cell = api().get("quota", org_path(got["org_code"]))
    return render_template(
        "candidates/candidate.html", c=got, record=view.record(got), history=view.history(got),
        deadline=view.deadline(got.get("next_deadline")), steps=view.steps(got), cell_name=cell.get("name"),
        default_deciding=cell.get("parent_code") or "", stage_label=view.label(view.STAGE_LABELS, got["stage"]),
        can_write=user().role in ("officer", "admin"), open_step=open_step, errors=errors or {},
        values=values or {}, advisories=advisories or [], correction_errors=correction_errors or {},
        genders=[(k, str(v)) for k, v in view.GENDER_LABELS.items()],
        occupations=[(k, str(v)) for k, v in view.OCCUPATION_LABELS.items()], slots=view.INTRODUCER_SLOTS,
    ), status


@bp.route("/candidates/<candidate_id>/steps", methods=["POST"])
@login_required
def record_step(candidate_id: str):
    """One step (a transition or a transfer) from its form; a refusal comes back next to its input."""
    form = request.form
    step = form.get("to", "")
    if step not in view.STEP_INPUTS:
        return _candidate_page(candidate_id, status=422, errors={"_form": [_("Bước không hợp lệ.")]})
    inputs = view.STEP_INPUTS[step]
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    too_long = [k for k, v in values.items() if len(v) > MAX_TEXT]
    if too_long:
        return _candidate_page(candidate_id, status=422, open_step=step, values=values,
                               errors={k if k in inputs else "_form": [_("Tối đa 1.000 ký tự.")] for k in too_long})
    confirmed = form.get("confirm_warnings") == "1"
    try:
        if step == "transfer":
            answer = api().json("POST", "candidates", candidate_path(candidate_id, "/transfer"),
                                json=_transfer_body(form))
        else:
            answer = api().json("POST", "candidates", candidate_path(candidate_id, "/transitions"),
                                json={**_step_body(step, form), "confirm_warnings": confirmed})
    except Problem as problem:
        # A transfer to a cell outside one's scope is the API's 403 naming to_org_code: shown at the field.
        destination = problem.status == 403 and step == "transfer" and "to_org_code" in problem.errors
        if problem.status not in (409, 422) and not destination:
            raise
        mapped = view.form_errors(problem.errors, inputs)
        if problem.type == ADVISORY:
            advisories = [m for messages in mapped.values() for m in messages]
            return _candidate_page(candidate_id, status=409, open_step=step, values=values, advisories=advisories)
        if not mapped:
            mapped = {"_form": [view.in_language(problem.detail or problem.title)]}
        return _candidate_page(candidate_id, status=422, open_step=step, values=values, errors=mapped)
    warnings = [view.in_language(w.get("message", "")) for w in answer.get("warnings") or []]
    flash(_("Đã ghi: %(step)s.", step=view.STEP_LABELS[step]), "success")
    for message in warnings:
        flash(_("Lưu ý đã xác nhận: %(m)s", m=message), "warning")
    return redirect(url_for("dash.candidate", candidate_id=candidate_id))


def _step_body(step: str, form) -> dict:
    body: dict = {"to": step, "date": form.get("date") or None}
    for name in ("decision_number", "deciding_org_code", "training_certificate_number", "youth_union_resolution",
                 "reason"):
        value = (form.get(name) or "").strip()
        if value:
            body[name] = value
    if step == "applied":
        body["introducers"] = [{"full_name": (form.get(f"introducer{n}_name") or "").strip(),
                                "official_member": form.get(f"introducer{n}_status") == "official"}
                               for n in view.INTRODUCER_SLOTS if (form.get(f"introducer{n}_name") or "").strip()]
    if body["date"] is None:
        body.pop("date")  # the API names the missing date
    return body


def _transfer_body(form) -> dict:
    body = {"to_org_code": (form.get("to_org_code") or "").strip(), "date": form.get("date") or None,
            "decision_number": (form.get("decision_number") or "").strip() or None}
    return {k: v for k, v in body.items() if v is not None}


@bp.route("/candidates/<candidate_id>/correction", methods=["POST"])
@login_required
def correct(candidate_id: str):
    """A correction of the record with its reason (PATCH /candidates/{id}); only the changed fields are sent."""
    form = request.form
    values = {k: v for k, v in form.items() if k != "csrf_token"}
    if any(len(v) > MAX_TEXT for v in values.values()):
        return _candidate_page(candidate_id, status=422, values=values,
                               correction_errors={"_form": [_("Tối đa 1.000 ký tự.")]})
    current = candidates_get(candidate_path(candidate_id))
    body = {}
    for name in CORRECTABLE:
        value = (form.get(name) or "").strip()
        if name == "national_id" and not value:
            continue  # shown masked: left empty, it is not changed
        if name in ("religion", "education_level") and not value:
            value = None
        if value != (current.get(name) or (None if name in ("religion", "education_level") else "")):
            if value is not None or current.get(name) is not None:
                body[name] = value
    body["reason"] = (form.get("reason") or "").strip()
    if not body["reason"]:
        return _candidate_page(candidate_id, status=422, values=values,
                               correction_errors={"reason": [_("Cần ghi lý do đính chính.")]})
    try:
        answer = api().json("PATCH", "candidates", candidate_path(candidate_id), json=body)
    except Problem as problem:
        if problem.status not in (409, 422):
            raise
        mapped = view.form_errors(problem.errors, CORRECTABLE + ("reason",),
                                  mapping={name: name for name in CORRECTABLE + ("reason",)})
        if not mapped:
            mapped = {"_form": [view.in_language(problem.detail or problem.title)]}
        return _candidate_page(candidate_id, status=422, values=values, correction_errors=mapped)
    if answer.get("correction") is None:
        flash(_("Không có gì thay đổi."), "info")
    else:
        flash(_("Đã đính chính hồ sơ."), "success")
    for warning in answer.get("warnings") or []:
        flash(view.in_language(warning.get("message", "")), "warning")
    return redirect(url_for("dash.candidate", candidate_id=candidate_id))
