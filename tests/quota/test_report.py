"""GET /organizations/{code}/report: the official table as JSON, or XLSX with format=xlsx or the
XLSX Accept header; read back with openpyxl: title, organisation, period, dates, Vietnamese
headers, number formats, the children ranked and the totals."""
from __future__ import annotations

import io
from datetime import date, datetime

from openpyxl import load_workbook

from services.quota.ledger import AdmissionChange, apply_changes
from services.quota.models import ATTRIBUTES
from services.quota.report_xlsx import XLSX
from shared import clock
from tests.quota.conftest import add_org

NO_FLAGS = dict.fromkeys(ATTRIBUTES, False)


def _admit(db, org, n, day, prefix, **flags):
    with db.transaction() as session:
        apply_changes(session, changes=[AdmissionChange(f"{prefix}{i}", f"c-{prefix}{i}", org, day,
                                                        {**NO_FLAGS, **flags}) for i in range(n)])


def _city(client, admin, db):
    add_org(client, admin, "TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city")
    add_org(client, admin, "P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", "TP-THANH-HOA")
    add_org(client, admin, "P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA")
    for code, target in (("TP-THANH-HOA", 712), ("P-DONG-SON", 13), ("P-QUANG-CAT", 10)):
        assert client.put(f"/api/v1/organizations/{code}/quotas/2024", json={"target": target},
                          headers=admin).status_code == 200
    _admit(db, "P-DONG-SON", 14, date(2024, 5, 19), "ds", woman=True)
    _admit(db, "P-QUANG-CAT", 13, date(2024, 9, 2), "qc", youth_union=True)
    _admit(db, "TP-THANH-HOA", 735, date(2024, 10, 1), "tp")  # admitted by the city's other organisations


def test_report_as_json_and_xlsx(client, admin, db):
    _city(client, admin, db)
    url = "/api/v1/organizations/TP-THANH-HOA/report?period=2024&as_of=2024-12-30"
    body = client.get(url, headers=admin).get_json()
    assert body["title"] == "BÁO CÁO KẾT QUẢ PHÁT TRIỂN ĐẢNG VIÊN MỚI" and body["period_label"] == "Năm 2024"
    assert [(c["rank"], c["code"], c["admitted"], c["percent_display"]) for c in body["children"]] == [
        (1, "P-QUANG-CAT", 13, "130,00%"), (2, "P-DONG-SON", 14, "107,69%")]
    assert body["children_total"]["admitted"] == 27 and body["children_total"]["target"] == 23
    assert (body["organization"]["admitted"], body["organization"]["percent_display"]) == (762, "107,02%")

    resp = client.get(url + "&format=xlsx", headers=admin)
    assert resp.status_code == 200 and resp.mimetype == XLSX
    assert "bao-cao-TP-THANH-HOA-2024.xlsx" in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "BÁO CÁO KẾT QUẢ PHÁT TRIỂN ĐẢNG VIÊN MỚI"
    assert "Đảng bộ thành phố Thanh Hóa (TP-THANH-HOA)" in ws["A3"].value and "Năm 2024" in ws["A4"].value
    assert ws["C5"].value == datetime(2024, 12, 30) and ws["C5"].number_format == "dd/mm/yyyy"
    assert ws["C6"].value.date() == clock.today()
    headers = [ws.cell(row=8, column=c).value for c in range(1, 15)]
    assert headers == ["STT", "Mã", "Tổ chức đảng", "Chỉ tiêu", "Đã kết nạp", "Tỷ lệ so với chỉ tiêu", "Tình trạng",
                       "Học sinh, sinh viên", "Doanh nghiệp ngoài nhà nước", "Nữ", "Dân tộc thiểu số",
                       "Dưới 30 tuổi", "Đoàn viên", "Có đạo"]
    assert ws.cell(row=9, column=5).value == "Admitted"  # English under each header
    rows = [[ws.cell(row=r, column=c).value for c in range(1, 15)] for r in range(10, 14)]
    assert rows[0][5] == 1.3 and rows[0][6] == "vượt chỉ tiêu / exceeded"
    assert rows[0][:5] == [1, "P-QUANG-CAT", "Đảng bộ phường Quảng Cát", 10, 13] and rows[0][12] == 13
    assert rows[1][:5] == [2, "P-DONG-SON", "Đảng bộ phường Đông Sơn", 13, 14] and rows[1][9] == 14
    assert rows[2][2].startswith("Cộng") and rows[2][3:5] == [23, 27]
    assert rows[3][1] == "TP-THANH-HOA" and rows[3][3:5] == [712, 762] and round(rows[3][5], 4) == 1.0702
    assert ws.cell(row=13, column=5).number_format == "#,##0" and ws.cell(row=13, column=6).number_format == "0.00%"

    # The Accept header chooses the workbook too; JSON by default; bad input names the field.
    assert client.get(url, headers={**admin, "Accept": XLSX}).mimetype == XLSX
    assert client.get(url, headers={**admin, "Accept": "application/json"}).mimetype == "application/json"
    bad = client.get(url + "&format=pdf", headers=admin)
    assert bad.status_code == 422 and "format" in str(bad.get_json()["errors"])


def test_report_scope_and_cut_off(client, admin, db, token):
    _city(client, admin, db)
    june = client.get("/api/v1/organizations/TP-THANH-HOA/report?period=2024&as_of=2024-06-30",
                      headers=admin).get_json()
    assert {c["code"]: c["admitted"] for c in june["children"]} == {"P-DONG-SON": 14, "P-QUANG-CAT": 0}
    ward = token("viewer", org="P-DONG-SON")
    assert client.get("/api/v1/organizations/TP-THANH-HOA/report?period=2024&format=xlsx",
                      headers=ward).status_code == 403
    assert client.get("/api/v1/organizations/P-DONG-SON/report?period=2024&format=xlsx",
                      headers=ward).status_code == 200
