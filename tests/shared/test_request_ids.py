"""Request ids and the caller on every log line of a request (shared/web.py, shared/logs.py): an
`X-Request-Id` that is sane is kept, anything else is replaced by one made here; the answer
echoes it; every line logged for the request carries it, the caller's `sub` once the token is
verified, and the trace id of the request's `traceparent` (continued) or of a new trace."""
import io
import json
import logging
from datetime import timedelta

import pytest
from flask_smorest import Blueprint

from shared import logs, tracing
from shared.config import Settings
from shared.web import REQUEST_ID_HEADER, create_app, propagation_headers, request_id_of
from tests.keys import test_issuer, token

AUTH = {"Authorization": "Bearer " + token(sub="can-bo-dong-son", org="*", role="admin", ttl=timedelta(hours=12))}
W3C_EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def make_app():
    blp = Blueprint("things", __name__, url_prefix="/things")
    seen = {}

    @blp.route("", methods=["GET"])
    @blp.response(200)
    def things():
        logging.getLogger("tests.view").info("looking at things")
        seen.update(propagation_headers())
        return {"ok": True}

    app = create_app(settings=Settings(service="t", database_url="sqlite://", **test_issuer().settings()),
                     title="t", description="t", readiness={}, blueprints=[blp])
    app.extensions["seen"] = seen
    return app


@pytest.fixture
def lines():
    """What the JSON handler writes, as dicts."""
    stream = io.StringIO()
    handler = logs.json_handler(service="t", stream=stream)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(old_level)


@pytest.mark.parametrize("value", ["3f2c1d0e-7b8a-4c5d-9e0f-1a2b3c4d5e6f", "req_01HZX", "Root=1-5759e988-bd862e3fe1be46a994272793",
                                   "a" * 128])
def test_a_sane_request_id_is_kept_and_echoed_on_every_line(value, lines):
    client = make_app().test_client()
    resp = client.get("/api/v1/things", headers={**AUTH, REQUEST_ID_HEADER: value})
    assert resp.status_code == 200
    assert resp.headers[REQUEST_ID_HEADER] == value
    mine = [line for line in lines() if line.get("request_id") == value]
    assert {line["message"] for line in mine} >= {"looking at things", "request"}
    assert all(line["sub"] == "can-bo-dong-son" for line in mine)


@pytest.mark.parametrize("value", [
    "", "a" * 129, "two words", 'quote"d', "tab\there", "{\"level\": \"CRITICAL\"}", "<script>",
    "đảng-viên", "semi;colon", "../../etc/passwd\x00",
])
def test_a_hostile_or_odd_request_id_is_replaced_by_one_made_here(value, lines):
    made = request_id_of(value)
    assert made != value and len(made) == 32 and int(made, 16) >= 0
    resp = make_app().test_client().get("/api/v1/things", headers={**AUTH, REQUEST_ID_HEADER: value})
    assert resp.status_code == 200
    echoed = resp.headers[REQUEST_ID_HEADER]
    assert echoed != value and len(echoed) == 32
    assert [line["request_id"] for line in lines() if line["message"] == "request"] == [echoed]
    assert value not in json.dumps(lines()) or value == ""


@pytest.mark.parametrize("value", ["forged\n{\"level\": \"CRITICAL\"}", "cr\rlf", "id\x00", "id\u2028"])
def test_line_breaks_and_control_characters_are_never_kept(value):
    # (HTTP clients refuse to send most of these; a raw socket could.)
    assert request_id_of(value) != value and len(request_id_of(value)) == 32


def test_without_a_request_id_one_is_made_for_each_request(lines):
    client = make_app().test_client()
    first = client.get("/api/v1/things", headers=AUTH).headers[REQUEST_ID_HEADER]
    second = client.get("/api/v1/things", headers=AUTH).headers[REQUEST_ID_HEADER]
    assert first != second and len(first) == len(second) == 32
    assert [line["request_id"] for line in lines() if line["message"] == "request"] == [first, second]


def test_an_anonymous_request_is_logged_with_its_id_and_no_caller(lines):
    resp = make_app().test_client().get("/api/v1/things", headers={REQUEST_ID_HEADER: "anon-1"})
    assert resp.status_code == 401 and resp.headers[REQUEST_ID_HEADER] == "anon-1"
    (line,) = [line for line in lines() if line["message"] == "request"]
    assert line["request_id"] == "anon-1" and "sub" not in line and line["status"] == 401


def test_the_callers_traceparent_is_continued_and_a_new_trace_started_without_one(lines):
    app = make_app()
    client = app.test_client()
    resp = client.get("/api/v1/things", headers={**AUTH, "traceparent": W3C_EXAMPLE, "tracestate": "rojo=1"})
    answered = tracing.parse(resp.headers["traceresponse"])
    assert answered.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736" and answered.span_id != "00f067aa0ba902b7"
    line = [line for line in lines() if line["message"] == "looking at things"][-1]
    assert (line["trace_id"], line["span_id"]) == (answered.trace_id, answered.span_id)
    # What the request calls in turn (the web service's pages) gets its id and its span.
    assert app.extensions["seen"][REQUEST_ID_HEADER] == resp.headers[REQUEST_ID_HEADER]
    assert tracing.parse(app.extensions["seen"]["traceparent"]) == answered
    assert app.extensions["seen"]["tracestate"] == "rojo=1"

    fresh = client.get("/api/v1/things", headers={**AUTH, "traceparent": "00-zz"})
    assert tracing.parse(fresh.headers["traceresponse"]).trace_id not in (answered.trace_id, "0" * 32)


def test_nothing_of_a_request_outlives_it(lines):
    client = make_app().test_client()
    client.get("/api/v1/things", headers={**AUTH, REQUEST_ID_HEADER: "first", "traceparent": W3C_EXAMPLE})
    assert logs.bound() == {} and tracing.current() is None
    logging.getLogger("tests.after").info("between requests")
    (line,) = [line for line in lines() if line["message"] == "between requests"]
    assert "request_id" not in line and "sub" not in line and "trace_id" not in line
