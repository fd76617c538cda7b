"""Errors as RFC 9457 problem details (`application/problem+json`), naming the offending fields.

Body: {"type", "title", "status", "detail", "errors": {"<field>": ["<message>", ...]}}.
Service code raises `Problem`; request-validation errors from flask-smorest/webargs and plain
HTTP errors are turned into the same shape by `shared.web`.
"""
from __future__ import annotations

from typing import Any

from flask import Response, json
from marshmallow import Schema, fields

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(Schema):
    """The body of every error response (documented in each service's OpenAPI spec)."""

    type = fields.String(metadata={"description": "a URI naming the kind of problem, or about:blank"})
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    errors = fields.Dict(keys=fields.String(), metadata={"description": "offending field → messages"})
    cells = fields.List(fields.Dict(), metadata={
        "description": "an import's errors where a spreadsheet shows them: {row, column (letter), header, field, "
                       "messages}"})


class Problem(Exception):
    def __init__(self, status: int, title: str, detail: str | None = None, *,
                 errors: dict[str, Any] | None = None, type_: str | None = None,
                 cells: list[dict[str, Any]] | None = None):
        super().__init__(detail or title)
        self.cells = cells  # an import's errors by spreadsheet row and column (shared/spreadsheets.py)
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors or {}
        self.type = type_ or "about:blank"


def problem_response(status: int, title: str, detail: str | None = None, *, errors: dict | None = None,
                     type_: str = "about:blank", headers: dict | None = None,
                     cells: list[dict[str, Any]] | None = None) -> Response:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    if cells:
        body["cells"] = cells
    resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_JSON)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def flatten_webargs_messages(messages: dict[str, Any]) -> dict[str, Any]:
    """webargs nests errors by location ({"json": {"target": [...]}}): keep body fields as they
    are, and name the others by location ("query.period", "headers.Idempotency-Key")."""
    out: dict[str, Any] = {}
    for location, by_field in (messages or {}).items():
        if not isinstance(by_field, dict):
            out[location] = by_field
            continue
        for field, msgs in by_field.items():
            name = field if location in ("json", "form", "files") else f"{location}.{field}"
            out[name] = msgs
    return out
