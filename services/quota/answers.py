"""Progress answers kept in each API process and served again while nothing they show has changed.

They are kept under `<ns>:progress-version` in Redis (projection.py), which moves with every write
of the live figures (in the script that writes them) and after every committed change of the tree,
names or quotas (`follow_changes`: bump_version flags the transaction), and under the day (the
status is judged on it; a dated move takes effect on its day) and the request's path and query
(the page, the ranking, the Link header). A kept answer costs one Redis read, no SQL, instead of
the report: for the national root, 35 hashes, 36 figure views, their schema and JSON
(bench/quota_latency.py measures both). The version is read before the report is made, so an
answer is never kept under a version newer than what it shows.

The database stays the truth: were a process killed between a change's commit and its move of the
version (or Redis away at that moment), answers kept elsewhere would miss that change; none is
served more than MAX_AGE_S after it was made, which bounds that case. Only live figures are kept:
a cut-off (as_of inside the period) sums the database's day counters, which no version follows.
Every answer carries an ETag, the hash of its body; a client that sends it back in If-None-Match
gets 304 Not Modified.
"""
from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date
from typing import Callable

from flask import Response, current_app, request
from sqlalchemy import event

from shared import clock
from shared.db import Database
from shared.metrics import PROGRESS_ANSWERS

from .periods import Period
from .projection import ProgressStore
from .report import live_figures
from .tree import CHANGED

log = logging.getLogger(__name__)
MAX_ENTRIES = 256  # answers kept per process, the least recently used dropped first
MAX_BYTES = 16 * 1024 * 1024  # and their bodies together at most (a 500-row page is ~350 KB)
MAX_AGE_S = 30.0


@dataclass(frozen=True)
class Answer:
    body: bytes
    headers: tuple[tuple[str, str], ...]
    etag: str
    made: float  # time.monotonic()


class Answers:
    def __init__(self, *, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES, max_age_s: float = MAX_AGE_S):
        self._lock = threading.Lock()
        self._kept: OrderedDict[tuple, Answer] = OrderedDict()
        self._bytes = 0
        self.max_entries, self.max_bytes, self.max_age_s = max_entries, max_bytes, max_age_s

    def respond(self, key: tuple | None, make: Callable[[], tuple[dict, dict]]) -> Response:
        """The answer kept under `key`, else the one `make` returns (its JSON body and headers),
        then kept; with key None nothing is kept."""
        answer = self._get(key) if key is not None else None
        PROGRESS_ANSWERS.labels("hit" if answer else "miss" if key else "not_kept").inc()
        if answer is None:
            body, headers = make()
            data = current_app.json.response(body).get_data()
            answer = Answer(data, tuple(headers.items()), hashlib.blake2b(data, digest_size=16).hexdigest(),
                            time.monotonic())
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
            if answer is None:
                return None
            if time.monotonic() - answer.made > self.max_age_s:
                self._drop(key)
                return None
            self._kept.move_to_end(key)
            return answer

    def _put(self, key: tuple, answer: Answer) -> None:
        if len(answer.body) > self.max_bytes:
            return
        with self._lock:
            if key in self._kept:
                self._drop(key)
            self._kept[key] = answer
            self._bytes += len(answer.body)
            while len(self._kept) > self.max_entries or self._bytes > self.max_bytes:
                self._drop(next(iter(self._kept)))

    def _drop(self, key: tuple) -> None:
        self._bytes -= len(self._kept.pop(key).body)


PROGRESS = Answers()


def progress_key(store: ProgressStore, *, period: Period, as_of: date | None) -> tuple | None:
    """What a progress answer is made from, read now; None when it cannot be kept."""
    if not live_figures(period, as_of):
        return None
    version = store.version()
    if version is None:  # nothing written since Redis was emptied: a change could not be told apart
        return None
    return (store.settings.namespace, version, clock.today(), request.full_path)


def follow_changes(db: Database, store: ProgressStore) -> None:
    """After each commit of `db` that moved a tree_version row (tree.bump_version), move the
    version the kept answers are under, in every process."""
    @event.listens_for(db.sessions, "after_commit")
    def _moved(session):
        if session.info.pop(CHANGED, False):
            try:
                store.touch()
            except Exception:  # committed already: the change stands; this process forgets what it kept
                PROGRESS.clear()
                log.warning("kept progress answers not dropped in other processes (for up to %s s)",
                            MAX_AGE_S, exc_info=True)
