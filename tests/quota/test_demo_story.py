"""The demo tells TP Thanh Hóa's published story (issue 11, point 8): the quota demo's tree and
quotas, the candidate demo's own 2024 admissions (Đông Sơn 14, Quảng Cát 13) and the city's other
admissions published as events (services/candidates/demo_history.py), applied to the quota ledger:
2021 206 (102%), 2023 735 (103%), 2024 762 of 712 (107%), spread over the months."""
from __future__ import annotations

import threading
from datetime import date

from werkzeug.serving import make_server

from services.candidates import demo as candidates_demo
from services.candidates import demo_history
from services.quota import demo as quota_demo
from services.quota.ledger import AdmissionChange, admission_from, apply_changes
from services.quota.models import ATTRIBUTES
from shared.contracts import CANDIDATE_ADMITTED
from tests.keys import token as issue_token


def _candidate_demo_admissions() -> list[AdmissionChange]:
    """The admissions the candidate demo makes through its API (its plan), as the quota ledger gets them."""
    out = []
    for key, person, steps in candidates_demo.plan(date(2026, 11, 23)):
        for step in steps:
            if step["to"] == "admitted":
                out.append(AdmissionChange(f"{key}-admitted", key, person["org_code"],
                                           date.fromisoformat(step["date"]), dict.fromkeys(ATTRIBUTES, False)))
    return out


def test_the_city_shows_its_published_results_with_a_shape(app, db, client, admin):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        quota_demo.load(urls={"quota": f"http://127.0.0.1:{server.server_port}"},
                        token=issue_token(sub="demo", org="*", role="admin"))
    finally:
        server.shutdown()
    history = demo_history.events()
    assert len({e.id for e in history}) == len(history) == 206 + 735 + 735  # fixed ids, no repeats
    assert [e.id for e in demo_history.events()] == [e.id for e in history]  # the same on every load
    changes = [admission_from(e, CANDIDATE_ADMITTED.schema().load(e.data)) for e in history]
    with db.transaction() as session:
        apply_changes(session, changes=changes + _candidate_demo_admissions())

    def progress(code, period):
        resp = client.get(f"/api/v1/organizations/{code}/progress?period={period}&as_of={period}-12-30",
                          headers=admin)
        assert resp.status_code == 200, resp.get_json()
        return resp.get_json()

    results = {p: (progress("TP-THANH-HOA", p)["admitted"], progress("TP-THANH-HOA", p)["percent"])
               for p in ("2021", "2023", "2024")}
    assert results == {"2021": (206, "101.98"), "2023": (735, "102.94"), "2024": (762, "107.02")}
    assert (progress("P-DONG-SON", "2024")["admitted"], progress("P-QUANG-CAT", "2024")["admitted"]) == (14, 13)
    assert progress("TP-THANH-HOA", "2024")["status"] == "exceeded"
    pace = client.get("/api/v1/organizations/TP-THANH-HOA/pace?period=2024&as_of=2024-12-31",
                      headers=admin).get_json()
    by_month = [m["admitted"] for m in pace["months"]]
    steps = [b - a for a, b in zip([0] + by_month, by_month)]
    assert by_month[-1] == 762 and pace["months"][-1]["previous_year"] == 735
    assert max(steps) > 2 * min(steps) > 0  # a shape, not a straight line
    composition = progress("TP-THANH-HOA", "2023")["counts"]
    assert composition["youth_union"] > composition["student"] > composition["non_state_enterprise"] > 0
