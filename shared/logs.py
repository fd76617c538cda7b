"""JSON logs on stderr, one object a line, so that a log shipper can read them as they are.

Every line also carries what is known of the work in hand: the request's `request_id` and its
caller's `sub` (bound by shared/web.py), and the `trace_id` / `span_id` of the W3C trace it belongs
to (shared/tracing.py), so one admission can be followed from the API through the relay and the
consumers to the webhook with one grep.
"""
from __future__ import annotations

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

from . import tracing

_BOUND: ContextVar[dict[str, Any] | None] = ContextVar("chitieu_log_fields", default=None)


def bind(**fields: Any) -> None:
    """Add fields to every line logged for the rest of this context (one request)."""
    _BOUND.set({**(_BOUND.get() or {}), **fields})


def clear() -> None:
    """A worker thread serves request after request: nothing bound outlives its request."""
    _BOUND.set(None)


def bound() -> dict[str, Any]:
    return dict(_BOUND.get() or {})


class ContextFilter(logging.Filter):
    """Puts the bound fields and the current trace on each record (a field the call gave wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_BOUND.get() or {}).items():
            if value is not None and not hasattr(record, name):
                setattr(record, name, value)
        context = tracing.current()
        if context is not None and not hasattr(record, "trace_id"):
            record.trace_id, record.span_id = context.trace_id, context.span_id
        return True


def json_formatter(*, service: str) -> logging.Formatter:
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        static_fields={"service": service},
        json_ensure_ascii=False,
    )


def json_handler(*, service: str, stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(json_formatter(service=service))
    handler.addFilter(ContextFilter())
    return handler


def configure_logging(*, service: str, level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers[:] = [json_handler(service=service)]
    root.setLevel(level)
    # kafka-python is chatty at INFO about every connection.
    logging.getLogger("kafka").setLevel(logging.WARNING)
