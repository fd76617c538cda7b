"""Pruning of the messaging records that only need to live for a while:

- sent outbox rows, after CHITIEU_OUTBOX_RETENTION_DAYS (7): kept that long to see what was sent;
  pending and failed rows are never pruned;
- processed-event records, after CHITIEU_PROCESSED_RETENTION_DAYS (30): this must be LONGER than
  the Kafka topics' retention (CHITIEU_TOPIC_RETENTION_DAYS, 14 days), or an event redelivered from the topic (a
  consumer group reset, a restore) would no longer be recognised and would be applied twice;
- the candidate service's stored Idempotency-Key answers, after CHITIEU_IDEMPOTENCY_RETENTION_DAYS
  (7): a client retrying later than that runs its request again.

Rows go in chunks of a few thousand, each in its own short transaction, so SQLite's write lock is
never held for long. The relay process runs this at most once an hour (`Pruner`); `chitieu prune
--service X` runs it once.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import ColumnElement, Table, delete, select, true, tuple_

from . import clock
from .config import Settings
from .db import Database
from .outbox import SENT

log = logging.getLogger(__name__)
CHUNK = 5000
EVERY_S = 3600.0


@dataclass(frozen=True)
class Rule:
    """Delete rows of `table` whose `column` is older than `days`, among those `where` selects."""
    table: Table
    column: str
    days: int
    where: ColumnElement[bool] | None = None


def rules_for(db: Database, settings: Settings) -> list[Rule]:
    """What pruning deletes in this service's database: the messaging tables every service has, and
    the Idempotency-Key store where the schema has one (the candidate service)."""
    outbox = db.outbox
    rules = [Rule(outbox, "sent_at", settings.outbox_retention_days, outbox.c.state == SENT),
             Rule(db.processed, "processed_at", settings.processed_retention_days)]
    idempotency = db.metadata.tables.get("idempotency_keys")
    if idempotency is not None:
        rules.append(Rule(idempotency, "created_at", settings.idempotency_retention_days))
    return rules


def prune(db: Database, rules: list[Rule], *, chunk: int = CHUNK,
          stop: threading.Event | None = None) -> dict[str, int]:
    """Delete what the rules say is old; returns rows deleted per table. Asking `stop` between
    chunks ends early on shutdown and keeps a worker's heartbeat beating (shared/heartbeat.py)."""
    deleted: dict[str, int] = {}
    for rule in rules:
        cutoff = clock.now() - timedelta(days=rule.days)
        columns = list(rule.table.primary_key.columns)
        key = columns[0] if len(columns) == 1 else tuple_(*columns)
        old = (select(*columns)
               .where(rule.table.c[rule.column] < cutoff, rule.where if rule.where is not None else true())
               .limit(chunk))
        total = 0
        while True:
            with db.transaction() as session:  # one short transaction per chunk
                count = session.execute(delete(rule.table).where(key.in_(old))).rowcount
            total += count
            if count < chunk or (stop is not None and stop.is_set()):
                break
        deleted[rule.table.name] = total
    return deleted


class Pruner:
    """Runs `prune` when due, at most once every `every_s` seconds; a failure waits for the next turn."""

    def __init__(self, *, db: Database, rules: list[Rule], every_s: float = EVERY_S):
        self.db, self.rules, self.every_s = db, rules, every_s
        self._next = 0.0

    def run_if_due(self, stop: threading.Event | None = None) -> dict[str, int] | None:
        if time.monotonic() < self._next:
            return None
        self._next = time.monotonic() + self.every_s
        try:
            deleted = prune(self.db, self.rules, stop=stop)
        except Exception:
            log.exception("pruning failed; next try in an hour")
            return None
        log.info("pruned old messaging rows", extra={"deleted": deleted})
        return deleted
