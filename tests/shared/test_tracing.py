"""W3C Trace Context (shared/tracing.py): traceparent parsing and formatting through
OpenTelemetry's propagator, and the trace travelling as the CloudEvents distributed-tracing
extension: written by build_event from the context, read back by both parsers, continued by a
consumer's handler into the events it writes, and found again by the relay in an outbox row."""
import json
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest

from shared import contracts as c
from shared import tracing
from shared.consumer import Handler, caused_by
from shared.parsing import Parser, parse_structured
from shared.relay import trace_of
from tests.shared.test_contracts import ADMITTED

W3C_EXAMPLE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def record(message) -> SimpleNamespace:
    return SimpleNamespace(topic="t.candidates", partition=0, offset=0, key=message.key.encode(),
                           value=message.value, headers=list(message.headers.items()))


def test_the_w3c_example_parses_with_its_tracestate():
    context = tracing.parse(W3C_EXAMPLE, "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    assert context == tracing.TraceContext("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", True,
                                           "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    assert context.traceparent == W3C_EXAMPLE
    assert context.headers() == {"traceparent": W3C_EXAMPLE, "tracestate": "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7"}
    assert tracing.parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00").sampled is False


@pytest.mark.parametrize("value", [
    None, "", 42, "garbage",
    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",  # all-zero trace id
    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",  # all-zero parent id
    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  # version ff is forbidden
    "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",  # a digit short
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",  # version 00 has four fields
    "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",  # not hex
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\n{\"level\": \"CRITICAL\"}",  # a forged log line
    "00-" + "a" * 5000,  # too long to look at
])
def test_what_is_not_a_valid_traceparent_is_ignored_and_a_new_trace_starts(value):
    assert tracing.parse(value) is None
    started = tracing.continued(value)
    assert len(started.trace_id) == 32 and int(started.trace_id, 16) != 0
    assert tracing.parse(started.traceparent) == started


def test_a_continued_trace_keeps_its_id_in_a_new_span():
    child = tracing.continued(W3C_EXAMPLE, "rojo=00f067aa0ba902b7")
    assert child.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"
    assert child.span_id != "00f067aa0ba902b7" and len(child.span_id) == 16
    assert child.tracestate == "rojo=00f067aa0ba902b7"
    assert tracing.start().trace_id != tracing.start().trace_id


def test_a_future_version_is_read_for_its_known_fields():
    # The standard: a higher version is parsed as version 00 where it can be.
    context = tracing.parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-later")
    assert context is not None and context.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"


def test_an_event_carries_the_trace_of_its_context_and_both_parsers_read_it():
    context = tracing.parse(W3C_EXAMPLE, "rojo=00f067aa0ba902b7")
    with tracing.tracing(context):
        event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates")
    message = c.to_message(event)
    envelope = json.loads(message.value)
    assert (envelope["traceparent"], envelope["tracestate"]) == (W3C_EXAMPLE, "rojo=00f067aa0ba902b7")
    slow = c.parse_record(message.value, message.key.encode(), list(message.headers.items()))
    fast = parse_structured(record(message))
    for back in (slow, fast):
        assert back.trace == context
    assert trace_of(message.value) == context  # what the relay logs the row's line in


def test_without_a_trace_in_context_an_event_has_none_and_an_invalid_one_is_dropped_not_refused():
    assert tracing.current() is None
    message = c.to_message(c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates"))
    assert "traceparent" not in json.loads(message.value)
    envelope = json.loads(message.value)
    envelope["traceparent"] = {"not": "a string"}
    message = type(message)(headers=message.headers, key=message.key, value=json.dumps(envelope).encode())
    parsed = Parser([c.CANDIDATE_ADMITTED]).parse(record(message))
    assert parsed.event.traceparent is None and parsed.event.trace is None
    assert c.parse_record(message.value, None, []).traceparent is None


def test_what_a_handler_writes_for_an_event_carries_that_events_trace():
    first, second = (tracing.parse(f"00-{n * 32}-00f067aa0ba902b7-01") for n in "12")
    events = []
    for context in (first, second):
        with tracing.tracing(context):
            events.append((c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates"), ADMITTED))

    def on_admitted(session, event, data):
        assert tracing.current().trace_id == event.trace.trace_id
        return c.build_event(c.QUOTA_MET, {"org_code": "CB1", "org_name": "Chi bộ 1", "assigner_org_code": None,
                                           "period": "2024", "target": 1, "admitted": 1, "percent": Decimal("100.00"),
                                           "reached_on": date(2024, 6, 30)}, source="/quota")

    results = Handler.per_event({c.CANDIDATE_ADMITTED: on_admitted}).apply(None, events)
    assert [made.trace.trace_id for _, made in results] == ["1" * 32, "2" * 32]
    # Each is a new span of its cause's trace.
    assert results[0][1].trace.span_id != "00f067aa0ba902b7"
    assert tracing.current() is None


def test_an_event_without_a_trace_is_applied_in_a_new_one():
    event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates")
    with caused_by(event):
        assert tracing.current() is not None
    assert tracing.current() is None


def test_a_forked_process_makes_ids_of_its_own():
    # The consumers apply polls in forked children and gunicorn forks its workers.
    import os
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.write(write, tracing.start().trace_id.encode())
        os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 64).decode() != tracing.start().trace_id
