"""The forecast (docs/forecast.md) and the pace series, on the Quảng Nam figures (2021: 1,732 of
1,500; 2022: 1,877 of 1,500) and on a synthetic year at a known pace; through the API."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from services.quota.ledger import AdmissionChange, apply_changes
from services.quota.models import ATTRIBUTES
from tests.quota import figures
from tests.quota.conftest import add_org

# A year of admissions weighted toward its end, as the provinces report it (per mille by month).
PROFILE = (20, 30, 50, 80, 100, 120, 60, 60, 80, 100, 120, 180)
NO_FLAGS = dict.fromkeys(ATTRIBUTES, False)


def by_month(total: int, weights=PROFILE) -> list[int]:
    """`total` split on the weights (largest remainders), so that the months add up exactly."""
    raw = [Decimal(total) * w / sum(weights) for w in weights]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[:total - sum(counts)]:
        counts[i] += 1
    return counts


def admit_months(db, org: str, year: int, counts: list[int]) -> None:
    changes = [AdmissionChange(f"{org}-{year}-{m}-{i}", f"c-{org}-{year}-{m}-{i}", org, date(year, m, 1 + i % 28),
                               NO_FLAGS)
               for m, n in enumerate(counts, start=1) for i in range(n)]
    with db.transaction() as session:
        apply_changes(session, changes=changes)


def get(client, headers, path):
    resp = client.get(path, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_quang_nam_2022_forecast_from_2021_seasonality(client, admin, db):
    add_org(client, admin, "TINH-QUANG-NAM", "Đảng bộ tỉnh Quảng Nam", "province")
    add_org(client, admin, "QN-CB1", "Chi bộ khối phố 1", "cell", "TINH-QUANG-NAM")
    for year in ("2021", "2022"):
        assert client.put(f"/api/v1/organizations/TINH-QUANG-NAM/quotas/{year}", json={"target": 1500},
                          headers=admin).status_code == 200
    qn_2021, qn_2022 = figures.QUANG_NAM_2021["admitted"], figures.QUANG_NAM_2022["admitted"]
    admit_months(db, "QN-CB1", 2021, by_month(qn_2021))
    admit_months(db, "QN-CB1", 2022, by_month(qn_2022))

    # 30 June 2022: 2021 had made 693 of its 1,732 (40.01%) by then; 2022 has 750.
    june = get(client, admin, "/api/v1/organizations/TINH-QUANG-NAM/forecast?period=2022&as_of=2022-06-30")
    assert sum(by_month(qn_2021)[:6]) == 693 and sum(by_month(qn_2022)[:6]) == june["admitted"] == 750
    assert june["method"] == "seasonal" and june["history"] == [
        {"year": 2021, "admitted": 1732, "by_same_day": 693, "share": "0.4001"}]
    assert june["expected"] == 1874 == round(750 * 1732 / 693)
    assert abs(june["expected"] - qn_2022) <= 3  # the year's real outcome, 1,877, within 0.2%
    assert (june["low"], june["high"]) == (1874, 1874)  # one earlier year: no spread
    assert (june["verdict"], june["margin"], june["shortfall"]) == ("on_track", 374, 0)
    assert june["verdict_text"].startswith("kịp chỉ tiêu")
    # The even pace would have said 1,512: the back-loaded year looks slower than it is.
    assert round(750 / (181 / 365)) == 1512

    # At the year's end the forecast is the figure itself; 2021 alone (no earlier year) is the even pace.
    final = get(client, admin, "/api/v1/organizations/TINH-QUANG-NAM/forecast?period=2022&as_of=2022-12-31")
    assert (final["method"], final["expected"], final["margin"]) == ("final", 1877, 377)
    early = get(client, admin, "/api/v1/organizations/TINH-QUANG-NAM/forecast?period=2021&as_of=2021-06-30")
    assert (early["method"], early["expected"]) == ("even_pace", round(693 * 365 / 181)) == ("even_pace", 1397)
    assert (early["verdict"], early["shortfall"]) == ("at_risk", 103)

    # 2023 judged on 30 June with two earlier years: the mean of their shares, the range from both.
    assert client.put("/api/v1/organizations/TINH-QUANG-NAM/quotas/2023", json={"target": 1500},
                      headers=admin).status_code == 200
    admit_months(db, "QN-CB1", 2023, [100] * 6)
    f23 = get(client, admin, "/api/v1/organizations/TINH-QUANG-NAM/forecast?period=2023&as_of=2023-06-30")
    s21, s22 = Decimal(693) / 1732, Decimal(750) / 1877
    assert f23["expected"] == int((600 / ((s21 + s22) / 2)).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    assert (f23["low"], f23["expected"], f23["high"]) == (round(600 / max(s21, s22)), 1501, round(600 / min(s21, s22)))
    assert f23["low"] < f23["high"]


def test_synthetic_year_at_a_known_pace_and_its_pace_series(client, admin, db, token):
    add_org(client, admin, "P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots")
    add_org(client, admin, "P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON")
    assert client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", json={"target": 150},
                      headers=admin).status_code == 200
    admit_months(db, "P-DONG-SON-CB1", 2024, [10] * 6)  # 10 a month, January to June
    admit_months(db, "P-DONG-SON-CB1", 2023, [0] * 11 + [0])  # nothing the year before

    f = get(client, admin, "/api/v1/organizations/P-DONG-SON/forecast?period=2024&as_of=2024-06-30")
    # 60 in 182 of 366 days: 120.66 at that pace.
    assert (f["admitted"], f["method"], f["expected"], f["low"], f["high"]) == (60, "even_pace", 121, 121, 121)
    assert (f["verdict"], f["shortfall"], f["margin"]) == ("at_risk", 29, -29)
    assert f["needed_per_month"] == "15.0"  # 90 more in July..December
    assert client.put("/api/v1/organizations/P-DONG-SON/quotas/2024", json={"target": 100},
                      headers=admin).status_code == 200
    f = get(client, admin, "/api/v1/organizations/P-DONG-SON/forecast?period=2024&as_of=2024-06-30")
    assert (f["verdict"], f["margin"]) == ("on_track", 21)

    pace = get(client, admin, "/api/v1/organizations/P-DONG-SON/pace?period=2024&as_of=2024-06-05")
    months = pace["months"]
    assert [m["month"] for m in months][:2] == ["2024-01", "2024-02"] and len(months) == 12
    assert [m["admitted"] for m in months] == [10, 20, 30, 40, 50, 55] + [None] * 6  # June cut on the 5th (one a day from the 1st)
    assert months[-1]["even_pace"] == 100.0 and months[5]["even_pace"] == round(100 * 182 / 366, 2)
    assert all(m["previous_year"] == 0 for m in months) and pace["previous_period"] == "2023"
    # The pace and the progress figures agree on the cut-off.
    progress = get(client, admin, "/api/v1/organizations/P-DONG-SON/progress?period=2024&as_of=2024-06-05")
    assert progress["admitted"] == pace["admitted"] == 55
    # Scope: a cell secretary elsewhere may not read the ward's forecast.
    other = token("viewer", org="P-QUANG-CAT")
    assert client.get("/api/v1/organizations/P-DONG-SON/forecast?period=2024", headers=other).status_code == 403
    assert client.get("/api/v1/organizations/P-DONG-SON/pace?period=20x4", headers=admin).status_code == 422


def test_previous_year_curve(client, admin, db):
    add_org(client, admin, "TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city")
    admit_months(db, "TP-THANH-HOA", 2023, by_month(735))
    pace = get(client, admin, "/api/v1/organizations/TP-THANH-HOA/pace?period=2024&as_of=2024-03-31")
    assert [m["previous_year"] for m in pace["months"]][-1] == pace["previous_admitted"] == 735
    assert pace["months"][0]["previous_year"] == by_month(735)[0]
    assert pace["target"] is None and pace["months"][0]["even_pace"] is None
