"""Bulk import of candidates from CSV or XLSX: every row is checked first, and either all rows are
listed in one transaction or none is (the answer then reports the errors row by row).

Columns (first row, any order): full_name, date_of_birth, gender, ethnicity, religion, education_level,
occupation_group, national_id, org_code, listed_on, youth_union_member, helpers (separated by ';'), or
the Vietnamese headers of the template (Họ và tên, Ngày sinh, Giới tính, Dân tộc, ...; `TEMPLATE`).
Values may be the API's (male, 2000-03-15, student) or as officials write them (Nam/Nữ, 15/03/2000,
Học sinh, sinh viên). Rows are numbered as a spreadsheet shows them: the header is row 1; a refusal
also lists each error's cell (`cells`: row, column letter, header).
"""
from __future__ import annotations

import uuid
from datetime import date, datetime, timezone
from typing import Any, Iterator

from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import tracing
from shared.contracts import CANDIDATE_LISTED, Event
from shared.contracts.base import acting_actor
from shared.contracts.candidates import CLOSED_STAGES
from shared.problems import Problem
from shared.replica import Org
from shared.spreadsheets import Table, TemplateColumn, cell_errors, fold_label, iso_day, rename_header

from .models import Candidate, Transition, outbox
from .registry import EVENT_SOURCE, candidate_errors, candidate_row
from .schemas import CandidateCreate

COLUMNS = ("full_name", "date_of_birth", "gender", "ethnicity", "religion", "education_level", "occupation_group",
           "national_id", "org_code", "listed_on", "youth_union_member", "helpers")
REQUIRED_COLUMNS = ("full_name", "date_of_birth", "gender", "ethnicity", "occupation_group", "national_id",
                    "org_code")
# The template's Vietnamese headers; either they or the column names are accepted.
HEADERS = {
    "full_name": "Họ và tên", "date_of_birth": "Ngày sinh", "gender": "Giới tính", "ethnicity": "Dân tộc",
    "religion": "Tôn giáo", "education_level": "Trình độ học vấn", "occupation_group": "Nghề nghiệp",
    "national_id": "Số CCCD", "org_code": "Mã chi bộ", "listed_on": "Ngày lập danh sách",
    "youth_union_member": "Đoàn viên", "helpers": "Đảng viên giúp đỡ",
}
ALIASES = {**{name: name for name in COLUMNS}, **{label: name for name, label in HEADERS.items()},
           "Họ tên": "full_name", "Số căn cước": "national_id", "Số căn cước công dân": "national_id",
           "Số định danh cá nhân": "national_id", "Nhóm nghề nghiệp": "occupation_group",
           "Trình độ giáo dục phổ thông": "education_level", "Chi bộ": "org_code",
           "Đoàn viên thanh niên": "youth_union_member", "Người giúp đỡ": "helpers"}
