"""Admission decisions in bulk (POST /admission-decisions), for provincial systems and committees:
many decisions (candidate, decision number and date, deciding organisation) in one JSON body or one
CSV/XLSX file, all recorded or none.

- Each decision goes through pipeline.transition() exactly as `POST /candidates/{id}/transitions`
  with `to: admitted` would: the same rules, history line and events (candidate.stage_changed,
  candidate.admitted), so the quota service counts a bulk admission as it counts one made alone.
- Idempotent by decision number: a decision is known by (deciding organisation, decision number).
  One already recorded for the same candidate (in the history, even if revoked since) is reported
  `already_recorded` and changes nothing, so a file sent again changes nothing; the same number of
  the same organisation for another person is an error of the row.
- All or nothing: every row is checked in the caller's transaction; any error rolls everything back
  and the answer (422) names each offending row and field.
- Candidates are locked in id order (PostgreSQL FOR UPDATE) before anything is decided, so two
  requests deciding the same people serialise instead of deadlocking.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Callable

from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.contracts.candidates import CLOSED_STAGES
from shared.db import lock_rows
from shared.outbox import record_events
from shared.problems import Problem
from shared.spreadsheets import Table, TemplateColumn, cell_errors, iso_day, rename_header

from . import pipeline, tree
from .models import Candidate, Transition, outbox

CHUNK = 1000
MAX_DECISIONS = 20_000  # one request; a year of a large province's admissions fits
MAX_REPORTED_ROWS = 1000

# File columns: the API's names, and the Vietnamese headers of the template (either is accepted).
HEADERS = {
    "candidate_id": "Mã quần chúng",
    "national_id": "Số CCCD",
    "decision_number": "Số quyết định",
    "date": "Ngày quyết định",
    "deciding_org_code": "Mã cấp ủy quyết định",
}
ALIASES = {**{name: name for name in HEADERS}, **{label: name for name, label in HEADERS.items()},
           "decision_date": "date", "Ngày kết nạp": "date", "Cấp ủy quyết định": "deciding_org_code"}
TEMPLATE = [
    TemplateColumn(HEADERS["candidate_id"], "", "Mã của quần chúng trong hệ thống (hoặc để trống và ghi Số CCCD) "
                                                "/ the candidate's id (or leave it blank and give the national ID)"),
    TemplateColumn(HEADERS["national_id"], "038202000123", "12 chữ số, khi không có mã / 12 digits, when no id"),
    TemplateColumn(HEADERS["decision_number"], "125-QĐ/ĐU", "Số quyết định kết nạp (9-KNĐ) / decision number"),
    TemplateColumn(HEADERS["date"], date(2024, 3, 4), "dd/mm/yyyy"),
    TemplateColumn(HEADERS["deciding_org_code"], "P-DONG-SON", "Mã tổ chức đảng đã quyết định (chi bộ hoặc cấp "
                                                                "ủy cấp trên) / the deciding organisation's code"),
]


class Decision(Schema):
    candidate_id = fields.String(validate=validate.Length(min=1, max=36), load_default=None)
    national_id = fields.String(validate=validate.Regexp(r"^\d{12}$", error="Số CCCD phải gồm đúng 12 chữ số. / "
                                                         "The national ID must be exactly 12 digits."),
                                load_default=None, load_only=True,
                                metadata={"description": "instead of candidate_id: the open candidate with this "
                                                         "national ID (never returned)"})
    decision_number = fields.String(required=True, validate=validate.Length(min=1, max=100))
    date = fields.Date(required=True, validate=validate.Range(min=date(1900, 1, 1), max=date(2100, 12, 31)))
    deciding_org_code = fields.String(required=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _one_person(self, data, **kwargs):
        if bool(data.get("candidate_id")) == bool(data.get("national_id")):
            raise ValidationError("Ghi đúng một trong hai: mã quần chúng hoặc số CCCD. / Give exactly one of "
                                  "candidate_id and national_id.", field_name="candidate_id")


@dataclass
class Row:
    label: str  # "row 7" (a file, as the spreadsheet numbers it) or "decisions[6]" (JSON)
    data: dict[str, Any] | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)


def rows_from_json(body: Any) -> list[Row]:
    """The decisions of a JSON body {"decisions": [...]}, each loaded alone so that errors name it."""
    items = body.get("decisions") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise Problem(422, "Invalid body", "the body must be {\"decisions\": [...]}",
                      errors={"decisions": ["Cần một danh sách quyết định. / A list of decisions is required."]})
    if len(items) > MAX_DECISIONS:
        raise _too_many()
    schema = Decision()
    rows = []
    for i, item in enumerate(items):
        row = Row(label=f"decisions[{i}]")
        try:
            row.data = schema.load(item if isinstance(item, dict) else {})
        except ValidationError as exc:
            row.errors = exc.messages
        rows.append(row)
    return rows


def rows_from_table(table: Table) -> list[Row]:
    """The rows of an uploaded file, loaded as JSON decisions would be (dd/mm/yyyy dates accepted)."""
    header = rename_header(table.header, ALIASES)
    missing = [HEADERS[c] + f" ({c})" for c in ("decision_number", "date", "deciding_org_code") if c not in header]
    if "candidate_id" not in header and "national_id" not in header:
        missing.insert(0, f"{HEADERS['candidate_id']} (candidate_id) / {HEADERS['national_id']} (national_id)")
    if missing:
        raise Problem(422, "Invalid file", "missing columns: " + ", ".join(missing),
                      errors={"file": [f"Thiếu cột: {', '.join(missing)}. / Missing columns: {', '.join(missing)}."]})
    if len(table.rows) > MAX_DECISIONS:
        raise _too_many()
    schema = Decision()
    rows = []
    for number, cells in table.rows:
        raw = {h: v for h, v in zip(header, cells) if h in HEADERS and v != ""}
        if "date" in raw:
            raw["date"] = iso_day(raw["date"])
        if raw.get("national_id", "").isdigit():
            raw["national_id"] = raw["national_id"].zfill(12)  # a spreadsheet drops leading zeros
        row = Row(label=f"row {number}")
        try:
            row.data = schema.load(raw)
        except ValidationError as exc:
            row.errors = exc.messages
        rows.append(row)
    return rows


def _too_many() -> Problem:
    return Problem(413, "Content Too Large", f"more than {MAX_DECISIONS:,} decisions in one request",
                   errors={"decisions": [f"Tối đa {MAX_DECISIONS:,} quyết định một lần. / At most "
                                         f"{MAX_DECISIONS:,} decisions a request.".replace(",", ".", 1)]})


@dataclass
class Report:
    recorded: int
    already_recorded: int
    rows: list[dict[str, Any]]


def file_columns(table: Table) -> tuple[list[str], list[str]]:
    """The file's own header and the column names it is read as (for the report's cells)."""
    return table.header, rename_header(table.header, ALIASES)


def record_decisions(session: Session, *, rows: list[Row], recorded_by: str, allowed: Callable[[str], bool],
                     holidays: frozenset[date] = frozenset(),
                     columns: tuple[list[str], list[str]] | None = None) -> Report:
    """Admit every candidate the rows name, or none (Problem 422 naming each bad row, and for a file
    each bad cell: `columns` = file_columns(table)); see the module docstring. `allowed(org_code)`
    says whether the caller may write in that cell."""
    if not rows:
        raise Problem(422, "No decisions", "there are no decisions to record",
                      errors={"decisions": ["Không có quyết định nào. / No decisions."]})
    if len(rows) > MAX_DECISIONS:
        raise _too_many()
    good = [r for r in rows if r.data is not None and not r.errors]
    by_national_id = _open_by_national_id(session, [r.data["national_id"] for r in good if r.data["national_id"]])
    for r in good:
        if r.data["national_id"]:
            found = by_national_id.get(r.data["national_id"])
            if found is None:
                r.errors["national_id"] = ["Không có quần chúng nào mang số CCCD này trong phạm vi của bạn. / No "
                                           "candidate with this national ID in your scope."]
            else:
                r.data["candidate_id"] = found
    good = [r for r in good if not r.errors]
    candidates = _lock(session, sorted({r.data["candidate_id"] for r in good}))
    known = _recorded(session, {(r.data["deciding_org_code"], r.data["decision_number"]) for r in good})

    scope: dict[str, bool] = {}
    within_cache: dict[tuple[str, str], bool] = {}

    def within(code: str, ancestor: str) -> bool:  # a file decides many people of few cells
        if (code, ancestor) not in within_cache:
            within_cache[(code, ancestor)] = tree.is_within(session, code, ancestor)
        return within_cache[(code, ancestor)]

    first_for_candidate: dict[str, str] = {}
    first_for_number: dict[tuple[str, str], str] = {}
    recorded = already = 0
    report: list[dict[str, Any]] = []
    events: list = []  # written at the end in one insert, in the order one by one would write them
    for r in rows:
        if r.errors or r.data is None:
            continue
        d = r.data
        candidate = candidates.get(d["candidate_id"])
        if candidate is not None and candidate.org_code not in scope:
            scope[candidate.org_code] = allowed(candidate.org_code)
        if candidate is None or not scope[candidate.org_code]:
            # The same answer for "no such person" and "not yours": an id reveals nothing elsewhere.
            r.errors["candidate_id"] = ["Không có quần chúng này trong phạm vi của bạn. / No such candidate in your "
                                        "scope."]
            continue
        number = (d["deciding_org_code"], d["decision_number"])
        earlier = first_for_number.setdefault(number, r.label)
        if earlier != r.label:
            r.errors["decision_number"] = [f"Trùng số quyết định với {earlier}. / Same decision as {earlier}."]
            continue
        holder = known.get(number)
        if holder == candidate.id:
            already += 1
            report.append({"row": r.label, "candidate_id": candidate.id, "decision_number": d["decision_number"],
                           "status": "already_recorded", "warnings": []})
            continue
        if holder is not None:
            r.errors["decision_number"] = ["Số quyết định này của cấp ủy đã dùng cho người khác. / This decision "
                                           "number of the deciding organisation was used for someone else."]
            continue
        earlier = first_for_candidate.setdefault(candidate.id, r.label)
        if earlier != r.label:
            r.errors["candidate_id"] = [f"Trùng quần chúng với {earlier}. / Same candidate as {earlier}."]
            continue
        try:
            outcome = pipeline.transition(session, candidate=candidate, request={
                "to": "admitted", "date": d["date"], "decision_number": d["decision_number"],
                "deciding_org_code": d["deciding_org_code"]}, recorded_by=recorded_by, holidays=holidays,
                is_within=within, events=events)
        except Problem as problem:
            r.errors.update(problem.errors or {"candidate_id": [problem.detail or problem.title]})
            continue
        recorded += 1
        report.append({"row": r.label, "candidate_id": candidate.id, "decision_number": d["decision_number"],
                       "status": "admitted", "warnings": [w.to_dict() for w in outcome.warnings]})

    bad = [r for r in rows if r.errors]
    if not bad:
        record_events(session, outbox=outbox, events=events)
    if bad:
        errors = {r.label: r.errors for r in bad[:MAX_REPORTED_ROWS]}
        raise Problem(422, "Decisions refused", f"{len(bad)} row(s) have errors; nothing was recorded "
                      f"(first: {bad[0].label})", errors=errors,
                      cells=cell_errors(errors, header=columns[0], names=columns[1]) if columns else None)
    return Report(recorded=recorded, already_recorded=already, rows=report)


def _open_by_national_id(session: Session, national_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for start in range(0, len(national_ids), CHUNK):
        chunk = national_ids[start:start + CHUNK]
        found.update(session.execute(select(Candidate.national_id, Candidate.id).where(
            Candidate.national_id.in_(chunk), Candidate.stage.notin_(CLOSED_STAGES))).all())
    return found


def _lock(session: Session, ids: list[str]) -> dict[str, Candidate]:
    found: dict[str, Candidate] = {}
    for start in range(0, len(ids), CHUNK):
        query = select(Candidate).where(Candidate.id.in_(ids[start:start + CHUNK])).order_by(Candidate.id)
        found.update((c.id, c) for c in session.scalars(lock_rows(query)))
    return found


def _recorded(session: Session, numbers: set[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """(deciding organisation, decision number) → the candidate an admission under it was recorded for."""
    found: dict[tuple[str, str], str] = {}
    wanted = sorted({n for _, n in numbers})
    for start in range(0, len(wanted), CHUNK):
        for org, number, candidate_id in session.execute(
                select(Transition.deciding_org_code, Transition.decision_number, Transition.candidate_id).where(
                    Transition.to_stage == "admitted", Transition.kind == "transition",
                    Transition.decision_number.in_(wanted[start:start + CHUNK]))):
            if (org, number) in numbers:
                found.setdefault((org, number), candidate_id)
    return found
