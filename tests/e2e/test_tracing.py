"""One admission followed by its trace id through the logs of five processes, every Procfile
process running as in production (tests/system.py) over the real Kafka, Redis and PostgreSQL:

the admission is made through the candidate API with a given `traceparent` and `X-Request-Id`;
the candidate API's lines carry the request id, the caller's sub and the trace id; the candidate
relay sends the candidate.admitted event in that trace; the quota consumer applies it in that
trace and the quota.met it causes carries it; the notification consumer applies quota.met in it;
the delivery worker logs its attempt in it and the local webhook receiver gets it in its
`traceparent` header. The grep of docs/operations.md is what this test does.
"""
from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from shared import tracing
from tests.support import wait_until
from tests.system import System

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PROVINCE, WARD, CELL = "TRACE13-TINH", "TRACE13-PHUONG", "TRACE13-CB"
TRACE_ID = "5c7e1a0b9d3f4e21a8b6c0d2e4f60718"
GIVEN = f"00-{TRACE_ID}-b7ad6b7169203331-01"
REQUEST_ID = "trace13-admission-0001"


@pytest.fixture(scope="module")
def system(tmp_path_factory, real_stack):
    # INFO: the lines followed here ("event sent", "event applied", "delivery attempt") are INFO.
    with System(log_dir=tmp_path_factory.mktemp("trace-logs"),
                env={"CHITIEU_LOG_LEVEL": "INFO", "CHITIEU_NOTIFY_BACKOFF_S": "0.2",
                     "CHITIEU_NOTIFY_BACKOFF_MAX_S": "1"}) as running:
        yield running


def log_lines(system: System, process: str) -> list[dict]:
    """The JSON lines of one process's log (gunicorn's and the app's alike)."""
    path = Path(system.log_dir) / f"{process}.log"
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out


def traced(system: System, process: str) -> list[dict]:
    """`grep TRACE_ID <process>.log`, as JSON."""
    return [line for line in log_lines(system, process) if line.get("trace_id") == TRACE_ID]


