"""The real figures of the press replayed through the real broker, database and Redis, read back
through the progress endpoint; then Redis flushed and rebuilt from the ledger."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from services.quota.models import ProgressCounter
from services.quota.worker import rebuild
from tests.quota import figures
from tests.quota.conftest import add_org, thanh_hoa_tree
from tests.quota.replay import consumers, many, publish
from tests.support import wait_until

pytestmark = pytest.mark.integration


def put(client, headers, code, period, target):
    resp = client.put(f"/api/v1/organizations/{code}/quotas/{period}", json={"target": target}, headers=headers)
    assert resp.status_code == 200, resp.get_json()


def progress(client, headers, code, period, as_of):
    resp = client.get(f"/api/v1/organizations/{code}/progress?period={period}&as_of={as_of}", headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def counted(db, code, period) -> int:
    with db.transaction() as session:
        return session.execute(select(ProgressCounter.admitted).where(
            ProgressCounter.org_code == code, ProgressCounter.period == period)).scalar() or 0


def test_press_figures_replayed_through_kafka(client, admin, db, settings, redis_client):
    # Quảng Nam: a province with two districts and a cell each.
    add_org(client, admin, "TINH-QUANG-NAM", "Đảng bộ tỉnh Quảng Nam", "province")
    add_org(client, admin, "TP-TAM-KY", "Đảng bộ thành phố Tam Kỳ", "city", "TINH-QUANG-NAM")
    add_org(client, admin, "TAM-KY-CB1", "Chi bộ khối phố 1", "cell", "TP-TAM-KY")
    add_org(client, admin, "H-DUY-XUYEN", "Đảng bộ huyện Duy Xuyên", "district", "TINH-QUANG-NAM")
    add_org(client, admin, "DUY-XUYEN-CB1", "Chi bộ thôn 1", "cell", "H-DUY-XUYEN")
    put(client, admin, "TINH-QUANG-NAM", "2021", figures.QUANG_NAM_2021["target"])
    put(client, admin, "TINH-QUANG-NAM", "2022", figures.QUANG_NAM_2022["target"])
    put(client, admin, "TINH-QUANG-NAM", "2020-2025", figures.QUANG_NAM_TERM["target"])
    # TP Thanh Hóa 2024 with its wards, and huyện Đông Sơn merged into the city on 2025-01-01.
    thanh_hoa_tree(client, admin)
    add_org(client, admin, "P-DIEN-BIEN", "Đảng bộ phường Điện Biên", "grassroots", "TP-THANH-HOA")
    assert client.post("/api/v1/organizations/H-DONG-SON/merge", json={
        "into_code": "TP-THANH-HOA", "effective_date": figures.DONG_SON_MERGER_DATE}, headers=admin).status_code == 200
    put(client, admin, "TP-THANH-HOA", "2024", figures.TP_THANH_HOA_2024["target"])
    put(client, admin, "P-DONG-SON", "2024", figures.DONG_SON_2024["target"])
    put(client, admin, "P-QUANG-CAT", "2024", figures.QUANG_CAT_2024["target"])
    put(client, admin, "TP-THANH-HOA", "2025", figures.TP_THANH_HOA_2025_TARGET)

    qn_2021, qn_2022 = figures.QUANG_NAM_2021["admitted"], figures.QUANG_NAM_2022["admitted"]
    term_rest = figures.QUANG_NAM_TERM["admitted_by_2023_06_30"] - qn_2021 - qn_2022  # 2020 and early 2023
    events = (many(qn_2021 // 2, "TAM-KY-CB1", date(2021, 1, 5), date(2021, 12, 28), gender="female")
              + many(qn_2021 - qn_2021 // 2, "DUY-XUYEN-CB1", date(2021, 2, 1), date(2021, 12, 30), occupation="student", age=22)
              + many(qn_2022, "DUY-XUYEN-CB1", date(2022, 1, 3), date(2022, 12, 29))
              + many(term_rest // 2, "TAM-KY-CB1", date(2020, 3, 1), date(2020, 12, 30))
              + many(term_rest - term_rest // 2, "TAM-KY-CB1", date(2023, 1, 2), date(2023, 6, 30))
              + many(50, "TAM-KY-CB1", date(2023, 7, 1), date(2023, 9, 30)))  # after the press's date
    wards = {"P-DONG-SON-CB1": figures.DONG_SON_2024["admitted"], "P-QUANG-CAT-CB1": figures.QUANG_CAT_2024["admitted"]}
    rest = figures.TP_THANH_HOA_2024["admitted"] - sum(wards.values())
    events += many(rest, "P-DIEN-BIEN", date(2024, 1, 10), date(2024, 12, 20))
    for cell, n in wards.items():
        events += many(n, cell, date(2024, 3, 1), date(2024, 11, 30))
    events += many(40, "X-DONG-TIEN-CB1", date(2024, 1, 15), date(2024, 12, 31))  # before the merger
    events += many(25, "X-DONG-TIEN-CB1", date(2025, 1, 1), date(2025, 6, 30))  # after it
    publish(settings, events)

    with consumers(db, settings):
        wait_until(lambda: counted(db, "TINH-THANH-HOA", "2025") == 25 and counted(db, "TINH-QUANG-NAM", "2023") ==
                   term_rest - term_rest // 2 + 50, timeout=240, message="all admissions counted")
        wait_until(lambda: progress(client, admin, "TINH-THANH-HOA", "2025", "2025-06-30")["admitted"] == 25,
                   timeout=60, message="Redis caught up")

    qn21 = progress(client, admin, "TINH-QUANG-NAM", "2021", "2021-12-31")
    assert (qn21["admitted"], qn21["target"], qn21["percent"]) == (1732, 1500, "115.47")
    assert qn21["status"] == "exceeded" and qn21["percent_display"] == "115,47%"
    assert {c["code"]: c["admitted"] for c in qn21["children"]} == {"TP-TAM-KY": 866, "H-DUY-XUYEN": 866}
    qn22 = progress(client, admin, "TINH-QUANG-NAM", "2022", "2022-12-31")
    assert (qn22["admitted"], qn22["percent"]) == (1877, figures.QUANG_NAM_2022["percent"])
    term = progress(client, admin, "TINH-QUANG-NAM", "2020-2025", "2023-06-30")
    # as_of is a cut-off: the press's figure, the admissions up to 2023-06-30 (issue 11, point 7);
    # the live figure has the 50 admitted since.
    assert (term["admitted"], term["percent"]) == (4537, figures.QUANG_NAM_TERM["percent"])
    assert term["status"] == "behind"  # 60.5% done after 70% of the term
    live = client.get("/api/v1/organizations/TINH-QUANG-NAM/progress?period=2020-2025", headers=admin).get_json()
    assert live["admitted"] == 4537 + 50
    with db.transaction() as session:
        from services.quota.models import Admission
        by_press_date = session.execute(select(Admission.id).where(
            Admission.admission_date <= date(2023, 6, 30),
            Admission.org_code.in_(["TAM-KY-CB1", "DUY-XUYEN-CB1"]))).all()
    assert len(by_press_date) == 4537
    from services.quota.figures import percent_of_plan
    assert str(percent_of_plan(4537, figures.QUANG_NAM_TERM["target"])) == figures.QUANG_NAM_TERM["percent"]

    city = progress(client, admin, "TP-THANH-HOA", "2024", "2024-12-31")
    assert (city["admitted"], city["target"], city["percent"]) == (762, 712, "107.02")
    ranked = [(c["code"], c["admitted"], c["percent"], c["rank"]) for c in city["children"]]
    assert ranked == [("P-QUANG-CAT", 13, "130.00", 1), ("P-DONG-SON", 14, "107.69", 2),
                      ("P-DIEN-BIEN", 735, None, 3)]
    # Đông Sơn: before the merger its admissions count to the district, after it to the city.
    assert progress(client, admin, "H-DONG-SON", "2024", "2024-12-31")["admitted"] == 40
    assert progress(client, admin, "TINH-THANH-HOA", "2024", "2024-12-31")["admitted"] == 762 + 40
    city25 = progress(client, admin, "TP-THANH-HOA", "2025", "2025-06-30")
    assert (city25["admitted"], city25["target"]) == (25, 1100)
    assert [c["code"] for c in city25["children"] if c["admitted"]] == ["X-DONG-TIEN"]
    assert counted(db, "H-DONG-SON", "2025") == 0

    # Flush this test's Redis figures, rebuild from the ledger: identical progress.
    views = [("TINH-QUANG-NAM", "2021", "2021-12-31"), ("TINH-QUANG-NAM", "2020-2025", "2023-06-30"),
             ("TP-THANH-HOA", "2024", "2024-12-31"), ("TINH-THANH-HOA", "2025", "2025-06-30"),
             ("H-DONG-SON", "2024", "2024-12-31")]
    before = [progress(client, admin, *v) for v in views]
    for key in redis_client.scan_iter(f"{settings.namespace}:*"):
        redis_client.delete(key)
    assert progress(client, admin, "TP-THANH-HOA", "2024", "2024-12-31")["admitted"] == 0
    assert rebuild(db=db, settings=settings) > 0
    assert [progress(client, admin, *v) for v in views] == before
