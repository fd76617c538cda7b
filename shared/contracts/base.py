"""What an event type is: CloudEvents 1.0 attributes, a versioned marshmallow schema of its data,
its topic and its partition key. Every event type of chitieu is declared once, in this package.

An event travels in CloudEvents *structured* mode: the whole event is the JSON value of the Kafka
record, `content-type: application/cloudevents+json`, and the `partitionkey` extension is the key.
The `actor` and `actorrole` extensions say who made the change (shared/actor.py); events written
before they existed have neither, and parse with `actor` None.
The `traceparent` and `tracestate` extensions (CloudEvents' distributed-tracing extension, W3C
Trace Context) name the trace of the work that wrote the event (shared/tracing.py), so what it
causes in the consumers is logged under the same trace id; older events have neither.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.v1.event import CloudEvent
from marshmallow import Schema, ValidationError

from .. import tracing
from ..actor import Actor, current

TYPE_PREFIX = "vn.chitieu."
_SCHEMAS: dict[type[Schema], Schema] = {}


def schema_instance(schema: type[Schema]) -> Schema:
    """One instance per schema class: building a marshmallow schema costs more than using it,
    and load/dump keep no state between calls."""
    instance = _SCHEMAS.get(schema)
    if instance is None:
        instance = _SCHEMAS[schema] = schema()
    return instance


class InvalidEvent(Exception):
    """A record that can never be processed: bad JSON, not a CloudEvent, unknown type, bad data."""


@dataclass(frozen=True)
class EventType:
    name: str  # e.g. "candidate.admitted"
    version: int
    topic: str  # logical topic; Settings.topic() gives the real name
    schema: type[Schema]
    partition_key: Callable[[dict[str, Any]], str]
    description: str
    # The organisations an event is about, the main one first (what the audit trail is scoped by):
    # its `org_code` unless the type says otherwise.
    organizations: Callable[[dict[str, Any]], tuple[str | None, ...]] = lambda data: (data.get("org_code"),)

    @property
    def type(self) -> str:
        """The CloudEvents `type`, versioned: vn.chitieu.candidate.admitted.v1."""
        return f"{TYPE_PREFIX}{self.name}.v{self.version}"

    @property
    def dataschema(self) -> str:
        return f"urn:chitieu:schema:{self.name}:v{self.version}"

    def validate(self, data: Any) -> dict[str, Any]:
        """Deserialize and check the data; raises InvalidEvent naming the offending fields."""
        if not isinstance(data, dict):
            raise InvalidEvent(f"{self.type}: data must be a JSON object")
        try:
            return schema_instance(self.schema).load(data)
        except ValidationError as exc:
            raise InvalidEvent(f"{self.type}: schema violation {exc.messages}") from exc


@dataclass(frozen=True)
class Event:
    """An event ready to be written to the outbox, or one read back from Kafka."""

    id: str
    type: str
    source: str
    subject: str | None
    time: datetime
    key: str
    data: dict[str, Any]
    actor: str | None = None  # who made the change (extension `actor`); None in older events
    actorrole: str | None = None  # their role then (extension `actorrole`), when a token said
    traceparent: str | None = None  # the W3C trace of the work that wrote it (distributed tracing)
    tracestate: str | None = None

    @property
    def trace(self) -> tracing.TraceContext | None:
        """Its trace context, None when it has none or not a valid one."""
        return tracing.parse(self.traceparent, self.tracestate)

    def to_kafka_value(self) -> bytes:
        return to_message(self).value


def _jsonable(data: dict[str, Any], schema: type[Schema]) -> dict[str, Any]:
    # dump() turns dates and decimals into JSON types; round trip through json checks it.
    return json.loads(json.dumps(schema_instance(schema).dump(data), ensure_ascii=False))


def build_event(
    event_type: EventType, data: dict[str, Any], *, source: str, subject: str | None = None,
    actor: Actor | None = None, trace: tracing.TraceContext | None = None,
) -> Event:
    """Validate `data` against the event's schema and wrap it in a new CloudEvent. Its actor is
    `actor`, else whoever acts in this context (shared/actor.py), else the publishing service;
    its trace `trace`, else this context's (shared/tracing.py), else none."""
    actor = actor or acting_actor(source)
    trace = trace or tracing.current()
    errors = schema_instance(event_type.schema).validate(_jsonable(data, event_type.schema))
    if errors:
        raise ValueError(f"{event_type.type}: data does not match its schema: {errors}")
    return Event(
        id=str(uuid.uuid4()),
        type=event_type.type,
        source=source,
        subject=subject,
        time=datetime.now(timezone.utc),
        key=event_type.partition_key(data),
        data=_jsonable(data, event_type.schema),
        actor=actor.id,
        actorrole=actor.role,
        traceparent=trace.traceparent if trace else None,
        tracestate=trace.tracestate if trace else None,
    )


def acting_actor(source: str) -> Actor:
    """Who acts now: the context's actor, else the publishing service itself (system:quota)."""
    return current() or Actor(f"system:{source.strip('/') or 'unknown'}")


def to_message(event: Event) -> ce_kafka.KafkaMessage:
    attributes = {
        "id": event.id,
        "type": event.type,
        "source": event.source,
        "time": event.time,
        "datacontenttype": "application/json",
        "partitionkey": event.key,
    }
    if event.subject:
        attributes["subject"] = event.subject
    if event.actor:
        attributes["actor"] = event.actor
    if event.actorrole:
        attributes["actorrole"] = event.actorrole
    if event.traceparent:
        attributes["traceparent"] = event.traceparent
        if event.tracestate:
            attributes["tracestate"] = event.tracestate
    return ce_kafka.to_structured_event(CloudEvent(attributes=attributes, data=event.data))


def parse_record(value: bytes | None, key: bytes | None, headers: list[tuple[str, bytes]] | None) -> Event:
    """Turn a Kafka record back into an Event; raises InvalidEvent if it is not a CloudEvent."""
    if value is None:
        raise InvalidEvent("empty record value")
    hdrs = {k: v for k, v in (headers or [])}
    hdrs.setdefault("content-type", b"application/cloudevents+json")
    try:
        ce = ce_kafka.from_kafka_event(ce_kafka.KafkaMessage(headers=hdrs, key=key, value=value))
    except Exception as exc:  # the SDK raises JSON, validation and format errors alike
        raise InvalidEvent(f"not a CloudEvent: {exc}") from exc
    data = ce.get_data()
    if isinstance(data, (bytes, str)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise InvalidEvent(f"data is not JSON: {exc}") from exc
    actor, actorrole = ce.get_extension("actor"), ce.get_extension("actorrole")
    if not isinstance(actor, (str, type(None))) or not isinstance(actorrole, (str, type(None))):
        raise InvalidEvent("the actor and actorrole attributes must be strings")
    return Event(
        id=ce.get_id(),
        type=ce.get_type(),
        source=ce.get_source(),
        subject=ce.get_subject(),
        time=ce.get_time() or datetime.now(timezone.utc),
        key=ce.get_extension("partitionkey") or (key.decode() if isinstance(key, bytes) else key or ""),
        data=data if isinstance(data, dict) else {"_": data},
        actor=actor or None,
        actorrole=actorrole or None,
        # A trace context is a diagnostic: one that is not a string is dropped, never refused.
        traceparent=_string(ce.get_extension("traceparent")),
        tracestate=_string(ce.get_extension("tracestate")),
    )


def _string(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
