"""Benchmark of the quota service's Redis `rebuild` (and `reconcile`) at national size: a tree of
34 provinces, 3,321 communes and about 250,000 cells, and a ledger of 200,000 admissions over
2023-2025 with their counters, all written straight into the database with bulk inserts
(shared/bulk.insert_many). Target: rebuild <= 30 s on PostgreSQL.

    python -m bench.quota_rebuild [--admissions 200000] [--cells 250000] [--db postgresql|sqlite]

Everything lives in its own namespace (Redis keys) and its own database, removed at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import random
import time
import uuid
from datetime import date

import redis

from services.quota.counters import FIELDS
from services.quota.models import Admission, Base, Organization, OrganizationParent, ProgressCounter, TreeVersion
from services.quota.periods import periods_of
from services.quota.projection import ProgressStore
from shared.bulk import insert_many
from shared.config import Settings
from shared.db import Database
from tests.support import REDIS_URL, fresh_database

FOUNDED = date(2020, 1, 1)
PROVINCES, COMMUNES = 34, 3321
TARGET_S = 30.0


def national_tree(db: Database, cells: int) -> list[tuple[str, str]]:
    """Insert the tree; returns (cell, its commune) pairs."""
    orgs = [(f"P{p:02d}", "province", None) for p in range(PROVINCES)]
    orgs += [(f"P{c % PROVINCES:02d}-X{c:04d}", "grassroots", f"P{c % PROVINCES:02d}") for c in range(COMMUNES)]
    communes = [code for code, kind, _ in orgs if kind == "grassroots"]
    pairs = [(f"{communes[i % COMMUNES]}-C{i:06d}", communes[i % COMMUNES]) for i in range(cells)]
    orgs += [(cell, "cell", commune) for cell, commune in pairs]
    with db.transaction() as session:
        for i in range(0, len(orgs), 50000):
            chunk = orgs[i:i + 50000]
            insert_many(session, Organization.__table__, [
                {"code": c, "name": f"Tổ chức {c}", "type": t, "status": "active", "parent_code": p,
                 "founded_on": FOUNDED} for c, t, p in chunk])
            insert_many(session, OrganizationParent.__table__, [
                {"code": c, "parent_code": p, "valid_from": FOUNDED} for c, _, p in chunk])
        insert_many(session, TreeVersion.__table__, [{"id": 1, "version": 1}])
    return pairs


def ledger(db: Database, pairs: list[tuple[str, str]], n: int) -> int:
    """Insert `n` admissions and the counters they add up to; returns the number of counters."""
    rng = random.Random(9)
    sums: dict[tuple[str, str], dict[str, int]] = {}
    rows = []
    for i in range(n):
        cell, commune = rng.choice(pairs)
        day = date.fromordinal(date(2023, 1, 1).toordinal() + rng.randrange(1000))
        orgs, periods = [cell, commune, commune.split("-")[0]], periods_of(day)
        flags = {a: rng.random() < 0.3 for a in FIELDS[1:]}
        rows.append({"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "candidate_id": f"c{i}",
                     "org_code": cell, "admission_date": day, "counted_orgs": json.dumps(orgs),
                     "counted_periods": json.dumps(periods), **flags})
        for org in orgs:
            for period in periods:
                row = sums.setdefault((org, period), dict.fromkeys(FIELDS, 0))
                row["admitted"] += 1
                for a, on in flags.items():
                    row[a] += on
    with db.transaction() as session:
        for i in range(0, len(rows), 50000):
            insert_many(session, Admission.__table__, rows[i:i + 50000])
        counters = [{"org_code": o, "period": p, **v} for (o, p), v in sums.items()]
        for i in range(0, len(counters), 50000):
            insert_many(session, ProgressCounter.__table__, counters[i:i + 50000])
    return len(counters)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--admissions", type=int, default=200_000)
    parser.add_argument("--cells", type=int, default=250_000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"quota rebuild benchmark ({args.db})")
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    with fresh_database(args.db, prefix="bench") as url:
        db = Database(url, Base.metadata)
        db.create_all()
        settings = Settings(service="quota", database_url=url, namespace=namespace, redis_url=REDIS_URL,
                            log_level="WARNING")
        try:
            t0 = time.perf_counter()
            pairs = national_tree(db, args.cells)
            counters = ledger(db, pairs, args.admissions)
            print(f"  tree of {PROVINCES + COMMUNES + len(pairs):,} organisations, ledger of {args.admissions:,} "
                  f"admissions, {counters:,} counters, written in {time.perf_counter() - t0:.1f}s")
            store = ProgressStore(client, settings)
            t0 = time.perf_counter()
            written = store.rebuild(db)
            took = time.perf_counter() - t0
            print(f"  rebuild: {written:,} hashes in {took:.1f}s (target <= {TARGET_S:.0f}s: "
                  f"{'met' if took <= TARGET_S else 'MISSED'})")
            t0 = time.perf_counter()
            report = store.reconcile(db)
            print(f"  reconcile: {report.checked:,} hashes checked, {report.repaired_hashes} repaired, "
                  f"in {time.perf_counter() - t0:.1f}s")
        finally:
            db.dispose()
            for batch in _batches(client.scan_iter(f"{namespace}:*", count=10000), 10000):
                client.delete(*batch)
            client.close()


def _batches(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


if __name__ == "__main__":
    main()
