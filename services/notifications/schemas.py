"""Request and response bodies of the notifications API (marshmallow; flask-smorest documents them)."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import Schema, fields, validate

from shared.codes import OrgCode
from shared.pagination import PageQuery, page_schema

from .models import CHANNELS, KINDS, LANGUAGES, STATUSES

# PostgreSQL text cannot hold NUL, and ids are 64-bit: refuse both as input errors, not crashes.
NO_NUL = validate.Regexp(r"^[^\x00]*$", error="must not contain NUL characters")
ORG_CODE = [validate.Length(min=1, max=64), NO_NUL]
ID = validate.Range(min=0, max=2**63 - 1)


class UtcDateTime(fields.DateTime):
    """SQLite hands datetimes back without a zone; they are UTC."""

    def _serialize(self, value, attr, obj, **kwargs):
        if isinstance(value, datetime) and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return super()._serialize(value, attr, obj, **kwargs)


class SubscriptionIn(Schema):
    org_code = OrgCode(required=True, validate=ORG_CODE,
                             metadata={"description": "Tổ chức được theo dõi / the organisation watched"})
    include_subtree = fields.Boolean(load_default=False,
                                     metadata={"description": "Cả các tổ chức trực thuộc / also every "
                                                              "organisation below it"})
    events = fields.List(fields.String(validate=validate.OneOf(KINDS)), required=True,
                         validate=validate.Length(min=1, error="at least one event kind is required"),
                         metadata={"description": f"Loại sự kiện / event kinds: {', '.join(KINDS)}"})
    channel = fields.String(required=True, validate=validate.OneOf(CHANNELS))
    target = fields.String(load_default=None, allow_none=True, validate=[validate.Length(max=2000), NO_NUL],
                           metadata={"description": "webhook: an http(s) URL; email: an address; inbox: none"})
    secret = fields.String(load_default=None, allow_none=True, validate=[validate.Length(min=16, max=200), NO_NUL],
                           metadata={"description": "webhook HMAC key; generated when omitted (returned once)"})
    language = fields.String(load_default="vi", validate=validate.OneOf(LANGUAGES))


class SubscriptionOut(Schema):
    id = fields.Integer()
    org_code = fields.String()
    include_subtree = fields.Boolean()
    events = fields.List(fields.String())
    channel = fields.String()
    target = fields.String(allow_none=True)
    language = fields.String()
    created_by = fields.String()
    created_at = UtcDateTime()


class SubscriptionCreated(SubscriptionOut):
    secret = fields.String(allow_none=True, metadata={
        "description": "Only in this response: the key of X-Chitieu-Signature "
                       "(t=<unix>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>)"})


class SubscriptionQuery(PageQuery):
    """shared/pagination.py: `page`, `per_page`; oldest first (by id)."""
    org_code = OrgCode(load_default=None, validate=ORG_CODE)


class NotificationSchema(Schema):
    id = fields.Integer()
    delivery_id = fields.String()
    subscription_id = fields.Integer(allow_none=True)
    channel = fields.String()
    recipient_org_code = fields.String()
    org_code = fields.String()
    org_name = fields.String()
    kind = fields.String()
    period = fields.String(allow_none=True)
    language = fields.String()
    text = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = UtcDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = UtcDateTime()
    delivered_at = UtcDateTime(allow_none=True)
    read = fields.Boolean(metadata={"description": "read by the caller (the token's sub); in inbox and notice "
                                                   "lists and answers"})


NotificationPage = page_schema(NotificationSchema, "NotificationPage")
SubscriptionPage = page_schema(SubscriptionOut, "SubscriptionPage")


class AttemptSchema(Schema):
    number = fields.Integer()
    started_at = UtcDateTime()
    finished_at = UtcDateTime()
    ok = fields.Boolean()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    worker = fields.String()


class NotificationDetail(NotificationSchema):
    attempts_log = fields.List(fields.Nested(AttemptSchema))


class NotificationQuery(PageQuery):
    """shared/pagination.py: `page`, `per_page`; newest first (by id)."""
    org = OrgCode(load_default=None, validate=ORG_CODE, metadata={"description": "the organisation notified or notified about"})
    org_code = OrgCode(load_default=None, validate=ORG_CODE, metadata={"description": "the same as org"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES),
                           metadata={"description": "the delivery's outcome: failed (out of attempts, to resend), "
                                                    "pending, delivered, cancelled"})
    channel = fields.String(load_default=None, validate=validate.OneOf(CHANNELS))
    subscription_id = fields.Integer(load_default=None, validate=ID)


class InboxQuery(PageQuery):
    """shared/pagination.py: `page`, `per_page`; newest first (by id)."""
    after_id = fields.Integer(load_default=0, validate=ID,
                              metadata={"description": "only notices newer than this id (a live page asks for "
                                                       "what came after the newest it shows)"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))
    unread = fields.Boolean(load_default=False, metadata={"description": "only the notices the caller has not read"})


class UnreadCount(Schema):
    org_code = fields.String()
    unread = fields.Integer(metadata={"description": "notices of the inbox the caller (token's sub) has not read"})
    by_kind = fields.Dict(keys=fields.String(), values=fields.Integer())


class MarkAllRead(Schema):
    up_to_id = fields.Integer(load_default=None, validate=ID,
                              metadata={"description": "only notices up to this id (the newest the reader saw)"})
    kind = fields.String(load_default=None, validate=validate.OneOf(KINDS))


class MarkedRead(UnreadCount):
    marked = fields.Integer(metadata={"description": "notices marked read by this request"})


class TestSent(Schema):
    ok = fields.Boolean(metadata={"description": "the receiver answered 2xx"})
    status_code = fields.Integer(allow_none=True, metadata={"description": "the receiver's HTTP status (none: no "
                                                                           "answer)"})
    error = fields.String(allow_none=True, metadata={"description": "why it failed, in our words (the receiver's "
                                                                    "answer itself is never shown)"})
    delivery_id = fields.String()


class StreamQuery(Schema):
    last_event_id = fields.Integer(load_default=None, validate=ID,
                                   metadata={"description": "resume after this id (or the Last-Event-ID header)"})
    access_token = fields.String(load_default=None,
                                 metadata={"description": "the bearer token, for EventSource clients that "
                                                          "cannot send headers"})
    limit = fields.Integer(load_default=None, validate=validate.Range(min=1, max=10000),
                           metadata={"description": "close the stream after this many notices"})
