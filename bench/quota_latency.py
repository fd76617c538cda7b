"""Latency of the quota API's read endpoints on the national tree (34 provinces, ~3,300
communes, ~250,000 cells) plus a province whose 3,000 cells sit directly under it, over HTTP:
progress of the national root (34 children), of a province (~97 communes), of the 3,000-cell
province (ranked by achievement), of a commune, and the root's progress as of a past date (the
cut-off, from the day counters), forecast and pace; then the root again while admissions arrive
(--arrivals a second, through the consumer's steps: each one moves the figures, so the next root
answer is computed, not kept: services/quota/answers.py). The API runs as deployed (gunicorn with
deploy/gunicorn.conf.py, in its own processes); the client is this process, one request at a time.
Then the CPU a root request costs in-process, kept and computed, and where a computed one spends
it (cProfile, --profile).

    python -m bench.quota_latency [--db postgresql|sqlite] [--requests 300] [--cells 250000]

Needs the local stack's Redis and PostgreSQL. Prints p50/p95/p99 per case; the issue's target is
p99 <= 10 ms for the national root.
"""
from __future__ import annotations

import argparse
import http.client
import cProfile
import io
import logging
import pstats
import random
import statistics
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import redis
from sqlalchemy import insert

from bench._national import insert_admissions, insert_tree, national_tree
from services.quota import answers
from services.quota.app import create_app
from services.quota.counters import FIELDS
from services.quota.ledger import AdmissionChange, apply_changes
from services.quota.models import ATTRIBUTES, Base, DailyCounter, ProgressCounter, Quota
from services.quota.projection import ProgressStore
from services.quota.tree import CachedTree
from shared.config import Settings
from shared.db import Database
from tests.keys import test_issuer
from tests.keys import token as issue_token
from tests.support import fresh_database
from tests.system import served_api

BIG = "T-BIG"  # the province with 3,000 cells directly under it
TARGET_P99_MS = 10.0
ADMISSIONS = 200_000  # a year's, nationally (DOMAIN.md: 150,000-220,000)
ROOT_URL = "/api/v1/organizations/TW/progress?period=2024"


def build(db: Database, settings: Settings, cells: int) -> tuple[list, list, list]:
    """The tree, its 2024 quotas, a year of admissions (their counters, as the consumer writes
    them), day counters for the cut-off cases, and Redis rebuilt from the counters (the real
    writer: it moves the progress version the API's kept answers follow)."""
    tree = national_tree(cells=cells)
    orgs, provinces, communes = list(tree.orgs), tree.provinces, tree.communes
    orgs += [(BIG, "Đảng bộ tỉnh lớn", "province", "TW")]
    orgs += [(f"{BIG}-CB{i:04d}", f"Chi bộ {i}", "cell", BIG) for i in range(3000)]
    insert_tree(db, orgs)
    insert_admissions(db, tree, n=ADMISSIONS, first=date(2024, 1, 1), last=date(2024, 12, 31))
    rng = random.Random(11)
    with db.transaction() as session:
        session.execute(insert(Quota.__table__), [
            {"org_code": code, "period": "2024", "target": 50 if type_ != "province" else 5000, "composition":
             '[{"attribute": "student", "min_share": "10", "min_count": null}]'}
            for code, _, type_, _ in orgs if type_ != "cell" or code.startswith(BIG)])
        # The big province's cells (outside the admissions above), ranked by their figures.
        session.execute(insert(ProgressCounter.__table__), [
            {"org_code": code, "period": "2024", **{f: rng.randint(0, 60) for f in FIELDS}}
            for code, *_rest in orgs if code.startswith(BIG)])
        # A year of admissions by day for the root and the provinces (the cut-off and pace read them).
        rows = [{"org_code": code, "day": date.fromordinal(date(2023, 1, 1).toordinal() + d),
                 **{f: rng.randint(0, 40) for f in FIELDS}} for code in ["TW"] + provinces + [BIG] for d in range(730)]
        for i in range(0, len(rows), 20000):
            session.execute(insert(DailyCounter.__table__), rows[i:i + 20000])
    client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
    ProgressStore(client, settings).rebuild(db)
    client.close()
    return orgs, provinces, communes, tree


