"""Periods: years and terms, which periods a date counts toward, the elapsed share."""
from datetime import date

import pytest

from services.quota.periods import InvalidPeriod, parse_period, periods_of, standard_term


def test_year_and_term_bounds():
    assert (parse_period("2024").start, parse_period("2024").end) == (date(2024, 1, 1), date(2025, 1, 1))
    term = parse_period("2020-2025")
    assert (term.start, term.end, term.is_term) == (date(2020, 1, 1), date(2025, 1, 1), True)
    assert term.contains(date(2024, 12, 31)) and not term.contains(date(2025, 1, 1))


@pytest.mark.parametrize("bad", ["24", "2024-", "2025-2020", "2020-2020", "2020-2045", "abcd", "", "2024 "])
def test_malformed_periods(bad):
    with pytest.raises(InvalidPeriod):
        parse_period(bad)


def test_periods_of_a_date():
    assert standard_term(date(2025, 1, 1)) == "2025-2030" and standard_term(date(2019, 6, 1)) == "2015-2020"
    assert periods_of(date(2023, 6, 30)) == ["2023", "2020-2025"]
    assert periods_of(date(2023, 6, 30), {"2021-2026", "2015-2020"}) == ["2023", "2020-2025", "2021-2026"]


def test_elapsed_share():
    term = parse_period("2020-2025")
    assert term.elapsed_share(date(2019, 1, 1)) == 0.0 and term.elapsed_share(date(2026, 1, 1)) == 1.0
    assert round(term.elapsed_share(date(2023, 6, 30)), 3) == 0.699  # 1,277 of 1,827 days
    assert parse_period("2024").elapsed_share(date(2024, 12, 31)) == 1.0
