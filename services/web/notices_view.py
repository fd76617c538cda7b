"""The notification API's answers made into what the inbox and subscriptions pages show: kinds,
channels and delivery outcomes in the page's language, instants as dd/mm/yyyy HH:MM (Vietnam time),
and the previous/next links of a page of the API's lists (shared/pagination.py)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from . import formatting

# The notification service's kinds (services/notifications/models.py KINDS), as people name them.
KIND_LABELS = {"quota_met": _l("Hoàn thành chỉ tiêu"), "quota_exceeded": _l("Vượt chỉ tiêu"),
               "milestone_reached": _l("Đạt mốc chỉ tiêu"), "probation_ending": _l("Sắp hết thời gian dự bị"),
               "certificate_expiring": _l("Giấy chứng nhận lớp bồi dưỡng sắp hết hạn"),
               "decision_overdue": _l("Quá hạn ra quyết định kết nạp")}
KINDS = tuple(KIND_LABELS)
CHANNEL_LABELS = {"webhook": _l("Webhook (hệ thống khác)"), "email": _l("Thư điện tử"), "inbox": _l("Hộp thư trong ứng dụng")}
CHANNELS = tuple(CHANNEL_LABELS)
OUTCOME_LABELS = {"pending": _l("Đang chờ gửi"), "delivered": _l("Đã gửi"), "failed": _l("Gửi không thành công"),
                  "cancelled": _l("Đã hủy")}


def kind_choices() -> list[tuple[str, str]]:
    return [(kind, str(label)) for kind, label in KIND_LABELS.items()]


def notice(item: dict) -> dict:
    """One notice of the inbox or of the failed deliveries."""
    return {"id": item["id"], "kind": item["kind"], "kind_label": str(KIND_LABELS.get(item["kind"], item["kind"])),
            "text": item.get("text") or "", "org_name": item.get("org_name") or item.get("org_code"),
            "at": formatting.moment(item.get("created_at")), "read": bool(item.get("read")),
            "channel": str(CHANNEL_LABELS.get(item.get("channel"), item.get("channel"))),
            "outcome": str(OUTCOME_LABELS.get(item.get("status"), item.get("status"))),
            "attempts": formatting.number(item.get("attempts") or 0), "last_error": item.get("last_error") or ""}


def subscription(item: dict) -> dict:
    kinds = ", ".join(str(KIND_LABELS.get(k, k)) for k in item.get("events") or [])
    return {"id": item["id"], "org_code": item["org_code"], "channel": item["channel"],
            "channel_label": str(CHANNEL_LABELS.get(item["channel"], item["channel"])),
            "target": item.get("target") or "", "subtree": bool(item.get("include_subtree")), "kinds": kinds,
            "by": item.get("created_by") or "", "at": formatting.moment(item.get("created_at")),
            "testable": item["channel"] in ("webhook", "email")}


def pager(answer: dict, link) -> dict | None:
    """Previous/next links of a page of an API list; `link(n)` is this page's URL for page n."""
    total, number, size = answer.get("total") or 0, answer.get("page") or 1, answer.get("per_page") or 1
    if total <= size and number == 1:
        return None
    last = max(1, (total + size - 1) // size)
    return {"text": _("Trang %(n)s / %(last)s (%(total)s mục)", n=formatting.number(number),
                      last=formatting.number(last), total=formatting.number(total)),
            "previous": link(number - 1) if number > 1 else None, "next": link(number + 1) if answer.get("next") else None}


def test_result(answer: dict) -> dict:
    """The answer of POST /subscriptions/{id}/test: the receiver's status, or why there was none."""
    status = answer.get("status_code")
    if answer.get("ok"):
        text = _("Nơi nhận trả lời %(status)s: kênh hoạt động.", status=status)
    elif status is not None:
        text = _("Nơi nhận trả lời %(status)s: chưa nhận được thông báo.", status=status)
    else:
        text = _("Không gửi được: %(error)s", error=answer.get("error") or "")
    return {"ok": bool(answer.get("ok")), "status": status if status is not None else "", "text": text}
