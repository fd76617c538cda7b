"""Benchmark of the dashboard (#11 performance): server-side render time of the overview and the
tree page, for the national root (34 provinces below it) and for a province (about 100 communes),
on a national tree (~250,000 organisations) with a year of admissions; and the bytes a browser
transfers (gzip) for a first page load and for a later page.

    python -m bench.web_dashboard [--cells 250000] [--admissions 150000] [--requests 60]

The quota API runs as the Procfile runs it (gunicorn, PostgreSQL, Redis); the web service is
timed in process (Flask's test client: the view, its calls to the quota API over HTTP, the
template and the compression), signed in as a national administrator and as a province officer.
Targets: p95 <= 300 ms; first load <= 600 KB, later pages <= 100 KB. Everything lives in its own
databases and Redis namespace, removed at the end.
"""
from __future__ import annotations

import argparse
import json
import logging
import re
import statistics
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import date
from pathlib import Path

import redis
import requests

from bench._national import ROOT as ROOT_CODE
from bench._national import Tree, insert_admissions, insert_tree, national_tree
from services.quota.models import Base, Quota
from services.quota.projection import ProgressStore
from services.web import accounts, passwords
from services.web.app import create_app as create_web_app
from services.web.settings import WebSettings
from shared import clock
from shared.bulk import insert_many
from shared.config import Settings
from shared.db import Database
from shared.migrations import upgrade
from tests.keys import test_issuer, token
from tests.support import REDIS_URL, fresh_database
from tests.system import served_api

P95_MS, FIRST_KB, LATER_KB = 300, 600, 100
PASSWORD = "mat-khau-rat-dai-2024"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
ASSET = re.compile(r'(?:src|href)="(/assets/[^"]+)"')


def quotas(db: Database, tree: Tree, year: int) -> None:
    """This year's quota of the root, every province and every commune."""
    targets = {ROOT_CODE: 180_000, **{p: 5_000 for p in tree.provinces}}
    composition = json.dumps([{"attribute": "student", "min_share": "10"},
                              {"attribute": "non_state_enterprise", "min_share": "2"}])
    with db.transaction() as session:
        insert_many(session, Quota.__table__, [
            {"org_code": c, "period": str(year), "target": targets.get(c, 50), "composition": composition,
             "assigner_org_code": None} for c in [ROOT_CODE, *tree.provinces, *tree.communes]])


def signed_in(app, username: str, org: str, role: str):
    with app.extensions["db"].transaction() as session:
        user, _ = accounts.create_user(session, username=username, full_name=username, org=org, role=role,
                                       created_by="bench")
        user.password_hash = passwords.hash_password(PASSWORD)
        user.must_change_password = False
    client = app.test_client()
    csrf = CSRF.search(client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": csrf}).status_code == 302
    return client


def timed(client, path: str, n: int) -> dict:
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        answer = client.get(path, headers={"Accept-Encoding": "gzip"})
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code)
    samples.sort()
    return {"p50": statistics.median(samples), "p95": samples[max(0, int(len(samples) * 0.95) - 1)],
            "bytes": len(answer.data)}


def api_times(base: str, code: str, year: int, n: int) -> str:
    """Where a page's time goes: p50 of each quota API call its views make, straight over HTTP."""
    headers = {"Authorization": "Bearer " + token(sub="bench", org="*", role="admin")}
    parts = []
    for name, path in (("progress", "/progress"), ("pace", "/pace"), ("forecast", "/forecast"), ("organization", "")):
        samples = []
        for _ in range(n):
            started = time.perf_counter()
            answer = requests.get(f"{base}/api/v1/organizations/{code}{path}", params={"period": str(year)},
                                  headers=headers, timeout=60)
            samples.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, answer.text
        parts.append(f"{name} {statistics.median(samples):.1f}")
    return ", ".join(parts) + " ms (p50)"


