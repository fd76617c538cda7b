"""Candidates as records: listing a new one, finding them, transferring them, counting the funnel.
Stage changes are in pipeline.py. Functions take the caller's session (the view's transaction) and
keyword-only arguments; they raise Problem for anything the caller must fix."""
from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any, Callable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import clock
from shared.contracts import CANDIDATE_LISTED, CANDIDATE_RECORD_READ, CANDIDATE_TRANSFERRED
from shared.contracts.candidates import CLOSED_STAGES, OPEN_STAGES, STAGES
from shared.db import lock_rows
from shared.outbox import record_event
from shared.problems import Problem
from shared.replica import Org
from shared.text import fold

from . import tree
from .models import Candidate, Transfer, Transition, outbox

EVENT_SOURCE = "/candidates"
TRANSFERABLE_STAGES = OPEN_STAGES + ("admitted",)  # candidates and probationary members change cells
# Ethnicity of the majority; every other ethnicity counts as an ethnic minority for composition.
MAJORITY_ETHNICITY = "kinh"


def is_ethnic_minority(ethnicity: str) -> bool:
    return fold(ethnicity) != MAJORITY_ETHNICITY


# What a biography writes in the religion box for none ("Không"), folded.
NO_RELIGION = frozenset({"", "khong", "khong co", "none", "no"})


def is_religious_follower(religion: str | None) -> bool:
    return fold(religion or "") not in NO_RELIGION


# --- national ID (căn cước công dân, 12 digits) ---------------------------------------------------
# Digits 1-3: province of birth registration (001-096); digit 4: century and gender (0/1 = 1900s
# male/female, 2/3 = 2000s, 4/5 = 2100s, 6/7 = 2200s, 8/9 = 1800s); digits 5-6: year of birth.
_CENTURY = {0: 1900, 1: 1900, 2: 2000, 3: 2000, 4: 2100, 5: 2100, 6: 2200, 7: 2200, 8: 1800, 9: 1800}


def national_id_problems(national_id: str, *, date_of_birth: date | None, gender: str | None) -> list[str]:
    """Why `national_id` is not valid for this person (empty list when it is). Messages never echo the number."""
    if not re.fullmatch(r"\d{12}", national_id or ""):
        return ["Số CCCD phải gồm đúng 12 chữ số. / The national ID must be exactly 12 digits."]
    problems = []
    if not 1 <= int(national_id[:3]) <= 96:
        problems.append("Mã tỉnh (3 chữ số đầu) không hợp lệ. / The province code (first 3 digits) is not valid.")
    code = int(national_id[3])
    if date_of_birth is not None:
        year = _CENTURY[code] + int(national_id[4:6])
        if year != date_of_birth.year:
            problems.append("Số CCCD không khớp năm sinh. / The national ID does not match the year of birth.")
    if gender in ("male", "female") and (code % 2 == 1) != (gender == "female"):
        problems.append("Số CCCD không khớp giới tính. / The national ID does not match the gender.")
    return problems


