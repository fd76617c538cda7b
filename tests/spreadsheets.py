"""Hostile spreadsheets for the import tests: small files that claim or hold far too much."""
from __future__ import annotations

import io
import re
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"


def workbook_bytes(rows: list[list]) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def declared_huge(header: list[str]) -> bytes:
    """A few KB: a sheet declaring A1:XFD1048576, with one cell at the very end."""
    source = zipfile.ZipFile(io.BytesIO(workbook_bytes([header])))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == SHEET:
                xml = data.decode()
                xml = re.sub(r'<dimension ref="[^"]*"\s*/>', '<dimension ref="A1:XFD1048576"/>', xml)
                xml = xml.replace("</sheetData>", '<row r="1048576"><c r="XFD1048576" t="inlineStr">'
                                                  '<is><t>x</t></is></c></row></sheetData>')
                data = xml.encode()
            target.writestr(item, data)
    return out.getvalue()
