"""Events of quotas and progress, published by the quota service; keyed by organisation code."""
import re

from marshmallow import Schema, fields, validate

from .base import EventType

TOPIC = "quotas"
PERIOD_PATTERN = re.compile(r"^(\d{4})(?:-(\d{4}))?$")  # a year (2024) or a term (2020-2025): first, last
PERIOD = validate.Regexp(PERIOD_PATTERN, error="period is a year (2024) or a term (2020-2025)")
# What the press reports of new members; also the quota service's counter columns.
COMPOSITION_ATTRIBUTES = ("student", "non_state_enterprise", "woman", "ethnic_minority", "under_30", "youth_union",
                          "religious")


class CompositionTarget(Schema):
    attribute = fields.String(required=True, validate=validate.OneOf(COMPOSITION_ATTRIBUTES))
    min_share = fields.Decimal(as_string=True, allow_none=True, load_default=None)  # percent, 0..100
    min_count = fields.Integer(allow_none=True, load_default=None)


class QuotaAssigned(Schema):
    org_code = fields.String(required=True)
    org_name = fields.String(required=True)
    period = fields.String(required=True, validate=PERIOD)
    target = fields.Integer(required=True, validate=validate.Range(min=0))
    previous_target = fields.Integer(required=True, allow_none=True)
    composition = fields.List(fields.Nested(CompositionTarget), load_default=list)
    # The organisation on whose behalf the quota was set (usually the parent committee).
    assigner_org_code = fields.String(required=True, allow_none=True)


class QuotaProgress(Schema):
    """Shared body of milestone / met / exceeded: the figures at the moment it happened."""

    org_code = fields.String(required=True)
    org_name = fields.String(required=True)
    # No longer sent: the tree travels as organization.state (consumers keep a copy, shared/replica.py).
    # Still accepted, for the events of this version published before.
    org_type = fields.String(load_default=None, allow_none=True)
    parent_code = fields.String(load_default=None, allow_none=True)
    assigner_org_code = fields.String(required=True, allow_none=True)
    period = fields.String(required=True, validate=PERIOD)
    target = fields.Integer(required=True)
    admitted = fields.Integer(required=True)
    percent = fields.Decimal(required=True, as_string=True)  # of plan, 2 decimals, e.g. "115.47"
    reached_on = fields.Date(required=True)  # date of the admission that crossed the line


class MilestoneReached(QuotaProgress):
    milestone = fields.Integer(required=True, validate=validate.OneOf([50, 75]))


def _org_key(data):
    return data["org_code"]


QUOTA_ASSIGNED = EventType("quota.assigned", 1, TOPIC, QuotaAssigned, _org_key,
                           "A quota was set or changed for an organisation and period.",
                           organizations=lambda data: (data["org_code"], data["assigner_org_code"]))
QUOTA_MILESTONE_REACHED = EventType("quota.milestone_reached", 1, TOPIC, MilestoneReached, _org_key,
                                    "Admissions reached 50% or 75% of the quota (once each).")
QUOTA_MET = EventType("quota.met", 1, TOPIC, QuotaProgress, _org_key,
                      "Admissions reached the quota: once per organisation and period.")
QUOTA_EXCEEDED = EventType("quota.exceeded", 1, TOPIC, QuotaProgress, _org_key,
                           "Admissions went above the quota: once per organisation and period.")
