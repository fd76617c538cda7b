"""The OAuth 2.0 token endpoint (RFC 6749 §4.4, client credentials), served by Authlib's
AuthorizationServer: `POST /oauth/token` with `grant_type=client_credentials`, the client
authenticated by HTTP Basic (client_secret_basic) or in the form (client_secret_post).

The answer's access token is one of the issuer's JWTs for `sub` = `client:<client_id>` with the
client's organisation and role; nothing is stored for it. Authlib refuses the request over plain
HTTP except on loopback: put the service behind HTTPS (CHITIEU_WEB_PROXY_HOPS for the proxy).
"""
from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from flask import Flask

from shared.db import Database

from .clients import active_client, secret_matches
from .issuer import Issuer
from .models import ApiClient

TOKEN_PATH = "/oauth/token"


class OAuthClient(ClientMixin):
    """An API client as Authlib sees it: a confidential client of the client-credentials grant only."""

    def __init__(self, row: ApiClient):
        self.row = row

    def get_client_id(self):
        return self.row.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return ""  # no OAuth scopes: the organisation and role are the client's own

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_client_secret(self, client_secret):
        return secret_matches(self.row, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint == "token" and method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return False

    def check_grant_type(self, grant_type):
        return grant_type == "client_credentials"


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]


def init_oauth(app: Flask, *, db: Database, issuer: Issuer):
    def query_client(client_id):
        with db.transaction() as session:
            row = active_client(session, client_id)  # a revoked client is unknown here
        return OAuthClient(row) if row else None

    def generate_token(grant_type, client, user=None, scope=None, expires_in=None, include_refresh_token=True):
        row = client.row
        return {"access_token": issuer.access_token(sub=f"client:{row.client_id}", org=row.org, role=row.role),
                "token_type": "Bearer", "expires_in": int(issuer.ttl.total_seconds())}

    server = AuthorizationServer(app, query_client=query_client, save_token=lambda token, request: None)
    server.register_token_generator("default", generate_token)
    server.register_grant(ClientCredentialsGrant)

    def issue_token():
        return server.create_token_response()

    app.add_url_rule(TOKEN_PATH, "oauth_token", issue_token, methods=["POST"])
    return server
