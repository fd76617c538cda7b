"""Benchmark of admission decisions in bulk (POST /api/v1/admission-decisions, #12 point 5): 10,000
decisions in one request (the Flask app in process, a real database), each through the same rules,
history line and events as one transition; then the same request again (every decision already
recorded: nothing written).

    python -m bench.candidates_decisions                      # SQLite file in a temporary directory
    CHITIEU_BENCH_DATABASE_URL=postgresql+psycopg://... python -m bench.candidates_decisions
    CHITIEU_BENCH_DECISIONS=2000 python -m bench.candidates_decisions
"""
from __future__ import annotations

import io
import logging
import os
import tempfile
import time
from datetime import date

from sqlalchemy import update

from services.candidates import tree
from services.candidates.app import create_app
from services.candidates.models import Base, Candidate
from shared.config import Settings
from shared.db import Database
from tests.keys import test_issuer
from tests.keys import token as issue_token
from tests.support import org_state

from bench.candidates_import import CELLS, write_csv

WARD = "BENCH"


def main() -> None:
    count = int(os.environ.get("CHITIEU_BENCH_DECISIONS", "10000"))
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("CHITIEU_BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite"
        db = Database(url, Base.metadata)
        db.metadata.drop_all(db.engine)
        db.create_all()
        with db.transaction() as s:
            tree.REPLICA.apply(s, org_state(WARD, "Đảng bộ phường", "grassroots", None, on=date(2020, 1, 1)))
            for code in CELLS:
                tree.REPLICA.apply(s, org_state(code, code, "cell", WARD, on=date(2020, 1, 1)))
        app = create_app(Settings(service="candidates", database_url=url, **test_issuer().settings()), db=db)
        logging.getLogger("chitieu.http").setLevel(logging.WARNING)
        client = app.test_client()
        headers = {"Authorization": "Bearer " + issue_token(sub="bench", org=WARD, role="officer")}

        # The candidates: listed by the import, then set at `proposed` in one statement (the
        # transitions before the decision are not what is measured).
        path = f"{tmp}/candidates.csv"
        from pathlib import Path
        write_csv(Path(path), count)
        resp = client.post("/api/v1/candidates/import", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(Path(path).read_bytes()), "candidates.csv")})
        assert resp.status_code == 201, resp.get_data(as_text=True)[:2000]
        ids = resp.json["candidate_ids"]
        with db.transaction() as s:
            s.execute(update(Candidate).values(stage="proposed", training_certificate_date=date(2024, 2, 1),
                                               cell_resolution_date=date(2024, 3, 1),
                                               last_transition_on=date(2024, 3, 1)))
        body = {"decisions": [{"candidate_id": cid, "decision_number": f"{n + 1}-QĐ/ĐU", "date": "2024-04-01",
                               "deciding_org_code": WARD} for n, cid in enumerate(ids)]}

        started = time.perf_counter()
        resp = client.post("/api/v1/admission-decisions", json=body, headers=headers)
        elapsed = time.perf_counter() - started
        assert resp.status_code == 201 and resp.json["recorded"] == count, resp.get_data(as_text=True)[:2000]
        print(f"database: {db.engine.dialect.name}")
        print(f"admission decisions: {count:,} in one request in {elapsed:.1f} s = {count / elapsed:,.0f} "
              f"decisions/s (rules, history line, 2 outbox events each, all or nothing)")

        started = time.perf_counter()
        resp = client.post("/api/v1/admission-decisions", json=body, headers=headers)
        elapsed = time.perf_counter() - started
        assert resp.status_code == 200 and resp.json["already_recorded"] == count, resp.get_data(as_text=True)[:500]
        print(f"the same request again: {count:,} already recorded in {elapsed:.1f} s = {count / elapsed:,.0f} "
              f"decisions/s (nothing written)")
        db.dispose()


if __name__ == "__main__":
    main()
