"""From the admission request to the webhook receipt: p50 and p99 over N admissions.

Starts the whole system as real processes (tests/system.py: the Procfile's commands, real Kafka,
Redis and PostgreSQL), builds a ward with N cells each with a 2024 quota of 1, subscribes a local
webhook receiver to the ward's subtree, brings N candidates to the eve of admission, then admits
them one by one through the candidate API. Each admission meets its cell's quota, so each gives one
"quota met" webhook; its latency is receipt time minus the moment the admission request was sent.
Two phases: N admissions paced at --rate a second (the latency a committee sees; the national
average is far below one a second), then --burst admissions sent back to back by one client (how
latency grows when admissions arrive faster than the slowest consumer drains them).
The path measured: candidate API → outbox → relay → Kafka → quota consumer (ledger, Redis) →
outbox → relay → Kafka → notification consumer → delivery worker → webhook.

    python -m bench.notifications_latency [--admissions 1000] [--rate 10] [--burst 300]
"""
from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from tests.system import System
from tests.webhook_receiver import WebhookReceiver

WARD = "BENCH-PHUONG"


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--admissions", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=10.0, help="paced admissions per second")
    parser.add_argument("--burst", type=int, default=300, help="admissions sent back to back afterwards")
    args = parser.parse_args()
    n = args.admissions + args.burst
    receiver = WebhookReceiver()
    http = requests.Session()
    with System(log_dir=Path(tempfile.mkdtemp(prefix="bench-latency-")), web_workers=2) as system:
        headers = system.headers()

        def call(service, method, path, expect=(200, 201), **kwargs):
            resp = http.request(method, f"{system.url(service)}/api/v1{path}", headers=headers, timeout=60, **kwargs)
            if resp.status_code not in expect:
                raise RuntimeError(f"{method} {path}: {resp.status_code} {resp.text[:300]}")
            return resp

        cells = [f"BENCH-CB{i:05d}" for i in range(n)]
        csv = "code,name,type,parent_code,effective_date\n" + f"{WARD},Đảng bộ phường Thử Nghiệm,grassroots,,2020-01-01\n"
        csv += "".join(f"{c},Chi bộ số {i},cell,{WARD},2020-01-01\n" for i, c in enumerate(cells))
        call("quota", "POST", "/organizations/import", files={"file": ("tree.csv", csv.encode(), "text/csv")})
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda c: call("quota", "PUT", f"/organizations/{c}/quotas/2024", json={"target": 1}),
                          cells))
        deadline = time.monotonic() + 120
        while http.get(f"{system.url('candidates')}/api/v1/organizations/{cells[-1]}", headers=headers,
                       timeout=30).status_code != 200:
            if time.monotonic() > deadline:
                raise RuntimeError("the candidate service never learnt the cells")
            time.sleep(0.5)
        while True:
            resp = http.post(f"{system.url('notifications')}/api/v1/subscriptions", headers=headers, timeout=30,
                             json={"org_code": WARD, "include_subtree": True, "events": ["quota_met"],
                                   "channel": "webhook", "target": receiver.url})
            if resp.status_code == 201:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"subscription refused: {resp.text}")
            time.sleep(0.5)

        def prepare(i: int) -> str:
            cid = call("candidates", "POST", "/candidates", json={
                "full_name": f"Trần Văn Đo {i}", "date_of_birth": "2000-01-15", "gender": "male",
                "ethnicity": "Kinh", "religion": None, "education_level": "university",
                "occupation_group": "student", "national_id": f"038200{i:06d}", "org_code": cells[i],
                "listed_on": "2023-01-02", "youth_union_member": False, "helpers": []}).json()["id"]
            for step in ({"to": "trained", "date": "2023-03-01", "training_certificate_number": f"G{i}"},
                         {"to": "applied", "date": "2023-09-01", "introducers": [
                             {"full_name": "Lê Văn Bình", "official_member": True},
                             {"full_name": "Trần Thị Cúc", "official_member": True}]},
                         {"to": "proposed", "date": "2024-02-01", "decision_number": f"{i}/NQ-CB"}):
                call("candidates", "POST", f"/candidates/{cid}/transitions", json=step)
            return cid

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(prepare, range(n)))
        print(f"setup: {n} cells with quotas and {n} candidates at 'proposed' in {time.monotonic() - started:.0f}s")

        def admit_all(indexes, interval_s: float) -> tuple[list[float], list[float]]:
            sent_at: dict[str, float] = {}
            request_ms: list[float] = []
            start = time.monotonic()
            for k, i in enumerate(indexes):
                if interval_s:
                    time.sleep(max(0.0, start + k * interval_s - time.monotonic()))
                sent_at[cells[i]] = time.time()
                t0 = time.perf_counter()
                call("candidates", "POST", f"/candidates/{ids[i]}/transitions", json={
                    "to": "admitted", "date": "2024-03-01", "decision_number": f"{i}-QĐ/ĐU",
                    "deciding_org_code": WARD})
                request_ms.append((time.perf_counter() - t0) * 1000)
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and sum(r.json()["org_code"] in sent_at for r in receiver.received) < len(indexes):
                time.sleep(0.2)
            latencies = [(r.at - sent_at[r.json()["org_code"]]) * 1000 for r in receiver.received
                         if r.json()["org_code"] in sent_at]
            return latencies, request_ms

        phases = [(f"paced, {args.rate:g}/s", range(args.admissions), 1 / args.rate if args.rate else 0.0),
                  ("burst, back to back", range(args.admissions, n), 0.0)]
        results = [(name, len(idx), *admit_all(idx, interval)) for name, idx, interval in phases if len(idx)]
    receiver.close()
    print(f"webhooks received: {len(receiver.received)} (expected {n}: one per admission)")
    for name, count, latencies, request_ms in results:
        print(f"[{name}] {count} admissions, {len(latencies)} webhooks: admission request → webhook receipt "
              f"p50 {_percentile(latencies, 0.5):.0f} ms, p99 {_percentile(latencies, 0.99):.0f} ms, "
              f"max {max(latencies):.0f} ms, mean {statistics.mean(latencies):.0f} ms; "
              f"the admission request alone p50 {_percentile(request_ms, 0.5):.0f} ms, "
              f"p99 {_percentile(request_ms, 0.99):.0f} ms")


if __name__ == "__main__":
    main()
