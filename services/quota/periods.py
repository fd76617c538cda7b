"""Quota periods: a calendar year ("2024") or a term ("2020-2025").

A term "A-B" covers 1 January of A up to, not including, 1 January of B: the 2020-2025 term is the
five calendar years 2020-2024, and an admission in 2025 belongs to 2025-2030. Terms never overlap
that way, and the elapsed share of a term is exact. The standard terms are the five-year terms
aligned on 2020 (2015-2020, 2020-2025, 2025-2030, ...); any other term is counted once a quota
names it (see quotas.set_quota).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.contracts.quotas import PERIOD_PATTERN

TERM_ANCHOR = 2020
TERM_YEARS = 5


class InvalidPeriod(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    code: str
    start: date  # first day
    end: date  # first day after

    @property
    def is_term(self) -> bool:
        return "-" in self.code

    def contains(self, day: date) -> bool:
        return self.start <= day < self.end

    def elapsed_share(self, as_of: date) -> float:
        """How much of the period has gone by on `as_of` (the whole day counted), 0..1."""
        if as_of < self.start:
            return 0.0
        if as_of >= self.end:
            return 1.0
        return ((as_of - self.start).days + 1) / (self.end - self.start).days


def parse_period(code: str) -> Period:
    """The period of "2024" or "2020-2025"; raises InvalidPeriod with a bilingual message."""
    match = PERIOD_PATTERN.match(code or "")
    if not match:
        raise InvalidPeriod("kỳ phải là một năm (2024) hoặc một nhiệm kỳ (2020-2025) / "
                            "period must be a year (2024) or a term (2020-2025)")
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else None
    if not 1945 <= first <= 2200 or (last is not None and not first < last <= first + 10):
        raise InvalidPeriod("năm không hợp lệ: nhiệm kỳ 'A-B' cần A < B ≤ A+10 / "
                            "invalid years: a term 'A-B' needs A < B <= A+10")
    if last is None:
        return Period(code, date(first, 1, 1), date(first + 1, 1, 1))
    return Period(code, date(first, 1, 1), date(last, 1, 1))


def standard_term(day: date) -> str:
    start = TERM_ANCHOR + ((day.year - TERM_ANCHOR) // TERM_YEARS) * TERM_YEARS
    return f"{start}-{start + TERM_YEARS}"


def periods_of(day: date, extra_terms: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """Every period an admission on `day` counts toward: its year, its standard term and any
    other counted term containing it."""
    periods = [str(day.year), standard_term(day)]
    for term in sorted(extra_terms):
        if term not in periods and parse_period(term).contains(day):
            periods.append(term)
    return periods
