"""Every admission delivered twice, two consumer replicas in one group, and two replicas applying
the very same poll at the same moment: each admission counted once, one quota.met per
organisation and period; a revocation takes an admission back once."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from sqlalchemy import func, select

from services.quota.models import Admission, Milestone, ProgressCounter, outbox
from services.quota.worker import progress_consumer
from shared.contracts import BY_TYPE, parse_record
from shared.relay import OutboxRelay
from tests.quota.conftest import add_org
from tests.quota.replay import FAST_GROUP, consumers, many, publish, revoked
from tests.support import read_topic, wait_until

pytestmark = pytest.mark.integration


def counter(db, code, period):
    with db.transaction() as session:
        return session.execute(select(ProgressCounter.admitted).where(
            ProgressCounter.org_code == code, ProgressCounter.period == period)).scalar() or 0


def milestone_events(db) -> Counter:
    with db.transaction() as session:
        rows = session.execute(select(outbox.c.key, outbox.c.value).where(
            outbox.c.event_type.like("vn.chitieu.quota.%"), outbox.c.event_type != "vn.chitieu.quota.assigned.v1"))
        out = Counter()
        for key, value in rows:
            event = parse_record(bytes(value), key.encode(), None)
            data = BY_TYPE[event.type].validate(event.data)
            out[(event.type.split(".")[3], data["org_code"], data["period"], data.get("milestone"))] += 1
        return out


def small_tree(client, admin):
    add_org(client, admin, "TINH-LAI-CHAU", "Đảng bộ tỉnh Lai Châu", "province")
    add_org(client, admin, "P-DONG-PHONG", "Đảng bộ phường Đông Phong", "grassroots", "TINH-LAI-CHAU")
    add_org(client, admin, "DONG-PHONG-CB1", "Chi bộ tổ dân phố 1", "cell", "P-DONG-PHONG")
    add_org(client, admin, "DONG-PHONG-CB2", "Chi bộ tổ dân phố 2", "cell", "P-DONG-PHONG")
    for code, period, target in [("P-DONG-PHONG", "2020-2025", 20), ("P-DONG-PHONG", "2023", 10),
                                 ("TINH-LAI-CHAU", "2023", 30)]:
        assert client.put(f"/api/v1/organizations/{code}/quotas/{period}", json={"target": target},
                          headers=admin).status_code == 200


@pytest.mark.parametrize("apply_in_child", [False, True], ids=["apply-thread", "apply-process"])
def test_twice_delivered_with_two_replicas_counts_once(client, admin, db, settings, apply_in_child):
    small_tree(client, admin)
    # Phường Đông Phong: term target 20, admitted 37 (185%).
    events = (many(20, "DONG-PHONG-CB1", date(2021, 1, 4), date(2022, 12, 30))
              + many(17, "DONG-PHONG-CB2", date(2023, 1, 4), date(2023, 12, 30), ethnic_minority=True))
    publish(settings, events, times=2)
    with consumers(db, settings, replicas=2, apply_in_child=apply_in_child):
        wait_until(lambda: counter(db, "P-DONG-PHONG", "2020-2025") == 37, timeout=120,
                   message="37 admissions counted")
        # A revocation, itself delivered twice.
        publish(settings, [revoked(events[-1], date(2024, 1, 15))], times=2)
        wait_until(lambda: counter(db, "P-DONG-PHONG", "2023") == 16, timeout=60, message="revocation applied")
        wait_until(lambda: client.get("/api/v1/organizations/P-DONG-PHONG/progress?period=2020-2025&as_of=2024-12-31",
                                      headers=admin).get_json()["admitted"] == 36, timeout=60, message="Redis")
    report = client.get("/api/v1/organizations/P-DONG-PHONG/progress?period=2020-2025&as_of=2024-12-31",
                        headers=admin).get_json()
    assert (report["admitted"], report["target"], report["percent"]) == (36, 20, "180.00")
    assert report["counts"]["ethnic_minority"] == 16
    assert counter(db, "TINH-LAI-CHAU", "2023") == 16 and counter(db, "TINH-LAI-CHAU", "2021") == 10
    with db.transaction() as session:
        assert session.execute(select(func.count()).select_from(Admission)).scalar() == 37
    events_out = milestone_events(db)
    assert events_out[("met", "P-DONG-PHONG", "2020-2025", None)] == 1
    assert events_out[("exceeded", "P-DONG-PHONG", "2020-2025", None)] == 1
    assert events_out[("met", "P-DONG-PHONG", "2023", None)] == 1
    assert events_out[("milestone_reached", "TINH-LAI-CHAU", "2023", 50)] == 1
    assert ("met", "TINH-LAI-CHAU", "2023", None) not in events_out  # 16 of 30
    assert set(events_out.values()) == {1}
    # The relay publishes them; the broker holds exactly one quota.met per organisation and period.
    relay = OutboxRelay(db=db, settings=settings)
    while relay.publish_pending():
        pass
    relay.close()
    records = read_topic(settings, "quotas", expected=len(events_out) + 3)
    met = Counter(parse_record(r.value, r.key, r.headers).data["period"] for r in records
                  if b"quota.met" in r.value)
    assert met == Counter({"2020-2025": 1, "2023": 1})


def test_two_replicas_applying_the_same_poll_at_once(client, admin, db, settings):
    small_tree(client, admin)
    events = many(12, "DONG-PHONG-CB1", date(2023, 2, 1), date(2023, 11, 30))
    publish(settings, events)
    records = []
    wait_until(lambda: records.extend(r for r in read_topic(settings, "candidates", expected=12)) or len(records) >= 12,
               timeout=30, message="records readable")
    replicas = [progress_consumer(db=db, settings=settings, **FAST_GROUP) for _ in range(2)]
    barrier = threading.Barrier(2)
    errors = []

    def run(runner):
        try:
            barrier.wait()
            runner.process_batch(records)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(r,)) for r in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert counter(db, "P-DONG-PHONG", "2023") == 12 and counter(db, "TINH-LAI-CHAU", "2023") == 12
    with db.transaction() as session:
        kinds = Counter(session.execute(select(Milestone.org_code, Milestone.period, Milestone.kind)).all())
    # 12 admissions in 2023: 120% of the ward's 10, 60% of its term's 20, 40% of the province's 30.
    assert kinds == Counter({("P-DONG-PHONG", "2023", "50"): 1, ("P-DONG-PHONG", "2023", "75"): 1,
                             ("P-DONG-PHONG", "2023", "met"): 1, ("P-DONG-PHONG", "2023", "exceeded"): 1,
                             ("P-DONG-PHONG", "2020-2025", "50"): 1})
    assert milestone_events(db)[("met", "P-DONG-PHONG", "2023", None)] == 1
    report = client.get("/api/v1/organizations/P-DONG-PHONG/progress?period=2023&as_of=2023-12-31",
                        headers=admin).get_json()
    assert report["admitted"] == 12 and report["status"] == "exceeded"
