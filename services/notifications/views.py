"""HTTP views of the notifications service (thin: they check input and scope, then call the service layer)."""
from __future__ import annotations

from flask import Response, current_app, request, stream_with_context
from flask_smorest import Blueprint
from sqlalchemy import select

from shared.auth import ALL_ORGS, Principal, current_principal, require_role, require_scope
from shared.pagination import offset, page_of
from shared.problems import Problem, problem_response
from shared.redis_client import get_redis
from shared.web import current_db

from . import delivery, inbox, live, reads, subscriptions, tree
from .models import DeliveryAttempt, Notification
from .schemas import (InboxQuery, MarkAllRead, MarkedRead, NotificationDetail, NotificationPage, NotificationQuery,
                      NotificationSchema, StreamQuery, SubscriptionCreated, SubscriptionIn, SubscriptionOut,
                      SubscriptionPage, SubscriptionQuery, TestSent, UnreadCount)
from .settings import DeliverySettings

SIGNING = ("Webhook requests carry `X-Chitieu-Signature: t=<unix seconds>,v1=<hex>` where the hex is "
           "HMAC-SHA256 with the subscription's secret over `<t>.<raw body>`, `X-Chitieu-Delivery-Id` "
           "(the same on every retry: de-duplicate on it) and `X-Chitieu-Event` (the kind).")

subscriptions_blp = Blueprint("subscriptions", __name__, url_prefix="/subscriptions",
                              description="Đăng ký nhận thông báo / subscriptions to notices. " + SIGNING)
notifications_blp = Blueprint("notifications", __name__, url_prefix="/notifications",
                              description="Thông báo đã ghi và trạng thái gửi / recorded notices and their delivery")
inbox_blp = Blueprint("inbox", __name__, url_prefix="/inbox",
                      description="Hộp thư của tổ chức / an organisation's inbox, and its live stream")
blueprints = [subscriptions_blp, notifications_blp, inbox_blp]



def _settings():
    return current_app.config["CHITIEU_SETTINGS"]


def _scope(session, org_code: str, role: str) -> Principal:
    return require_scope(org_code, role=role, is_within=lambda code, ancestor: tree.is_within(session, code, ancestor))


def _scope_org(principal: Principal) -> str | None:
    return None if principal.org == ALL_ORGS else principal.org


def _known(session, org_code: str) -> None:
    if "\x00" in org_code or len(org_code) > 64 or tree.get(session, org_code) is None:
        raise Problem(404, "Not Found", f"không có tổ chức '{org_code}' / unknown organisation '{org_code}'")


# --- subscriptions --------------------------------------------------------------------------------
@subscriptions_blp.route("", methods=["POST"])
@subscriptions_blp.arguments(SubscriptionIn)
@subscriptions_blp.response(201, SubscriptionCreated)
@subscriptions_blp.alt_response(422, description="invalid fields, unknown organisation, bad URL, no events")
@subscriptions_blp.alt_response(409, description="the same organisation, channel and target is already subscribed")
def create_subscription(body):
    """Subscribe an organisation (optionally with its subtree) to notices by webhook, e-mail or inbox."""
    principal = require_role("officer")
    with current_db().transaction() as session:
        subscriptions.check_org(session, body["org_code"])  # an unknown one is a 422, not a 403
        _scope(session, body["org_code"], "officer")
        return subscriptions.create(session, created_by=principal.sub, **body)


@subscriptions_blp.route("")
@subscriptions_blp.arguments(SubscriptionQuery, location="query")
@subscriptions_blp.response(200, SubscriptionPage)
def list_subscriptions(query):
    """The live subscriptions within the caller's scope, oldest first, a page at a time (page, per_page;
    shared/pagination.py)."""
    principal = require_role("viewer")
    with current_db().sessions() as session:
        if query["org_code"]:
            _scope(session, query["org_code"], "viewer")
        rows, total = subscriptions.page_live(session, scope_org=_scope_org(principal), org_code=query["org_code"],
                                              limit=query["per_page"], offset=offset(query))
        return page_of([subscriptions.shown(s, full=principal.has_role("officer")) for s in rows], total=total,
                       query=query)


@subscriptions_blp.route("/<int:subscription_id>")
@subscriptions_blp.response(200, SubscriptionOut)
def get_subscription(subscription_id: int):
    """One live subscription."""
    with current_db().sessions() as session:
        subscription = subscriptions.get_live(session, subscription_id)
        principal = _scope(session, subscription.org_code, "viewer")
        return subscriptions.shown(subscription, full=principal.has_role("officer"))


