"""Names people read for the platform's values, in the page's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ROLE_LABELS = {"admin": _l("Quản trị viên"), "officer": _l("Cán bộ nghiệp vụ"), "viewer": _l("Người xem")}
WHOLE_COUNTRY = _l("Toàn quốc")


def role_label(role: str) -> str:
    return str(ROLE_LABELS.get(role, role))
