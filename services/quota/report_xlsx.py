"""The official report (report.official_report) drawn as an XLSX table: title, organisation,
period, dates, Vietnamese headers (English below them), the children ranked, their total and the
organisation's own line. Figures are numbers with number formats (#,##0 and 0.00%), which a
spreadsheet shows with the reader's separators: 1.732 and 115,47% in Vietnamese."""
from __future__ import annotations

import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INTEGER, PERCENT, DAY = "#,##0", "0.00%", "dd/mm/yyyy"
FIXED = [("STT", "No."), ("Mã", "Code"), ("Tổ chức đảng", "Organisation"), ("Chỉ tiêu", "Target"),
         ("Đã kết nạp", "Admitted"), ("Tỷ lệ so với chỉ tiêu", "Percent of plan"), ("Tình trạng", "Status")]
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DDE4EE")


def _fraction(percent: str | None):
    return None if percent is None else Decimal(percent) / 100


def report_workbook(report: dict) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    attributes = report["attributes"]
    width = len(FIXED) + len(attributes)
    last = get_column_letter(width)
    lines = [
        (report["title"], Font(bold=True, size=14)), (report["title_en"], Font(italic=True, size=11)),
        (f"Tổ chức / Organisation: {report['org_name']} ({report['org_code']})", Font(bold=True)),
        (f"Kỳ / Period: {report['period_label']} / {report['period_label_en']}", None),
    ]
    for i, (text, font) in enumerate(lines, start=1):
        ws.merge_cells(f"A{i}:{last}{i}")
        cell = ws.cell(row=i, column=1, value=text)
        cell.alignment = Alignment(horizontal="center" if i <= 2 else "left")
        if font:
            cell.font = font
    ws.cell(row=5, column=1, value="Số liệu đến ngày / Figures as of")
    ws.cell(row=5, column=3, value=report["as_of"]).number_format = DAY
    ws.cell(row=6, column=1, value="Ngày lập báo cáo / Report date")
    ws.cell(row=6, column=3, value=report["report_date"]).number_format = DAY

    head = 8
    headers = FIXED + [(a["label"], a["label_en"]) for a in attributes]
    for column, (vi, en) in enumerate(headers, start=1):
        for row, text, font in ((head, vi, Font(bold=True)), (head + 1, en, Font(italic=True, size=9))):
            cell = ws.cell(row=row, column=column, value=text)
            cell.font, cell.fill, cell.border = font, HEAD_FILL, BOX
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def put(row: int, values: list, *, bold: bool = False) -> None:
        formats = [None, None, None, INTEGER, INTEGER, PERCENT, None] + [INTEGER] * len(attributes)
        for column, (value, fmt) in enumerate(zip(values, formats), start=1):
            cell = ws.cell(row=row, column=column, value=value)
            cell.border = BOX
            if fmt:
                cell.number_format = fmt
            if bold:
                cell.font = Font(bold=True)

    row = head + 2
    for child in report["children"]:
        put(row, [child["rank"], child["code"], child["name"], child["target"], child["admitted"],
                  _fraction(child["percent"]), child["status_text"] or ""]
            + [child["counts"][a["attribute"]] for a in attributes])
        row += 1
    total = report["children_total"]
    put(row, ["", "", "Cộng các tổ chức trực thuộc / Children in total", total["target"], total["admitted"],
              _fraction(total["percent"]), ""] + [total["counts"][a["attribute"]] for a in attributes], bold=True)
    own = report["organization"]
    put(row + 1, ["", own["code"], f"Toàn {own['name']} / Whole organisation", own["target"], own["admitted"],
                  _fraction(own["percent"]), own["status_text"] or ""]
        + [own["counts"][a["attribute"]] for a in attributes], bold=True)

    for column, size in enumerate([6, 16, 40, 11, 11, 13, 20] + [13] * len(attributes), start=1):
        ws.column_dimensions[get_column_letter(column)].width = size
    ws.freeze_panes = ws.cell(row=head + 2, column=4)
    ws.print_title_rows = f"{head}:{head + 1}"
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
