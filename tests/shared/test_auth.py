"""Bearer tokens and scope, checked through a small app built with the shared web factory."""
from datetime import timedelta

import pytest
from flask_smorest import Blueprint

from shared.auth import mint_token, require_scope
from shared.config import Settings
from shared.web import create_app

SECRET = "test-secret-that-is-long-enough-for-hs256"
TREE = {"CB1": "WARD", "WARD": "CITY", "CITY": None, "OTHER": None}


def is_within(code, ancestor):
    while code is not None:
        if code == ancestor:
            return True
        code = TREE.get(code)
    return False


@pytest.fixture
def client():
    blp = Blueprint("things", __name__, url_prefix="/things")

    @blp.route("/<code>", methods=["GET"])
    def read(code):
        require_scope(code, role="viewer", is_within=is_within)
        return {"code": code}

    @blp.route("/<code>", methods=["POST"])
    def write(code):
        require_scope(code, role="officer", is_within=is_within)
        return {"code": code}

    app = create_app(settings=Settings(service="t", database_url="sqlite://", jwt_secret=SECRET),
                     title="t", description="t", readiness={}, blueprints=[blp])
    return app.test_client()


def bearer(org="WARD", role="officer", secret=SECRET, ttl=timedelta(hours=1)):
    return {"Authorization": f"Bearer {mint_token(secret=secret, sub='u1', org=org, role=role, ttl=ttl)}"}


def test_missing_token_is_401_problem(client):
    resp = client.get("/api/v1/things/CB1")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.json["title"] == "Unauthorized"


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    bearer(secret="another-secret"),
    bearer(ttl=timedelta(seconds=-10)),
])
def test_bad_tokens_are_401(client, headers):
    assert client.get("/api/v1/things/CB1", headers=headers).status_code == 401


def test_subtree_is_allowed_and_outside_is_403(client):
    assert client.get("/api/v1/things/CB1", headers=bearer(org="WARD")).status_code == 200
    assert client.get("/api/v1/things/WARD", headers=bearer(org="WARD")).status_code == 200
    resp = client.get("/api/v1/things/CITY", headers=bearer(org="WARD"))
    assert resp.status_code == 403 and "outside your scope" in resp.json["detail"]
    assert client.get("/api/v1/things/OTHER", headers=bearer(org="WARD")).status_code == 403


def test_whole_country_token_reaches_everything(client):
    assert client.get("/api/v1/things/OTHER", headers=bearer(org="*", role="viewer")).status_code == 200


def test_role_too_low_is_403(client):
    assert client.post("/api/v1/things/CB1", headers=bearer(role="viewer")).status_code == 403
    assert client.post("/api/v1/things/CB1", headers=bearer(role="officer")).status_code == 200
    assert client.post("/api/v1/things/CB1", headers=bearer(role="admin")).status_code == 200


def test_token_command_mints_an_admin_token(monkeypatch, capsys):
    from shared.auth import decode_token
    from shared.cli import main

    monkeypatch.setenv("CHITIEU_JWT_SECRET", SECRET)
    main(["token", "--sub", "admin", "--org", "*", "--role", "admin"])
    principal = decode_token(capsys.readouterr().out.strip(), secret=SECRET)
    assert (principal.sub, principal.org, principal.role) == ("admin", "*", "admin")
