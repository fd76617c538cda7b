"""Progress answers kept in each API process and served again while nothing they are computed from
has changed: the tree, names and quotas (the catalog's versions), the live figures (the progress
version in Redis, moved by every write of a hash: projection.py), the day (the status is judged on
it) and the request's path and query (the page, the ranking, the Link header).

A kept answer costs two small reads (the versions) instead of the report: 36 figure views, their
schema and JSON for the national root, which the dashboards of every province link to and
provincial systems poll (bench/quota_latency.py measures both). The versions are read before
the report, so a kept answer is never older than the versions it is kept under.

Only live figures are kept: a cut-off (as_of inside the period) sums the database's day counters,
which no version follows. Every answer carries an ETag, the hash of its body; a client that sends
it back in If-None-Match gets 304 Not Modified.
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Callable

from flask import Response, current_app, request
from sqlalchemy.orm import Session

from shared import clock
from shared.metrics import PROGRESS_ANSWERS

from .catalog import CATALOG
from .periods import Period
from .projection import ProgressStore
from .report import live_figures

MAX_ENTRIES = 256  # answers kept per process, the least recently used dropped first
MAX_BYTES = 16 * 1024 * 1024  # and their bodies together at most (a 500-row page is ~350 KB)


@dataclass(frozen=True)
class Answer:
    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str


class Answers:
    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES):
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, Answer] = OrderedDict()
        self._bytes = 0
        self.max_entries, self.max_bytes = max_entries, max_bytes

    def respond(self, key: tuple | None, make: Callable[[], tuple[dict, dict]]) -> Response:
        """The answer kept under `key`, else the one `make` returns (its JSON body and headers),
        then kept; with key None nothing is kept."""
        answer = self._get(key) if key is not None else None
        PROGRESS_ANSWERS.labels("hit" if answer else "miss" if key else "not_kept").inc()
        if answer is None:
            body, headers = make()
            data = current_app.json.response(body).get_data()
            answer = Answer(data, tuple(headers.items()), hashlib.blake2b(data, digest_size=16).hexdigest())
            if key is not None:
                self._put(key, answer)
        response = Response(answer.body, mimetype="application/json", headers=list(answer.headers))
        response.set_etag(answer.etag)
        return response.make_conditional(request)

    def clear(self) -> None:
        with self._lock:
            self._kept.clear()
            self._bytes = 0

    def _get(self, key: tuple) -> Answer | None:
        with self._lock:
            answer = self._kept.get(key)
            if answer is not None:
                self._kept.move_to_end(key)
            return answer

    def _put(self, key: tuple, answer: Answer) -> None:
        if len(answer.body) > self.max_bytes:
            return
        with self._lock:
            old = self._kept.pop(key, None)
            self._bytes -= len(old.body) if old else 0
            self._kept[key] = answer
            self._bytes += len(answer.body)
            while len(self._kept) > self.max_entries or self._bytes > self.max_bytes:
                _, dropped = self._kept.popitem(last=False)
                self._bytes -= len(dropped.body)


PROGRESS = Answers()


def progress_key(session: Session, store: ProgressStore, *, period: Period, as_of: date | None) -> tuple | None:
    """What a progress answer is computed from, read now; None when it cannot be kept."""
    if not live_figures(period, as_of):
        return None
    version = store.version()
    if version is None:  # no write since Redis was emptied: nothing tells a later change apart
        return None
    return (CATALOG.versions(session), version, clock.today(), request.full_path)
