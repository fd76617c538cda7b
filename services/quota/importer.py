"""Bulk import of an organisation tree from CSV or XLSX, all or nothing.

Columns (header row, any order): code, name, type, parent_code, effective_date (optional: defaults
to the request's date), or the template's Vietnamese headers (Mã tổ chức, Tên tổ chức, Loại tổ chức,
Mã tổ chức cấp trên, Ngày hiệu lực); types as the API names them or in Vietnamese (Chi bộ, Đảng bộ
cơ sở, ...); dates dd/mm/yyyy or YYYY-MM-DD. Rows may list a child before its parent. Every row is
checked first; if any row is wrong the import writes nothing and answers a row-by-row report (lines
as the spreadsheet numbers them, and `cells`: each error's row, column letter and header).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.codes import normalize_code
from shared.problems import Problem
from shared.spreadsheets import TemplateColumn, cell_errors, fold_label, iso_day, read_table, rename_header

from .models import Organization
from .organizations import ORG_TYPES, create_organization
from .schemas import CODE_RULE, NAME_RULE

COLUMNS = ("code", "name", "type", "parent_code", "effective_date")
HEADERS = {"code": "Mã tổ chức", "name": "Tên tổ chức", "type": "Loại tổ chức", "parent_code": "Mã tổ chức cấp trên",
           "effective_date": "Ngày hiệu lực"}
ALIASES = {**{c: c for c in COLUMNS}, **{c.upper(): c for c in COLUMNS}, **{v: k for k, v in HEADERS.items()},
           "Mã": "code", "Tên": "name", "Loại": "type", "Cấp trên": "parent_code", "Mã cấp trên": "parent_code"}
# Organisation types as officials write them (compared folded).
TYPE_VALUES = {
    "trung uong": "central", "tinh uy": "province", "dang bo tinh": "province", "thanh uy": "city",
    "dang bo thanh pho": "city", "huyen uy": "district", "dang bo huyen": "district", "dang uy khoi": "block",
    "dang bo co so": "grassroots", "dang uy xa": "grassroots", "dang uy phuong": "grassroots",
    "chi bo": "cell", "khac": "other",
}
TEMPLATE = [
    TemplateColumn(HEADERS["code"], "P-DONG-SON-CB3", "Bắt buộc; chữ, số, '-' / required"),
    TemplateColumn(HEADERS["name"], "Chi bộ khu phố 3", "Bắt buộc / required"),
    TemplateColumn(HEADERS["type"], "Chi bộ", "Tỉnh ủy, Thành ủy, Huyện ủy, Đảng ủy Khối, Đảng bộ cơ sở, Chi bộ, "
                                              "Khác (or: " + ", ".join(ORG_TYPES) + ")"),
    TemplateColumn(HEADERS["parent_code"], "P-DONG-SON", "Để trống cho cấp cao nhất / blank at the top"),
    TemplateColumn(HEADERS["effective_date"], date(2025, 7, 1), "dd/mm/yyyy; để trống: hôm nay / blank: today"),
]


def read_rows(content: bytes, filename: str) -> tuple[list[dict[str, str]], tuple[list[str], list[str]]]:
    """The rows of a CSV (UTF-8, with or without BOM) or XLSX file as dicts of strings, each with its
    spreadsheet row number under "_line", and (the file's header, the column names it was read as)
    (read with shared.spreadsheets' limits; call it before opening the write transaction)."""
    table = read_table(content, filename)
    header = rename_header(table.header, ALIASES)
    missing = [c for c in ("code", "name", "type") if c not in header]
    if missing:
        raise Problem(422, "Unprocessable Entity", "thiếu cột / missing columns",
                      errors={"file": [f"thiếu cột / missing column: {HEADERS[c]} ({c})" for c in missing]})
    rows = []
    for number, cells in table.rows:
        row = {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(header) if h in COLUMNS}
        if row.get("type"):
            row["type"] = TYPE_VALUES.get(fold_label(row["type"]), row["type"])
        if row.get("effective_date"):
            row["effective_date"] = iso_day(row["effective_date"])
        rows.append({**row, "_line": number})
    return rows, (table.header, header)


def import_tree(session: Session, *, rows: list[dict[str, str]], default_date: date,
                columns: tuple[list[str], list[str]] | None = None) -> list[str]:
    """Create every row's organisation, parents first; returns the codes created in that order.
    `columns` (from read_rows) lets the refusal name each error's cell."""
    errors: dict[int, dict[str, list[str]]] = {}

    def err(line: int, field: str, message: str) -> None:
        errors.setdefault(line, {}).setdefault(field, []).append(message)

    by_code: dict[str, tuple[int, dict]] = {}
    for i, row in enumerate(rows, start=2):  # line 1 is the header
        i = row.get("_line", i)  # the spreadsheet's own number (blank rows skipped)
        for column in ("code", "parent_code"):
            if row.get(column):
                row[column] = normalize_code(row[column])
        code, name, type_ = row.get("code", ""), row.get("name", ""), row.get("type", "")
        if not code:
            err(i, "code", "bắt buộc / required")
        elif len(code) > 64:
            err(i, "code", "tối đa 64 ký tự / at most 64 characters")
        elif code in by_code:
            err(i, "code", f"trùng với dòng {by_code[code][0]} / duplicate of line {by_code[code][0]}")
        else:
            by_code[code] = (i, row)
        if code and not CODE_RULE.regex.match(code):
            err(i, "code", CODE_RULE.error)
        if not name:
            err(i, "name", "bắt buộc / required")
        elif not NAME_RULE.regex.match(name):
            err(i, "name", NAME_RULE.error)
        if row.get("parent_code") and not CODE_RULE.regex.match(row["parent_code"]):
            err(i, "parent_code", CODE_RULE.error)
        if type_ not in ORG_TYPES:
            err(i, "type", f"một trong / one of {', '.join(ORG_TYPES)}")
        raw_date = row.get("effective_date", "")
        try:
            row["_date"] = date.fromisoformat(raw_date) if raw_date else default_date
        except ValueError:
            err(i, "effective_date", "ngày dạng dd/mm/yyyy / a date dd/mm/yyyy or YYYY-MM-DD")
    existing = set(session.execute(select(Organization.code).where(
        Organization.code.in_(list(by_code)))).scalars()) if by_code else set()
    parents_needed = {r.get("parent_code") for _, r in by_code.values() if r.get("parent_code")}
    known_parents = {c: s for c, s in session.execute(select(Organization.code, Organization.status).where(
        Organization.code.in_(list(parents_needed - set(by_code)))))} if parents_needed else {}
    for code, (i, row) in by_code.items():
        if code in existing:
            err(i, "code", f"mã '{code}' đã tồn tại / code '{code}' already exists")
        parent = row.get("parent_code") or None
        if parent and parent not in by_code:
            if parent not in known_parents:
                err(i, "parent_code", f"không có tổ chức '{parent}' / unknown parent '{parent}'")
            elif known_parents[parent] != "active":
                err(i, "parent_code", f"'{parent}' không còn hoạt động / '{parent}' is {known_parents[parent]}")
    order = _parents_first(by_code, err)
    if errors:
        report = [{"line": line, "errors": fields} for line, fields in sorted(errors.items())]
        raise Problem(422, "Unprocessable Entity",
                      f"{len(report)} dòng có lỗi, không nhập gì / {len(report)} rows have errors, nothing imported",
                      errors={"rows": report},
                      cells=cell_errors({f"row {line}": fields for line, fields in errors.items()},
                                        header=columns[0], names=columns[1]) if columns else None)
    for code in order:
        row = by_code[code][1]
        create_organization(session, code=code, name=row["name"], type=row["type"],
                            parent_code=row.get("parent_code") or None, effective_date=row["_date"])
    return order


def _parents_first(by_code: dict[str, tuple[int, dict]], err) -> list[str]:
    order: list[str] = []
    state: dict[str, str] = {}
    for start in by_code:
        path = []
        code = start
        while code in by_code and code not in state:
            state[code] = "visiting"
            path.append(code)
            code = by_code[code][1].get("parent_code") or None
        if code in by_code and state.get(code) == "visiting":
            err(by_code[code][0], "parent_code", "chu trình trong tệp / a cycle in the file")
        for c in reversed(path):
            state[c] = "done"
            order.append(c)
    return order