class Arrivals:
    """Admissions in random cells applied by the consumer's own steps (ledger, then the Redis
    projection), `per_second` of them, on a thread while the block runs."""

    def __init__(self, db: Database, settings: Settings, tree, *, per_second: float):
        self.db, self.tree, self.interval = db, tree, 1 / per_second
        self.client = redis.Redis.from_url(settings.redis_url, decode_responses=True)
        self.store = ProgressStore(self.client, settings)
        self.stop, self.applied, self.seconds = threading.Event(), 0, 0.0
        self.tree_cache = CachedTree()  # the consumer's: loaded once, refreshed when the tree changes
        with db.transaction() as session:
            self.tree_cache.refresh(session)

    def __enter__(self):
        self.started = time.perf_counter()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def _run(self):
        rng = random.Random(5)
        while not self.stop.wait(self.interval):
            cell, _ = rng.choice(self.tree.cells)
            change = AdmissionChange(uuid.uuid4().hex, uuid.uuid4().hex, cell, date(2024, 11, 20),
                                     {a: rng.random() < 0.3 for a in ATTRIBUTES})
            with self.db.transaction() as session:
                applied = apply_changes(session, changes=[change], tree=self.tree_cache)
            self.store.project(self.db, applied.keys)
            self.applied += 1

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.seconds = time.perf_counter() - self.started
        self.client.close()


