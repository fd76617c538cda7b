"""From events to notices, exactly once (the real database of each kind, records fed by hand)."""
from datetime import date

import pytest
from sqlalchemy import select

from shared.contracts import CANDIDATE_REMINDER_DUE, QUOTA_EXCEEDED, build_event
from services.notifications import subscriptions, tree
from services.notifications.models import Notification

from .conftest import milestone, org_state, progress, quota_met, record_of

pytestmark = pytest.mark.integration
SENTENCE = "Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 14/13, đạt 107,7% kế hoạch."


def notices(db, **where) -> list[Notification]:
    with db.sessions() as session:
        query = select(Notification).order_by(Notification.id)
        for name, value in where.items():
            query = query.where(getattr(Notification, name) == value)
        return list(session.scalars(query))


def subscribe(db, org_code="DONGSON", *, channel="webhook", target="http://127.0.0.1:9/hook", events=("quota_met",),
              include_subtree=False, language="vi"):
    with db.transaction() as session:
        return subscriptions.create(session, org_code=org_code, include_subtree=include_subtree, events=list(events),
                                    channel=channel, target=target, secret=None if channel != "webhook" else None,
                                    language=language, created_by="tester").id


def test_met_quota_reaches_both_inboxes_without_any_subscription(db, runner):
    assert runner.process(record_of(quota_met())) == "applied"
    inbox = notices(db, channel="inbox")
    assert [(n.recipient_org_code, n.org_code, n.kind, n.period) for n in inbox] == [
        ("DONGSON", "DONGSON", "quota_met", "2024"), ("TPTH", "DONGSON", "quota_met", "2024")]
    assert {n.text for n in inbox} == {SENTENCE}
    assert {n.status for n in inbox} == {"delivered"}


def test_redelivered_and_republished_events_add_nothing(db, runner):
    subscribe(db)
    event = quota_met()
    assert runner.process(record_of(event)) == "applied"
    assert runner.process(record_of(event)) == "duplicate"  # the same event id again
    # The quota service publishing the same fact again under a new event id: the UNIQUE
    # (recipient, organisation, kind, occurrence) still allows one notice.
    assert runner.process(record_of(quota_met())) == "applied"
    assert len(notices(db, channel="webhook")) == 1
    assert len(notices(db, channel="inbox")) == 2


def test_each_kind_and_period_is_its_own_notice(db, runner):
    subscribe(db, events=("quota_met", "quota_exceeded", "milestone_reached"))
    for event in (milestone(milestone=50, admitted=7, percent="53.85"), milestone(milestone=75, admitted=10,
                  percent="76.92"), quota_met(admitted=13, percent="100.00"),
                  build_event(QUOTA_EXCEEDED, progress(), source="/quota"), quota_met(period="2025")):
        runner.process(record_of(event))
    sent = notices(db, channel="webhook")
    assert [(n.kind, n.occurrence) for n in sent] == [
        ("milestone_reached", "2024@50"), ("milestone_reached", "2024@75"), ("quota_met", "2024"),
        ("quota_exceeded", "2024"), ("quota_met", "2025")]
    assert sent[1].text == ("Đảng bộ phường Đông Sơn đã đạt 75% chỉ tiêu kết nạp đảng viên năm 2024: 10/13, "
                            "đạt 76,9% kế hoạch.")


def test_subtree_subscription_covers_organisations_below(db, runner):
    city = subscribe(db, "TPTH", include_subtree=True)
    only_city = subscribe(db, "TPTH", include_subtree=False)
    province_milestones = subscribe(db, "TH", include_subtree=True, events=("milestone_reached",))
    runner.process(record_of(quota_met("DONGSON-1", admitted=2, target=2, percent="100.00", assigner="DONGSON",
                                       parent="DONGSON")))
    sent = notices(db, channel="webhook")
    assert [n.subscription_id for n in sent] == [city]
    assert only_city != city and province_milestones not in [n.subscription_id for n in sent]


def test_inbox_subscription_shares_the_inbox_and_english_is_on_request(db, runner):
    subscribe(db, "TPTH", channel="inbox", target=None, include_subtree=True,
              events=("quota_met", "milestone_reached"), language="en")
    runner.process(record_of(quota_met()))  # TPTH is also the assigner: still one notice in its inbox
    runner.process(record_of(milestone(milestone=50, admitted=7, percent="53.85")))
    city_inbox = notices(db, channel="inbox", recipient_org_code="TPTH")
    assert [n.kind for n in city_inbox] == ["quota_met", "milestone_reached"]
    assert city_inbox[1].text == ("Đảng bộ phường Đông Sơn has reached 50% of its quota of new party members "
                                  "for 2024: 7/13, 53.9% of plan.")


def test_reminders_are_sent_once_per_reminder(db, runner):
    subscribe(db, "DONGSON", include_subtree=True, events=("probation_ending",), channel="email",
              target="bithu@dongson.example.vn")
    data = {"reminder_id": "r-1", "candidate_id": "c-42", "org_code": "DONGSON-1", "kind": "probation_ending",
            "due_date": date(2025, 7, 1)}
    for _ in range(2):
        runner.process(record_of(build_event(CANDIDATE_REMINDER_DUE, data, source="/candidates")))
    runner.process(record_of(build_event(CANDIDATE_REMINDER_DUE, {**data, "kind": "decision_overdue",
                                                                  "reminder_id": "r-2"}, source="/candidates")))
    sent = notices(db, channel="email")
    assert len(sent) == 1
    assert sent[0].text == ("Chi bộ khu phố 1: đảng viên dự bị (hồ sơ c-42) sắp hết thời gian dự bị ngày "
                            "01/07/2025; cần đề nghị công nhận đảng viên chính thức.")


def test_state_events_keep_the_copy_of_the_tree(db, runner):
    runner.process(record_of(org_state("DONGSON-2", "Chi bộ khu phố 2", "DONGSON"), topic="t.organization-state"))
    with db.sessions() as session:
        assert tree.ancestors(session, "DONGSON-2") == ["DONGSON-2", "DONGSON", "TPTH", "TH"]
        assert tree.is_within(session, "DONGSON-2", "TPTH") and not tree.is_within(session, "DONGSON-2", "QUANGCAT")
        assert set(session.scalars(tree.subtree(session, "DONGSON"))) == {"DONGSON", "DONGSON-1", "DONGSON-2"}


def test_a_quota_event_of_an_organisation_not_yet_known_reaches_its_assigners_subscribers(db, runner):
    with db.transaction() as session:
        subscriptions.create(session, org_code="TH", include_subtree=True, events=["quota_met"], channel="inbox",
                             target=None, secret=None, language="vi", created_by="t")
    # NEWWARD's organization.state has not arrived: it is taken to be under TPTH, which assigned its
    # quota, so the province's subtree subscription reaches it.
    runner.process(record_of(quota_met("NEWWARD", parent="TPTH")))
    with db.sessions() as session:
        assert tree.get(session, "NEWWARD") is None  # the copy of the tree is not patched from quota events
        recipients = set(session.scalars(select(Notification.recipient)))
    assert recipients == {"inbox:NEWWARD", "inbox:TPTH", "inbox:TH"}
