"""The demo loader against a real HTTP server (free port): candidates at every stage, 2024 admissions
matching the real figures (Đông Sơn 14, Quảng Cát 13), and a second load writes nothing."""
import json
import threading
from collections import Counter

from sqlalchemy import select
from werkzeug.serving import make_server

from services.candidates import demo
from services.candidates.models import outbox
from tests.candidates.factories import token


def test_demo_loads_every_stage_once(app, db):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        urls = {"candidates": f"http://127.0.0.1:{server.server_port}"}
        first = demo.load(urls=urls, token=token(role="admin"), timeout=10, history=False)
        assert first["candidates"] == len(demo.plan()) and first["transitions"] > 100
        assert demo.load(urls=urls, token=token(role="admin"), timeout=10, history=False) == {"candidates": 0, "transitions": 0}
    finally:
        server.shutdown()
    client = app.test_client()
    from tests.candidates.factories import auth
    stages = client.get("/api/v1/organizations/TP-THANH-HOA/funnel", headers=auth()).json["stages"]
    assert all(stages[s] > 0 for s in ("source", "trained", "applied", "proposed", "admitted", "official",
                                       "withdrawn", "rejected"))
    with db.transaction() as s:
        values = s.execute(select(outbox.c.value).where(
            outbox.c.event_type == "vn.chitieu.candidate.admitted.v1")).scalars().all()
    admissions = [json.loads(bytes(v))["data"] for v in values]
    in_2024 = Counter(a["org_code"].rsplit("-CB", 1)[0] for a in admissions if a["admission_date"].startswith("2024"))
    assert in_2024 == {"P-DONG-SON": 14, "P-QUANG-CAT": 13}
    shown = client.get("/api/v1/organizations/TP-THANH-HOA/reminders", query_string={"as_of": "2026-11-22"},
                       headers=auth(role="viewer")).json["reminders"]
    assert {r["kind"] for r in shown} == {"decision_overdue", "probation_ending"}
