"""The subscriptions page (/subscriptions): an organisation's subscriptions to notices (the
notification API's), a form to create one (a webhook with its URL and secret, an e-mail address,
or the inbox; for the organisation or its whole subtree; the kinds chosen), deleting one, a "send a
test" button that shows the receiver's answer in place (htmx), and the failed deliveries
(GET /api/v1/notifications?status=failed) each with a resend button. Refusals of the API (a bad or
forbidden address: the SSRF guard) are shown next to the field they name."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared.problems import Problem

from .current import api, login_required, user
from .dashboard import refused
from .inbox_pages import org_arg
from .notices_view import CHANNEL_LABELS, CHANNELS, KINDS, kind_choices, notice, pager, subscription, test_result
from .pages import load_signed_in_person
from .tree_page import page_number

bp = Blueprint("subscription_pages", __name__, template_folder="templates")
bp.before_request(load_signed_in_person)
bp.errorhandler(Problem)(refused)

PER_PAGE = 20
FIELDS = ("org_code", "channel", "target", "secret", "events", "include_subtree", "language")


def _number(name: str) -> int:
    value = request.args.get(name, "1")
    if not value.isdigit() or not 1 <= int(value) <= 10_000:
        raise Problem(400, _("Trang không hợp lệ"), _("Trang là một số từ 1."), errors={name: [_("Trang là một số từ 1.")]})
    return int(value)


@bp.route("/subscriptions", methods=["GET", "POST"])
@login_required
def subscriptions():
    org = org_arg()
    if org is None:
        return render_template("inbox/subscriptions.html", org=None)
    errors: dict[str, list[str]] = {}
    form = request.form if request.method == "POST" else {}
    if request.method == "POST":
        errors = _create(org)
        if not errors:
            return redirect(url_for("subscription_pages.subscriptions", org=_org_param(org)))
    return _page(org, errors=errors, form=form), 422 if errors else 200


def _org_param(org: str) -> str | None:
    return None if org == user().org else org


def _page(org: str, *, errors: dict, form) -> str:
    client, number, failed_number = api(), page_number(), _number("failed_page")
    subs = client.get("notifications", "/api/v1/subscriptions",
                      params={"org_code": org, "page": number, "per_page": PER_PAGE})
    failed = client.get("notifications", "/api/v1/notifications",
                        params={"org": org, "status": "failed", "page": failed_number, "per_page": PER_PAGE})

    def link(name: str):
        def to(n: int) -> str:
            return url_for("subscription_pages.subscriptions", **{k: v for k, v in request.args.items() if k != name},
                           **{name: n})
        return to

    return render_template("inbox/subscriptions.html", org=org, errors=errors, form=form,
                           items=[subscription(s) for s in subs["items"]], pages=pager(subs, link("page")),
                           failed=[notice(n) for n in failed["items"]], failed_pages=pager(failed, link("failed_page")),
                           kinds=kind_choices(), channels=[(c, str(label)) for c, label in CHANNEL_LABELS.items()],
                           can_manage=user().role in ("officer", "admin"))


def _create(org: str) -> dict[str, list[str]]:
    """POST /api/v1/subscriptions from the form; the refusal's messages by field, none when created."""
    channel, kinds = request.form.get("channel", ""), request.form.getlist("events")
    errors: dict[str, list[str]] = {}
    if channel not in CHANNELS:
        errors["channel"] = [_("Chọn một kênh nhận.")]
    if not kinds or any(k not in KINDS for k in kinds):
        errors["events"] = [_("Chọn ít nhất một loại thông báo.")]
    if errors:
        return errors
    body = {"org_code": org, "channel": channel, "events": kinds,
            "include_subtree": request.form.get("include_subtree") == "1",
            "language": "en" if request.form.get("language") == "en" else "vi"}
    target, secret = (request.form.get("target") or "").strip(), (request.form.get("secret") or "").strip()
    if channel != "inbox":
        body["target"] = target
    if secret:
        body["secret"] = secret
    try:
        made = api().json("POST", "notifications", "/api/v1/subscriptions", json=body)
    except Problem as problem:
        if problem.status in (400, 409, 422):
            return _by_field(problem)
        raise
    if made.get("secret"):
        flash(_("Đã tạo đăng ký %(id)s. Khóa bí mật của webhook (chỉ hiện một lần, hãy lưu lại): %(secret)s",
                id=made["id"], secret=made["secret"]), "success")
    else:
        flash(_("Đã tạo đăng ký %(id)s.", id=made["id"]), "success")
    return {}


def _by_field(problem: Problem) -> dict[str, list[str]]:
    """The API's errors keyed by the form's fields ("json.target" -> "target"); the rest under "form"."""
    out: dict[str, list[str]] = {}
    for key, messages in (problem.errors or {}).items():
        name = key.split(".")[-1]
        name = name if name in FIELDS else "form"
        out.setdefault("org" if name == "org_code" else name, []).extend(
            messages if isinstance(messages, list) else [str(messages)])
    return out or {"form": [problem.detail or problem.title]}


@bp.route("/subscriptions/<int:subscription_id>/delete", methods=["POST"])
@login_required
def delete(subscription_id: int):
    org = org_arg()
    api().json("DELETE", "notifications", f"/api/v1/subscriptions/{_id(subscription_id)}")
    flash(_("Đã hủy đăng ký %(id)s.", id=subscription_id), "success")
    return redirect(url_for("subscription_pages.subscriptions", org=_org_param(org) if org else None))


@bp.route("/subscriptions/<int:subscription_id>/test", methods=["POST"])
@login_required
def send_test(subscription_id: int):
    """POST /api/v1/subscriptions/{id}/test; the receiver's answer as a fragment for the page."""
    try:
        result = test_result(api().json("POST", "notifications", f"/api/v1/subscriptions/{_id(subscription_id)}/test"))
    except Problem as problem:
        if problem.status >= 500 or problem.status == 401:
            raise
        result = {"ok": False, "status": "", "text": problem.detail or problem.title}
    if not request.headers.get("HX-Request"):
        flash(result["text"], "success" if result["ok"] else "error")
        return redirect(url_for("subscription_pages.subscriptions", org=request.form.get("org") or None))
    return render_template("inbox/test_result.html", result=result)


@bp.route("/deliveries/<int:notice_id>/resend", methods=["POST"])
@login_required
def resend(notice_id: int):
    """POST /api/v1/notifications/{id}/resend: a new round of attempts; the row shows it waiting."""
    answer = api().json("POST", "notifications", f"/api/v1/notifications/{_id(notice_id)}/resend")
    if not request.headers.get("HX-Request"):
        flash(_("Đã gửi lại thông báo %(id)s.", id=notice_id), "success")
        return redirect(url_for("subscription_pages.subscriptions", org=request.form.get("org") or None))
    return render_template("inbox/failed_row.html", n=notice(answer), resent=True)


def _id(value: int) -> int:
    if value > 2**63 - 1:
        raise Problem(404, _("Không tìm thấy"), _("Không có mục này."))
    return value
