"""The one pagination convention of every list in the APIs.

A list takes `page` (from 1) and `per_page` (1..MAX_PER_PAGE, default DEFAULT_PER_PAGE) in its
query and answers `{"items": [...], "total": N, "page": p, "per_page": n, "next": URL|null}`,
with the same `next` (and `prev`) as an RFC 8288 `Link` header. Items come in a stable order
(each list says which), so pages neither skip nor repeat rows while nothing changes. A page past
the end is an empty `items`, not an error.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request
from marshmallow import Schema, fields, validate

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500
MAX_PAGE = 100_000


class PageQuery(Schema):
    """Query arguments of a list; list schemas inherit them."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE),
                          metadata={"description": "trang, từ 1 / page number, from 1"})
    per_page = fields.Integer(load_default=DEFAULT_PER_PAGE, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                              metadata={"description": f"số dòng mỗi trang / rows per page (max {MAX_PER_PAGE})"})


def page_schema(item: type[Schema] | Schema, name: str) -> type[Schema]:
    """The response schema of a page of `item`s (named for /openapi.json)."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item)),
        "total": fields.Integer(metadata={"description": "rows in every page together"}),
        "page": fields.Integer(), "per_page": fields.Integer(),
        "next": fields.String(allow_none=True, metadata={"description": "URL of the next page, null on the last"}),
    }, name=name)


def offset(query: dict) -> int:
    return (query["page"] - 1) * query["per_page"]


def page_of(items: list[Any], *, total: int, query: dict) -> tuple[dict, dict]:
    """The page body and its `Link` header (return both from a flask-smorest view)."""
    page, per_page = query["page"], query["per_page"]
    links, next_url = [], None
    if page * per_page < total:
        next_url = _url(page + 1)
        links.append(f'<{next_url}>; rel="next"')
    if page > 1:
        links.append(f'<{_url(page - 1)}>; rel="prev"')
    headers = {"Link": ", ".join(links)} if links else {}
    return {"items": items, "total": total, "page": page, "per_page": per_page, "next": next_url}, headers


def _url(page: int) -> str:
    args = request.args.to_dict(flat=False)
    args["page"] = [str(page)]
    return f"{request.base_url}?{urlencode(args, doseq=True)}"
