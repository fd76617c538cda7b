"""Benchmark of the candidate service:
  1. the import rate (rows/s) of a generated 100,000-row CSV file through POST /api/v1/candidates/import,
  2. p50 / p99 of POST /api/v1/candidates/{id}/transitions (the Flask app in process, real database).

    python -m bench.candidates_import                 # SQLite file in a temporary directory
    CHITIEU_BENCH_DATABASE_URL=postgresql+psycopg://... python -m bench.candidates_import
    CHITIEU_BENCH_ROWS=20000 python -m bench.candidates_import
"""
from __future__ import annotations

import csv
import io
import os
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from tests.keys import test_issuer
from tests.keys import token as issue_token
from tests.support import org_state
from shared.config import Settings
from shared.db import Database
from services.candidates import tree
from services.candidates.app import create_app
from services.candidates.importer import COLUMNS
from services.candidates.models import Base
from services.candidates.registry import make_national_id

CELLS = [f"CB-{i:03d}" for i in range(50)]
TRANSITIONS = int(os.environ.get("CHITIEU_BENCH_TRANSITIONS", "1000"))


def write_csv(path: Path, rows: int) -> None:
    families, given = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng"), ("An", "Bình", "Hoa", "Lan", "Đức")
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for n in range(rows):
            gender = "female" if n % 2 else "male"
            born = date(1980, 1, 1) + timedelta(days=n % 7000)
            writer.writerow([f"{families[n % 5]} Văn {given[(n // 5) % 5]} {n}", born.isoformat(), gender, "Kinh", "",
                             "university", "student", make_national_id(province=1 + n % 90, gender=gender,
                                                                        date_of_birth=born, serial=n),
                             CELLS[n % len(CELLS)], "2024-01-15", "", "Lê Văn Bình"])


def main() -> None:
    rows = int(os.environ.get("CHITIEU_BENCH_ROWS", "100000"))
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("CHITIEU_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        db = Database(url, Base.metadata)
        db.metadata.drop_all(db.engine)
        db.create_all()
        with db.transaction() as s:  # the tree as the quota service publishes it (organization.state)
            tree.REPLICA.apply(s, org_state("BENCH", "Đảng bộ", "grassroots", None))
            for code in CELLS:
                tree.REPLICA.apply(s, org_state(code, code, "cell", "BENCH"))
        app = create_app(Settings(service="candidates", database_url=url, **test_issuer().settings()), db=db)
        app.logger.disabled = True
        import logging
        logging.getLogger("chitieu.http").setLevel(logging.WARNING)
        client = app.test_client()
        headers = {"Authorization": "Bearer " + issue_token(sub="bench", org="BENCH", role="officer")}

        path = Path(tmp) / "candidates.csv"
        write_csv(path, rows)
        content = path.read_bytes()
        started = time.perf_counter()
        resp = client.post("/api/v1/candidates/import", data={"file": (io.BytesIO(content), "candidates.csv")},
                           content_type="multipart/form-data", headers=headers)
        elapsed = time.perf_counter() - started
        assert resp.status_code == 201, resp.get_data(as_text=True)[:2000]
        ids = resp.json["candidate_ids"]
        print(f"database: {db.engine.dialect.name}")
        print(f"import: {len(ids)} rows ({len(content) / 1e6:.1f} MB CSV) in {elapsed:.1f} s = "
              f"{len(ids) / elapsed:,.0f} rows/s (validated, all-or-nothing, with history and outbox events)")

        latencies = []
        for cid in ids[:TRANSITIONS]:
            body = {"to": "trained", "date": "2024-03-01", "training_certificate_number": "GCN-1"}
            t0 = time.perf_counter()
            r = client.post(f"/api/v1/candidates/{cid}/transitions", json=body, headers=headers)
            latencies.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 201, r.json
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)]
        print(f"transition POST (Flask test client, in process): n={len(latencies)} p50={p50:.1f} ms "
              f"p99={p99:.1f} ms max={latencies[-1]:.1f} ms")
        db.dispose()


if __name__ == "__main__":
    main()
