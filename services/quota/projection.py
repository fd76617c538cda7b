"""The live figures in Redis: one hash per (organisation, period), `<ns>:progress:<org>:<period>`,
with the fields admitted, student, non_state_enterprise, woman, ethnic_minority, under_30: a copy
of the database counters (counters.py), which are exactly-once through processed_events and the
ledger's own event ids.

Why copies and not increments. Redis used to receive each event's increments, made once by a
marker per event id that expired after 30 days; a replay older than that counted twice, and a
rebuild (delete, then write a snapshot) raced the consumer's increments: an increment landing
between the snapshot's read and its write was lost, or counted twice. Now every writer of a hash
writes absolute values read from the database counters, and holds a share lock on the counter
rows it copies (PostgreSQL: SELECT ... FOR SHARE; SQLite: every transaction holds the write lock)
from the read until its Redis write is done:
- the consumer, after each commit, copies the counters its poll changed (`project`); a
  redelivered event copies again what the ledger says it changed, which changes nothing;
- `rebuild` and `reconcile` walk every counter in pages, each page in one short transaction;
- a back-filled term is copied by `copy_period` after its transaction commits.
Whatever the interleaving, the writes of one hash follow the commits of its row: a writer can
only read a row once the last change to it has committed, and no change can commit until every
writer holding the row has written Redis and let go. The last write of a hash is therefore of
the row's last value, so Redis ends equal to the database; a replay, a redelivery or a concurrent
rebuild rewrites the same numbers. No marker is needed, so none can expire. The consumer is never
stopped: a page of rebuild blocks the few rows it holds for the time of one Redis pipeline.
A hash with no counter row (left by a restore from an older backup, or written by hand) is
deleted under the tree lock taken exclusively, which holds off every apply (the only way a row
appears), so a row created meanwhile cannot be mistaken for one that does not exist.

Every write of hashes also moves `<ns>:progress-version`, in the same script (atomically), and so
does every committed change of the tree, names or quotas (`touch`, answers.py): a progress answer
is kept while it stays put. It starts from the clock's microseconds when absent, so a Redis emptied
and written again never repeats a version an old answer was kept under.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings
from shared.db import Database

from . import counters
from .counters import FIELDS, Figures, Key
from .models import ProgressCounter
from .tree import lock_tree

log = logging.getLogger(__name__)
PAGE = 5000  # counters per transaction of rebuild and reconcile
# The per-event markers of the former incremental projection: deleted by rebuild.
OLD_MARKERS = "progress-applied"


@dataclass(frozen=True)
class Difference:
    org_code: str
    period: str
    field: str
    was: int | None  # in Redis (None: absent)
    now: int | None  # in the database, now written to Redis (None: no such counter, hash deleted)


@dataclass
class Report:
    checked: int = 0  # counters compared
    repaired_hashes: int = 0
    differences: list[Difference] = field(default_factory=list)

    def text(self) -> str:
        lines = [f"checked {self.checked} progress hashes; repaired {self.repaired_hashes}"]
        lines += [f"  {d.org_code} {d.period} {d.field}: {d.was} -> {d.now}" for d in self.differences]
        return "\n".join(lines)


class ProgressStore:
    def __init__(self, client: redis.Redis, settings: Settings):
        self.redis = client
        self.settings = settings
        self._prefix = settings.redis_key("progress", "")
        self._version_key = settings.redis_key("progress-version")

    def key(self, org_code: str, period: str) -> str:
        return self.settings.redis_key("progress", org_code, period)

    def figures(self, keys: list[Key]) -> list[dict[str, int]]:
        """The hashes of `keys`, read by one script that answers them as one JSON text: redis-py's
        pure-Python reply parser cost more than all the rest of a progress request when each of
        a report's hashes came back as its own reply (measured: bench/quota_latency.py)."""
        if not keys:
            return []
        flat = json.loads(_HGETALL_JSON(keys=[self.key(org, period) for org, period in keys], client=self.redis))
        # cjson writes an empty table (a missing hash) as {}, a full one as [field, value, ...].
        return [{h[i]: int(h[i + 1]) for i in range(0, len(h), 2)} if h else {} for h in flat]

    def version(self) -> str | None:
        """Moves with every write of any hash and every `touch`; None until the first of them after
        Redis was emptied."""
        return self.redis.get(self._version_key)

    def touch(self) -> None:
        """Move the version: something progress answers show (the tree, names, quotas) changed."""
        _HSET_ROWS(keys=[self._version_key], args=[json.dumps(FIELDS), "[]"], client=self.redis)

    # --- writers: each holds the rows it copies (see the module's docstring) -------------------
    def project(self, db: Database, keys: Iterable[Key]) -> None:
        """Copy the counters of `keys` to Redis (after the commit that changed them)."""
        keys = list(keys)
        if keys:
            with db.transaction() as session:
                self._write(counters.read_locked(session, keys))

    def copy_period(self, session: Session, period: str) -> None:
        """Copy the counters of one period (a term just back-filled) within `session`."""
        keys = [(org, period) for org in session.execute(
            select(ProgressCounter.org_code).where(ProgressCounter.period == period)).scalars()]
        self._write(counters.read_locked(session, keys))

    def rebuild(self, db: Database, *, page: int = PAGE) -> int:
        """Rewrite every hash from the database counters and delete hashes without a counter;
        safe while the consumer runs. Returns the number of hashes written."""
        for batch in _batched(self.redis.scan_iter(match=self.settings.redis_key(OLD_MARKERS, "*"), count=5000), 5000):
            self.redis.delete(*batch)
        written = 0
        for rows in self._pages(db, page):
            self._write(rows)
            written += len(rows)
        self._delete_orphans(db)
        return written

    def reconcile(self, db: Database, *, page: int = PAGE) -> Report:
        """Compare every hash with the database counters, repair the differences; returns them."""
        report = Report()
        for rows in self._pages(db, page, report=report):
            pass
        for key, was in self._delete_orphans(db).items():
            report.repaired_hashes += 1
            report.differences += [Difference(*key, f, int(v), None) for f, v in sorted(was.items())]
        return report

    # --- the mechanism ---------------------------------------------------------------------------
    def _pages(self, db: Database, size: int, *, report: Report | None = None) -> Iterator[dict[Key, Figures]]:
        """Every counter, in pages; each page is locked while the caller writes it (rebuild) or
        while it is compared and repaired here (with `report`)."""
        after = None
        while True:
            with db.transaction() as session:
                rows, after = counters.page_locked(session, after=after, size=size)
                if after is None:
                    return
                if report is not None:
                    report.checked += len(rows)
                    self._repair(rows, report)
                yield rows

    def _repair(self, rows: dict[Key, Figures], report: Report) -> None:
        keys = list(rows)
        pipe = self.redis.pipeline(transaction=False)
        for org, period in keys:
            pipe.hgetall(self.key(org, period))
        wrong = {}
        for key, stored in zip(keys, pipe.execute()):
            truth = rows[key]
            diff = [Difference(*key, f, int(stored[f]) if f in stored else None, truth[f]) for f in FIELDS
                    if f not in stored or int(stored[f]) != truth[f]]
            if diff:
                wrong[key] = truth
                report.differences += diff
        report.repaired_hashes += len(wrong)
        self._write(wrong)

    def _write(self, rows: dict[Key, Figures]) -> None:
        # One script call per page: the rows travel as one JSON text, which Redis decodes itself
        # (encoding each HSET's 14 arguments in Python cost more than everything else in a rebuild).
        items = list(rows.items())
        for i in range(0, len(items), PAGE):
            page = [[self.key(org, period), *(str(values[f]) for f in FIELDS)] for (org, period), values
                    in items[i:i + PAGE]]
            _HSET_ROWS(keys=[self._version_key], args=[json.dumps(FIELDS), json.dumps(page)], client=self.redis)

    def _delete_orphans(self, db: Database) -> dict[Key, dict[str, str]]:
        """Delete the hashes that have no counter; returns what they held."""
        suspects: list[Key] = []
        for batch in _batched(self.redis.scan_iter(match=self._prefix + "*", count=5000), 5000):
            keys = [tuple(k[len(self._prefix):].rsplit(":", 1)) for k in batch]
            with db.transaction() as session:
                present = counters.existing(session, keys)
            suspects += [k for k in keys if k not in present]
        if not suspects:
            return {}
        with db.transaction() as session:
            lock_tree(session, exclusive=True)  # no apply can create a row until this commits
            orphans = [k for k in suspects if k not in counters.existing(session, suspects)]
            pipe = self.redis.pipeline(transaction=False)
            for org, period in orphans:
                pipe.hgetall(self.key(org, period))
            held = dict(zip(orphans, pipe.execute()))
            if orphans:
                self.redis.delete(*[self.key(*k) for k in orphans])
                self.touch()
        return held


