"""Schemathesis against the quota app's own OpenAPI document, in process: whatever it sends to any
operation, no server error. Path codes are half the time organisations of the real tree, and
periods real ones, so requests reach deep code. (As in the other services' tests, each operation's
hypothesis strategy is driven directly: schemathesis' pytest plugin does not run under pytest 9.)"""
from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error

from tests.quota.conftest import thanh_hoa_tree

EXAMPLES_PER_OPERATION = 30
CODES = ["TINH-THANH-HOA", "TP-THANH-HOA", "P-DONG-SON", "P-DONG-SON-CB1", "H-DONG-SON"]


def test_no_server_error(app, client, admin, redis_client):
    thanh_hoa_tree(client, admin)
    client.put("/api/v1/organizations/TP-THANH-HOA/quotas/2024", json={"target": 712}, headers=admin)
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [r.ok() for r in schema.get_all_operations()]
    operations = [op for op in operations if op.path.startswith("/api/v1")]
    assert len(operations) >= 12
    calls = []

    for operation in operations:
        @given(case=operation.as_strategy(), code=st.sampled_from(CODES), period=st.sampled_from(["2024", "2020-2025"]),
               known=st.booleans())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck),
                  database=None)
        def check(case, code, period, known):
            params = case.path_parameters or {}
            if known and "code" in params:
                params["code"] = code
            if known and "period" in params:
                params["period"] = period
            response = case.call_and_validate(headers=admin, checks=[not_a_server_error])
            calls.append(response.status_code)

        check()
    assert len(calls) >= len(operations) * 10
    assert any(200 <= s < 300 for s in calls)


def test_progress_query_errors_name_the_field(client, admin):
    thanh_hoa_tree(client, admin)
    missing = client.get("/api/v1/organizations/TP-THANH-HOA/progress", headers=admin)
    assert missing.status_code == 422 and "query.period" in missing.get_json()["errors"]
    bad = client.get("/api/v1/organizations/TP-THANH-HOA/progress?period=2024-2020", headers=admin)
    assert bad.status_code == 422 and "period" in bad.get_json()["errors"]
    assert client.get("/api/v1/organizations/NOPE/progress?period=2024", headers=admin).status_code == 404
