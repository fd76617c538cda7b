"""The audit page (/audit): the trail of the signed-in person's organisation (or a chosen one in
their subtree), newest first, filtered by a GET form (who, what, from, to), a page at a time.
Officers and administrators only, as GET /api/v1/audit; it reads the same search in-process."""
from __future__ import annotations

from datetime import date, datetime, timezone

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared import clock
from shared.auth import ALL_ORGS, Principal
from shared.pagination import MAX_PAGE
from shared.problems import Problem
from shared.web import current_db

from . import audit
from .current import login_required, user
from .pages import load_signed_in_person, problem_page

bp = Blueprint("audit_pages", __name__, template_folder="templates")
bp.before_request(load_signed_in_person)  # the signed-in person, as on every page
bp.errorhandler(Problem)(problem_page)  # refusals answer as pages, in the person's language

PAGE_SIZE = 50
# What people read for each kind of entry (the event's name stays beside it for the API's users).
KIND_LABELS = {
    "organization.created": _l("Thành lập tổ chức"), "organization.renamed": _l("Đổi tên tổ chức"),
    "organization.moved": _l("Chuyển tổ chức sang cấp trên khác"), "organization.merged": _l("Hợp nhất tổ chức"),
    "organization.dissolved": _l("Giải thể tổ chức"),
    "quota.assigned": _l("Giao chỉ tiêu"), "quota.milestone_reached": _l("Đạt mốc chỉ tiêu"),
    "quota.met": _l("Hoàn thành chỉ tiêu"), "quota.exceeded": _l("Vượt chỉ tiêu"),
    "candidate.listed": _l("Lập danh sách quần chúng ưu tú"), "candidate.stage_changed": _l("Chuyển bước"),
    "candidate.admitted": _l("Kết nạp"), "candidate.admission_revoked": _l("Hủy quyết định kết nạp"),
    "candidate.recognised_official": _l("Công nhận đảng viên chính thức"), "candidate.closed": _l("Kết thúc hồ sơ"),
    "candidate.transferred": _l("Chuyển sinh hoạt"), "candidate.record_read": _l("Xem hồ sơ đầy đủ"),
    "subscription.created": _l("Đăng ký nhận thông báo"), "subscription.deleted": _l("Hủy đăng ký thông báo"),
    "user.created": _l("Tạo tài khoản"), "user.changed": _l("Sửa tài khoản"),
    "user.password_reset": _l("Cấp lại mật khẩu"), "user.password_changed": _l("Tự đổi mật khẩu"),
    "client.registered": _l("Đăng ký hệ thống kết nối"), "client.revoked": _l("Thu hồi hệ thống kết nối"),
}
FAMILY_LABELS = {"organization": _l("Cây tổ chức"), "quota": _l("Chỉ tiêu"), "candidate": _l("Quần chúng ưu tú"),
                 "subscription": _l("Đăng ký thông báo"), "user": _l("Tài khoản"), "client": _l("Hệ thống kết nối")}


def _date(name: str) -> date | None:
    raw = (request.args.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise Problem(422, _("Ngày không hợp lệ"), _("Ngày phải có dạng năm-tháng-ngày, ví dụ 2024-06-30."),
                      errors={name: ["YYYY-MM-DD"]}) from None


def _page_number() -> int:
    raw = (request.args.get("page") or "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
        raise Problem(422, _("Trang không hợp lệ"), _("Số trang là một số nguyên dương."), errors={"page": ["1.."]})
    return int(raw)


def local_time(moment: datetime) -> str:
    """dd/mm/yyyy HH:MM in Vietnam (CHITIEU_TIMEZONE)."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(clock.local_zone()).strftime("%d/%m/%Y %H:%M")


@bp.route("/audit")
@login_required
def audit_trail():
    person = user()
    if person.role not in ("officer", "admin"):
        raise Problem(403, _("Không có quyền"), _("Nhật ký chỉ dành cho cán bộ nghiệp vụ và quản trị viên."))
    args = request.args
    filters = {"org": (args.get("org") or "").strip() or None, "actor": (args.get("actor") or "").strip() or None,
               "kind": (args.get("kind") or "").strip() or None, "since": _date("from"), "until": _date("to")}
    number = _page_number()
    principal = Principal(sub=person.username, org=person.org, role=person.role)
    with current_db().transaction() as session:
        entries, total = audit.page(session, principal=principal,
                                    query=audit.Query(**filters, page=number, per_page=PAGE_SIZE))
    rows = [{"time": local_time(e.occurred_at), "actor": e.actor or _("(không rõ)"), "role": e.actor_role,
             "kind": e.kind, "label": str(KIND_LABELS.get(e.kind, e.kind)), "org": e.org_code,
             "other_org": e.other_org_code, "subject": e.subject} for e in entries]
    def page_url(n: int) -> str:
        return url_for("audit_pages.audit_trail", **{k: v for k, v in args.items() if k != "page"}, page=n)

    return render_template("audit.html", rows=rows, values=args,
                           older=page_url(number + 1) if number * PAGE_SIZE < total else None,
                           newer=page_url(number - 1) if number > 1 else None,
                           scope=person.org if person.org != ALL_ORGS else None,
                           kinds=[(k, str(KIND_LABELS[k])) for k in audit.KINDS],
                           families=[(f, str(FAMILY_LABELS[f])) for f in audit.FAMILIES])
