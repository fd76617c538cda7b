"""The bounded reader of uploads (issue 8, point 2): limits hold whatever a file declares."""
import time
import tracemalloc

import pytest

from shared.problems import Problem
from shared.spreadsheets import Limits, read_table
from tests.spreadsheets import declared_huge, workbook_bytes

SMALL = Limits(max_rows=100, max_columns=5, max_cell_chars=1000)


def test_a_workbook_reads_as_text():
    table = read_table(workbook_bytes([["code", "name"], ["P-1", "Phường 1"], [None, None], [12.0, "x"]]), "a.xlsx")
    assert table.header == ["code", "name"]
    assert table.rows == [(2, ["P-1", "Phường 1"]), (4, ["12", "x"])]


def test_a_declared_dimension_is_not_trusted():
    content = declared_huge(["code", "name"])
    assert len(content) < 10_000
    started = time.monotonic()
    with pytest.raises(Problem) as caught:
        read_table(content, "hostile.xlsx")
    assert time.monotonic() - started < 5
    assert caught.value.status == 413 and "CHITIEU_IMPORT_MAX_ROWS" in caught.value.errors["file"][0]
    tracemalloc.start()  # memory measured apart: tracing slows every allocation
    try:
        with pytest.raises(Problem):
            read_table(content, "hostile.xlsx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 200 * 1024 * 1024


@pytest.mark.parametrize("content,setting", [
    (b"a,b\n" + b"x" * (10 * 1024 * 1024) + b",y\n", "CHITIEU_IMPORT_MAX_CELL_CHARS"),
    (b",".join(b"c%d" % i for i in range(10_000)) + b"\n", "CHITIEU_IMPORT_MAX_COLUMNS"),
    (b"a,b\n" + b"1,2\n" * 101, "CHITIEU_IMPORT_MAX_ROWS"),
], ids=["10-MB-line", "10000-columns", "too-many-rows"])
def test_csv_limits_name_the_limit(content, setting):
    with pytest.raises(Problem) as caught:
        read_table(content, "x.csv", limits=SMALL)
    assert caught.value.status == 413 and setting in caught.value.errors["file"][0]


def test_exactly_at_the_limits_is_accepted():
    content = b"a,b,c,d,e\n" + b"1,2,3,4,5\n" * 100
    assert len(read_table(content, "x.csv", limits=SMALL).rows) == 100


@pytest.mark.parametrize("content,name,status", [(b"", "x.csv", 422), (b"PK\x03\x04garbage", "x.xlsx", 422),
                                                 (b"\xff\xfe\x00", "x.csv", 422), (b"a", "x.pdf", 415)])
def test_garbage_is_a_clear_error(content, name, status):
    with pytest.raises(Problem) as caught:
        read_table(content, name)
    assert caught.value.status == status and "file" in caught.value.errors


def test_a_zip_bomb_is_refused_before_parsing():
    content = workbook_bytes([["a"]] + [["x" * 1000]] * 300)
    with pytest.raises(Problem) as caught:
        read_table(content, "bomb.xlsx", limits=Limits(max_xlsx_bytes=100_000))
    assert caught.value.status == 413 and "CHITIEU_IMPORT_MAX_XLSX_BYTES" in caught.value.errors["file"][0]


def test_vietnamese_headers_dates_and_cells():
    from shared.spreadsheets import cell_errors, fold_label, iso_day, rename_header

    assert fold_label(" Họ và tên *") == "ho va ten"
    assert rename_header(["Họ và tên", "ngay sinh:", "Ghi chú"], {"Họ và tên": "full_name", "Ngày sinh": "date_of_birth"}
                         ) == ["full_name", "date_of_birth", "Ghi chú"]
    assert [iso_day(t) for t in ("04/03/2024", "4.3.2024", "2024-03-04", "04-03-2024", "31/02/2024")] == [
        "2024-03-04", "2024-03-04", "2024-03-04", "04-03-2024", "2024-02-31"]  # the schema judges the last two
    assert cell_errors({"row 3": {"date_of_birth": ["x"], "_schema": ["y"]}, "file": ["z"]},
                       header=["Họ và tên", "Ngày sinh"], names=["full_name", "date_of_birth"]) == [
        {"row": 3, "column": "B", "header": "Ngày sinh", "field": "date_of_birth", "messages": ["x"]},
        {"row": 3, "column": None, "header": None, "field": "_schema", "messages": ["y"]}]


def test_a_template_has_its_headers_example_and_guide():
    import io
    from datetime import date

    from openpyxl import load_workbook

    from shared.spreadsheets import TemplateColumn, xlsx_template

    book = load_workbook(io.BytesIO(xlsx_template([TemplateColumn("Ngày sinh", date(2001, 5, 4), "dd/mm/yyyy"),
                                                   TemplateColumn("Số CCCD", "038301000123")], title="Mẫu")))
    assert [[c.value for c in row] for row in book["Mẫu"].iter_rows()] == [["Ngày sinh", "Số CCCD"],
                                                                            ["04/05/2001", "038301000123"]]
    assert book["Hướng dẫn"]["B2"].value == "dd/mm/yyyy"
