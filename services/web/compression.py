"""Pages and fragments gzip-compressed when the browser accepts it: officials on slow provincial
and mobile networks (the vendored scripts are compressed once, in assets.py)."""
from __future__ import annotations

import gzip

from flask import Response, request

MIN_BYTES = 1024
TYPES = ("text/html", "text/css", "text/javascript", "application/json")


def compress_page(response: Response) -> Response:
    if (response.direct_passthrough or response.is_streamed or response.status_code < 200
            or response.status_code in (204, 304) or "Content-Encoding" in response.headers
            or response.mimetype not in TYPES or "gzip" not in request.headers.get("Accept-Encoding", "")):
        return response
    body = response.get_data()
    if len(body) < MIN_BYTES:
        return response
    response.set_data(gzip.compress(body, compresslevel=6))
    response.headers["Content-Encoding"] = "gzip"
    response.headers.add("Vary", "Accept-Encoding")
    return response
