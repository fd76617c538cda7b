"""Request and response bodies of the web service's API (they document /openapi.json)."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from shared.auth import ROLES
from shared.pagination import PageQuery, page_schema


class UserIn(Schema):
    username = fields.String(required=True, metadata={"description": "3-64: a-z 0-9 . _ - (stored in lower case)"})
    full_name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    org = fields.String(required=True, validate=validate.Length(min=1, max=64),
                        metadata={"description": "organisation code of the subtree, or '*' for the whole country"})
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserPatch(Schema):
    full_name = fields.String(validate=validate.Length(min=1, max=200))
    org = fields.String(validate=validate.Length(min=1, max=64))
    role = fields.String(validate=validate.OneOf(ROLES))
    active = fields.Boolean(metadata={"description": "false signs the person out at once"})


class UserOut(Schema):
    username = fields.String()
    full_name = fields.String()
    org = fields.String()
    role = fields.String()
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    created_by = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class UserCreatedOut(UserOut):
    one_time_password = fields.String(metadata={"description": "shown once; changed at the first sign-in"})


class PasswordResetOut(Schema):
    username = fields.String()
    one_time_password = fields.String()


class ListQuery(Schema):
    org = fields.String(load_default=None, metadata={"description": "accounts of this scope (default: yours)"})


class ImportIn(Schema):
    file = Upload(required=True, metadata={"description": "XLSX or CSV: Tên đăng nhập, Họ và tên, Tổ chức, Vai trò"})


class ClientIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    org = fields.String(required=True, validate=validate.Length(min=1, max=64))
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ClientOut(Schema):
    client_id = fields.String()
    name = fields.String()
    org = fields.String()
    role = fields.String()
    created_by = fields.String()
    created_at = fields.DateTime()
    revoked_at = fields.DateTime(allow_none=True)
    revoked_by = fields.String(allow_none=True)


class ClientCreatedOut(ClientOut):
    client_secret = fields.String(metadata={"description": "shown once; only its hash is kept"})
    token_url = fields.String(metadata={"description": "POST grant_type=client_credentials here"})


class AuditQuery(PageQuery):
    """shared/pagination.py: `page`, `per_page`; newest first (time, then arrival)."""

    org = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                        metadata={"description": "the subtree to show (default: yours; '*' callers: everything)"})
    actor = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                          metadata={"description": "who acted: a username, client:<id>, system:<process>"})
    kind = fields.String(load_default=None, validate=validate.Length(min=1, max=100),
                         metadata={"description": "an event name (candidate.stage_changed) or a family (candidate)"})
    since = fields.Date(data_key="from", load_default=None,
                        metadata={"description": "from this date (YYYY-MM-DD, Vietnam), included"})
    until = fields.Date(data_key="to", load_default=None,
                        metadata={"description": "to this date (YYYY-MM-DD, Vietnam), included"})


class AuditEntryOut(Schema):
    event_id = fields.String()
    time = fields.DateTime(metadata={"description": "when it happened (UTC)"})
    actor = fields.String(allow_none=True, metadata={"description": "null for events older than the actor attribute"})
    actor_role = fields.String(allow_none=True)
    kind = fields.String(metadata={"description": "the event's name, e.g. candidate.stage_changed"})
    source = fields.String(metadata={"description": "the service: /quota, /candidates, /notifications, /web"})
    subject = fields.String(allow_none=True)
    org_code = fields.String(allow_none=True, metadata={"description": "the organisation it is about ('*': country-wide)"})
    other_org_code = fields.String(allow_none=True, metadata={"description": "the other one of a move or transfer"})
    data = fields.Dict(metadata={"description": "the event's data (docs/events.md)"})


AuditPage = page_schema(AuditEntryOut, "AuditPage")
