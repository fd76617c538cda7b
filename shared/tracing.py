"""W3C Trace Context: the trace a piece of work belongs to, carried as shared/actor.py carries the
actor: a contextvar set where work starts, read wherever an event is written or a line logged.

- An API request: its `traceparent` header (and `tracestate`) continued, or a new trace started
  (shared/web.py); the request is a span of its own (a new span id, the same trace id).
- A consumer applying an event: the event's `traceparent` / `tracestate` CloudEvents attributes
  (the distributed-tracing extension), continued as a new span (shared/consumer.py).
- Every event written in that context carries it (shared/contracts/base.py), so do the notices the
  notification service records, their delivery worker's log lines and the webhook's header.

The parsing and formatting are OpenTelemetry's own W3C propagator (opentelemetry-api, no SDK: no
span is recorded or exported here; the ids are what follows one admission through the logs).
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator

from opentelemetry import trace
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

TRACEPARENT, TRACESTATE = "traceparent", "tracestate"
# W3C Trace Context Level 2: the answer names the span that served it, so a caller that sent no
# traceparent still learns the trace id to look for.
TRACERESPONSE = "traceresponse"
_PROPAGATOR = TraceContextTextMapPropagator()
# A traceparent is 55 characters and a tracestate at most 32 entries of 256; longer is not looked at.
MAX_TRACEPARENT, MAX_TRACESTATE = 128, 8192
# Ids need to be unique, not secret: the module's generator (a syscall per id would be ten times
# the cost, paid per event), which Python reseeds in a child after fork.
_random = random


@dataclass(frozen=True)
class TraceContext:
    trace_id: str  # 32 lowercase hex digits, never all zeros
    span_id: str  # 16 lowercase hex digits: this span's (the parent-id of what it causes)
    sampled: bool = True
    tracestate: str | None = None  # vendors' entries, passed on untouched (as OpenTelemetry re-forms it)

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{'01' if self.sampled else '00'}"

    def child(self) -> "TraceContext":
        """A new span of the same trace, caused by this one."""
        return TraceContext(self.trace_id, _new_span_id(), self.sampled, self.tracestate)

    def headers(self) -> dict[str, str]:
        """`traceparent` (and `tracestate` when there is one), as OpenTelemetry injects them."""
        carrier: dict[str, str] = {}
        span = trace.SpanContext(int(self.trace_id, 16), int(self.span_id, 16), is_remote=False,
                                 trace_flags=trace.TraceFlags(1 if self.sampled else 0),
                                 trace_state=trace.TraceState.from_header([self.tracestate] if self.tracestate else []))
        _PROPAGATOR.inject(carrier, trace.set_span_in_context(trace.NonRecordingSpan(span)))
        return carrier


def parse(traceparent: object, tracestate: object = None) -> TraceContext | None:
    """The context a `traceparent` (and `tracestate`) names, or None when it is missing or not a
    valid W3C traceparent (which the standard says to ignore: a new trace starts).

    The checks are OpenTelemetry's propagator's, on its own pattern, without building its Context
    objects: a consumer parses one per event, and extract() cost ~20-70 µs of it where this costs
    about 2 µs (tests/shared/test_tracing.py holds the two to the same answers)."""
    if not isinstance(traceparent, str) or not traceparent or len(traceparent) > MAX_TRACEPARENT:
        return None
    match = _TRACEPARENT.search(traceparent)
    if match is None:
        return None
    version, trace_id, span_id, flags, rest = match.groups()
    if trace_id == _ZERO_TRACE or span_id == _ZERO_SPAN or version == "ff" or (version == "00" and rest):
        return None
    state = None
    if isinstance(tracestate, str) and tracestate and len(tracestate) <= MAX_TRACESTATE:
        state = trace.TraceState.from_header([tracestate]).to_header() or None
    return TraceContext(trace_id, span_id, bool(int(flags, 16) & 0x01), state)


_TRACEPARENT = TraceContextTextMapPropagator._TRACEPARENT_HEADER_FORMAT_RE
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16


def start() -> TraceContext:
    """A new trace (no caller sent one)."""
    trace_id = 0
    while not trace_id:  # all zeros is invalid
        trace_id = _random.getrandbits(128)
    return TraceContext(f"{trace_id:032x}", _new_span_id())


def continued(traceparent: object, tracestate: object = None) -> TraceContext:
    """The span of work caused by this traceparent: its child, or a new trace when it is not valid."""
    parent = parse(traceparent, tracestate)
    return parent.child() if parent is not None else start()


def _new_span_id() -> str:
    span_id = 0
    while not span_id:
        span_id = _random.getrandbits(64)
    return f"{span_id:016x}"


_CURRENT: ContextVar[TraceContext | None] = ContextVar("chitieu_trace", default=None)


def current() -> TraceContext | None:
    return _CURRENT.get()


def set_trace(context: TraceContext | None) -> None:
    """For the rest of this context (one request)."""
    _CURRENT.set(context)


@contextmanager
def tracing(context: TraceContext | None) -> Iterator[None]:
    """`context` is the trace inside the block; the previous one again after it."""
    token = _CURRENT.set(context)
    try:
        yield
    finally:
        _CURRENT.reset(token)
