"""'Today' is Vietnam's date: at 01:00 in Hà Nội the server's UTC clock still reads yesterday."""
from datetime import date, datetime, timezone

import time_machine

from shared import clock

# 01:00 on 1 July 2024 in Vietnam (UTC+7) is 18:00 on 30 June in UTC.
ONE_AM_IN_VIETNAM = datetime(2024, 6, 30, 18, 0, tzinfo=timezone.utc)


def test_today_is_the_date_in_vietnam_not_on_the_utc_clock():
    with time_machine.travel(ONE_AM_IN_VIETNAM, tick=False):
        assert datetime.now(timezone.utc).date() == date(2024, 6, 30)
        assert clock.today() == date(2024, 7, 1)
        assert clock.now() == ONE_AM_IN_VIETNAM


def test_the_zone_is_a_setting(monkeypatch):
    monkeypatch.setenv("CHITIEU_TIMEZONE", "UTC")
    clock.local_zone.cache_clear()
    try:
        with time_machine.travel(ONE_AM_IN_VIETNAM, tick=False):
            assert clock.today() == date(2024, 6, 30)
    finally:
        clock.local_zone.cache_clear()
