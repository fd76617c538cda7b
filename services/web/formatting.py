"""Numbers and dates as people read them, in the page's language (Babel): Vietnamese `1.732`,
`115,47%`, `30/06/2024`; English `1,732`, `115.47%`, `30/06/2024`. Views format here, never
in templates."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from email.utils import parsedate_to_datetime

from babel.numbers import format_decimal
from flask_babel import get_locale

from shared import clock


def _locale() -> str:
    try:
        return str(get_locale() or "vi")
    except RuntimeError:  # outside a request (tests, scripts)
        return "vi"


def number(value: int | float | Decimal | None) -> str:
    """1732 -> '1.732' (vi); None -> '–'."""
    if value is None:
        return "–"
    return format_decimal(value, locale=_locale())


def percent(value: str | Decimal | float | None) -> str:
    """The percent of plan as the press prints it, two decimals: '115.47' -> '115,47%' (vi)."""
    if value is None:
        return "–"
    return format_decimal(Decimal(str(value)), format="#,##0.00", locale=_locale()) + "%"


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
