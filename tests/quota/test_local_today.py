"""An organisation created without an effective date exists from Vietnam's today, not the UTC date."""
from datetime import datetime, timezone

import time_machine

ONE_AM_IN_VIETNAM = datetime(2024, 6, 30, 18, 0, tzinfo=timezone.utc)  # 01:00 on 1 July in UTC+7


def test_default_effective_date_is_today_in_vietnam(client, token):
    with time_machine.travel(ONE_AM_IN_VIETNAM, tick=False):
        admin = token("admin")  # minted at the frozen time
        resp = client.post("/api/v1/organizations", headers=admin,
                           json={"code": "TINH-THANH-HOA", "name": "Đảng bộ tỉnh Thanh Hóa", "type": "province"})
        assert resp.status_code == 201, resp.get_json()
        assert resp.get_json()["founded_on"] == "2024-07-01"
