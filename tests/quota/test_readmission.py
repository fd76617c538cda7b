"""A decision corrected on the same day (issue 8, point 3): admit on D, revoke on D, admit again
on D counts 1 and emits what reaching the target emits, once, whether the three events arrive one
by one, in one poll, or twice through the real broker."""
from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import select

from services.quota import organizations, quotas
from services.quota.models import ATTRIBUTES, Milestone, ProgressCounter
from services.quota.ledger import AdmissionChange, RevocationChange, apply_changes
from tests.quota.conftest import add_org
from tests.quota.replay import admitted, consumers, publish, revoked
from tests.support import end_offsets
from tests.quota.test_exactly_once import counter, milestone_events
from tests.support import wait_until

D = date(2024, 5, 20)
NO_FLAGS = dict.fromkeys(ATTRIBUTES, False)
ADMIT, REVOKE, ADMIT_AGAIN = (AdmissionChange("e1", "cand-1", "CB1", D, NO_FLAGS),
                              RevocationChange("r1", "cand-1", D, D),
                              AdmissionChange("e2", "cand-1", "CB1", D, NO_FLAGS))


def _ward_with_a_quota_of_one(db):
    with db.transaction() as s:
        organizations.create_organization(s, code="P", name="Phường", type="grassroots", parent_code=None,
                                          effective_date=date(2020, 1, 1))
        organizations.create_organization(s, code="CB1", name="Chi bộ 1", type="cell", parent_code="P",
                                          effective_date=date(2020, 1, 1))
    with db.transaction() as s:
        quotas.set_quota(s, org_code="P", period="2024", target=1, composition=[])


def _state(db):
    with db.transaction() as s:
        admitted_ = s.execute(select(ProgressCounter.admitted).where(
            ProgressCounter.org_code == "P", ProgressCounter.period == "2024")).scalar()
        kinds = Counter(s.execute(select(Milestone.kind).where(Milestone.org_code == "P",
                                                               Milestone.period == "2024")).scalars())
    return admitted_, kinds, milestone_events(db)[("met", "P", "2024", None)]


@pytest.mark.parametrize("batches", [[[ADMIT], [REVOKE], [ADMIT_AGAIN]], [[ADMIT, REVOKE, ADMIT_AGAIN]],
                                     [[ADMIT, REVOKE], [ADMIT_AGAIN]], [[ADMIT], [REVOKE, ADMIT_AGAIN]]],
                         ids=["one-by-one", "one-poll", "split-after-revoke", "split-before-revoke"])
def test_admit_revoke_admit_on_one_day_counts_one(db, batches):
    _ward_with_a_quota_of_one(db)
    for batch in batches:
        with db.transaction() as s:
            apply_changes(s, changes=batch)
    admitted_, kinds, met_events = _state(db)
    assert admitted_ == 1
    assert kinds == Counter({"50": 1, "75": 1, "met": 1})
    assert met_events == 1


def test_the_same_admission_under_two_event_ids_still_counts_once(db):
    _ward_with_a_quota_of_one(db)
    twin = AdmissionChange("e1-twin", "cand-1", "CB1", D, NO_FLAGS)
    with db.transaction() as s:
        apply_changes(s, changes=[ADMIT, twin])
    with db.transaction() as s:
        apply_changes(s, changes=[twin])
    assert _state(db)[0] == 1
    # Revoked, then the twin of the revoked admission arrives: it is a new decision and counts.
    with db.transaction() as s:
        apply_changes(s, changes=[REVOKE, RevocationChange("r1-twin", "cand-1", D, D)])
    assert _state(db)[0] == 0


@pytest.mark.integration
def test_through_the_broker_with_redelivery(client, admin, db, settings):
    add_org(client, admin, "P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots")
    add_org(client, admin, "P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON")
    assert client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", json={"target": 1},
                      headers=admin).status_code == 200
    first = admitted("P-DONG-SON-CB1", D, candidate_id="cand-dong-son-1")
    second = admitted("P-DONG-SON-CB1", D, candidate_id="cand-dong-son-1")
    events = [first, revoked(first, D), second]
    publish(settings, events)

    def progress():
        return client.get("/api/v1/organizations/P-DONG-SON/progress?period=2024&as_of=2024-12-31",
                          headers=admin).get_json()["admitted"]

    with consumers(db, settings):
        wait_until(lambda: counter(db, "P-DONG-SON-CB1", "2024") == 1
                   and milestone_events(db)[("met", "P-DONG-SON", "2024", None)] == 1,
                   timeout=120, message="the re-admission counted")
        wait_until(lambda: progress() == 1, timeout=60, message="Redis shows 1")
        publish(settings, events)  # every event delivered a second time
        wait_until(lambda: caught_up(settings), timeout=120, message="the redeliveries consumed")
    assert counter(db, "P-DONG-SON", "2024") == 1 and progress() == 1
    assert milestone_events(db)[("met", "P-DONG-SON", "2024", None)] == 1


def caught_up(settings) -> bool:
    """The quota consumer's group has committed up to the end of the candidates topic."""
    group = settings.group("quota-progress")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    probe = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    try:
        committed = admin.list_group_offsets(group)[group]
        parts = [TopicPartition(settings.topic("candidates"), p)
                 for p in probe.partitions_for_topic(settings.topic("candidates")) or []]
        ends = end_offsets(probe, parts)
        return bool(parts) and all((committed[tp].offset if tp in committed else 0) >= ends[tp] for tp in parts)
    finally:
        probe.close()
        admin.close()
