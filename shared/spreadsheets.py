"""Reading an uploaded CSV or XLSX file into rows of text, bounded whatever the file claims.

A 5 KB workbook can declare the dimension A1:XFD1048576, and openpyxl's read-only mode then pads
every row to it; a CSV can hold one endless line or thousands of columns. Neither the declared
dimension nor the file's shape is trusted: rows and columns are counted as they are read and the
read stops with 413 at the limits (CHITIEU_IMPORT_MAX_ROWS, CHITIEU_IMPORT_MAX_COLUMNS), and an
XLSX whose parts would inflate beyond CHITIEU_IMPORT_MAX_XLSX_BYTES is refused before parsing.
Parse before opening a write transaction: this is the slow part of an import.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from .config import setting
from .problems import Problem

XLSX_SUFFIX = ".xlsx"


@dataclass(frozen=True)
class Limits:
    max_rows: int = 200_000  # data rows, the header excluded
    max_columns: int = 50
    max_cell_chars: int = 10_000
    max_xlsx_bytes: int = 200 * 1024 * 1024  # the workbook's parts, uncompressed

    @classmethod
    def from_env(cls) -> "Limits":
        return cls(max_rows=int(setting("IMPORT_MAX_ROWS", str(cls.max_rows))),
                   max_columns=int(setting("IMPORT_MAX_COLUMNS", str(cls.max_columns))),
                   max_cell_chars=int(setting("IMPORT_MAX_CELL_CHARS", str(cls.max_cell_chars))),
                   max_xlsx_bytes=int(setting("IMPORT_MAX_XLSX_BYTES", str(cls.max_xlsx_bytes))))


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (spreadsheet row number, cells), blank rows left out


def read_table(content: bytes, filename: str, *, limits: Limits | None = None) -> Table:
    """The header and data rows of a .csv (UTF-8, with or without BOM) or .xlsx upload, each cell
    as stripped text (dates as YYYY-MM-DD). Raises Problem 413 past a limit, 415/422 otherwise."""
    limits = limits or Limits.from_env()
    name = (filename or "").lower()
    if name.endswith(XLSX_SUFFIX):
        lines = _xlsx_lines(content, limits)
    elif name.endswith(".csv") or not name:
        lines = _csv_lines(content, limits)
    else:
        raise Problem(415, "Unsupported Media Type", "upload a .csv or .xlsx file",
                      errors={"file": ["Chỉ nhận tệp .csv hoặc .xlsx. / Only .csv or .xlsx files."]})
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    for number, cells in lines:
        if len(cells) > limits.max_columns:
            raise _too_large(f"quá {_vi(limits.max_columns)} cột / more than {limits.max_columns:,} columns",
                             "CHITIEU_IMPORT_MAX_COLUMNS")
        if not any(cells):
            continue
        if header is None:
            header = cells
            continue
        rows.append((number, cells))
    if header is None:
        raise Problem(422, "Invalid file", "the file is empty",
                      errors={"file": ["Tệp rỗng. / The file is empty."]})
    return Table(header=header, rows=rows)


def _vi(n: int) -> str:
    return f"{n:,}".replace(",", ".")  # 200.000 as Vietnamese readers write it


def _too_large(what: str, setting: str) -> Problem:
    return Problem(413, "Content Too Large", f"Tệp vượt giới hạn: {what} / the file exceeds a limit ({setting})",
                   errors={"file": [f"{what} ({setting})"]})


def _counted(lines, limits: Limits):
    """Number the lines and stop past the last one allowed (the header plus max_rows)."""
    for number, cells in enumerate(lines, start=1):
        if number > limits.max_rows + 1:
            raise _too_large(f"quá {_vi(limits.max_rows)} dòng dữ liệu / more than {limits.max_rows:,} data rows",
                             "CHITIEU_IMPORT_MAX_ROWS")
        yield number, cells


def _csv_lines(content: bytes, limits: Limits):
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise Problem(422, "Invalid file", "the CSV file is not UTF-8",
                      errors={"file": ["Tệp CSV phải mã hóa UTF-8. / The CSV file must be UTF-8."]}) from exc
    # field_size_limit is process-wide; the reader checks it per field, so set it to our bound.
    csv.field_size_limit(limits.max_cell_chars)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        for number, cells in _counted(reader, limits):
            yield number, [c.strip() for c in cells[:limits.max_columns + 1]]
    except csv.Error as exc:
        raise _too_large(f"một ô quá {_vi(limits.max_cell_chars)} ký tự hoặc dòng hỏng / a cell over "
                         f"{limits.max_cell_chars:,} characters or a broken line", "CHITIEU_IMPORT_MAX_CELL_CHARS") from exc


def _xlsx_lines(content: bytes, limits: Limits):
    from openpyxl import load_workbook

    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            inflated = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise _unreadable() from exc
    if inflated > limits.max_xlsx_bytes:
        raise _too_large(f"nội dung giải nén quá {_vi(limits.max_xlsx_bytes)} byte / more than "
                         f"{limits.max_xlsx_bytes:,} bytes uncompressed", "CHITIEU_IMPORT_MAX_XLSX_BYTES")
    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zip, XML and key errors alike for a bad file
        raise _unreadable() from exc
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # never trust the declared A1:XFD1048576
        # One column past the limit, to see a file that has more; rows are counted as they come.
        rows = sheet.iter_rows(max_col=limits.max_columns + 1, values_only=True)
        for number, values in _counted(_guarded(rows), limits):
            if values.count(None) == len(values):
                yield number, []  # a missing row, padded by openpyxl: counted, nothing to convert
                continue
            cells = [_text(v) for v in values]
            while cells and cells[-1] == "":
                cells.pop()
            yield number, cells
    finally:
        workbook.close()


def _guarded(rows):
    try:
        yield from rows
    except Problem:
        raise
    except Exception as exc:  # a corrupt sheet part: openpyxl raises XML and value errors mid-way
        raise _unreadable() from exc


def _unreadable() -> Problem:
    return Problem(422, "Invalid file", "the file is not a readable .xlsx workbook",
                   errors={"file": ["Không đọc được tệp .xlsx. / The .xlsx file cannot be read."]})


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


# --- officials' own spreadsheets: Vietnamese headers and dates, downloadable templates -------------

def fold_label(text: str) -> str:
    """A header or value as compared: no diacritics, lower case, single spaces, no trailing ':' or '*'
    ("Họ và tên *" → "ho va ten"), so that officials' spellings of the same label match."""
    from unidecode import unidecode

    return " ".join(unidecode(text or "").lower().replace("_", " ").strip(" :*").split())


