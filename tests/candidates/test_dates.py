"""Months of age and working days, the units the rules count in."""
from datetime import date

import pytest

from services.candidates.dates import add_months, add_working_days, full_months_between, working_days_after


@pytest.mark.parametrize("start,end,months", [
    (date(2008, 5, 20), date(2026, 5, 19), 215),  # the day before the 18th birthday
    (date(2008, 5, 20), date(2026, 5, 20), 216),
    (date(2008, 1, 31), date(2008, 2, 29), 1),  # a month after 31 January is the end of February
    (date(2008, 1, 31), date(2008, 2, 28), 0),
    (date(2020, 1, 15), date(2020, 1, 10), -1),
])
def test_full_months_between(start, end, months):
    assert full_months_between(start, end) == months


def test_add_months_clamps_to_the_end_of_a_short_month():
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)
    assert add_months(date(2023, 10, 3), 12) == date(2024, 10, 3)
    assert add_months(date(2025, 3, 15), -3) == date(2024, 12, 15)


def test_working_days_skip_weekends_and_holidays():
    friday = date(2025, 8, 29)
    assert working_days_after(friday, date(2025, 9, 1)) == 1  # Sat, Sun skipped
    assert working_days_after(friday, date(2025, 9, 5)) == 5
    national_day = frozenset({date(2025, 9, 1), date(2025, 9, 2)})
    assert working_days_after(friday, date(2025, 9, 5), national_day) == 3
    assert working_days_after(friday, friday) == 0


def test_add_working_days_is_the_inverse_of_counting():
    start = date(2025, 1, 6)
    for n in (1, 5, 37, 60):
        end = add_working_days(start, n)
        assert working_days_after(start, end) == n
        assert end.weekday() < 5
