"""Names people read for the platform's values, in the page's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"admin": _l("Quản trị viên"), "officer": _l("Cán bộ nghiệp vụ"), "viewer": _l("Người xem")}
WHOLE_COUNTRY = _l("Toàn quốc")


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))

# The quota API's status of progress against plan (colours in app.css: .status-<code>).
STATUS_LABELS = {"not_started": _l("Chưa bắt đầu"), "behind": _l("Chậm tiến độ"), "on_track": _l("Đúng tiến độ"),
                 "met": _l("Đạt chỉ tiêu"), "exceeded": _l("Vượt chỉ tiêu")}
NO_QUOTA = _l("Chưa giao chỉ tiêu")
ALLOCATION_LABELS = {"fully": _l("Phân bổ đủ"), "under": _l("Phân bổ thiếu"), "over": _l("Phân bổ vượt")}
COMPOSITION_LABELS = {"student": _l("Học sinh, sinh viên"), "non_state_enterprise": _l("Doanh nghiệp ngoài nhà nước"),
                      "woman": _l("Nữ"), "ethnic_minority": _l("Dân tộc thiểu số"), "under_30": _l("Dưới 30 tuổi"),
                      "youth_union": _l("Đoàn viên"), "religious": _l("Người có đạo")}


def status_label(status: str | None) -> str:
    return str(STATUS_LABELS.get(status, NO_QUOTA)) if status else str(NO_QUOTA)


def allocation_label(state: str | None) -> str:
    return str(ALLOCATION_LABELS[state]) if state in ALLOCATION_LABELS else str(NO_QUOTA)


def composition_label(attribute: str) -> str:
    return str(COMPOSITION_LABELS.get(attribute, attribute))
