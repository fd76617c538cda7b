"""Schemathesis against the app's own OpenAPI document, in process (schemathesis.openapi.from_wsgi):
whatever it sends to any operation, no server error. Path parameters are half the time real ids
(existing candidates at several stages, organisations of the tree) so requests reach deep code.

(schemathesis' pytest plugin does not run under pytest 9, so each operation's hypothesis strategy is
driven directly.)"""
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.candidates.factories import TREE, auth, create, walk

EXAMPLES_PER_OPERATION = 40


def test_no_server_error(app):
    client = app.test_client()
    ids = []
    for until in ("source", "trained", "applied", "proposed", "admitted", "official"):
        cid = create(client)["id"]
        if until != "source":
            walk(client, cid, until)
        ids.append(cid)
    codes = [code for code, *_ in TREE]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1")]
    assert len(operations) >= 10
    calls = []

    for operation in operations:
        @given(case=operation.as_strategy(), real_id=st.sampled_from(ids + [None]),
               real_code=st.sampled_from(codes + [None]), known=st.booleans())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case, real_id, real_code, known):
            params = case.path_parameters or {}
            if known and "candidate_id" in params and real_id:
                params["candidate_id"] = real_id
            if known and "code" in params and real_code:
                params["code"] = real_code
            # A valid token for the whole country, so requests get past authentication into the handlers.
            response = case.call_and_validate(headers=auth(), checks=[not_a_server_error])
            calls.append(response.status_code)

        check()
    assert len(calls) >= len(operations) * 10
    assert any(200 <= s < 300 for s in calls)  # some requests were accepted, not all refused


def test_the_spec_documents_every_endpoint(client):
    paths = client.get("/openapi.json").json["paths"]
    for path in ("/api/v1/candidates", "/api/v1/candidates/{candidate_id}", "/api/v1/candidates/{candidate_id}/transitions",
                 "/api/v1/candidates/{candidate_id}/transfer", "/api/v1/candidates/import",
                 "/api/v1/organizations/{code}/funnel", "/api/v1/organizations/{code}/reminders"):
        assert path in paths
    params = paths["/api/v1/candidates"]["post"]["parameters"]
    assert any(p["name"] == "Idempotency-Key" and p["in"] == "header" for p in params)
