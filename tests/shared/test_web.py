"""Problem+json errors, health and readiness, the OpenAPI document."""
from datetime import timedelta

import pytest
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from tests.keys import test_issuer, token
from shared.config import Settings
from shared.problems import Problem
from shared.web import create_app

# Minted when the module is collected: valid long enough for the slowest whole-suite run.
AUTH = {"Authorization": "Bearer " + token(sub="tester", org="*", role="admin", ttl=timedelta(hours=12))}


class Body(Schema):
    target = fields.Integer(required=True, validate=validate.Range(min=0))
    period = fields.String(required=True)


def make_app(readiness=None):
    blp = Blueprint("items", __name__, url_prefix="/items")

    @blp.route("", methods=["POST"])
    @blp.arguments(Body)
    @blp.response(201)
    def create(body):
        if body["period"] == "1999":
            raise Problem(409, "Conflict", "period closed", errors={"period": ["closed"]})
        return body

    return create_app(settings=Settings(service="t", database_url="sqlite://", **test_issuer().settings()), title="t", description="t",
                      readiness=readiness or {}, blueprints=[blp])


def test_validation_error_names_the_fields():
    resp = make_app().test_client().post("/api/v1/items", json={"target": -1}, headers=AUTH)
    assert resp.status_code == 422
    assert resp.mimetype == "application/problem+json"
    assert set(resp.json["errors"]) == {"target", "period"}
    assert "target" in resp.json["detail"]


def test_service_problem_is_problem_json():
    resp = make_app().test_client().post("/api/v1/items", json={"target": 1, "period": "1999"}, headers=AUTH)
    assert resp.status_code == 409
    assert resp.json == {"type": "about:blank", "title": "Conflict", "status": 409, "detail": "period closed",
                         "errors": {"period": ["closed"]}}


def test_unknown_route_is_problem_json():
    resp = make_app().test_client().get("/nowhere")
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_unexpected_error_is_500_problem_without_internals():
    app = make_app(readiness={})

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret internals")

    resp = app.test_client().get("/boom")
    assert resp.status_code == 500 and "secret" not in resp.get_data(as_text=True)


def test_health_and_readiness():
    def broken():
        raise ConnectionError("redis down")

    ok = make_app(readiness={"database": lambda: None}).test_client()
    assert ok.get("/healthz").json == {"status": "ok"}
    assert ok.get("/readyz").status_code == 200
    bad = make_app(readiness={"database": lambda: None, "redis": broken}).test_client()
    resp = bad.get("/readyz")
    assert resp.status_code == 503
    assert resp.json["errors"]["checks"] == {"database": "ok", "redis": "failed"}


def test_openapi_document_lists_routes_and_bearer_security():
    spec = make_app().test_client().get("/openapi.json").json
    assert "/api/v1/items" in spec["paths"] and "/readyz" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("service", ["quota", "candidates", "notifications"])
def test_every_service_serves_its_spec_and_health(service, tmp_path):
    import importlib

    module = importlib.import_module(f"services.{service}.app")
    app = module.create_app(Settings(service=service, database_url=f"sqlite:///{tmp_path}/x.db"))
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/openapi.json").json["info"]["title"].startswith("chitieu")


def test_a_database_error_is_logged_without_the_row(caplog):
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    app = make_app()

    @app.route("/dup")
    def dup():
        raise IntegrityError("INSERT INTO candidates (national_id) VALUES (?)", ["038202000001"],
                             sqlite3.IntegrityError("DETAIL: Key (national_id)=(038202000001) already exists"))

    resp = app.test_client().get("/dup")
    assert resp.status_code == 500
    assert "038202000001" not in caplog.text and "038202000001" not in resp.get_data(as_text=True)
    assert "database error" in caplog.text
