"""The words of a notice: Jinja2 templates in files an administrator can change, with Vietnamese
number formatting (thousands ".", decimals ",") and English on request.

Templates live in `templates/<language>/<kind>.txt`; CHITIEU_TEMPLATES_DIR names a directory of
the same layout whose files take precedence over the built-in ones.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

SEPARATORS = {"vi": (".", ","), "en": (",", ".")}  # (thousands, decimal)


def format_number(value: int | float | Decimal | str, *, language: str = "vi", decimals: int = 0) -> str:
    """1732 → "1.732" (vi) / "1,732" (en); with decimals=1, 107.69 → "107,7" / "107.7".
    Trailing zero decimals are dropped: 100.0 → "100"."""
    thousands, point = SEPARATORS[language]
    number = Decimal(str(value)).quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    sign = "-" if number < 0 else ""
    whole, _, fraction = f"{abs(number):f}".partition(".")
    groups = []
    while len(whole) > 3:
        whole, groups = whole[:-3], [whole[-3:]] + groups
    text = thousands.join([whole] + groups)
    fraction = fraction.rstrip("0")
    return sign + text + (point + fraction if fraction else "")


def format_percent(value, *, language: str = "vi") -> str:
    """"107.69" → "107,7%" (vi) / "107.7%" (en)."""
    return format_number(value, language=language, decimals=1) + "%"


def period_label(period: str | None, *, language: str = "vi") -> str:
    """"2024" → "năm 2024"; a term "2020-2025" → "nhiệm kỳ 2020-2025" (en: "for 2024", "for the 2020-2025 term")."""
    if not period:
        return ""
    is_term = "-" in period
    if language == "vi":
        return f"nhiệm kỳ {period}" if is_term else f"năm {period}"
    return f"for the {period} term" if is_term else f"for {period}"


def format_date(value: date | str, *, language: str = "vi") -> str:
    """Vietnamese dd/mm/yyyy; English ISO yyyy-mm-dd (unambiguous for integrators)."""
    day = date.fromisoformat(value) if isinstance(value, str) else value
    return day.strftime("%d/%m/%Y") if language == "vi" else day.isoformat()


@lru_cache(maxsize=16)
def _environment(dirs: tuple[str, ...]) -> Environment:
    env = Environment(loader=FileSystemLoader(list(dirs)), undefined=StrictUndefined,
                      autoescape=False, keep_trailing_newline=False, auto_reload=True)
    return env


def render(kind: str, *, language: str, context: dict[str, Any], template_dirs: list[Path]) -> str:
    """The text of a notice of `kind` in `language`, from the first directory that has the template."""
    env = _environment(tuple(str(d) for d in template_dirs))
    template = env.get_template(f"{language}/{kind}.txt")
    helpers = {
        "number": lambda v, decimals=0: format_number(v, language=language, decimals=decimals),
        "pct": lambda v: format_percent(v, language=language),
        "day": lambda v: format_date(v, language=language),
        "period_label": period_label(context.get("period"), language=language),
    }
    return template.render({**context, **helpers}).strip()


TITLES = {
    "vi": {"quota_met": "Hoàn thành chỉ tiêu kết nạp đảng viên",
           "quota_exceeded": "Vượt chỉ tiêu kết nạp đảng viên",
           "milestone_reached": "Tiến độ chỉ tiêu kết nạp đảng viên",
           "probation_ending": "Sắp hết thời gian dự bị",
           "certificate_expiring": "Giấy chứng nhận bồi dưỡng sắp hết hạn",
           "decision_overdue": "Quá hạn ra quyết định kết nạp"},
    "en": {"quota_met": "Quota of new party members met",
           "quota_exceeded": "Quota of new party members exceeded",
           "milestone_reached": "Quota milestone reached",
           "probation_ending": "Probation ending",
           "certificate_expiring": "Training certificate expiring",
           "decision_overdue": "Admission decision overdue"},
}


def subject(kind: str, *, language: str, org_name: str) -> str:
    """The e-mail subject: "Hoàn thành chỉ tiêu kết nạp đảng viên – Đảng bộ phường Đông Sơn"."""
    return f"{TITLES[language][kind]} – {org_name}"
