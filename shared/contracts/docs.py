"""Renders the event contract as Markdown (docs/events.md), from the definitions themselves, so
the document cannot drift from the code: `python -m shared.contracts.docs > docs/events.md`
(a test compares them)."""
from __future__ import annotations

from marshmallow import fields

from . import ALL_EVENT_TYPES, DEAD_LETTER_TOPIC

HEADER = """# The event contract of chitieu

Generated from `shared/contracts/` by `python -m shared.contracts.docs > docs/events.md`; do not edit by hand.

## Envelope
Every event is a [CloudEvents 1.0](https://github.com/cloudevents/spec) event in the Kafka protocol
binding's **structured mode**: the Kafka record's value is the whole event as JSON
(`content-type: application/cloudevents+json` header), and its key is the `partitionkey` extension.

| attribute | meaning |
|---|---|
| `id` | UUID of the event; consumers record it to apply each event once |
| `type` | `vn.chitieu.<name>.v<version>`; a breaking change of the data makes a new version |
| `source` | the publishing service: `/quota`, `/candidates`, `/notifications` |
| `subject` | what the event is about (an organisation code, a candidate id), when useful |
| `time` | when the change happened (UTC) |
| `datacontenttype` | `application/json` |
| `partitionkey` | the Kafka key: events with the same key are delivered in order |
| `actor` | who made the change (extension): the caller's token `sub` (a username, `client:<id>`); for what a consumer does in answer to an event, that event's actor, or `system:<consumer>` when it acts on many at once; `system:<service>` for a worker; `cli:<user>` for a command on the server. Events written before it existed have none |
| `actorrole` | the actor's role when a token said (`admin`, `officer`, `viewer`); absent otherwise |
| `traceparent` | the W3C Trace Context of the work that wrote the event ([distributed-tracing extension](https://github.com/cloudevents/spec/blob/main/cloudevents/extensions/distributed-tracing.md)): the API request's (its caller's `traceparent` continued, or a trace started there), or, for what a consumer writes in answer to an event, that event's trace, one per event even when a poll applies many at once. Consumers log every line about the event under its trace id (see docs/operations.md); an absent or invalid one is ignored (a new trace starts), never refused. Events written before it existed have none |
| `tracestate` | the caller's vendor entries of W3C Trace Context, passed on unchanged with `traceparent`; absent when there were none |
| `data` | the body described below for each type |

Topics are named `<namespace>.<topic>` (`CHITIEU_NAMESPACE`, default `chitieu`). A record that can
never be processed (bad JSON, unknown type, data that violates its schema, or refused by its handler)
is copied unchanged to `<namespace>.%s` with the headers `dlq.reason`, `dlq.consumer`,
`dlq.original.topic`, `dlq.original.partition` and `dlq.original.offset`.

Retention is set on every topic when it is created (`shared/kafka.py`), never left to the broker:
event topics keep their records `CHITIEU_TOPIC_RETENTION_DAYS` (14), the dead-letter topic
`CHITIEU_DEAD_LETTER_RETENTION_DAYS` (90), and `organization-state` is compacted: Kafka keeps the
latest `organization.state` of every organisation for ever, so a copy of the tree is rebuilt from it
at any time (`shared/replica.py`).

The web service keeps the audit trail from these events (`GET /api/v1/audit`): one entry per
event with its time, actor, type and the organisations it is about (`org_code` unless the type
names others); `organization.state` and `candidate.reminder_due` are not changes and are left out.

Delivery is at least once: publishers write events through a transactional outbox, consumers record
each event id in the same transaction as its effect. Versioning: fields may be added to a version;
removing or changing a field means a new version, published alongside the old one until every
consumer has moved.
""" % DEAD_LETTER_TOPIC


def _field_type(field: fields.Field) -> str:
    if isinstance(field, fields.Nested):
        return f"object ({field.nested.__name__ if isinstance(field.nested, type) else 'nested'})"
    if isinstance(field, fields.List):
        return f"list of {_field_type(field.inner)}"
    names = {fields.String: "string", fields.Integer: "integer", fields.Boolean: "boolean",
             fields.Date: "date (YYYY-MM-DD)", fields.Decimal: "decimal as string", fields.DateTime: "date-time"}
    for cls, name in names.items():
        if isinstance(field, cls):
            return name
    return type(field).__name__


def _field_rows(schema_cls, prefix: str = "") -> list[str]:
    rows = []
    for name, field in schema_cls().fields.items():
        choices = getattr(next((v for v in field.validators if hasattr(v, "choices")), None), "choices", None)
        note = "one of " + ", ".join(f"`{c}`" for c in choices) if choices else ""
        required = "yes" if field.required else "no"
        nullable = " (may be null)" if field.allow_none and field.required else ""
        rows.append(f"| `{prefix}{name}` | {_field_type(field)}{nullable} | {required} | {note} |")
        if isinstance(field, fields.Nested) and isinstance(field.nested, type):
            rows.extend(_field_rows(field.nested, prefix=f"{prefix}{name}."))
        if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
            rows.extend(_field_rows(field.inner.nested, prefix=f"{prefix}{name}[]."))
    return rows


def render() -> str:
    out = [HEADER]
    for topic in sorted({t.topic for t in ALL_EVENT_TYPES}):
        out.append(f"## Topic `{topic}`\n")
        for t in (t for t in ALL_EVENT_TYPES if t.topic == topic):
            out.append(f"### `{t.type}`\n\n{t.description}\n\nKey: `{t.partition_key.__doc__ or t.partition_key.__name__.strip('_')}`."
                       f" Data schema: `{t.dataschema}`.\n")
            out.append("| field | type | required | values |\n|---|---|---|---|")
            out.extend(_field_rows(t.schema))
            out.append("")
    return "\n".join(out).rstrip() + "\n"


if __name__ == "__main__":
    print(render(), end="")