# Values as officials write them (compared folded: without diacritics, lower case).
GENDER_VALUES = {"nam": "male", "nu": "female", "khac": "other"}
OCCUPATION_VALUES = {
    "hoc sinh, sinh vien": "student", "hoc sinh": "student", "sinh vien": "student",
    "doanh nghiep nha nuoc": "state_enterprise", "doanh nghiep ngoai nha nuoc": "non_state_enterprise",
    "doanh nghiep tu nhan": "non_state_enterprise", "nong dan": "farmer",
    "can bo, cong chuc, vien chuc": "civil_servant", "can bo, cong chuc": "civil_servant",
    "cong chuc": "civil_servant", "vien chuc": "civil_servant", "luc luong vu trang": "armed_forces", "khac": "other",
}
YES = {"1", "true", "yes", "x", "co", "la doan vien"}
TEMPLATE = [
    TemplateColumn(HEADERS["full_name"], "Nguyễn Thị Hoa", "Bắt buộc / required"),
    TemplateColumn(HEADERS["date_of_birth"], date(2001, 5, 4), "dd/mm/yyyy, bắt buộc / required"),
    TemplateColumn(HEADERS["gender"], "Nữ", "Nam, Nữ, Khác (male, female, other)"),
    TemplateColumn(HEADERS["ethnicity"], "Kinh", "Kinh, Tày, Thái, Mường, ... bắt buộc / required"),
    TemplateColumn(HEADERS["religion"], "Không", "tùy chọn / optional"),
    TemplateColumn(HEADERS["education_level"], "Đại học", "tùy chọn / optional"),
    TemplateColumn(HEADERS["occupation_group"], "Học sinh, sinh viên",
                   "Học sinh, sinh viên; Doanh nghiệp nhà nước; Doanh nghiệp ngoài nhà nước; Nông dân; Cán bộ, "
                   "công chức, viên chức; Lực lượng vũ trang; Khác"),
    TemplateColumn(HEADERS["national_id"], "038301000123", "12 chữ số (ô dạng văn bản) / 12 digits (a text cell)"),
    TemplateColumn(HEADERS["org_code"], "P-DONG-SON-CB1", "Mã chi bộ trong hệ thống / the cell's code"),
    TemplateColumn(HEADERS["listed_on"], date(2024, 1, 15), "dd/mm/yyyy; để trống: hôm nay / blank: today"),
    TemplateColumn(HEADERS["youth_union_member"], "Có", "Có / Không"),
    TemplateColumn(HEADERS["helpers"], "Lê Văn Bình; Trần Thị Cúc",
                   "Đảng viên giúp đỡ, cách nhau bởi ';' / helpers separated by ';'"),
]
MAX_REPORTED_ROWS = 1000  # the error report names at most this many rows (and says how many in all)
CHUNK = 2000


def read_rows(table: Table) -> Iterator[tuple[int, dict[str, str]]]:
    """The data rows of an uploaded table (shared.spreadsheets.read_table) as (row number, dict
    keyed by column name; Vietnamese headers read as their column)."""
    header = rename_header(table.header, ALIASES)
    _check_header(header)
    for number, cells in table.rows:
        yield number, {h: v for h, v in zip(header, cells) if h}


def _check_header(header: list[str]) -> None:
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        missing = [f"{HEADERS[c]} ({c})" for c in missing]
        raise Problem(422, "Invalid file", "missing columns: " + ", ".join(missing),
                      errors={"file": [f"Thiếu cột: {', '.join(missing)}. / Missing columns: {', '.join(missing)}."]})


def _row_input(row: dict[str, Any]) -> dict[str, Any]:
    """A CSV row as the JSON body CandidateCreate expects (blank cells are absent)."""
    data: dict[str, Any] = {}
    for column in COLUMNS:
        value = row.get(column)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            continue
        if column == "helpers":
            value = [h.strip() for h in str(value).split(";") if h.strip()]
        elif column == "youth_union_member":
            value = fold_label(str(value)) in YES
        elif column in ("date_of_birth", "listed_on"):
            value = iso_day(value)
        elif column == "gender":
            value = GENDER_VALUES.get(fold_label(value), value)
        elif column == "occupation_group":
            value = OCCUPATION_VALUES.get(fold_label(value), value)
        elif column == "national_id" and str(value).isdigit():
            value = str(value).zfill(12)  # a spreadsheet drops the leading zeros of a number
        data[column] = value
    return data