@subscriptions_blp.route("/<int:subscription_id>", methods=["DELETE"])
@subscriptions_blp.response(204)
def delete_subscription(subscription_id: int):
    """Stop a subscription; its notices are kept, its unsent ones cancelled."""
    with current_db().transaction() as session:
        subscription = subscriptions.get_live(session, subscription_id)
        _scope(session, subscription.org_code, "officer")
        subscriptions.delete(session, subscription=subscription)
    return None


@subscriptions_blp.route("/<int:subscription_id>/test", methods=["POST"])
@subscriptions_blp.response(200, TestSent)
@subscriptions_blp.alt_response(409, description="an inbox subscription (nothing to test)")
def test_subscription(subscription_id: int):
    """Send a signed test notice (`X-Chitieu-Event: test`) to a webhook or e-mail subscription now and answer
    the receiver's status; the same address checks (SSRF) and deadline as real notices; nothing recorded."""
    with current_db().sessions() as session:
        subscription = subscriptions.get_live(session, subscription_id)
        _scope(session, subscription.org_code, "officer")
        org = tree.get(session, subscription.org_code)
        session.expunge(subscription)
    result, delivery_id = subscriptions.send_test(subscription, org_name=org.name if org else subscription.org_code,
                                                  delivery=DeliverySettings.from_env())
    return {"ok": result.ok, "status_code": result.status_code, "error": result.error, "delivery_id": delivery_id}


# --- notifications --------------------------------------------------------------------------------
@notifications_blp.route("")
@notifications_blp.arguments(NotificationQuery, location="query")
@notifications_blp.response(200, NotificationPage)
def list_notifications(query):
    """Notices received within the caller's scope, newest first, a page at a time (page, per_page;
    shared/pagination.py); filters: org, kind, status (the delivery's outcome: `failed` lists the
    notices to resend), channel, subscription."""
    principal = require_role("viewer")
    org = query["org"] or query["org_code"]
    with current_db().sessions() as session:
        if org:
            _scope(session, org, "viewer")
        notices, total = inbox.page_notifications(session, scope_org=_scope_org(principal), org_code=org,
                                                  kind=query["kind"], status=query["status"],
                                                  channel=query["channel"], subscription_id=query["subscription_id"],
                                                  limit=query["per_page"], offset=offset(query))
        return page_of(_with_read(session, notices, principal.sub), total=total, query=query)


def _with_read(session, notices: list[Notification], reader: str) -> list[dict]:
    """Notices as listed, each with `read` for this person."""
    read = reads.read_ids(session, notification_ids=[n.id for n in notices], reader=reader)
    names = [name for name in NotificationSchema._declared_fields if name != "read"]
    return [{**{name: getattr(n, name) for name in names}, "read": n.id in read} for n in notices]


def _notice_in_scope(session, notification_id: int, role: str) -> Notification:
    notice = session.get(Notification, notification_id) if 0 < notification_id <= subscriptions.MAX_ID else None
    if notice is None:
        raise Problem(404, "Not Found", f"no notification {notification_id}")
    _scope(session, notice.recipient_org_code, role)
    return notice


def _detail(session, notice: Notification) -> dict:
    data = _with_read(session, [notice], current_principal().sub)[0]
    data["attempts_log"] = session.scalars(select(DeliveryAttempt).where(
        DeliveryAttempt.notification_id == notice.id).order_by(DeliveryAttempt.number)).all()
    return data


@notifications_blp.route("/<int:notification_id>")
@notifications_blp.response(200, NotificationDetail)
def get_notification(notification_id: int):
    """One notice with every delivery attempt."""
    with current_db().sessions() as session:
        return _detail(session, _notice_in_scope(session, notification_id, "viewer"))


@notifications_blp.route("/<int:notification_id>/resend", methods=["POST"])
@notifications_blp.response(202, NotificationDetail)
@notifications_blp.alt_response(409, description="an inbox notice, one already waiting, or a deleted subscription")
def resend_notification(notification_id: int):
    """Send a webhook or e-mail notice again (same delivery id, a fresh round of attempts)."""
    with current_db().transaction() as session:
        notice = delivery.resend(session, notice=_notice_in_scope(session, notification_id, "officer"))
        body = _detail(session, notice)
    live.wake_deliverer(get_redis(_settings().redis_url), _settings())
    return body


@notifications_blp.route("/<int:notification_id>/read", methods=["POST"])
@notifications_blp.response(200, NotificationSchema)
def mark_read(notification_id: int):
    """Mark a notice read for the caller (the token's sub; each officer of an inbox has their own state)."""
    with current_db().transaction() as session:
        notice = _notice_in_scope(session, notification_id, "viewer")
        principal = require_role("viewer")
        reads.mark_read(session, notification_id=notice.id, reader=principal.sub)
        return _with_read(session, [notice], principal.sub)[0]


