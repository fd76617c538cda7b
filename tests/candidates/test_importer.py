"""Bulk import from CSV and XLSX: all rows or none, and a row-by-row error report."""
import csv
import io
from datetime import date

from openpyxl import Workbook
from sqlalchemy import func, select

from services.candidates.importer import COLUMNS
from services.candidates.models import Candidate, Transition, outbox
from tests.candidates.factories import auth, candidate_body


def rows(n, **overrides):
    out = []
    for i in range(n):
        body = candidate_body(full_name=f"Lê Thị Hoa {i}", gender="female", **overrides)
        body["helpers"] = "Lê Văn Bình;Trần Thị Cúc"
        body["youth_union_member"] = "x" if i % 2 else ""
        out.append(body)
    return out


def to_csv(records) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    for r in records:
        writer.writerow({k: r.get(k) if r.get(k) is not None else "" for k in COLUMNS})
    return buffer.getvalue().encode("utf-8")


def to_xlsx(records) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(list(COLUMNS))
    for r in records:
        values = []
        for k in COLUMNS:
            v = r.get(k)
            if k in ("date_of_birth", "listed_on"):
                v = date.fromisoformat(v)  # real date cells, as a spreadsheet has them
            elif k == "national_id":
                v = int(v)  # typed as a number: the leading zeros are gone
            values.append(v)
        ws.append(values)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, content, filename, **headers):
    return client.post("/api/v1/candidates/import", data={"file": (io.BytesIO(content), filename)},
                       content_type="multipart/form-data", headers=auth(**headers))


def count(db, table):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_csv_import_lists_every_row(client, db):
    resp = upload(client, to_csv(rows(25)), "danh-sach.csv")
    assert resp.status_code == 201, resp.json
    assert resp.json["imported"] == 25 and len(resp.json["candidate_ids"]) == 25
    assert count(db, Candidate) == count(db, Transition) == count(db, outbox) == 25
    found = client.get("/api/v1/candidates", query_string={"q": "le thi hoa 7"}, headers=auth()).json["items"]
    assert [c["full_name"] for c in found] == ["Lê Thị Hoa 7"] and found[0]["helpers"] == ["Lê Văn Bình", "Trần Thị Cúc"]
    assert found[0]["youth_union_member"] is True


def test_xlsx_import(client, db):
    records = rows(5, org_code="P-QUANG-CAT-CB2")
    records[0]["national_id"] = "00" + records[0]["national_id"][2:]  # Hà Nội: code 001
    records[0]["national_id"] = "001" + records[0]["national_id"][3:]
    resp = upload(client, to_xlsx(records), "danh-sach.xlsx")
    assert resp.status_code == 201, resp.json
    assert count(db, Candidate) == 5
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Candidate).where(
            Candidate.national_id == records[0]["national_id"])) == 1


def test_one_bad_row_imports_nothing_and_is_reported(client, db):
    records = rows(6)
    records[1]["date_of_birth"] = "2000-13-01"
    records[3]["org_code"] = "KHONG-CO"
    records[4]["national_id"] = records[2]["national_id"]
    resp = upload(client, to_csv(records), "danh-sach.csv")
    assert resp.status_code == 422
    errors = resp.json["errors"]
    assert set(errors) == {"row 3", "row 5", "row 6"}
    assert "date_of_birth" in errors["row 3"] and "org_code" in errors["row 5"]
    assert "row 4" in errors["row 6"]["national_id"][0].lower() or "4" in errors["row 6"]["national_id"][0]
    assert count(db, Candidate) == 0 and count(db, outbox) == 0


def test_rows_outside_the_callers_scope_are_refused(client, db):
    records = rows(2)
    records[1]["org_code"] = "P-QUANG-CAT-CB1"
    resp = client.post("/api/v1/candidates/import", data={"file": (io.BytesIO(to_csv(records)), "a.csv")},
                       content_type="multipart/form-data", headers=auth(org="P-DONG-SON"))
    assert resp.status_code == 422 and set(resp.json["errors"]) == {"row 3"}
    assert count(db, Candidate) == 0


def test_already_listed_people_are_reported(client, db):
    records = rows(3)
    assert upload(client, to_csv(records[:1]), "a.csv").status_code == 201
    resp = upload(client, to_csv(records), "b.csv")
    assert resp.status_code == 422 and set(resp.json["errors"]) == {"row 2"}
    assert count(db, Candidate) == 1


def test_bad_files(client, db):
    assert upload(client, b"full_name,gender\nA,male\n", "a.csv").json["errors"]["file"]
    assert upload(client, b"not a zip", "a.xlsx").status_code == 422
    assert upload(client, b"\xff\xfe\x00", "a.csv").status_code == 422
    assert upload(client, b"x", "a.pdf").status_code == 415
    assert upload(client, to_csv([]), "empty.csv").status_code == 422
    assert count(db, Candidate) == 0


def test_import_is_idempotent(client, db):
    content = to_csv(rows(3))
    first = upload(client, content, "a.csv", **{"Idempotency-Key": "lo-1"})
    second = upload(client, content, "a.csv", **{"Idempotency-Key": "lo-1"})
    assert first.status_code == second.status_code == 201 and first.json == second.json
    assert count(db, Candidate) == 3
