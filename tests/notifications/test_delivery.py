"""Sending webhook and e-mail notices: signatures, retries with backoff, failure, resend, SMTP
(a real database of each kind, a local HTTP receiver, a real SMTP server)."""
import dataclasses
import email
import json
from email.policy import default as default_policy

import pytest
from sqlalchemy import select

from services.notifications import subscriptions
from shared import tracing
from services.notifications.delivery import Deliverer
from services.notifications.models import DeliveryAttempt, Notification
from services.notifications.webhooks import DELIVERY_HEADER, SIGNATURE_HEADER, verify
from tests.support import wait_until

from .conftest import quota_met, record_of

pytestmark = pytest.mark.integration
SENTENCE = "Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu kết nạp đảng viên năm 2024: 14/13, đạt 107,7% kế hoạch."


def subscribe(db, *, channel, target, language="vi"):
    with db.transaction() as session:
        sub = subscriptions.create(session, org_code="DONGSON", include_subtree=False, events=["quota_met"],
                                   channel=channel, target=target, secret=None, language=language,
                                   created_by="tester")
        return sub.id, sub.secret


def the_notice(db, channel):
    with db.sessions() as session:
        [notice] = session.scalars(select(Notification).where(Notification.channel == channel)).all()
        attempts = session.scalars(select(DeliveryAttempt).where(DeliveryAttempt.notification_id == notice.id)
                                   .order_by(DeliveryAttempt.number)).all()
        return notice, attempts


def deliver_until(deliverer, db, channel, status):
    """Run delivery passes (backoff is short) until the notice reaches `status`."""
    def reached():
        deliverer.deliver_due()
        return the_notice(db, channel)[0].status == status
    wait_until(reached, timeout=30, interval=0.05, message=f"notice never became {status}")


@pytest.fixture
def deliverer(db, settings, delivery_settings):
    d = Deliverer(db=db, settings=settings, delivery=delivery_settings, worker="test-worker")
    yield d
    d._pool.shutdown()


def test_signed_webhook_with_the_vietnamese_text(db, runner, deliverer, receivers):
    receiver = receivers()
    _, secret = subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    deliver_until(deliverer, db, "webhook", "delivered")
    [request] = receiver.requests
    assert verify(secret, request["body"], request["headers"][SIGNATURE_HEADER])
    assert not verify("not-the-secret-at-all", request["body"], request["headers"][SIGNATURE_HEADER])
    [payload] = receiver.payloads()
    assert payload["text"] == SENTENCE
    assert (payload["kind"], payload["org_code"], payload["period"]) == ("quota_met", "DONGSON", "2024")
    assert payload["event"]["data"]["admitted"] == 14
    notice, attempts = the_notice(db, "webhook")
    assert request["headers"][DELIVERY_HEADER] == notice.delivery_id == payload["delivery_id"]
    assert [(a.number, a.ok, a.status_code) for a in attempts] == [(1, True, 200)]
    assert deliverer.deliver_due() == 0  # nothing is sent twice


def test_a_poll_of_two_events_keeps_each_ones_trace_to_its_webhook(db, runner, deliverer, receivers):
    # Two quota.met of two traces, applied as one poll: each notice, each attempt's log line and
    # each webhook's traceparent header is in the trace of its own event.
    receiver = receivers()
    subscribe(db, channel="webhook", target=receiver.url)
    with db.transaction() as session:
        subscriptions.create(session, org_code="QUANGCAT", include_subtree=False, events=["quota_met"],
                             channel="webhook", target=receiver.url, secret=None, language="vi", created_by="tester")
    traces = {}
    records = []
    for org, n in (("DONGSON", "a"), ("QUANGCAT", "b")):
        context = tracing.parse(f"00-{n * 32}-{n * 16}-01")
        with tracing.tracing(context):
            records.append(record_of(quota_met(org)))
        traces[org] = context.trace_id
    runner.process_batch(records)
    with db.sessions() as session:
        stored = {n.org_code: tracing.parse(n.traceparent).trace_id
                  for n in session.scalars(select(Notification).where(Notification.channel == "webhook"))}
    assert stored == traces
    wait_until(lambda: deliverer.deliver_due() or len(receiver.requests) >= 2, timeout=30, message="not sent")
    sent = {json_of(r)["org_code"]: tracing.parse(r["headers"]["traceparent"]) for r in receiver.requests}
    assert {org: context.trace_id for org, context in sent.items()} == traces
    assert all(context.span_id not in ("a" * 16, "b" * 16) for context in sent.values())  # each attempt a span


def json_of(request) -> dict:
    return json.loads(request["body"])


def test_webhook_failing_twice_then_succeeding_is_one_delivery_of_three_attempts(db, runner, deliverer, receivers):
    receiver = receivers([503, 500])
    subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    deliver_until(deliverer, db, "webhook", "delivered")
    notice, attempts = the_notice(db, "webhook")
    assert [(a.number, a.ok, a.status_code) for a in attempts] == [(1, False, 503), (2, False, 500), (3, True, 200)]
    assert notice.attempts == 3 and notice.last_error is None
    # Every attempt carried the same delivery id and body, each signed afresh.
    assert len({r["headers"][DELIVERY_HEADER] for r in receiver.requests}) == 1
    assert len({r["body"] for r in receiver.requests}) == 1


