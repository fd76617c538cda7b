"""Events of accounts and API clients, published by the web service (which owns them), so that
every change of who may act is in the audit trail. Keyed by username or client id. They carry no
password, secret or full name: the account, its scope and its role."""
from marshmallow import Schema, fields, validate

from ..auth import ROLES
from .base import EventType

TOPIC = "accounts"
USER_FIELDS = ("full_name", "org", "role", "active")  # what user.changed may name as changed


class UserCreated(Schema):
    username = fields.String(required=True)
    org = fields.String(required=True)  # the scope: an organisation code, or * (the whole country)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserChanged(Schema):
    username = fields.String(required=True)
    org = fields.String(required=True)  # after the change
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    active = fields.Boolean(required=True)
    changed = fields.List(fields.String(validate=validate.OneOf(USER_FIELDS)), required=True)
    previous_org = fields.String(required=True)  # the scope before: a move is seen from both sides


class UserPassword(Schema):
    username = fields.String(required=True)
    org = fields.String(required=True)


class ClientRegistered(Schema):
    client_id = fields.String(required=True)
    name = fields.String(required=True)
    org = fields.String(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class ClientRevoked(Schema):
    client_id = fields.String(required=True)
    org = fields.String(required=True)


def _username(data):
    return data["username"]


def _client(data):
    return data["client_id"]


def _scope(data):
    return (data["org"],)


USER_CREATED = EventType("user.created", 1, TOPIC, UserCreated, _username,
                         "An account was created (with a one-time password).", organizations=_scope)
USER_CHANGED = EventType("user.changed", 1, TOPIC, UserChanged, _username,
                         "An account's name, scope, role or active flag changed.",
                         organizations=lambda data: (data["org"], data["previous_org"]))
USER_PASSWORD_RESET = EventType("user.password_reset", 1, TOPIC, UserPassword, _username,
                                "An account was given a new one-time password; its sessions ended.",
                                organizations=_scope)
USER_PASSWORD_CHANGED = EventType("user.password_changed", 1, TOPIC, UserPassword, _username,
                                  "A person changed their own password; their other sessions ended.",
                                  organizations=_scope)
CLIENT_REGISTERED = EventType("client.registered", 1, TOPIC, ClientRegistered, _client,
                              "An API client was registered (its secret shown once).", organizations=_scope)
CLIENT_REVOKED = EventType("client.revoked", 1, TOPIC, ClientRevoked, _client,
                           "An API client was revoked: no new tokens.", organizations=_scope)
