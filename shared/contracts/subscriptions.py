"""Events of subscriptions to notices, published by the notification service; keyed by the
subscription's id. No target or secret: a webhook URL may hold a credential."""
from marshmallow import Schema, fields

from .base import EventType

TOPIC = "subscriptions"


class SubscriptionCreated(Schema):
    subscription_id = fields.Integer(required=True)
    org_code = fields.String(required=True)
    include_subtree = fields.Boolean(required=True)
    events = fields.List(fields.String(), required=True)  # notice kinds: quota_met, ...
    channel = fields.String(required=True)  # webhook, email or inbox


class SubscriptionDeleted(Schema):
    subscription_id = fields.Integer(required=True)
    org_code = fields.String(required=True)


def _subscription_key(data):
    return str(data["subscription_id"])


SUBSCRIPTION_CREATED = EventType("subscription.created", 1, TOPIC, SubscriptionCreated, _subscription_key,
                                 "An organisation subscribed to notices by webhook, e-mail or inbox.")
SUBSCRIPTION_DELETED = EventType("subscription.deleted", 1, TOPIC, SubscriptionDeleted, _subscription_key,
                                 "A subscription was stopped; its unsent notices were cancelled.")