def test_webhook_that_never_succeeds_is_marked_failed_and_can_be_resent(db, settings, runner, deliverer, receivers,
                                                                        delivery_settings, token):
    receiver = receivers(always=500)
    subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    deliver_until(deliverer, db, "webhook", "failed")
    notice, attempts = the_notice(db, "webhook")
    assert len(attempts) == delivery_settings.max_attempts == receiver.count()
    assert notice.last_error.startswith("HTTP 500")
    assert deliverer.deliver_due() == 0  # kept, no longer retried

    receiver.always = None  # the receiver is repaired; an officer resends through the API
    from services.notifications.app import create_app
    client = create_app(settings, db=db).test_client()
    resent = client.post(f"/api/v1/notifications/{notice.id}/resend", headers=token("DONGSON", "officer"))
    assert resent.status_code == 202 and resent.json["status"] == "pending"
    assert [a["ok"] for a in resent.json["attempts_log"]] == [False] * delivery_settings.max_attempts
    deliver_until(deliverer, db, "webhook", "delivered")
    notice, attempts = the_notice(db, "webhook")
    assert [a.ok for a in attempts] == [False] * delivery_settings.max_attempts + [True]
    assert receiver.requests[-1]["headers"][DELIVERY_HEADER] == notice.delivery_id


def test_unreachable_webhook_is_retried(db, runner, deliverer, delivery_settings):
    from .conftest import free_port
    subscribe(db, channel="webhook", target=f"http://127.0.0.1:{free_port()}/nobody-listens")
    runner.process(record_of(quota_met()))
    deliver_until(deliverer, db, "webhook", "failed")
    _, attempts = the_notice(db, "webhook")
    assert len(attempts) == delivery_settings.max_attempts
    assert all("ConnectionRefusedError" in a.error for a in attempts)  # a short reason of our own


def test_email_reaches_the_smtp_server(db, runner, settings, delivery_settings, smtp_server):
    mailbox, port = smtp_server
    deliverer = Deliverer(db=db, settings=settings, worker="mail-worker",
                          delivery=dataclasses.replace(delivery_settings, smtp_port=port,
                                                       smtp_from="Chỉ tiêu <noreply@chitieu.example.vn>"))
    subscribe(db, channel="email", target="vanphong@tpthanhhoa.example.vn")
    runner.process(record_of(quota_met()))
    deliver_until(deliverer, db, "email", "delivered")
    [envelope] = mailbox.messages
    assert envelope.rcpt_tos == ["vanphong@tpthanhhoa.example.vn"]
    message = email.message_from_bytes(envelope.content, policy=default_policy)
    assert message["Subject"] == "Hoàn thành chỉ tiêu kết nạp đảng viên – Đảng bộ phường Đông Sơn"
    assert message.get_content().strip() == SENTENCE
    notice, attempts = the_notice(db, "email")
    assert message[DELIVERY_HEADER] == notice.delivery_id
    assert [(a.ok, a.status_code) for a in attempts] == [(True, 250)]
    deliverer._pool.shutdown()


def test_deleting_a_subscription_cancels_its_unsent_notices(db, runner, deliverer, receivers):
    receiver = receivers()
    sub_id, _ = subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    with db.transaction() as session:
        subscriptions.delete(session, subscription=subscriptions.get_live(session, sub_id))
    assert deliverer.deliver_due() == 0
    assert the_notice(db, "webhook")[0].status == "cancelled" and receiver.count() == 0


def test_two_workers_never_send_the_same_notice_twice(db, runner, settings, delivery_settings, receivers):
    receiver = receivers()
    subscribe(db, channel="webhook", target=receiver.url)
    for period in range(2000, 2030):
        runner.process(record_of(quota_met(period=str(period))))
    # Small batches, so both workers claim while the other is sending.
    small = dataclasses.replace(delivery_settings, batch_size=3)
    workers = [Deliverer(db=db, settings=settings, delivery=small, worker=f"w{i}") for i in range(2)]
    import threading
    threads = [threading.Thread(target=lambda w=w: [w.deliver_due() for _ in range(20)]) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for w in workers:
        w._pool.shutdown()
    assert receiver.count() == 30
    with db.sessions() as session:
        by_worker = {w for (w,) in session.execute(select(DeliveryAttempt.worker).distinct())}
    assert by_worker == {"w0", "w1"}
    assert len({r["headers"][DELIVERY_HEADER] for r in receiver.requests}) == 30


def test_a_webhook_slower_than_the_timeout_counts_as_failed(db, runner, settings, delivery_settings, receivers):
    receiver = receivers(delay_s=1.5)
    subscribe(db, channel="webhook", target=receiver.url)
    runner.process(record_of(quota_met()))
    impatient = Deliverer(db=db, settings=settings, worker="impatient",
                          delivery=dataclasses.replace(delivery_settings, webhook_timeout_s=0.3, max_attempts=1))
    deliver_until(impatient, db, "webhook", "failed")
    _, attempts = the_notice(db, "webhook")
    assert len(attempts) == 1 and "no answer within 0.3 s" in attempts[0].error
    impatient._pool.shutdown()
