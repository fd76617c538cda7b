"""Figures as of a date are a cut-off (issue 11, point 7): progress `as_of` 30 June counts the
admissions dated up to 30 June; without as_of the figures are the live ones (Redis). The
composition counts Youth Union members and religious followers too."""
from __future__ import annotations

from datetime import date

from services.quota.ledger import AdmissionChange, RevocationChange, apply_changes
from services.quota.models import ATTRIBUTES
from services.quota.projection import ProgressStore
from tests.quota.conftest import add_org


def _admit(event_id, org, day, **flags):
    return AdmissionChange(event_id, f"cand-{event_id}", org, day, {a: flags.get(a, False) for a in ATTRIBUTES})


def _apply(db, settings, redis_client, changes):
    with db.transaction() as session:
        applied = apply_changes(session, changes=changes)
    ProgressStore(redis_client, settings).project(db, applied.keys)


def _progress(client, headers, code, period, as_of=None):
    url = f"/api/v1/organizations/{code}/progress?period={period}" + (f"&as_of={as_of}" if as_of else "")
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_a_province_whose_only_admission_is_on_15_july_has_none_as_of_30_june(client, admin, db, settings,
                                                                             redis_client):
    add_org(client, admin, "TINH-QUANG-NAM", "Đảng bộ tỉnh Quảng Nam", "province")
    add_org(client, admin, "TAM-KY-CB1", "Chi bộ khối phố 1", "cell", "TINH-QUANG-NAM")
    assert client.put("/api/v1/organizations/TINH-QUANG-NAM/quotas/2024", json={"target": 10},
                      headers=admin).status_code == 200
    _apply(db, settings, redis_client, [_admit("a1", "TAM-KY-CB1", date(2024, 7, 15))])

    june = _progress(client, admin, "TINH-QUANG-NAM", "2024", "2024-06-30")
    assert (june["admitted"], june["status"], june["children"][0]["admitted"]) == (0, "not_started", 0)
    july = _progress(client, admin, "TINH-QUANG-NAM", "2024", "2024-07-15")
    assert (july["admitted"], july["children"][0]["admitted"]) == (1, 1)
    # The whole year (as_of on or after its last day) and the live figures agree with the ledger.
    assert _progress(client, admin, "TINH-QUANG-NAM", "2024", "2024-12-31")["admitted"] == 1
    assert _progress(client, admin, "TINH-QUANG-NAM", "2024")["admitted"] == 1
    # Before the period: nothing; a term is cut off the same way.
    assert _progress(client, admin, "TINH-QUANG-NAM", "2024", "2023-12-31")["admitted"] == 0
    assert _progress(client, admin, "TINH-QUANG-NAM", "2020-2025", "2024-06-30")["admitted"] == 0
    assert _progress(client, admin, "TINH-QUANG-NAM", "2020-2025", "2024-07-31")["admitted"] == 1


def test_cut_off_counts_the_composition_youth_union_and_religion_and_drops_revoked(client, admin, db, settings,
                                                                                   redis_client):
    add_org(client, admin, "P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots")
    add_org(client, admin, "P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON")
    assert client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", json={"target": 13, "composition": [
        {"attribute": "youth_union", "min_share": 50}, {"attribute": "religious", "min_count": 1}]},
        headers=admin).status_code == 200
    _apply(db, settings, redis_client, [
        _admit("a1", "P-DONG-SON-CB1", date(2024, 3, 1), youth_union=True, woman=True),
        _admit("a2", "P-DONG-SON-CB1", date(2024, 6, 30), religious=True),
        _admit("a3", "P-DONG-SON-CB1", date(2024, 7, 1), youth_union=True, religious=True)])
    june = _progress(client, admin, "P-DONG-SON", "2024", "2024-06-30")
    assert june["admitted"] == 2
    assert june["counts"] == {"student": 0, "non_state_enterprise": 0, "woman": 1, "ethnic_minority": 0,
                              "under_30": 0, "youth_union": 1, "religious": 1}
    assert {c["attribute"]: (c["count"], c["share"], c["met"]) for c in june["composition"]} == {
        "youth_union": (1, "50.00", True), "religious": (1, "50.00", True)}
    live = _progress(client, admin, "P-DONG-SON", "2024")
    assert (live["admitted"], live["counts"]["youth_union"], live["counts"]["religious"]) == (3, 2, 2)

    # A revocation takes the admission off its own date: it never counted, even before it was revoked.
    _apply(db, settings, redis_client, [RevocationChange("r1", "cand-a1", date(2024, 3, 1), date(2024, 8, 1))])
    june = _progress(client, admin, "P-DONG-SON", "2024", "2024-06-30")
    assert (june["admitted"], june["counts"]["youth_union"], june["counts"]["woman"]) == (1, 0, 0)
    assert _progress(client, admin, "P-DONG-SON", "2024")["admitted"] == 2


def test_admitted_events_without_youth_union_or_religion_are_still_accepted():
    from services.quota.ledger import flags_of
    from shared.contracts import CANDIDATE_ADMITTED

    old = {"candidate_id": "c1", "org_code": "X", "admission_date": "2024-07-15", "decision_number": "1-QĐ",
           "deciding_org_code": "X", "attributes": {"gender": "female", "ethnic_minority": False,
                                                    "occupation_group": "student", "age_years": 22}}
    data = CANDIDATE_ADMITTED.schema().load(old)
    assert (data["attributes"]["youth_union_member"], data["attributes"]["religious_follower"]) == (False, False)
    assert flags_of(data["attributes"]) == {"student": True, "non_state_enterprise": False, "woman": True,
                                            "ethnic_minority": False, "under_30": True, "youth_union": False,
                                            "religious": False}
    new = {**old, "attributes": {**old["attributes"], "youth_union_member": True, "religious_follower": True}}
    flags = flags_of(CANDIDATE_ADMITTED.schema().load(new)["attributes"])
    assert (flags["youth_union"], flags["religious"]) == (True, True)