def import_candidates(session: Session, *, table: Table, recorded_by: str, allowed: callable) -> list[str]:
    """Check every row of a table read beforehand (outside any write transaction: parsing is the
    slow part), then list them all (one transaction, the caller's). `allowed(org_code)` says
    whether the caller may write in that cell. Raises Problem(422) with a row-by-row report."""
    schema = CandidateCreate()
    cells: dict[str, Org] = {}
    scope_ok: dict[str, bool] = {}
    seen_ids: dict[str, int] = {}
    errors: dict[str, dict[str, list[str]]] = {}
    error_rows = 0
    candidates: list[dict[str, Any]] = []
    rows: list[int] = []

    def report(row_number: int, row_errors: dict[str, list[str]]) -> None:
        nonlocal error_rows
        error_rows += 1
        if len(errors) < MAX_REPORTED_ROWS:
            errors[f"row {row_number}"] = row_errors

    for index, row in read_rows(table):
        try:
            data = schema.load(_row_input(row))
        except ValidationError as exc:
            report(index, exc.messages)
            continue
        row_errors = candidate_errors(session, data, cells=cells)
        code = data["org_code"]
        if "org_code" not in row_errors:
            if code not in scope_ok:
                scope_ok[code] = allowed(code)
            if not scope_ok[code]:
                row_errors["org_code"] = [f"'{code}' ngoài phạm vi của bạn. / '{code}' is outside your scope."]
        first = seen_ids.setdefault(data["national_id"], index)
        if first != index:
            row_errors.setdefault("national_id", []).append(
                f"Trùng với dòng {first}. / Same national ID as row {first}.")
        if row_errors:
            report(index, row_errors)
            continue
        candidates.append(candidate_row(data, recorded_by=recorded_by))
        rows.append(index)

    # Already in the pipeline (checked in chunks against the database).
    by_id = {c["national_id"]: (c, r) for c, r in zip(candidates, rows)}
    ids = list(by_id)
    for start in range(0, len(ids), CHUNK):
        for national_id in session.scalars(select(Candidate.national_id).where(
                Candidate.national_id.in_(ids[start:start + CHUNK]), Candidate.stage.notin_(CLOSED_STAGES))):
            report(by_id[national_id][1], {"national_id": ["Đã có trong danh sách. / Already listed."]})

    if error_rows:
        raise Problem(422, "Import refused", f"{error_rows} row(s) have errors; nothing was imported",
                      errors=errors, cells=cell_errors(errors, header=table.header,
                                                       names=rename_header(table.header, ALIASES)))
    if not candidates:
        raise Problem(422, "Import refused", "the file has no data rows",
                      errors={"file": ["Tệp không có dòng dữ liệu. / The file has no data rows."]})
    try:
        _insert_all(session, candidates)
    except IntegrityError as exc:  # a concurrent request listed one of these people meanwhile
        raise Problem(409, "Import refused", "a person of the file was listed meanwhile; nothing was imported",
                      errors={"file": ["Có người vừa được lập danh sách; hãy gửi lại. / Someone was listed "
                                       "meanwhile; send the file again."]}) from exc
    return [c["id"] for c in candidates]


def _insert_all(session: Session, candidates: list[dict[str, Any]]) -> None:
    """Bulk inserts: candidates, their first history line and candidate.listed, chunk by chunk
    (Core inserts: the ORM's per-object bookkeeping is most of the time at 100,000 rows)."""
    for start in range(0, len(candidates), CHUNK):
        chunk = candidates[start:start + CHUNK]
        session.execute(Candidate.__table__.insert(), chunk)
        session.execute(Transition.__table__.insert(), [
            dict(candidate_id=c["id"], kind="listing", from_stage=None, to_stage="source", date=c["listed_on"],
                 org_code=c["org_code"], evidence={}, warnings=[], recorded_by=c["created_by"]) for c in chunk])
        events = [_listed_event(c) for c in chunk]
        session.execute(outbox.insert(), [
            dict(event_id=e.id, event_type=e.type, topic=CANDIDATE_LISTED.topic, key=e.key,
                 value=e.to_kafka_value()) for e in events])


_LISTED_SCHEMA = CANDIDATE_LISTED.schema()


def _listed_event(candidate: dict[str, Any]) -> Event:
    """candidate.listed, as shared.contracts.build_event makes it, with one schema instance reused
    (making a marshmallow schema per event was most of the import's time)."""
    data = {"candidate_id": candidate["id"], "org_code": candidate["org_code"],
            "listed_on": candidate["listed_on"].isoformat()}
    errors = _LISTED_SCHEMA.validate(data)
    if errors:
        raise ValueError(f"{CANDIDATE_LISTED.type}: data does not match its schema: {errors}")
    actor, trace = acting_actor(EVENT_SOURCE), tracing.current()
    return Event(id=str(uuid.uuid4()), type=CANDIDATE_LISTED.type, source=EVENT_SOURCE, subject=candidate["id"],
                 time=datetime.now(timezone.utc), key=CANDIDATE_LISTED.partition_key(data), data=data,
                 actor=actor.id, actorrole=actor.role, traceparent=trace.traceparent if trace else None,
                 tracestate=trace.tracestate if trace else None)