def rename_header(header: list[str], aliases: dict[str, str]) -> list[str]:
    """The header with each label that `aliases` knows (folded Vietnamese or English label → column
    name) replaced by its column name; unknown labels are kept as written."""
    folded = {fold_label(label): name for label, name in aliases.items()}
    return [folded.get(fold_label(h), h.strip()) for h in header]


_DMY = re.compile(r"^(\d{1,2})([/.])(\d{1,2})\2(\d{4})$")


def iso_day(text: str) -> str:
    """A date cell as ISO text: dd/mm/yyyy (as Vietnamese officials write it, also with '.')
    becomes yyyy-mm-dd; anything else is returned unchanged for the schema to judge."""
    match = _DMY.match((text or "").strip())
    if not match:
        return text
    day, month, year = int(match[1]), int(match[3]), int(match[4])
    return f"{year:04d}-{month:02d}-{day:02d}"


@dataclass(frozen=True)
class TemplateColumn:
    label: str  # the header officials see (Vietnamese)
    example: Any  # the example row's value (a date is written as dd/mm/yyyy text)
    note: str = ""  # what the column takes, shown on the second sheet


def xlsx_template(columns: list[TemplateColumn], *, title: str) -> bytes:
    """An XLSX workbook: a sheet `title` with the Vietnamese headers and one example row (dates as
    dd/mm/yyyy text, so a spreadsheet in any locale shows them as written), and a sheet 'Hướng dẫn'
    saying what each column takes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title[:31]
    sheet.append([c.label for c in columns])
    sheet.append([c.example.strftime("%d/%m/%Y") if isinstance(c.example, date) else c.example for c in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, column in enumerate(columns, start=1):
        sheet.cell(row=2, column=index).number_format = "@"  # text: keeps leading zeros and dd/mm/yyyy
        sheet.column_dimensions[cell_letter(index)].width = max(14, len(column.label) + 4)
    guide = workbook.create_sheet("Hướng dẫn")
    guide.append(["Cột / Column", "Nội dung / What it takes"])
    for column in columns:
        guide.append([column.label, column.note])
    guide.column_dimensions["A"].width, guide.column_dimensions["B"].width = 28, 90
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def cell_letter(index: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(index)


XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def cell_errors(errors: dict[str, dict[str, Any]], *, header: list[str], names: list[str]) -> list[dict[str, Any]]:
    """An import's row report ({"row N": {field: [messages]}}) as the cells a spreadsheet shows:
    [{row, column: "C", header: "Ngày sinh", field, messages}], so that a page can show each error next
    to its cell. `header` is the file's own first row, `names` the column names it was read as
    (rename_header); a field of no column (a rule on the whole row) has column and header None."""
    where = {name: (cell_letter(i + 1), label) for i, (label, name) in enumerate(zip(header, names))}
    cells = []
    for label, fields_ in errors.items():
        if not label.startswith("row ") or not isinstance(fields_, dict):
            continue
        row = int(label[4:])
        for name, messages in fields_.items():
            column, title = where.get(name, (None, None))
            cells.append({"row": row, "column": column, "header": title, "field": name,
                          "messages": messages if isinstance(messages, list) else [str(messages)]})
    return cells
