"""Sending webhook and e-mail notices: claim the due ones, send, record every attempt.

A notice is claimed by moving its `next_attempt_at` a lease ahead and naming the worker, in a
short transaction (on PostgreSQL with FOR UPDATE SKIP LOCKED, so replicas share the work instead
of waiting on each other; SQLite serialises writers anyway). Sending happens outside any
transaction. Then the attempt is recorded and the notice becomes delivered, is rescheduled with
exponential backoff, or, out of attempts, failed (kept for inspection and manual resend). A
worker that dies mid-send leaves a claim that expires after the lease; the notice is then sent
again with the same delivery id, which receivers de-duplicate on.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import metrics, tracing
from shared.config import Settings
from shared.db import Database, lock_rows
from shared.problems import Problem

from . import mailer, texts, webhooks
from .live import wake_channel
from .models import DeliveryAttempt, Notification, Subscription
from .settings import DeliverySettings
from .webhooks import SendResult

log = logging.getLogger(__name__)
SENT_CHANNELS = ("webhook", "email")
IN_PROGRESS = "đang gửi / in progress"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Job:
    """What a sender needs, read while claiming (so sending touches no database)."""

    notification_id: int
    attempt: int  # the number of this attempt, recorded when claimed
    delivery_id: str
    channel: str
    kind: str
    target: str
    secret: str | None
    language: str
    org_name: str
    text: str
    payload: dict
    traceparent: str | None = None  # the trace of the event that caused the notice


def claim_due(db: Database, *, worker: str, delivery: DeliverySettings, limit: int | None = None) -> list[Job]:
    now = utcnow()
    jobs: list[Job] = []
    with db.transaction() as session:
        query = (select(Notification, Subscription)
                 .join(Subscription, Subscription.id == Notification.subscription_id)
                 .where(Notification.status == "pending", Notification.channel.in_(SENT_CHANNELS),
                        Notification.next_attempt_at <= now)
                 .order_by(Notification.next_attempt_at, Notification.id)
                 .limit(limit or delivery.batch_size))
        for notice, subscription in session.execute(lock_rows(query, skip_locked=True, of=Notification)).all():
            if subscription.deleted_at is not None:
                notice.status, notice.next_attempt_at = "cancelled", None
                continue
            if notice.round_attempts >= delivery.max_attempts:
                # Its attempts were claimed and never recorded: the sending worker died mid-send
                # (a receiver that made it run out of memory, say). Out of attempts: failed.
                notice.status, notice.next_attempt_at, notice.claimed_by = "failed", None, None
                notice.last_error = "người gửi dừng giữa chừng / the sender stopped during the attempt"
                continue
            # The attempt is counted before it is made, so a sender that dies mid-send still uses it up.
            notice.attempts += 1
            notice.round_attempts += 1
            session.add(DeliveryAttempt(notification_id=notice.id, number=notice.attempts, started_at=now,
                                        finished_at=now, ok=False, error=IN_PROGRESS, worker=worker))
            notice.next_attempt_at = now + timedelta(seconds=delivery.claim_lease_s)
            notice.claimed_by = worker
            jobs.append(Job(notification_id=notice.id, attempt=notice.attempts, delivery_id=notice.delivery_id,
                            channel=notice.channel,
                            kind=notice.kind, target=subscription.target or "", secret=subscription.secret,
                            language=notice.language, org_name=notice.org_name, text=notice.text,
                            payload=notice.payload, traceparent=notice.traceparent))
    return jobs


def send(job: Job, *, delivery: DeliverySettings) -> SendResult:
    if job.channel == "webhook":
        return webhooks.send(url=job.target, secret=job.secret or "", payload=job.payload,
                             delivery_id=job.delivery_id, kind=job.kind, timeout_s=delivery.webhook_timeout_s,
                             trace=tracing.current())
    return mailer.send(settings=delivery, to=job.target, text=job.text, delivery_id=job.delivery_id,
                       subject=texts.subject(job.kind, language=job.language, org_name=job.org_name))


def record_attempt(db: Database, *, job: Job, result: SendResult, started_at: datetime, worker: str,
                   delivery: DeliverySettings) -> str:
    """Write the attempt and move the notice on; returns its new status."""
    now = utcnow()
    with db.transaction() as session:
        notice = session.get(Notification, job.notification_id)
        attempt = session.execute(select(DeliveryAttempt).where(
            DeliveryAttempt.notification_id == notice.id, DeliveryAttempt.number == job.attempt)).scalar_one()
        attempt.started_at, attempt.finished_at, attempt.ok = started_at, now, result.ok
        attempt.status_code, attempt.error = result.status_code, result.error
        notice.claimed_by = None
        if result.ok:
            notice.status, notice.delivered_at, notice.next_attempt_at = "delivered", now, None
            notice.last_error = None
        elif notice.round_attempts >= delivery.max_attempts:
            notice.status, notice.next_attempt_at, notice.last_error = "failed", None, result.error
        else:
            notice.next_attempt_at = now + timedelta(seconds=delivery.backoff(notice.round_attempts))
            notice.last_error = result.error
        status = notice.status
    log.info("delivery attempt", extra={"notification_id": job.notification_id, "delivery_id": job.delivery_id,
                                        "channel": job.channel, "ok": result.ok, "status": status,
                                        "status_code": result.status_code, "error": result.error})
    # delivered; retrying (this attempt failed, another will come); failed (no attempt left).
    outcome = "delivered" if result.ok else ("failed" if status == "failed" else "retrying")
    metrics.DELIVERIES.labels(job.channel, outcome).inc()
    return status


def resend(session: Session, *, notice: Notification) -> Notification:
    """Queue a webhook or e-mail notice again, with a fresh round of attempts and the same delivery id."""
    if notice.channel not in SENT_CHANNELS:
        raise Problem(409, "Conflict", "một thông báo trong hộp thư không cần gửi lại / "
                                       "an inbox notice is not sent, so it cannot be resent")
    if notice.status == "pending":
        raise Problem(409, "Conflict", "thông báo đang chờ gửi / the notice is already waiting to be sent")
    subscription = session.get(Subscription, notice.subscription_id)
    if subscription is None or subscription.deleted_at is not None:
        raise Problem(409, "Conflict", "đăng ký đã bị xóa / its subscription was deleted")
    notice.status, notice.round_attempts, notice.next_attempt_at = "pending", 0, utcnow()
    notice.claimed_by = None
    return notice


class Deliverer:
    """The `deliver` worker: claims due notices, sends them in parallel, records each attempt."""

    def __init__(self, *, db: Database, settings: Settings, delivery: DeliverySettings,
                 redis_client: redis.Redis | None = None, worker: str | None = None):
        self.db = db
        self.settings = settings
        self.delivery = delivery
        self.redis = redis_client
        self.worker = worker or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._pool = ThreadPoolExecutor(max_workers=max(delivery.senders, 1), thread_name_prefix="deliver")

    def _attempt(self, job: Job) -> str:
        # Each attempt is a span of the notice's trace: its lines and the webhook's header carry it.
        with tracing.tracing(tracing.continued(job.traceparent)):
            return self._attempt_traced(job)

    def _attempt_traced(self, job: Job) -> str:
        started = utcnow()
        try:
            result = send(job, delivery=self.delivery)
        except Exception as exc:  # a sender bug must not lose the claim's bookkeeping
            log.exception("sender failed")
            result = SendResult(ok=False, error=f"{exc.__class__.__name__}: {exc}"[:1000])
        return record_attempt(self.db, job=job, result=result, started_at=started, worker=self.worker,
                              delivery=self.delivery)

    def deliver_due(self) -> int:
        """One pass: claim a batch and send it; returns how many notices were attempted."""
        jobs = claim_due(self.db, worker=self.worker, delivery=self.delivery)
        list(self._pool.map(self._attempt, jobs))
        return len(jobs)

    def run(self, stop: threading.Event) -> None:
        pubsub = None
        if self.redis is not None:
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(wake_channel(self.settings))
            except redis.RedisError:
                log.warning("no wake-up channel; polling only", exc_info=True)
                pubsub = None
        log.info("delivery worker started", extra={"worker": self.worker})
        try:
            while not stop.is_set():
                try:
                    busy = self.deliver_due()
                except Exception:
                    log.exception("delivery pass failed; retrying")
                    stop.wait(1)
                    continue
                if busy:
                    continue  # more may be due
                self._wait(pubsub, stop)
        finally:
            if pubsub is not None:
                pubsub.close()
            self._pool.shutdown(wait=True)
            log.info("delivery worker stopped", extra={"worker": self.worker})

    def _wait(self, pubsub, stop: threading.Event) -> None:
        """Until the poll interval passes or the consumer says a notice is waiting."""
        if pubsub is None:
            stop.wait(self.delivery.poll_interval_s)
            return
        try:
            message = pubsub.get_message(timeout=self.delivery.poll_interval_s)
            while message is not None:  # drain: one pass serves every wake-up so far
                message = pubsub.get_message(timeout=0)
        except redis.RedisError:
            stop.wait(self.delivery.poll_interval_s)