@notifications_blp.route("/<int:notification_id>/unread", methods=["POST"])
@notifications_blp.response(200, NotificationSchema)
def mark_unread(notification_id: int):
    """Mark a notice unread again for the caller."""
    with current_db().transaction() as session:
        notice = _notice_in_scope(session, notification_id, "viewer")
        principal = require_role("viewer")
        reads.mark_unread(session, notification_id=notice.id, reader=principal.sub)
        return _with_read(session, [notice], principal.sub)[0]


# --- inbox ----------------------------------------------------------------------------------------
@inbox_blp.route("/<org_code>")
@inbox_blp.arguments(InboxQuery, location="query")
@inbox_blp.response(200, NotificationPage)
@inbox_blp.doc(responses={"200": {"headers": {"X-Unread-Count": {
    "description": "notices of this inbox the caller has not read (all kinds)", "schema": {"type": "integer"}}}}})
def read_inbox(query, org_code: str):
    """The inbox of an organisation, newest first, a page at a time (page, per_page; shared/pagination.py),
    each notice with `read` for the caller; filters: kind, unread, after_id. The caller's unread count
    is in `X-Unread-Count` (and GET /inbox/{org}/unread)."""
    with current_db().sessions() as session:
        _known(session, org_code)
        principal = _scope(session, org_code, "viewer")
        filters = {"org_code": org_code, "after_id": query["after_id"], "kind": query["kind"],
                   "unread_for": principal.sub if query["unread"] else None}
        notices = inbox.list_inbox(session, **filters, limit=query["per_page"], offset=offset(query))
        total = inbox.count_inbox(session, **filters)
        count = reads.unread_count(session, org_code=org_code, reader=principal.sub)
        body, headers = page_of(_with_read(session, notices, principal.sub), total=total, query=query)
        return body, 200, {**headers, "X-Unread-Count": str(count["unread"])}


@inbox_blp.route("/<org_code>/unread")
@inbox_blp.response(200, UnreadCount)
def inbox_unread(org_code: str):
    """How many notices of the inbox the caller has not read, in all and by kind (for a header badge)."""
    with current_db().sessions() as session:
        _known(session, org_code)
        principal = _scope(session, org_code, "viewer")
        return reads.unread_count(session, org_code=org_code, reader=principal.sub)


@inbox_blp.route("/<org_code>/read", methods=["POST"])
@inbox_blp.arguments(MarkAllRead)
@inbox_blp.response(200, MarkedRead)
def mark_inbox_read(body, org_code: str):
    """Mark every notice of the inbox (up to `up_to_id`, of `kind`) read for the caller."""
    with current_db().transaction() as session:
        _known(session, org_code)
        principal = _scope(session, org_code, "viewer")
        marked = reads.mark_all_read(session, org_code=org_code, reader=principal.sub, up_to_id=body["up_to_id"],
                                     kind=body["kind"])
        return {**reads.unread_count(session, org_code=org_code, reader=principal.sub), "marked": marked}


@inbox_blp.route("/<org_code>/stream")
@inbox_blp.arguments(StreamQuery, location="query")
@inbox_blp.doc(responses={"200": {"description": "server-sent events: `event: notification`, `id: <notice id>`, "
                                                 "`data: <notice as in GET /inbox>`",
                                  "content": {"text/event-stream": {"schema": {"type": "string"}}}}})
def stream_inbox(query, org_code: str):
    """Live server-sent events of an organisation's inbox, resuming after Last-Event-ID."""
    db = current_db()
    with db.sessions() as session:
        _known(session, org_code)
        _scope(session, org_code, "viewer")
    after = query["last_event_id"]
    if after is None:
        header = request.headers.get("Last-Event-ID", "").strip()
        after = int(header) if header.isdigit() else _latest_id(db, org_code)
    slots = live.stream_slots()
    if not slots.take():
        return problem_response(503, "Service Unavailable", f"Đã có {slots.limit} luồng trực tiếp mở; hãy thử "
                                f"lại sau / {slots.limit} live streams are open; retry later",
                                headers={"Retry-After": "5"})
    events = live.stream_inbox(db=db, redis_client=get_redis(_settings().redis_url), settings=_settings(),
                               org_code=org_code, after_id=after, limit=query["limit"])
    response = Response(stream_with_context(events), mimetype="text/event-stream",
                        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    response.call_on_close(slots.give_back)  # however the stream ends, even before its first byte
    return response


def _latest_id(db, org_code: str) -> int:
    """A new dashboard starts from now (it reads the past with GET /inbox)."""
    with db.sessions() as session:
        latest = inbox.list_inbox(session, org_code=org_code, limit=1)
        return latest[0].id if latest else 0