def measure(url: str, params: dict, headers: dict, n: int) -> list[float]:
    """Milliseconds from sending each request to having read its answer, over one kept-alive
    connection (http.client: a client's own overhead is kept small, so the figure is the server's)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    target = f"{parts.path}?{urlencode(params)}" if params else parts.path
    timings = []
    try:
        for i in range(n + 10):
            t0 = time.perf_counter()
            connection.request("GET", target, headers=headers)
            resp = connection.getresponse()
            body = resp.read()
            elapsed = (time.perf_counter() - t0) * 1000
            assert resp.status == 200, body[:300]
            if i >= 10:  # warm-up
                timings.append(elapsed)
    finally:
        connection.close()
    return sorted(timings)


def pct(timings: list[float], q: float) -> float:
    return timings[min(len(timings) - 1, int(len(timings) * q))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--cells", type=int, default=250_000)
    parser.add_argument("--cases", default="", help="comma-separated case numbers to run (default: all)")
    parser.add_argument("--arrivals", type=float, default=1.0,
                        help="admissions a second applied while the root is asked again (default 1)")
    parser.add_argument("--profile", action="store_true", help="print where a computed root answer spends its time")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"quota API latency ({args.db})")
    with fresh_database(args.db, prefix="bench") as url, ExitStack() as stack:
        settings = Settings(service="quota", database_url=url, namespace=f"bench{uuid.uuid4().hex[:8]}",
                            log_level="WARNING", **test_issuer().settings())
        db = Database(url, Base.metadata)
        db.create_all()
        try:
            t0 = time.perf_counter()
            orgs, provinces, communes, tree = build(db, settings, args.cells)
            print(f"  tree of {len(orgs):,} organisations built in {time.perf_counter() - t0:.1f}s")
            app = create_app(settings, db=db)
            env = {"CHITIEU_QUOTA_DATABASE_URL": url, "CHITIEU_NAMESPACE": settings.namespace,
                   "CHITIEU_REDIS_URL": settings.redis_url, "CHITIEU_LOG_LEVEL": "WARNING", **test_issuer().env()}
            api = stack.enter_context(served_api("quota", env, Path(stack.enter_context(
                tempfile.TemporaryDirectory())) / "quota-api.log"))
            base = f"{api}/api/v1/organizations"
            national = {"Authorization": "Bearer " + issue_token(sub="bench", org="*", role="viewer", ttl=timedelta(hours=1))}
            province = {"Authorization": "Bearer " + issue_token(sub="bench", org=provinces[3], role="viewer", ttl=timedelta(hours=1))}
            big = {"Authorization": "Bearer " + issue_token(sub="bench", org=BIG, role="viewer", ttl=timedelta(hours=1))}
            cases = [
                ("progress, national root (34+1 children)", f"{base}/TW/progress", {"period": "2024"}, national),
                ("progress, province (~97 communes)", f"{base}/{provinces[3]}/progress", {"period": "2024"},
                 province),
                ("progress, province of 3,000 cells, ranked", f"{base}/{BIG}/progress", {"period": "2024"}, big),
                ("progress, commune (~76 cells)", f"{base}/{communes[7]}/progress", {"period": "2024"}, province
                 if communes[7].startswith(provinces[3]) else national),
                ("progress, national root as of 2024-06-30", f"{base}/TW/progress",
                 {"period": "2024", "as_of": "2024-06-30"}, national),
                ("forecast, national root", f"{base}/TW/forecast", {"period": "2024", "as_of": "2024-06-30"},
                 national),
                ("pace, national root", f"{base}/TW/pace", {"period": "2024", "as_of": "2024-06-30"}, national),
                ("search q=x0042, national", f"{base}", {"q": "x0042"}, national),
            ]
            results = {}
            chosen = {int(c) for c in args.cases.split(",") if c}
            for number, (label, url_, params, headers) in enumerate(cases):
                if chosen and number not in chosen:
                    continue
                # The 3,000-row answers take longer: fewer of them.
                timings = measure(url_, params, headers, args.requests // (5 if "3,000" in label else 1))
                results[label] = timings
                print(f"  {label:48s} p50 {statistics.median(timings):6.1f} ms  p95 {pct(timings, 0.95):6.1f} ms"
                      f"  p99 {pct(timings, 0.99):6.1f} ms")
            if cases[0][0] in results:
                # The same root request while admissions arrive (each moves the figures, so the next
                # root answer is computed again): the consumer's path, in a thread of this process.
                with Arrivals(db, settings, tree, per_second=args.arrivals) as arrivals:
                    label, url_, params, headers = cases[0]
                    timings = results["arrivals"] = measure(url_, params, headers, args.requests)
                print(f"  {'  the same, ' + f'{arrivals.applied / arrivals.seconds:.1f} admissions/s arriving':48s} "
                      f"p50 {statistics.median(timings):6.1f} ms  p95 {pct(timings, 0.95):6.1f} ms"
                      f"  p99 {pct(timings, 0.99):6.1f} ms")
                root_p99 = pct(results[cases[0][0]], 0.99)
                print(f"  national root p99 {root_p99:.1f} ms (target <= {TARGET_P99_MS:.0f} ms: "
                      f"{'met' if root_p99 <= TARGET_P99_MS else 'MISSED'})")
            stack.close()
            # Contention-free figures: the CPU one root request costs in-process, kept and computed.
            client = app.test_client()
            queries = []
            from sqlalchemy import event

            def count(*_args, **_kwargs):
                queries.append(1)
            for kept in (True, False):
                event.listen(db.engine, "before_cursor_execute", count)
                queries.clear()
                cpu = []
                for _ in range(args.requests):
                    if not kept:
                        answers.PROGRESS.clear()
                    t0 = time.thread_time()
                    assert client.get(ROOT_URL, headers=national).status_code == 200
                    cpu.append((time.thread_time() - t0) * 1000)
                event.remove(db.engine, "before_cursor_execute", count)
                cpu.sort()
                print(f"  national root in-process, {'kept answer' if kept else 'computed    '}: CPU p50 "
                      f"{statistics.median(cpu):.2f} ms, p99 {pct(cpu, 0.99):.2f} ms; "
                      f"{len(queries) / args.requests:.1f} SQL statements per request")
            print(f"  (machine load average now: {open('/proc/loadavg').read().split()[0]} on "
                  f"{__import__('os').cpu_count()} cores)")
            if not args.profile:
                return

            # Where a computed root answer spends its time, in-process (no HTTP).
            client = app.test_client()
            profile = cProfile.Profile()
            for _ in range(200):
                answers.PROGRESS.clear()
                profile.enable()
                client.get(ROOT_URL, headers=national)
                profile.disable()
            out = io.StringIO()
            pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(30)
            print("  profile of 200 computed root answers in-process (cumulative):")
            print("\n".join("    " + line for line in out.getvalue().splitlines()[4:50] if line.strip()))
        finally:
            db.dispose()
            client_ = redis.Redis.from_url(settings.redis_url, decode_responses=True)
            for batch in _batches(client_.scan_iter(f"{settings.namespace}:*", count=10000), 10000):
                client_.delete(*batch)
            client_.close()


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
