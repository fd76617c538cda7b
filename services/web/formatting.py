"""Numbers and dates as people read them, in the page's language (Babel): Vietnamese `1.732`,
`115,47%`, `30/06/2024`; English `1,732`, `115.47%`, `30/06/2024`. Views format here, never
in templates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import ROUND_HALF_UP, Decimal
from email.utils import parsedate_to_datetime
from functools import lru_cache

from babel import Locale
from babel.numbers import get_decimal_symbol, get_group_symbol
from flask import g
from flask_babel import get_locale

from shared import clock


def _locale_name() -> str:
    try:
        if "format_locale" not in g:
            g.format_locale = str(get_locale() or "vi")
        return g.format_locale
    except RuntimeError:  # outside a request (tests, scripts)
        return "vi"


@lru_cache(maxsize=8)
def _separators(name: str) -> dict[int, str]:
    """The locale's decimal and grouping symbols (Babel), to put in place of Python's '.' and ','.
    Python formats the digits: a ranked table formats hundreds of numbers, and Babel's own
    formatting was most of its render time (about 0.3 ms a row)."""
    locale = Locale.parse(name)
    return str.maketrans({".": get_decimal_symbol(locale), ",": get_group_symbol(locale)})


def number(value: int | float | Decimal | None) -> str:
    """1732 -> '1.732' (vi), '1,732' (en); None -> '–'."""
    if value is None:
        return "–"
    text = f"{value:,}" if isinstance(value, int) else f"{Decimal(str(value)):,f}"
    return text.translate(_separators(_locale_name()))


def percent(value: str | Decimal | float | None) -> str:
    """The percent of plan as the press prints it, two decimals: '115.47' -> '115,47%' (vi)."""
    if value is None:
        return "–"
    exact = Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return f"{exact:,.2f}".translate(_separators(_locale_name())) + "%"


def day(value: date | str | None) -> str:
    """30/06/2024 in both languages (the form the party's documents use)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.strftime("%d/%m/%Y")


def moment(value: datetime | str | None) -> str:
    """30/06/2024 14:05, Vietnam time (a change's instant: ISO 8601, or the HTTP date Flask writes
    for a datetime inside a dict; a naive one is taken as UTC)."""
    if value is None:
        return "–"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            value = parsedate_to_datetime(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(clock.local_zone()).strftime("%d/%m/%Y %H:%M")