def first_load(client, path: str) -> tuple[int, int]:
    """(bytes of a first load: the page and every asset it names, gzip; bytes of the page alone)."""
    page = client.get(path, headers={"Accept-Encoding": "gzip"})
    html = client.get(path).get_data(as_text=True)
    total = len(page.data)
    for asset in sorted(set(ASSET.findall(html))):
        total += len(client.get(asset, headers={"Accept-Encoding": "gzip"}).data)
    return total, len(page.data)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cells", type=int, default=250_000)
    parser.add_argument("--admissions", type=int, default=150_000)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    year = clock.today().year
    namespace = f"bench{uuid.uuid4().hex[:8]}"
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    issuer = test_issuer()
    print(f"web dashboard benchmark (PostgreSQL; the quota API under gunicorn; period {year})")
    with fresh_database("postgresql", prefix="bench") as quota_url, \
            fresh_database("postgresql", prefix="bench") as web_url, tempfile.TemporaryDirectory() as tmp, \
            ExitStack() as stack:
        db = Database(quota_url, Base.metadata)
        db.create_all()
        settings = Settings(service="quota", database_url=quota_url, namespace=namespace, redis_url=REDIS_URL,
                            log_level="WARNING", **issuer.settings())
        try:
            t0 = time.perf_counter()
            tree = national_tree(cells=args.cells)
            insert_tree(db, tree.orgs)
            insert_admissions(db, tree, n=args.admissions, first=date(year - 1, 1, 1), last=clock.today(), daily=True,
                              seed=11)
            quotas(db, tree, year)
            ProgressStore(client, settings).rebuild(db)
            print(f"  tree of {len(tree.orgs):,} organisations, {args.admissions:,} "
                  f"admissions since 1 January {year - 1}, set up in {time.perf_counter() - t0:.1f}s")
            env = {"CHITIEU_QUOTA_DATABASE_URL": quota_url, "CHITIEU_NAMESPACE": namespace,
                   "CHITIEU_REDIS_URL": REDIS_URL, "CHITIEU_LOG_LEVEL": "WARNING", **issuer.env()}
            quota_api = stack.enter_context(served_api("quota", env, Path(tmp) / "quota-api.log"))
            upgrade("web", web_url)
            web = create_web_app(Settings(service="web", database_url=web_url, namespace=namespace,
                                          redis_url=REDIS_URL, log_level="WARNING",
                                          service_urls={"quota": quota_api}, **issuer.settings()),
                                 web_settings=WebSettings(login_rate_per_minute=1000))
            national = signed_in(web, "quan-tri-toan-quoc", "*", "admin")
            province = signed_in(web, "can-bo-tinh", "P00", "officer")
            missed = []
            for who, person, code in (("national", national, ROOT_CODE), ("province", province, "P00")):
                for page, path in (("overview", f"/org/{code}"), ("tree", f"/org/{code}/tree")):
                    timed(person, path, 3)  # warm: connections, caches
                    figures = timed(person, path, args.requests)
                    ok = figures["p95"] <= P95_MS
                    missed += [] if ok else [f"{who} {page}"]
                    if page == "overview":
                        print(f"  {who:8} quota API for {code}: {api_times(quota_api, code, year, 20)}")
                    print(f"  {who:8} {page:8} {path:18} p50 {figures['p50']:6.1f} ms  p95 {figures['p95']:6.1f} ms "
                          f"({'met' if ok else 'MISSED'} <= {P95_MS} ms)  {figures['bytes'] / 1024:.1f} KB gzip")
            first, page_only = first_load(province, "/org/P00")
            later = len(province.get("/org/P00/tree", headers={"Accept-Encoding": "gzip"}).data)
            print(f"  first load of the overview (page + css + scripts, gzip): {first / 1024:.1f} KB "
                  f"({'met' if first <= FIRST_KB * 1024 else 'MISSED'} <= {FIRST_KB} KB)")
            print(f"  a later page (the tree; scripts cached for a year): {later / 1024:.1f} KB "
                  f"({'met' if later <= LATER_KB * 1024 else 'MISSED'} <= {LATER_KB} KB); the overview alone "
                  f"{page_only / 1024:.1f} KB")
            web.extensions["db"].dispose()
        finally:
            stack.close()
            db.dispose()
            keys = list(client.scan_iter(f"{namespace}:*", count=10000))
            for i in range(0, len(keys), 10000):
                client.delete(*keys[i:i + 10000])
            client.close()


if __name__ == "__main__":
    main()
