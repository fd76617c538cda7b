"""The consumer's first step: a Kafka record becomes an event whose data the contract accepts.

`Parser.parse(record)` gives a `Parsed` (record, event, data), None for a contract event the
consumer does not handle, or raises InvalidEvent (the record can never succeed: dead letter).

Most records are well formed, so a fast path decides them and the general path (the CloudEvents
SDK and marshmallow) decides anything it is not sure of, giving exactly the same answer:
- `parse_structured`: a structured-mode CloudEvent is one JSON object; decode it with `json`
  instead of going through the CloudEvents SDK (ten times the cost per record).
- `compile_loader(schema)`: a checker built from the contract's marshmallow schema that accepts
  only the canonical JSON forms (str, int, bool, ISO date, nested objects) and runs the fields'
  own validators; it answers None whenever marshmallow might think otherwise.
"""
from __future__ import annotations

import json
import re
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Callable, NamedTuple

from marshmallow import Schema, ValidationError, fields

from .contracts import BY_TYPE, Event, EventType, InvalidEvent, parse_record

class Parsed(NamedTuple):
    record: Any
    event: Event
    data: dict[str, Any]


class Parser:
    """One schema instance and one compiled loader per event type, made once per consumer."""

    def __init__(self, event_types: list[EventType]):
        self._schemas = {t.type: t.schema() for t in event_types}
        self._loaders = {name: compile_loader(schema) for name, schema in self._schemas.items()}

    def parse(self, record) -> Parsed | None:
        event = parse_structured(record) or parse_record(record.value, record.key, record.headers)
        if event.type not in self._schemas:
            if event.type not in BY_TYPE:
                raise InvalidEvent(f"unknown event type {event.type!r}")
            return None  # a contract event this consumer does not need
        data = self._loaders[event.type](event.data)
        if data is None:
            if not isinstance(event.data, dict):
                raise InvalidEvent(f"{event.type}: data must be a JSON object")
            try:
                data = self._schemas[event.type].load(event.data)
            except ValidationError as exc:
                raise InvalidEvent(f"{event.type}: schema violation {exc.messages}") from exc
        return Parsed(record, event, data)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_MISSING = object()


def parse_structured(record) -> Event | None:
    headers = dict(record.headers or [])
    if headers.get("content-type", b"application/cloudevents+json") != b"application/cloudevents+json":
        return None
    try:
        obj = json.loads(record.value)
        if obj.get("specversion") != "1.0" or obj.get("datacontenttype", "application/json") != "application/json":
            return None
        event_id, type_, source, data = obj["id"], obj["type"], obj["source"], obj["data"]
        if not (isinstance(event_id, str) and event_id and isinstance(type_, str) and isinstance(source, str)
                and isinstance(data, dict)):
            return None
        time = datetime.fromisoformat(obj["time"]) if "time" in obj else datetime.now(timezone.utc)
        actor, actorrole = obj.get("actor"), obj.get("actorrole")
        if not isinstance(actor, (str, type(None))) or not isinstance(actorrole, (str, type(None))):
            return None  # the general path refuses it
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    key = obj.get("partitionkey") or (record.key.decode() if isinstance(record.key, bytes) else record.key or "")
    traceparent, tracestate = obj.get("traceparent"), obj.get("tracestate")
    return Event(id=event_id, type=type_, source=source, subject=obj.get("subject"), time=time, key=key, data=data,
                 actor=actor or None, actorrole=actorrole or None,
                 # A trace context is a diagnostic: one that is not a string is dropped, never refused.
                 traceparent=traceparent if isinstance(traceparent, str) and traceparent else None,
                 tracestate=tracestate if isinstance(tracestate, str) and tracestate else None)


def compile_loader(schema: Schema) -> Callable[[dict], dict | None]:
    """A function returning what `schema.load(data)` returns, or None when not sure."""
    checks = []
    for name, field in schema.fields.items():
        if field.data_key not in (None, name) or field.attribute not in (None, name) or field.dump_only:
            return lambda data: None
        kind = _kind(field)
        if kind is None:
            return lambda data: None
        inner = compile_loader(field.schema) if kind == _NESTED else None
        checks.append((name, kind, field.required, field.allow_none, field.load_default,
                       tuple(field.validators), inner))
    names = frozenset(schema.fields)

    # One loop with the type tests inline: this runs for every record of every poll.
    def load(data: Any) -> dict | None:
        if not isinstance(data, dict) or not names.issuperset(data):
            return None
        out = {}
        for name, kind, required, allow_none, default, validators, inner in checks:
            value = data.get(name, _MISSING)
            if value is _MISSING:
                if required:
                    return None
                if default is not fields.missing_:
                    out[name] = default() if callable(default) else default
                continue
            if value is None:
                if not allow_none:
                    return None
                out[name] = None
                continue
            if kind == _STR:
                if not isinstance(value, str):
                    return None
            elif kind == _DATE:
                value = _date(value)
                if value is _MISSING:
                    return None
            elif kind == _BOOL:
                if not isinstance(value, bool):
                    return None
            elif kind == _INT:
                if not isinstance(value, int) or isinstance(value, bool):
                    return None
            elif kind == _DECIMAL:
                if not isinstance(value, str) or not _PLAIN_DECIMAL.match(value):
                    return None
                value = Decimal(value)
            else:
                value = inner(value)
                if value is None:
                    return None
            if validators:
                try:
                    for validator in validators:
                        if validator(value) is False:
                            return None
                except ValidationError:
                    return None
            out[name] = value
        return out

    return load


_STR, _INT, _BOOL, _DATE, _NESTED, _DECIMAL = range(6)
_PLAIN_DECIMAL = re.compile(r"^-?\d{1,20}(\.\d{1,20})?$")  # "115.47": what the contract's percents look like


def _kind(field: fields.Field) -> int | None:
    if isinstance(field, fields.Nested) and not field.many and isinstance(field.schema, Schema):
        return _NESTED
    if type(field) is fields.String:
        return _STR
    if type(field) is fields.Integer:
        return _INT
    if type(field) is fields.Boolean:
        return _BOOL
    if type(field) is fields.Date:
        return _DATE
    if type(field) is fields.Decimal and field.places is None and not field.allow_nan:
        return _DECIMAL
    return None


_DATES: dict[str, date] = {}  # admissions of a poll share few dates: parse each text once


def _date(value: Any):
    if not isinstance(value, str):
        return _MISSING
    day = _DATES.get(value)
    if day is not None:
        return day
    if not _ISO_DATE.match(value):
        return _MISSING
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return _MISSING
    if len(_DATES) < 10000:
        _DATES[value] = day
    return day