def test_one_admission_is_followed_by_its_trace_id_from_the_api_to_the_webhook(system, receiver):
    for code, name, type_, parent in [(PROVINCE, "Đảng bộ tỉnh Thử Vết", "province", None),
                                      (WARD, "Đảng bộ phường Vết", "grassroots", PROVINCE),
                                      (CELL, "Chi bộ khu phố Vết", "cell", WARD)]:
        resp = system.api("quota", "POST", "/organizations", json={
            "code": code, "name": name, "type": type_, "parent_code": parent, "effective_date": "2020-01-01"})
        assert resp.status_code == 201, resp.text
    resp = system.api("quota", "PUT", f"/organizations/{CELL}/quotas/2024", json={"target": 1})
    assert resp.status_code in (200, 201), resp.text
    wait_until(lambda: system.api("notifications", "POST", "/subscriptions", json={
        "org_code": CELL, "events": ["quota_met"], "channel": "webhook", "target": receiver.url}).status_code == 201,
        timeout=60, message="the notification service never learnt the cell")
    wait_until(lambda: system.api("candidates", "GET", f"/organizations/{CELL}").status_code == 200,
               timeout=60, message="the candidate service never learnt the cell")

    resp = system.api("candidates", "POST", "/candidates", json={
        "full_name": "Lê Thị Vết", "date_of_birth": "2001-02-03", "gender": "female", "ethnicity": "Kinh",
        "religion": None, "education_level": "university", "occupation_group": "student",
        "national_id": "038301000013", "org_code": CELL, "listed_on": "2023-01-02", "youth_union_member": True,
        "helpers": ["Lê Văn Bình"]})
    assert resp.status_code == 201, resp.text
    cid = resp.json()["id"]
    admitted_on = date(2024, 6, 30)
    for step in [{"to": "trained", "date": "2023-03-01", "training_certificate_number": "GCN-13"},
                 {"to": "applied", "date": "2023-09-01", "introducers": [
                     {"full_name": "Lê Văn Bình", "official_member": True},
                     {"full_name": "Trần Thị Cúc", "official_member": True}]},
                 {"to": "proposed", "date": (admitted_on - timedelta(days=20)).isoformat(), "decision_number": "13/NQ-CB"}]:
        resp = system.api("candidates", "POST", f"/candidates/{cid}/transitions", json=step)
        assert resp.status_code == 201, resp.text
    # The admission itself, with the caller's trace and request id.
    resp = system.api("candidates", "POST", f"/candidates/{cid}/transitions", headers={
        "traceparent": GIVEN, "tracestate": "chitieu=test", "X-Request-Id": REQUEST_ID}, json={
        "to": "admitted", "date": admitted_on.isoformat(), "decision_number": "13-QĐ/ĐU", "deciding_org_code": WARD})
    assert resp.status_code == 201, resp.text
    assert resp.headers["X-Request-Id"] == REQUEST_ID
    assert tracing.parse(resp.headers["traceresponse"]).trace_id == TRACE_ID

    # The webhook receiver gets the quota-met notice in the admission's trace.
    (notice,) = wait_until(lambda: receiver.received, timeout=60, message="no webhook")
    assert notice.json()["kind"] == "quota_met" and notice.json()["org_code"] == CELL
    header = tracing.parse(notice.headers.get("traceparent"))
    assert header is not None and header.trace_id == TRACE_ID
    assert notice.headers.get("tracestate") is None  # the notice keeps the traceparent alone

    # Five processes' logs, followed by the trace id.
    wait_until(lambda: traced(system, "notifications-delivery"), timeout=30,
               message="the delivery worker logged no line in the trace")
    api_lines = traced(system, "candidates-api")
    request_lines = [line for line in api_lines if line["message"] == "request"]
    assert request_lines and all(line["request_id"] == REQUEST_ID and line["sub"] == "e2e-admin"
                                 for line in request_lines)
    assert all(line.get("request_id") == REQUEST_ID for line in api_lines)
    assert any(line["message"] == "access" and line["request_id"] == REQUEST_ID for line in api_lines), \
        "gunicorn's access line carries the request and trace ids"
    # No other request of this test was in the trace.
    assert not [line for line in log_lines(system, "candidates-api")
                if line.get("request_id") == REQUEST_ID and line.get("trace_id") != TRACE_ID]

    # The admission's two events (the stage changed, the candidate admitted), and no other.
    sent = {line["event_type"]: line for line in traced(system, "candidates-relay") if line["message"] == "event sent"}
    assert sorted(sent) == ["vn.chitieu.candidate.admitted.v1", "vn.chitieu.candidate.stage_changed.v1"]

    applied = [line for line in traced(system, "quota-consumer") if line["message"] == "event applied"]
    assert [line["event_type"] for line in applied] == ["vn.chitieu.candidate.admitted.v1"]
    assert applied[0]["event_id"] == sent["vn.chitieu.candidate.admitted.v1"]["event_id"]
    assert applied[0]["actor"] == "e2e-admin"
    # The quota.met the admission caused travels in its trace too (through the quota relay).
    quota_sent = [line["event_type"] for line in traced(system, "quota-relay") if line["message"] == "event sent"]
    assert "vn.chitieu.quota.met.v1" in quota_sent

    noticed = [line for line in traced(system, "notifications-consumer") if line["message"] == "event applied"]
    assert "vn.chitieu.quota.met.v1" in [line["event_type"] for line in noticed]

    attempts = [line for line in traced(system, "notifications-delivery") if line["message"] == "delivery attempt"]
    assert [(a["ok"], a["status_code"], a["channel"]) for a in attempts] == [(True, 200, "webhook")]
    assert attempts[0]["delivery_id"] == notice.json()["delivery_id"]
    assert attempts[0]["span_id"] == header.span_id  # the header names the attempt's own span

    # The five processes wrote nothing else in this trace that claims another request.
    for process in ("candidates-relay", "quota-consumer", "notifications-consumer", "notifications-delivery"):
        assert all("request_id" not in line for line in traced(system, process)), process
