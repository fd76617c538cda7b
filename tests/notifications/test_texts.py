"""Vietnamese number formatting and the templates (unit tests: no servers)."""
from datetime import date
from decimal import Decimal

import pytest

from services.notifications.settings import BUILTIN_TEMPLATES
from services.notifications.texts import format_date, format_number, format_percent, period_label, render


@pytest.mark.parametrize("value, decimals, vi, en", [
    (0, 0, "0", "0"),
    (13, 0, "13", "13"),
    (1732, 0, "1.732", "1,732"),
    (64403, 0, "64.403", "64,403"),
    (5600000, 0, "5.600.000", "5,600,000"),
    (-1500, 0, "-1.500", "-1,500"),
    ("107.69", 1, "107,7", "107.7"),
    (Decimal("135.66"), 2, "135,66", "135.66"),
    ("88.78", 1, "88,8", "88.8"),
    ("100.00", 1, "100", "100"),  # no ",0" tail
    ("1234.5", 1, "1.234,5", "1,234.5"),
    ("0.05", 1, "0,1", "0.1"),  # half up, not banker's rounding
])
def test_numbers_use_vietnamese_separators(value, decimals, vi, en):
    assert format_number(value, language="vi", decimals=decimals) == vi
    assert format_number(value, language="en", decimals=decimals) == en


def test_percent_and_periods():
    assert format_percent("107.69") == "107,7%"
    assert format_percent("60.5", language="en") == "60.5%"
    assert period_label("2024") == "năm 2024"
    assert period_label("2020-2025") == "nhiệm kỳ 2020-2025"
    assert period_label("2020-2025", language="en") == "for the 2020-2025 term"
    assert format_date(date(2025, 7, 1)) == "01/07/2025"
    assert format_date("2025-07-01", language="en") == "2025-07-01"


def context(**overrides):
    values = {"org_code": "DONGSON", "org_name": "Đảng bộ phường Đông Sơn", "period": "2024", "admitted": 14,
              "target": 13, "percent": "107.69", "reached_on": "2024-11-20", "milestone": None}
    values.update(overrides)
    return values


def test_quota_met_text_is_the_vietnamese_sentence():
    text = render("quota_met", language="vi", context=context(), template_dirs=[BUILTIN_TEMPLATES])
    assert text == ("Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: "
                    "14/13, đạt 107,7% kế hoạch.")


def test_term_period_and_large_numbers():
    text = render("quota_met", language="vi", template_dirs=[BUILTIN_TEMPLATES], context=context(
        org_name="Đảng bộ tỉnh Quảng Nam", period="2020-2025", admitted=7500, target=7500, percent="100.00"))
    assert text == ("Đảng bộ tỉnh Quảng Nam đã hoàn thành chỉ tiêu kết nạp đảng viên nhiệm kỳ 2020-2025: "
                    "7.500/7.500, đạt 100% kế hoạch.")


def test_english_on_request():
    text = render("quota_met", language="en", template_dirs=[BUILTIN_TEMPLATES],
                  context=context(admitted=1877, target=1500, percent="125.13"))
    assert text == ("Đảng bộ phường Đông Sơn has met its quota of new party members for 2024: "
                    "1,877/1,500, 125.1% of plan.")


def test_every_kind_has_both_languages():
    from services.notifications.models import KINDS
    for language in ("vi", "en"):
        for kind in KINDS:
            text = render(kind, language=language, template_dirs=[BUILTIN_TEMPLATES],
                          context=context(milestone=75, candidate_id="c-1", due_date="2025-07-01"))
            assert "Đảng bộ phường Đông Sơn" in text and "{{" not in text


def test_an_administrator_template_overrides_the_builtin_one(tmp_path):
    (tmp_path / "vi").mkdir()
    (tmp_path / "vi" / "quota_met.txt").write_text("Chúc mừng {{ org_name }}: {{ number(admitted) }} đảng viên mới!",
                                                   encoding="utf-8")
    dirs = [tmp_path, BUILTIN_TEMPLATES]
    assert render("quota_met", language="vi", context=context(admitted=1732), template_dirs=dirs) == \
        "Chúc mừng Đảng bộ phường Đông Sơn: 1.732 đảng viên mới!"
    # A template the administrator did not write still comes from the built-in set.
    assert render("quota_exceeded", language="vi", context=context(), template_dirs=dirs).startswith(
        "Đảng bộ phường Đông Sơn đã vượt chỉ tiêu")
