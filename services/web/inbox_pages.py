"""The inbox page (/inbox): the notices of the signed-in person's organisation (the notification
API's inbox), newest first, read or unread for this person, filtered by kind, a page at a time;
new notices appear without reload (htmx asks /inbox/poll for those after the newest shown, every
CHITIEU_WEB_LIVE_POLL_S seconds), and the header's unread count (/inbox/badge, GET
/api/v1/inbox/{org}/unread) is refreshed as often on every page. Marking read or unread answers
the notice again with the new count; "mark all read" marks what the page showed."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from shared.auth import ALL_ORGS
from shared.problems import Problem

from . import formatting
from .apiclient import path_part
from .current import api, login_required, user
from .dashboard import refused
from .notices_view import KINDS, kind_choices, notice, pager
from .pages import load_signed_in_person
from .tree_page import page_number

bp = Blueprint("inbox_pages", __name__, template_folder="templates")
bp.before_request(load_signed_in_person)
bp.errorhandler(Problem)(refused)  # an API's refusal as a Vietnamese page (403 outside one's subtree)

PER_PAGE = 20
MAX_CODE = 64


@bp.app_context_processor
def live_settings():
    return {"live_poll_s": current_app.extensions["web_settings"].live_poll_s}


def org_arg() -> str | None:
    """The organisation whose inbox is shown: ?org= (the API checks it lies in the person's subtree),
    else the person's own; none for a national account that has not chosen one."""
    code = (request.values.get("org") or "").strip()
    if len(code) > MAX_CODE or "\x00" in code:
        raise Problem(400, _("Mã tổ chức không hợp lệ"), _("Mã tổ chức có tối đa 64 ký tự."),
                      errors={"org": [_("Mã tổ chức có tối đa 64 ký tự.")]})
    if code:
        return code
    return None if user().org == ALL_ORGS else user().org


def kind_arg() -> str | None:
    kind = (request.values.get("kind") or "").strip()
    if kind and kind not in KINDS:
        raise Problem(400, _("Loại thông báo không hợp lệ"), _("Chọn một loại trong danh sách."),
                      errors={"kind": [_("Chọn một loại trong danh sách.")]})
    return kind or None


def after_arg() -> int:
    value = request.args.get("after", "0")
    if not value.isdigit() or len(value) > 18:
        raise Problem(400, _("Tham số không hợp lệ"), "after", errors={"after": ["0.."]})
    return int(value)


def inbox_path(org: str, tail: str = "") -> str:
    return f"/api/v1/inbox/{path_part(org)}{tail}"


def filters() -> dict:
    """The page's filters as the notification API takes them."""
    kind, unread = kind_arg(), request.values.get("unread") == "1"
    return {**({"kind": kind} if kind else {}), **({"unread": "true"} if unread else {})}


@bp.route("/inbox")
@login_required
def inbox():
    org, kind, unread, number = org_arg(), kind_arg(), request.args.get("unread") == "1", page_number()
    if org is None:
        return render_template("inbox/inbox.html", org=None, kinds=kind_choices(), kind=kind, unread=unread)
    answer = api().get("notifications", inbox_path(org), params={"page": number, "per_page": PER_PAGE, **filters()})
    items = [notice(n) for n in answer["items"]]
    newest = max((n["id"] for n in answer["items"]), default=0)

    def link(n: int) -> str:
        return url_for("inbox_pages.inbox", **{k: v for k, v in request.args.items() if k != "page"}, page=n)

    return render_template("inbox/inbox.html", org=org, kinds=kind_choices(), kind=kind, unread=unread,
                           notices=items, newest=newest, pages=pager(answer, link),
                           poll=_poll_url(org, newest) if number == 1 else None)


def _poll_url(org: str, after: int) -> str:
    """The next poll, with the page's own filters (as the page's query writes them)."""
    kind, unread = kind_arg(), request.values.get("unread") == "1"
    return url_for("inbox_pages.poll", org=org, after=after, kind=kind, unread="1" if unread else None)


@bp.route("/inbox/poll")
@login_required
def poll():
    """The notices that came after the newest the open page shows (put at the top by htmx), and the
    next poll, which starts after them."""
    org, after = org_arg(), after_arg()
    if org is None:
        return "", 204
    answer = api().get("notifications", inbox_path(org), params={"after_id": after, "per_page": 100, **filters()})
    newest = max((n["id"] for n in answer["items"]), default=after)
    return render_template("inbox/poll.html", notices=[notice(n) for n in answer["items"]], org=org,
                           poll=_poll_url(org, newest))


@bp.route("/inbox/badge")
def badge():
    """The header's unread count (no page around it; nothing while no one usable is signed in)."""
    person = user()
    if person is None or person.must_change_password or person.org == ALL_ORGS:
        return "", 204  # htmx swaps nothing on 204
    return render_template("partials/unread_badge.html", badge_count=_unread(person.org), oob=False)


def _unread(org: str) -> dict:
    try:
        count = api().get("notifications", inbox_path(org, "/unread"))["unread"]
    except Problem:
        return {"value": "", "text": "–"}  # the notification service away: no figure rather than a wrong one
    return {"value": count, "text": formatting.number(count)}


@bp.route("/inbox/notices/<int:notice_id>/<any(read, unread):state>", methods=["POST"])
@login_required
def mark(notice_id: int, state: str):
    """Mark one notice read or unread for the person (POST /api/v1/notifications/{id}/read|unread)."""
    if notice_id > 2**63 - 1:
        raise Problem(404, _("Không tìm thấy"), _("Không có thông báo này."))
    answer = api().json("POST", "notifications", f"/api/v1/notifications/{notice_id}/{state}")
    if not request.headers.get("HX-Request"):
        return redirect(url_for("inbox_pages.inbox", org=request.form.get("org") or None))
    person = user()
    badge_now = None if person.org == ALL_ORGS else _unread(person.org)
    return render_template("inbox/marked.html", n=notice(answer), org=answer.get("recipient_org_code"),
                           badge_count=badge_now)


@bp.route("/inbox/read", methods=["POST"])
@login_required
def mark_all():
    """Every notice of the inbox up to the newest the page showed (of the kind shown) marked read."""
    org, kind = org_arg(), kind_arg()
    if org is None:
        return redirect(url_for("inbox_pages.inbox"))
    up_to = (request.form.get("up_to_id") or "").strip()
    body = {"kind": kind, "up_to_id": int(up_to) if up_to.isdigit() and len(up_to) <= 18 else None}
    answer = api().json("POST", "notifications", inbox_path(org, "/read"), json=body)
    flash(_("Đã đánh dấu %(n)s thông báo là đã đọc.", n=formatting.number(answer.get("marked") or 0)), "success")
    return redirect(url_for("inbox_pages.inbox", org=org if org != user().org else None, kind=kind))
