"""Subscriptions: who wants which notices, about which organisation (or its whole subtree), how."""
from __future__ import annotations

import re
import secrets
import uuid
from datetime import datetime, timezone
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shared.contracts import SUBSCRIPTION_CREATED, SUBSCRIPTION_DELETED
from shared.outbox import record_event
from shared.problems import Problem

from . import mailer, targets, tree, webhooks
from .models import Notification, Subscription, outbox
from .settings import DeliverySettings
from .webhooks import SendResult

EVENT_SOURCE = "/notifications"

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "Unprocessable Content", f"invalid fields: {field}", errors={field: [message]})


def check_target(*, channel: str, target: str | None) -> str | None:
    """The webhook URL (http or https, with a host), the e-mail address, or nothing for an inbox."""
    if channel == "inbox":
        if target:
            raise _invalid("target", "một hộp thư không có địa chỉ đích / an inbox subscription takes no target")
        return None
    if not target:
        raise _invalid("target", "cần địa chỉ đích / a target is required for this channel")
    if channel == "webhook":
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise _invalid("target", "địa chỉ webhook phải là URL http hoặc https / "
                                     "the webhook URL must be an http or https URL")
        try:
            targets.resolve(target)  # not inside the deployment (checked again at every send)
        except targets.Unresolvable:
            pass  # a name without an address today may get one; each send resolves and checks it
        except targets.TargetRefused as exc:
            raise _invalid("target", str(exc)) from exc
        return target
    if not EMAIL.match(target):
        raise _invalid("target", "địa chỉ e-mail không hợp lệ / not a valid e-mail address")
    return target


SECRET_LOOKING = re.compile(r"(?i)(token|key|secret|sig|signature|pass|password|auth|code|credential)")


def masked_target(target: str | None) -> str | None:
    """A webhook URL as a viewer may see it: no user or password, no value of a query parameter
    that looks like a credential (https://***@host/hook?token=***)."""
    if not target or "://" not in target:
        return target
    parts = urlsplit(target)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(f"{name}=***" if SECRET_LOOKING.search(name) else f"{name}={value}" if sep else name
                     for name, sep, value in (item.partition("=") for item in parts.query.split("&") if item))
    return parts._replace(netloc=netloc, query=query).geturl()


def shown(subscription: Subscription, *, full: bool) -> Subscription | dict:
    """The subscription as the API shows it: officers see the URL they manage, viewers a masked one."""
    if full or subscription.channel != "webhook":
        return subscription
    out = {c.key: getattr(subscription, c.key) for c in Subscription.__table__.columns}
    out["target"] = masked_target(subscription.target)
    return out


def check_org(session: Session, org_code: str) -> None:
    if not tree.is_active(session, org_code):
        raise _invalid("org_code", f"không có tổ chức '{org_code}' / unknown organisation '{org_code}'")


def create(session: Session, *, org_code: str, include_subtree: bool, events: list[str], channel: str,
           target: str | None, secret: str | None, language: str, created_by: str) -> Subscription:
    """Checks first, writes after: a refused subscription leaves nothing behind."""
    if not events:
        raise _invalid("events", "cần ít nhất một loại sự kiện / at least one event kind is required")
    check_org(session, org_code)
    target = check_target(channel=channel, target=target)
    twin = session.scalar(select(Subscription.id).where(
        Subscription.deleted_at.is_(None), Subscription.org_code == org_code, Subscription.channel == channel,
        Subscription.target.is_(None) if target is None else Subscription.target == target,
        Subscription.include_subtree == include_subtree))
    if twin is not None:
        # Two identical subscriptions would send every notice twice to the same place.
        raise Problem(409, "Conflict", f"đã có đăng ký {twin} giống hệt / subscription {twin} already does this; "
                                       "delete it first to change its events", errors={"target": [f"subscription {twin}"]})
    if channel == "webhook":
        secret = secret or secrets.token_hex(32)
    elif secret:
        raise _invalid("secret", "chỉ webhook có khóa bí mật / only a webhook has a secret")
    subscription = Subscription(org_code=org_code, include_subtree=include_subtree,
                                events=list(dict.fromkeys(events)), channel=channel, target=target,
                                secret=secret, language=language, created_by=created_by)
    session.add(subscription)
    session.flush()
    record_event(session, outbox=outbox, event_type=SUBSCRIPTION_CREATED, source=EVENT_SOURCE,
                 subject=str(subscription.id),
                 data={"subscription_id": subscription.id, "org_code": org_code, "include_subtree": include_subtree,
                       "events": subscription.events, "channel": channel})
    return subscription