class _HsetRows:
    """HSET every row of a JSON page [[key, value, ...], ...] with the JSON list of field names, and
    move the version (KEYS[1])."""

    SOURCE = """
    if redis.call('EXISTS', KEYS[1]) == 0 then
        local now = redis.call('TIME')
        redis.call('SET', KEYS[1], now[1] .. string.sub('00000' .. now[2], -6))
    end
    redis.call('INCR', KEYS[1])
    local fields = cjson.decode(ARGV[1])
    local rows = cjson.decode(ARGV[2])
    for _, row in ipairs(rows) do
        local args = {}
        for j, name in ipairs(fields) do
            args[2 * j - 1] = name
            args[2 * j] = row[j + 1]
        end
        redis.call('HSET', row[1], unpack(args))
    end
    return #rows
    """

    def __call__(self, *, keys, args, client):
        return client.register_script(self.SOURCE)(keys=keys, args=args, client=client)


_HSET_ROWS = _HsetRows()


class _HgetallJson:
    """HGETALL of every key, answered as one JSON list of flat [field, value, ...] lists."""

    SOURCE = """
    local out = {}
    for i, key in ipairs(KEYS) do
        out[i] = redis.call('HGETALL', key)
    end
    return cjson.encode(out)
    """

    def __init__(self):
        self._scripts: dict[int, object] = {}

    def __call__(self, *, keys, client):
        script = self._scripts.get(id(client))
        if script is None:  # registering hashes the source: once per client
            script = self._scripts[id(client)] = client.register_script(self.SOURCE)
        return script(keys=keys, args=[], client=client)


_HGETALL_JSON = _HgetallJson()


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
