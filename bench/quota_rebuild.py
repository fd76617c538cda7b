"""Benchmark of the quota service's Redis `rebuild` (and `reconcile`) at national size: a tree of
34 provinces, 3,321 communes and about 250,000 cells, and a ledger of 200,000 admissions over
2023-2025 with their counters, all written straight into the database with bulk inserts
(bench/_national.py). Target: rebuild <= 30 s on PostgreSQL.

    python -m bench.quota_rebuild [--admissions 200000] [--cells 250000] [--db postgresql|sqlite]

Everything lives in its own namespace (Redis keys) and its own database, removed at the end.
"""
from __future__ import annotations

import argparse
import logging
import time
import uuid
from datetime import date

import redis

from bench._national import insert_admissions, insert_tree, national_tree
from services.quota.models import Base
from services.quota.projection import ProgressStore
from shared.config import Settings
from shared.db import Database
from tests.support import REDIS_URL, fresh_database

TARGET_S = 30.0


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
            tree = national_tree(cells=args.cells)
            insert_tree(db, tree.orgs)
            counters = insert_admissions(db, tree, n=args.admissions, first=date(2023, 1, 1), last=date(2025, 9, 26))
            print(f"  tree of {len(tree.orgs):,} organisations, ledger of {args.admissions:,} "
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
