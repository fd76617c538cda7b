"""The tree import in officials' own spreadsheets (#12 point 4): the XLSX template, Vietnamese headers,
types and dd/mm/yyyy dates, and a refusal naming each error's row and column."""
from __future__ import annotations

import io

from openpyxl import load_workbook

from tests.quota.conftest import add_org, table_counts
from tests.quota.test_importer import upload


def test_the_template_filled_in_imports(client, admin):
    resp = client.get("/api/v1/organizations/import/template", headers=admin)
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(resp.data))
    sheet = book.worksheets[0]
    assert [c.value for c in sheet[1]] == ["Mã tổ chức", "Tên tổ chức", "Loại tổ chức", "Mã tổ chức cấp trên",
                                           "Ngày hiệu lực"]
    assert [c.value for c in sheet[2]] == ["P-DONG-SON-CB3", "Chi bộ khu phố 3", "Chi bộ", "P-DONG-SON", "01/07/2025"]
    # The officer's file: the example row under a ward of theirs, and a ward row above it (blank row between).
    add_org(client, admin, "TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province")
    sheet.append([])
    sheet.append(["P-DONG-SON", "Đảng bộ phường Đông Sơn", "Đảng bộ cơ sở", "TINH-THANH-HOA", "01/01/2020"])
    out = io.BytesIO()
    book.save(out)
    resp = upload(client, admin, out.getvalue(), "cay.xlsx")
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["codes"] == ["P-DONG-SON", "P-DONG-SON-CB3"]
    cell = client.get("/api/v1/organizations/P-DONG-SON-CB3", headers=admin).get_json()
    assert (cell["type"], cell["parent_code"]) == ("cell", "P-DONG-SON")


def test_a_refusal_names_each_errors_row_and_column(client, admin, db):
    add_org(client, admin, "TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province")
    bad = ("Mã tổ chức,Tên tổ chức,Loại tổ chức,Mã tổ chức cấp trên,Ngày hiệu lực\n"
           "A,Đảng bộ A,Đảng bộ cơ sở,TINH-THANH-HOA,01/01/2020\n"
           "\n"
           "B,Chi bộ B,Tàu vũ trụ,A,31/02/2020\n")
    before = table_counts(db)
    resp = upload(client, admin, bad.encode(), "cay.csv")
    assert resp.status_code == 422
    assert [r["line"] for r in resp.get_json()["errors"]["rows"]] == [4]
    cells = {(c["row"], c["column"], c["header"]) for c in resp.get_json()["cells"]}
    assert cells == {(4, "C", "Loại tổ chức"), (4, "E", "Ngày hiệu lực")}
    assert table_counts(db) == before
