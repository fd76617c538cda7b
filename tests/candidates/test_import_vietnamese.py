"""Imports in officials' own spreadsheets (#12 point 4): the XLSX template (Vietnamese headers, an
example row, dd/mm/yyyy), Vietnamese headers and values accepted alongside the English ones, and a
refusal that names each error's row and column."""
import io

from openpyxl import load_workbook
from sqlalchemy import func, select

from services.candidates.models import Candidate
from tests.candidates.factories import auth
from tests.spreadsheets import workbook_bytes


def upload(client, content: bytes, filename: str):
    return client.post("/api/v1/candidates/import", headers=auth(),
                       data={"file": (io.BytesIO(content), filename)}, content_type="multipart/form-data")


def count(db) -> int:
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(Candidate))


def template(client) -> bytes:
    resp = client.get("/api/v1/candidates/import/template", headers=auth(role="viewer"))
    assert resp.status_code == 200, resp.json
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in resp.headers["Content-Disposition"]
    return resp.data


def test_the_template_filled_in_imports(client, db):
    book = load_workbook(io.BytesIO(template(client)))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc"]
    example = dict(zip(header, [c.value for c in sheet[2]]))
    assert (example["Ngày sinh"], example["Giới tính"], example["Dân tộc"]) == ("04/05/2001", "Nữ", "Kinh")
    assert book.worksheets[1].title == "Hướng dẫn"
    # The officer's file: the template with the example row kept and the cell's code put in.
    sheet.cell(row=2, column=header.index("Mã chi bộ") + 1, value="P-DONG-SON-CB1")
    out = io.BytesIO()
    book.save(out)
    resp = upload(client, out.getvalue(), "mau.xlsx")
    assert resp.status_code == 201, resp.json
    person = client.get(f"/api/v1/candidates/{resp.json['candidate_ids'][0]}", headers=auth()).json
    assert (person["full_name"], person["date_of_birth"], person["gender"], person["occupation_group"],
            person["listed_on"], person["youth_union_member"]) == (
        "Nguyễn Thị Hoa", "2001-05-04", "female", "student", "2024-01-15", True)


def test_vietnamese_values_in_a_csv_and_english_ones_alike(client, db):
    csv = ("Họ và tên,Ngày sinh,Giới tính,Dân tộc,Nghề nghiệp,Số CCCD,Mã chi bộ,Ngày lập danh sách\n"
           "Lò Văn Páo,15/03/2000,Nam,Thái,Nông dân,038200000777,P-DONG-SON-CB1,10/01/2022\n"
           "Trần An,2000-03-15,male,Kinh,civil_servant,038200000778,P-DONG-SON-CB1,2022-01-10\n")
    resp = upload(client, csv.encode(), "danh-sach.csv")
    assert resp.status_code == 201, resp.json
    with db.transaction() as s:
        rows = s.execute(select(Candidate.full_name, Candidate.gender, Candidate.occupation_group,
                                Candidate.date_of_birth).order_by(Candidate.full_name)).all()
    assert [(r[0], r[1], r[2], r[3].isoformat()) for r in rows] == [
        ("Lò Văn Páo", "male", "farmer", "2000-03-15"), ("Trần An", "male", "civil_servant", "2000-03-15")]


def test_a_refusal_names_each_errors_row_and_column(client, db):
    rows = [["Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Nghề nghiệp", "Số CCCD", "Mã chi bộ"],
            ["Lò Văn Páo", "15/03/2000", "Nam", "Thái", "Nông dân", "038200000777", "P-DONG-SON-CB1"],
            ["Trần An", "31/02/2000", "Đực", "Kinh", "Nông dân", "038200000778", "P-DONG-SON-CB1"]]
    resp = upload(client, workbook_bytes(rows), "danh-sach.xlsx")
    assert resp.status_code == 422
    assert set(resp.json["errors"]) == {"row 3"}
    cells = {(c["row"], c["column"], c["header"]) for c in resp.json["cells"]}
    assert cells == {(3, "B", "Ngày sinh"), (3, "C", "Giới tính")}
    assert count(db) == 0


def test_missing_columns_are_named_in_vietnamese_too(client, db):
    resp = upload(client, "Họ và tên,Ngày sinh\nA,01/01/2000\n".encode(), "a.csv")
    assert resp.status_code == 422
    assert "Giới tính (gender)" in resp.json["errors"]["file"][0]
