"""A listing or a transition dated today (Vietnam's today) is accepted at 01:00 local time."""
from datetime import date, datetime, timezone

import time_machine

from tests.candidates.factories import auth, candidate_body, create, evidence

ONE_AM_IN_VIETNAM = datetime(2024, 6, 30, 18, 0, tzinfo=timezone.utc)  # 01:00 on 1 July in UTC+7
TODAY_IN_VIETNAM = date(2024, 7, 1)


def test_a_listing_dated_today_in_vietnam_is_not_in_the_future(client):
    with time_machine.travel(ONE_AM_IN_VIETNAM, tick=False):
        resp = client.post("/api/v1/candidates", json=candidate_body(listed_on=TODAY_IN_VIETNAM), headers=auth())
        assert resp.status_code == 201, resp.json
        # Without a date the listing is dated today in Vietnam, not yesterday.
        body = candidate_body()
        del body["listed_on"]
        resp = client.post("/api/v1/candidates", json=body, headers=auth())
        assert resp.status_code == 201 and resp.json["listed_on"] == "2024-07-01", resp.json


def test_a_transition_dated_today_in_vietnam_is_accepted(client):
    candidate = create(client, listed_on=date(2024, 1, 10))
    with time_machine.travel(ONE_AM_IN_VIETNAM, tick=False):
        resp = client.post(f"/api/v1/candidates/{candidate['id']}/transitions",
                           json=evidence("trained", TODAY_IN_VIETNAM), headers=auth())
        assert resp.status_code == 201, resp.json