MAX_ID = 2**63 - 1  # a larger id cannot exist, and would overflow the database's integer


def get_live(session: Session, subscription_id: int) -> Subscription:
    subscription = session.get(Subscription, subscription_id) if 0 < subscription_id <= MAX_ID else None
    if subscription is None or subscription.deleted_at is not None:
        raise Problem(404, "Not Found", f"no subscription {subscription_id}")
    return subscription


def page_live(session: Session, *, scope_org: str | None, org_code: str | None = None, limit: int = 100,
              offset: int = 0) -> tuple[list[Subscription], int]:
    """The live subscriptions in `scope_org`'s subtree (of `org_code`), oldest first, and how many."""
    query = select(Subscription).where(Subscription.deleted_at.is_(None))
    if scope_org is not None:
        query = query.where(Subscription.org_code.in_(tree.subtree(session, scope_org)))
    if org_code:
        query = query.where(Subscription.org_code == org_code)
    rows = list(session.scalars(query.order_by(Subscription.id).limit(limit).offset(offset)))
    return rows, session.scalar(select(func.count()).select_from(query.subquery()))


def delete(session: Session, *, subscription: Subscription) -> None:
    """Kept (its notices point at it) but no longer matched; its unsent notices are cancelled."""
    now = datetime.now(timezone.utc)
    subscription.deleted_at = now
    for notice in session.scalars(select(Notification).where(Notification.subscription_id == subscription.id,
                                                             Notification.status == "pending")):
        notice.status, notice.next_attempt_at = "cancelled", None
    record_event(session, outbox=outbox, event_type=SUBSCRIPTION_DELETED, source=EVENT_SOURCE,
                 subject=str(subscription.id),
                 data={"subscription_id": subscription.id, "org_code": subscription.org_code})


TEST_KIND = "test"
TEST_TEXT = {"vi": "Thông báo thử của chitieu cho {org}: nếu bạn đọc được, kênh này hoạt động.",
             "en": "A test notice from chitieu for {org}: if you read this, the channel works."}


def send_test(subscription: Subscription, *, org_name: str, delivery: DeliverySettings) -> tuple[SendResult, str]:
    """Send one signed test notice (`X-Chitieu-Event: test`) to a webhook or e-mail subscription now,
    through the same guarded path as real notices (the SSRF checks of targets.py, the deadline);
    returns the result and the test's delivery id. Nothing is recorded: a test is not a notice."""
    if subscription.channel not in ("webhook", "email"):
        raise Problem(409, "Conflict", "chỉ gửi thử được tới webhook hoặc e-mail / only a webhook or e-mail "
                                       "subscription can be tested",
                      errors={"channel": ["Hộp thư trong ứng dụng không cần gửi thử. / An inbox needs no test."]})
    delivery_id = str(uuid.uuid4())
    text = TEST_TEXT.get(subscription.language, TEST_TEXT["vi"]).format(org=org_name)
    if subscription.channel == "webhook":
        payload = {"delivery_id": delivery_id, "kind": TEST_KIND, "org_code": subscription.org_code,
                   "org_name": org_name, "language": subscription.language, "text": text,
                   "subscription_id": subscription.id, "created_at": datetime.now(timezone.utc).isoformat(),
                   "event": None}
        return webhooks.send(url=subscription.target, secret=subscription.secret or "", payload=payload,
                             delivery_id=delivery_id, kind=TEST_KIND, timeout_s=delivery.webhook_timeout_s), delivery_id
    return mailer.send(settings=delivery, to=subscription.target, text=text, delivery_id=delivery_id,
                       subject=f"[chitieu] Thông báo thử / test notice: {org_name}"), delivery_id
