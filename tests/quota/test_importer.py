"""Bulk import of a tree from CSV and XLSX: all or nothing, with a row-by-row error report."""
from __future__ import annotations

import io

from openpyxl import Workbook

from tests.quota.conftest import add_org, table_counts

GOOD_CSV = """code,name,type,parent_code,effective_date
P-DONG-SON-CB1,Chi bộ khu phố 1,cell,P-DONG-SON,2020-01-01
TINH-THANH-HOA,Đảng bộ tỉnh Thanh Hóa,province,,2020-01-01
TP-THANH-HOA,Đảng bộ thành phố Thanh Hóa,city,TINH-THANH-HOA,2020-01-01
P-DONG-SON,Đảng bộ phường Đông Sơn,grassroots,TP-THANH-HOA,2020-01-01
"""


def upload(client, headers, content: bytes, name: str):
    return client.post("/api/v1/organizations/import", data={"file": (io.BytesIO(content), name)},
                       headers=headers, content_type="multipart/form-data")


def test_csv_import_parents_first(client, admin):
    resp = upload(client, admin, GOOD_CSV.encode("utf-8-sig"), "tree.csv")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["codes"] == ["TINH-THANH-HOA", "TP-THANH-HOA", "P-DONG-SON", "P-DONG-SON-CB1"]
    cell = client.get("/api/v1/organizations/P-DONG-SON-CB1", headers=admin).get_json()
    assert cell["name"] == "Chi bộ khu phố 1" and cell["parent_code"] == "P-DONG-SON"


def test_xlsx_import(client, admin):
    add_org(client, admin, "TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province")
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "name", "type", "parent_code"])
    ws.append(["TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city", "TINH-THANH-HOA"])
    ws.append(["P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA"])
    buf = io.BytesIO()
    wb.save(buf)
    resp = upload(client, admin, buf.getvalue(), "tree.xlsx")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["created"] == 2


def test_bad_rows_import_nothing_and_report_each_line(client, admin, db):
    add_org(client, admin, "TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province")
    bad = """code,name,type,parent_code,effective_date
A,Đảng bộ A,grassroots,TINH-THANH-HOA,2020-01-01
B,,cell,A,2020-01-01
A,Trùng mã,cell,TINH-THANH-HOA,2020-01-01
C,Chi bộ C,cell,KHONG-CO,2020-01-01
D,Chi bộ D,spaceship,A,20-01-2020
TINH-THANH-HOA,Đã có,province,,
E,Vòng,cell,F,
F,Vòng,cell,E,
"""
    before = table_counts(db)
    resp = upload(client, admin, bad.encode(), "tree.csv")
    assert resp.status_code == 422
    report = {r["line"]: r["errors"] for r in resp.get_json()["errors"]["rows"]}
    assert set(report) == {3, 4, 5, 6, 7, 8}
    assert "name" in report[3] and "code" in report[4] and "parent_code" in report[5]
    assert set(report[6]) == {"type", "effective_date"} and "code" in report[7]
    assert "parent_code" in report[8]
    assert table_counts(db) == before