def make_national_id(*, province: int, gender: str, date_of_birth: date, serial: int) -> str:
    """A well-formed national ID for test and demo data."""
    century = {1800: 8, 1900: 0, 2000: 2, 2100: 4, 2200: 6}[date_of_birth.year // 100 * 100]
    code = century + (1 if gender == "female" else 0)
    return f"{province:03d}{code}{date_of_birth.year % 100:02d}{serial % 1_000_000:06d}"


def mask_national_id(national_id: str) -> str:
    """What the API shows of a national ID: its last four digits (********1234)."""
    return "*" * 8 + national_id[-4:]


# --- cells ----------------------------------------------------------------------------------------

def require_cell(session: Session, code: str, *, field: str = "org_code") -> Org:
    """The active cell `code`, or a 422 naming `field`."""
    org = tree.get(session, code)
    if org is None:
        raise Problem(422, "Unknown organisation", f"organisation '{code}' is not known to this service",
                      errors={field: [f"Không có tổ chức '{code}'. / No organisation '{code}'."]})
    if not org.active:
        raise Problem(422, "Organisation no longer exists", f"organisation '{code}' was merged or dissolved",
                      errors={field: [f"Tổ chức '{code}' đã sáp nhập hoặc giải thể. / '{code}' was merged or "
                                      f"dissolved."]})
    if org.type not in tree.CELL_TYPES:
        raise Problem(422, "Not a cell", f"organisation '{code}' is a {org.type}, not a cell",
                      errors={field: [f"'{code}' không phải chi bộ. / '{code}' is not a cell."]})
    return org


# --- listing a candidate --------------------------------------------------------------------------

def list_candidate(session: Session, *, data: dict[str, Any], recorded_by: str,
                   visible: Callable[[str], bool]) -> Candidate:
    """Create a candidate at stage `source` and publish candidate.listed. `data` is a loaded
    CandidateCreate. Raises Problem(422) naming the fields that are wrong; nothing is written then.
    `visible(org_code)` tells whether the caller may see a candidate of that organisation."""
    errors = candidate_errors(session, data)
    if errors:
        raise Problem(422, "Invalid candidate", "invalid fields: " + ", ".join(sorted(errors)), errors=errors)
    candidate = new_candidate(data, recorded_by=recorded_by)
    add_listed(session, candidate, visible=visible)
    return candidate


def candidate_errors(session: Session, data: dict[str, Any], *, cells: dict[str, Org] | None = None
                     ) -> dict[str, list[str]]:
    """Every reason `data` cannot be listed, by field (used by the API and by the import, row by row)."""
    errors: dict[str, list[str]] = {}
    ident = national_id_problems(data["national_id"], date_of_birth=data["date_of_birth"], gender=data["gender"])
    if ident:
        errors["national_id"] = ident
    if data["date_of_birth"] >= data["listed_on"]:
        errors["date_of_birth"] = ["Ngày sinh phải trước ngày lập danh sách. / The date of birth must precede "
                                   "the listing date."]
    if data["listed_on"] > clock.today():
        errors["listed_on"] = ["Ngày lập danh sách không được ở tương lai. / The listing date cannot be in the "
                               "future."]
    code = data["org_code"]
    if cells is not None and code in cells:
        pass
    else:
        try:
            org = require_cell(session, code)
            if cells is not None:
                cells[code] = org
        except Problem as problem:
            errors.update(problem.errors)
    return errors


def open_candidate_with_national_id(session: Session, national_id: str) -> tuple[str, str] | None:
    """(id, org_code) of the open candidate with this national ID, if any."""
    row = session.execute(select(Candidate.id, Candidate.org_code).where(
        Candidate.national_id == national_id, Candidate.stage.notin_(CLOSED_STAGES)).limit(1)).first()
    return (row.id, row.org_code) if row else None


def candidate_row(data: dict[str, Any], *, recorded_by: str) -> dict[str, Any]:
    """The column values of a new candidate at stage `source` (a loaded CandidateCreate)."""
    return dict(
        id=str(uuid.uuid4()),
        full_name=" ".join(data["full_name"].split()),
        name_folded=fold(data["full_name"]),
        date_of_birth=data["date_of_birth"],
        gender=data["gender"],
        ethnicity=data["ethnicity"],
        religion=data.get("religion"),
        education_level=data.get("education_level"),
        occupation_group=data["occupation_group"],
        national_id=data["national_id"],
        youth_union_member=bool(data.get("youth_union_member")),
        helpers=list(data.get("helpers") or []),
        org_code=data["org_code"],
        stage="source",
        listed_on=data["listed_on"],
        last_transition_on=data["listed_on"],
        created_by=recorded_by,
    )


def new_candidate(data: dict[str, Any], *, recorded_by: str) -> Candidate:
    return Candidate(**candidate_row(data, recorded_by=recorded_by))


def add_listed(session: Session, candidate: Candidate, *, visible: Callable[[str], bool]) -> None:
    """Write a new candidate, its first history line and candidate.listed (same transaction)."""
    existing = open_candidate_with_national_id(session, candidate.national_id)
    if existing:
        raise _already_listed(*existing, visible=visible)
    session.add(candidate)
    try:
        session.flush()
    except IntegrityError as exc:  # listed by a concurrent request since the check above
        raise _already_listed(None, None, visible=visible) from exc
    session.add(Transition(candidate_id=candidate.id, kind="listing", from_stage=None, to_stage="source",
                           date=candidate.listed_on, org_code=candidate.org_code, evidence={}, warnings=[],
                           recorded_by=candidate.created_by))
    record_event(session, outbox=outbox, event_type=CANDIDATE_LISTED, source=EVENT_SOURCE, subject=candidate.id,
                 data={"candidate_id": candidate.id, "org_code": candidate.org_code,
                       "listed_on": candidate.listed_on})


def _already_listed(existing_id: str | None, org_code: str | None, *, visible: Callable[[str], bool]) -> Problem:
    # Which candidate, and where, only to a caller who may see that organisation: a national ID
    # must not reveal a person's record elsewhere in the country.
    where = f" (id {existing_id}, {org_code})" if existing_id and org_code and visible(org_code) else ""
    return Problem(409, "Candidate already listed", "a candidate with this national ID is already in the pipeline",
                   errors={"national_id": [f"Đã có trong danh sách{where}. / Already listed{where}."]})


# --- reading ----------------------------------------------------------------------------------------

def get_candidate(session: Session, candidate_id: str, *, for_update: bool = False) -> Candidate:
    query = select(Candidate).where(Candidate.id == candidate_id)
    if for_update:
        query = lock_rows(query)
    candidate = session.scalar(query)
    if candidate is None:
        raise Problem(404, "Not Found", f"no candidate '{candidate_id}'")
    return candidate


def record_read(session: Session, *, candidate: Candidate) -> None:
    """The full record (personal data: name, birth date, ethnicity, religion, the national ID's last
    digits, the whole history) was read: candidate.record_read names the reader
    (its actor) in the audit trail. Written in the read's own transaction, so an answer is
    never given without its trace."""
    record_event(session, outbox=outbox, event_type=CANDIDATE_RECORD_READ, source=EVENT_SOURCE,
                 subject=candidate.id, data={"candidate_id": candidate.id, "org_code": candidate.org_code})


def history(session: Session, candidate_id: str) -> dict[str, list]:
    transitions = session.scalars(select(Transition).where(Transition.candidate_id == candidate_id)
                                  .order_by(Transition.id)).all()
    transfers = session.scalars(select(Transfer).where(Transfer.candidate_id == candidate_id)
                                .order_by(Transfer.id)).all()
    return {"transitions": list(transitions), "transfers": list(transfers)}


def search(session: Session, *, org_code: str | None, stage: str | None = None,
           occupation_group: str | None = None, name: str | None = None, page: int = 1,
           per_page: int = 50) -> tuple[list[Candidate], int]:
    """Candidates in `org_code`'s subtree (all when None), filtered; returns a page and the total."""
    query = select(Candidate)
    if org_code is not None:
        condition = tree.subtree_condition(session, org_code)
        if condition is None:
            return [], 0
        query = query.where(condition)
    if stage:
        query = query.where(Candidate.stage == stage)
    if occupation_group:
        query = query.where(Candidate.occupation_group == occupation_group)
    if name and fold(name):
        query = query.where(Candidate.name_folded.contains(fold(name), autoescape=True))
    total = session.scalar(select(func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Candidate.name_folded, Candidate.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def funnel(session: Session, *, org_code: str) -> dict[str, int]:
    """How many candidates are at each stage in `org_code`'s subtree (every stage present, 0 if none)."""
    counts = dict.fromkeys(STAGES, 0)
    condition = tree.subtree_condition(session, org_code)
    rows = session.execute(select(Candidate.stage, func.count()).where(condition).group_by(Candidate.stage)).all()
    for stage, count in rows:
        counts[stage] = count
    return counts


# --- transfer -----------------------------------------------------------------------------------

def transfer(session: Session, *, candidate: Candidate, to_org_code: str, on: date,
             decision_number: str | None, recorded_by: str) -> Transfer:
    """Move an open candidate or a probationary member to another cell; the history stays with them."""
    if candidate.stage not in TRANSFERABLE_STAGES:
        raise Problem(409, "Cannot transfer", f"a candidate at stage '{candidate.stage}' is not transferred here",
                      errors={"stage": [f"Không chuyển được ở giai đoạn '{candidate.stage}'. / Not transferable "
                                        f"at stage '{candidate.stage}'."]}, type_="urn:chitieu:rule:pipeline")
    require_cell(session, to_org_code, field="to_org_code")
    if to_org_code == candidate.org_code:
        raise Problem(422, "Same organisation", "the candidate is already in this cell",
                      errors={"to_org_code": ["Đã ở chi bộ này. / Already in this cell."]})
    if on < candidate.last_transition_on or on > clock.today():
        raise Problem(422, "Invalid date", "the transfer date must lie between the last recorded change and today",
                      errors={"date": [f"Phải từ {candidate.last_transition_on} đến hôm nay. / Must be between "
                                       f"{candidate.last_transition_on} and today."]},
                      type_="urn:chitieu:rule:chronology")
    move = Transfer(candidate_id=candidate.id, from_org_code=candidate.org_code, to_org_code=to_org_code, date=on,
                    decision_number=decision_number, recorded_by=recorded_by)
    session.add(move)
    record_event(session, outbox=outbox, event_type=CANDIDATE_TRANSFERRED, source=EVENT_SOURCE,
                 subject=candidate.id, data={"candidate_id": candidate.id, "from_org_code": candidate.org_code,
                                             "to_org_code": to_org_code, "date": on})
    candidate.org_code = to_org_code
    candidate.last_transition_on = on
    session.flush()
    return move
