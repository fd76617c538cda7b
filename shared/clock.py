"""What "today" and "now" mean: the date in Vietnam, not on the server's clock.

Decisions, listings and effective dates are Vietnamese calendar dates. A server (or container) runs
in UTC, where 00:00–07:00 in Vietnam is still yesterday; every "today" therefore comes from here,
in CHITIEU_TIMEZONE (default Asia/Ho_Chi_Minh). Instants stored or sent (`now()`) are aware UTC.
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from .config import setting

DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"


@lru_cache(maxsize=1)
def local_zone() -> ZoneInfo:
    """The zone of the organisations' calendar (CHITIEU_TIMEZONE)."""
    return ZoneInfo(setting("TIMEZONE", DEFAULT_TIMEZONE))


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(timezone.utc)


def today() -> date:
    """Today's date in CHITIEU_TIMEZONE."""
    return now().astimezone(local_zone()).date()
