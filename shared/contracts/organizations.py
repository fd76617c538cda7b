"""Events of the organisation tree, published by the quota service (which owns the tree).

All of them share one partition key, so every consumer sees the tree's changes in the order
they happened (a child is never created before its parent). Tree changes are rare.
"""
from marshmallow import Schema, fields, validate

from .base import EventType

TOPIC = "organizations"
TREE_KEY = "organization-tree"


class OrganizationCreated(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    name = fields.String(required=True, validate=validate.Length(min=1))
    type = fields.String(required=True)
    parent_code = fields.String(required=True, allow_none=True)
    effective_date = fields.Date(required=True)


class OrganizationRenamed(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, validate=validate.Length(min=1))
    previous_name = fields.String(required=True)
    effective_date = fields.Date(required=True)


class OrganizationMoved(Schema):
    code = fields.String(required=True)
    previous_parent_code = fields.String(required=True, allow_none=True)
    parent_code = fields.String(required=True)
    effective_date = fields.Date(required=True)


class OrganizationMerged(Schema):
    code = fields.String(required=True)
    into_code = fields.String(required=True)
    # The children that moved under `into_code`; each also gets its own organization.moved.
    children_codes = fields.List(fields.String(), required=True)
    effective_date = fields.Date(required=True)


class OrganizationDissolved(Schema):
    code = fields.String(required=True)
    # Where its children went (usually the parent of the dissolved organisation).
    children_moved_to = fields.String(required=True, allow_none=True)
    children_codes = fields.List(fields.String(), required=True)
    effective_date = fields.Date(required=True)


def _tree_key(_data):
    return TREE_KEY


ORGANIZATION_CREATED = EventType("organization.created", 1, TOPIC, OrganizationCreated, _tree_key,
                                 "An organisation was added to the tree.",
                                 organizations=lambda data: (data["code"], data["parent_code"]))
ORGANIZATION_RENAMED = EventType("organization.renamed", 1, TOPIC, OrganizationRenamed, _tree_key,
                                 "An organisation took a new name from a date.",
                                 organizations=lambda data: (data["code"],))
ORGANIZATION_MOVED = EventType("organization.moved", 1, TOPIC, OrganizationMoved, _tree_key,
                               "An organisation was placed under another parent from a date.",
                               organizations=lambda data: (data["code"], data["parent_code"]))
ORGANIZATION_MERGED = EventType("organization.merged", 1, TOPIC, OrganizationMerged, _tree_key,
                                "An organisation was merged into another and ceased to exist.",
                                organizations=lambda data: (data["code"], data["into_code"]))
ORGANIZATION_DISSOLVED = EventType("organization.dissolved", 1, TOPIC, OrganizationDissolved, _tree_key,
                                   "An organisation was dissolved; its children were re-parented.",
                                   organizations=lambda data: (data["code"], data["children_moved_to"]))


# --- the tree as state -------------------------------------------------------------------------
# Every change above also publishes, for each organisation whose history it changed, that
# organisation's whole dated history, keyed by its code, on a compacted topic: Kafka keeps the
# latest record per organisation for ever, so a service's copy of the tree can be rebuilt from the
# topic at any time, whatever the retention of the change events.
STATE_TOPIC = "organization-state"


class DatedName(Schema):
    name = fields.String(required=True)
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(required=True, allow_none=True)


class DatedParent(Schema):
    parent_code = fields.String(required=True, allow_none=True)
    valid_from = fields.Date(required=True)
    valid_to = fields.Date(required=True, allow_none=True)


class OrganizationState(Schema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=64))
    type = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(["active", "merged", "dissolved"]))
    founded_on = fields.Date(required=True)
    ended_on = fields.Date(required=True, allow_none=True)
    merged_into = fields.String(required=True, allow_none=True)
    # Oldest first. Before its first parent record an organisation is taken to be under that
    # first parent, after its last under the last (as the quota service reads its own history).
    names = fields.List(fields.Nested(DatedName), required=True)
    parents = fields.List(fields.Nested(DatedParent), required=True, validate=validate.Length(min=1))


ORGANIZATION_STATE = EventType("organization.state", 1, STATE_TOPIC, OrganizationState, lambda data: data["code"],
                               "The whole dated history of one organisation after a change (compacted topic).",
                               organizations=lambda data: (data["code"],))
