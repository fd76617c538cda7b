"""Schemathesis against the service's own OpenAPI document, in process: whatever it sends to any
operation, no server error and responses that match the spec. Path parameters are half the time
real (organisations of the tree, existing subscriptions and notices) so requests reach deep code.
The SSE stream is left out: a live stream has no end for a fuzzer to wait for (test_live covers it).

(schemathesis' pytest plugin does not run under pytest 9, so each operation's hypothesis strategy
is driven directly.)"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from services.notifications.app import create_app

from .conftest import TREE, quota_met, record_of

pytestmark = pytest.mark.integration
EXAMPLES_PER_OPERATION = 30


def test_no_server_error(db, settings, runner, token):
    app = create_app(settings, db=db)
    client = app.test_client()
    sub = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met"], "channel": "webhook", "target": "http://127.0.0.1:9/h"}).json
    runner.process(record_of(quota_met()))
    ids = [sub["id"], 1, 2, 3]
    codes = [code for code, *_ in TREE]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1") and not op.path.endswith("/stream")]
    assert len(operations) >= 8
    calls = []

    for operation in operations:
        @given(case=operation.as_strategy(), real_id=st.sampled_from(ids), real_code=st.sampled_from(codes),
               known=st.booleans())
        @hypothesis_settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case, real_id, real_code, known):
            params = case.path_parameters or {}
            if known:
                for name in ("subscription_id", "notification_id"):
                    if name in params:
                        params[name] = real_id
                if "org_code" in params:
                    params["org_code"] = real_code
            response = case.call_and_validate(headers=token(), checks=[not_a_server_error])
            calls.append(response.status_code)

        check()
    assert len(calls) >= len(operations) * 10
    assert any(200 <= s < 300 for s in calls)
