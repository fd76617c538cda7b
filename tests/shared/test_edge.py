"""The guard in front of every /api/v1 request (issue 8, points 1 and 10): the caller is known
and the body small enough before anything reads it; readiness and Redis failures tell nothing."""
import importlib
import io

from datetime import timedelta

import pytest
from flask_smorest import Blueprint
from marshmallow import Schema, fields, pre_load

from tests.keys import test_issuer, token
from shared.config import Settings
from shared.web import create_app

# Minted when the module is collected: valid long enough for the slowest whole-suite run.
AUTH = {"Authorization": "Bearer " + token(sub="tester", org="*", role="admin", ttl=timedelta(hours=12))}
LIMITS = dict(max_json_bytes=1000, max_upload_bytes=5000)


def make_app(parsed: list):
    class Body(Schema):
        name = fields.String(required=True)

        @pre_load
        def spy(self, data, **kwargs):
            parsed.append(data)  # the body reached the parser
            return data

    blp = Blueprint("items", __name__, url_prefix="/items")

    @blp.route("", methods=["POST"])
    @blp.arguments(Body)
    @blp.response(201)
    def create(body):
        return body

    @blp.route("/upload", methods=["POST"])
    @blp.response(200)
    def upload():
        from flask import request
        parsed.append(request.files["file"].read())
        return {"ok": True}

    settings = Settings(service="t", database_url="sqlite://", **test_issuer().settings(), **LIMITS)
    return create_app(settings=settings, title="t", description="t", readiness={}, blueprints=[blp])


def test_an_anonymous_body_is_never_parsed():
    parsed = []
    client = make_app(parsed).test_client()
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic YTpi"}):
        resp = client.post("/api/v1/items", json={"name": "x"}, headers=headers)
        assert resp.status_code == 401 and resp.mimetype == "application/problem+json"
        resp = client.post("/api/v1/items/upload", headers=headers,
                           data={"file": (io.BytesIO(b"a,b\n1,2\n"), "x.csv")}, content_type="multipart/form-data")
        assert resp.status_code == 401
    assert parsed == []
    assert client.post("/api/v1/items", json={"name": "x"}, headers=AUTH).status_code == 201
    assert parsed == [{"name": "x"}]


def test_a_body_over_the_limit_is_refused_from_its_headers():
    parsed = []
    client = make_app(parsed).test_client()
    resp = client.post("/api/v1/items", json={"name": "x" * 2000}, headers=AUTH)
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    assert "1000" in resp.json["detail"] and "body" in resp.json["errors"]
    upload = {"file": (io.BytesIO(b"x" * 6000), "big.csv")}
    resp = client.post("/api/v1/items/upload", data=upload, headers=AUTH, content_type="multipart/form-data")
    assert resp.status_code == 413 and "file" in resp.json["errors"]
    # An upload may be larger than a JSON body.
    upload = {"file": (io.BytesIO(b"x" * 3000), "ok.csv")}
    assert client.post("/api/v1/items/upload", data=upload, headers=AUTH,
                       content_type="multipart/form-data").status_code == 200
    assert parsed == [b"x" * 3000]


def test_a_chunked_body_without_length_is_cut_at_the_limit():
    parsed = []
    client = make_app(parsed).test_client()
    body = b'{"name": "' + b"x" * 5000 + b'"}'
    # gunicorn marks a chunked request's input as terminated; Werkzeug then reads up to the limit only.
    resp = client.post("/api/v1/items", input_stream=io.BytesIO(body), content_type="application/json",
                       headers=AUTH, environ_overrides={"wsgi.input_terminated": True})
    assert resp.status_code == 413 and resp.mimetype == "application/problem+json"
    assert parsed == []


BODY_ENDPOINTS = {"quota": "/api/v1/organizations", "candidates": "/api/v1/candidates",
                  "notifications": "/api/v1/subscriptions"}
UPLOAD_ENDPOINTS = {"quota": "/api/v1/organizations/import", "candidates": "/api/v1/candidates/import"}


@pytest.mark.parametrize("service", ["quota", "candidates", "notifications"])
def test_every_service_authenticates_before_the_body(service, tmp_path):
    module = importlib.import_module(f"services.{service}.app")
    app = module.create_app(Settings(service=service, database_url=f"sqlite:///{tmp_path}/x.db", **test_issuer().settings()))
    client = app.test_client()
    resp = client.post(BODY_ENDPOINTS[service], data=b"{not json", content_type="application/json")
    assert resp.status_code == 401, resp.get_data(as_text=True)
    if service in UPLOAD_ENDPOINTS:
        resp = client.post(UPLOAD_ENDPOINTS[service], content_type="multipart/form-data",
                           data={"file": (io.BytesIO(b"PK\x03\x04 not a workbook"), "x.xlsx")})
        assert resp.status_code == 401


@pytest.mark.parametrize("service,checks", [("quota", {"database", "kafka", "redis"}),
                                            ("candidates", {"database", "kafka"}),
                                            ("notifications", {"database", "kafka", "redis"})])
def test_readiness_checks_what_each_service_uses(service, checks, tmp_path, real_stack):
    module = importlib.import_module(f"services.{service}.app")
    app = module.create_app(Settings(service=service, database_url=f"sqlite:///{tmp_path}/x.db", **test_issuer().settings()))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 200 and resp.json["checks"] == {name: "ok" for name in checks}


def test_readiness_names_a_failure_without_its_details(tmp_path):
    settings = Settings(service="quota", database_url=f"sqlite:///{tmp_path}/x.db", **test_issuer().settings(),
                        redis_url="redis://internal-redis.example.invalid:6379/0")
    app = importlib.import_module("services.quota.app").create_app(settings)
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503 and resp.json["errors"]["checks"]["redis"] == "failed"
    assert "internal-redis" not in resp.get_data(as_text=True)
