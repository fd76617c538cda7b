"""Corrections of a candidate's identity (PATCH /candidates/{id}): a misspelt name, a wrong date of birth.

- A correction sets the fields it names; it is written as a history line (kind `correction`, the
  reason, each field's old and new value, national IDs masked, who made it) in the same transaction.
  Fields already holding the asked value are not changes: the same correction sent twice writes one line.
- The rules the corrected fields affect are judged again on the dates they were judged: the national
  ID against date of birth and gender, the date of birth against the listing date and (once the cell
  has passed its resolution) the age on the resolution's date, a Youth Union membership withdrawn
  against an application introduced by the Youth Union. A refusing rule refuses the correction (422,
  naming the rule and field); an advisory comes back as a warning and stays in the line.
- Nothing counted is rewritten silently: the quota service counted each admission with the attributes
  candidate.admitted carried (pipeline.admission_attributes: gender, ethnic minority, occupation
  group, age on the admission date, education, Youth Union membership, religious follower). A correction that would change them for an admitted or official member is refused (409,
  `urn:chitieu:rule:counted_admission`): the way to change what was counted is the one that already
  carries events the quota service applies: revoke the admission (its reason: the correction), correct,
  record the decision again. Fields outside the attributes (a name, a date of birth that leaves the age
  in years unchanged) are corrected at any stage.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shared import clock
from shared.contracts.candidates import CLOSED_STAGES, MEMBER_STAGES
from shared.problems import Problem

from . import rules
from .models import Candidate, Transition
from .pipeline import admission_attributes
from .registry import fold, mask_national_id, national_id_problems, open_candidate_with_national_id

FIELDS = ("full_name", "date_of_birth", "gender", "ethnicity", "religion", "education_level", "occupation_group",
          "national_id", "youth_union_member", "helpers")


@dataclass
class Correction:
    candidate: Candidate
    line: Transition | None  # None when every field already held the asked value
    warnings: list[rules.Finding]


def correct(session: Session, *, candidate: Candidate, changes: dict[str, Any], reason: str, recorded_by: str,
            visible: Callable[[str], bool], today: date | None = None) -> Correction:
    """Apply `changes` (a loaded CandidateCorrection without `reason`) to a candidate locked by the caller;
    see the module docstring. Raises Problem and writes nothing when a rule refuses."""
    if "full_name" in changes:
        changes["full_name"] = " ".join(changes["full_name"].split())
    if "helpers" in changes:
        changes["helpers"] = list(changes["helpers"])
    diff = {f: v for f, v in changes.items() if f in FIELDS and getattr(candidate, f) != v}
    if not diff:
        return Correction(candidate, None, [])
    after = {f: diff.get(f, getattr(candidate, f)) for f in FIELDS}

    errors: dict[str, list[str]] = {}
    if {"national_id", "date_of_birth", "gender"} & set(diff):
        problems = national_id_problems(after["national_id"], date_of_birth=after["date_of_birth"],
                                        gender=after["gender"])
        if problems:
            errors["national_id"] = problems
    if after["date_of_birth"] >= candidate.listed_on:
        errors["date_of_birth"] = ["Ngày sinh phải trước ngày lập danh sách. / The date of birth must precede "
                                   "the listing date."]
    if errors:
        raise Problem(422, "Invalid correction", "invalid fields: " + ", ".join(sorted(errors)), errors=errors)

    findings = _rules_again(session, candidate, diff, after)
    refusals = [f for f in findings if f.severity == rules.REFUSE]
    if refusals:
        first = refusals[0]
        raise Problem(422, "Admission rule refused", f"rule '{first.rule}' ({first.regulation}): {first.message_en}",
                      errors={f.field: [f"[{f.rule}, {f.regulation}] {f.message}"] for f in refusals},
                      type_=f"urn:chitieu:rule:{first.rule}")
    _keep_counted(candidate, after)
    if "national_id" in diff and candidate.stage not in CLOSED_STAGES:
        existing = open_candidate_with_national_id(session, diff["national_id"])
        if existing and existing[0] != candidate.id:
            where = f" (id {existing[0]}, {existing[1]})" if visible(existing[1]) else ""
            raise Problem(409, "Candidate already listed", "an open candidate with this national ID exists",
                          errors={"national_id": [f"Đã có trong danh sách{where}. / Already listed{where}."]})

    warnings = [f for f in findings if f.severity == rules.WARN]
    line = Transition(candidate_id=candidate.id, kind="correction", from_stage=candidate.stage,
                      to_stage=candidate.stage, date=today or clock.today(), org_code=candidate.org_code,
                      evidence={"reason": reason, "changes": {f: {"from": _shown(f, getattr(candidate, f)),
                                                                  "to": _shown(f, v)} for f, v in diff.items()}},
                      warnings=[w.to_dict() for w in warnings], recorded_by=recorded_by)
    for f, v in diff.items():
        setattr(candidate, f, v)
    if "full_name" in diff:
        candidate.name_folded = fold(diff["full_name"])
    session.add(line)
    try:
        session.flush()  # the partial unique index on open national IDs judges a concurrent twin here
    except IntegrityError as exc:
        raise Problem(409, "Candidate already listed", "an open candidate with this national ID exists",
                      errors={"national_id": ["Đã có trong danh sách. / Already listed."]}) from exc
    return Correction(candidate, line, warnings)


def _rules_again(session: Session, candidate: Candidate, diff: dict[str, Any], after: dict[str, Any]) -> list[rules.Finding]:
    """The rules a recorded step was judged on that the corrected fields feed, on that step's date."""
    findings: list[rules.Finding | None] = []
    resolution = candidate.cell_resolution_date
    if "date_of_birth" in diff and resolution is not None:
        findings.append(rules.check_age_minimum(date_of_birth=after["date_of_birth"], on=resolution))
        findings.append(rules.check_age_maximum(date_of_birth=after["date_of_birth"], on=resolution))
    if diff.get("youth_union_member") is False and candidate.stage not in ("source", "trained"):
        # An application introduced with the Youth Union's resolution needed the membership.
        application = _application_evidence(session, candidate)
        if application is not None:
            official = sum(1 for i in application.get("introducers") or [] if i.get("official_member"))
            findings.append(rules.check_introducers(
                official_introducers=official, youth_union_resolution=bool(application.get("youth_union_resolution")),
                youth_union_member=False, on=application["date"]))
    return [f for f in findings if f is not None]


def _application_evidence(session: Session, candidate: Candidate) -> dict[str, Any] | None:
    line = session.scalars(select(Transition).where(
        Transition.candidate_id == candidate.id, Transition.to_stage == "applied", Transition.kind == "transition")
        .order_by(Transition.id.desc()).limit(1)).first()
    return None if line is None else {**(line.evidence or {}), "date": line.date}


def _keep_counted(candidate: Candidate, after: dict[str, Any]) -> None:
    """Refuse (409) a correction that changes what the quota service counted for this member."""
    if candidate.stage not in MEMBER_STAGES or candidate.admission_date is None:
        return
    before = admission_attributes(candidate, candidate.admission_date)
    corrected = admission_attributes(Candidate(**{**{f: getattr(candidate, f) for f in FIELDS}, **after}),
                                     candidate.admission_date)
    changed = sorted(k for k in before if before[k] != corrected[k])
    if not changed:
        return
    # The candidate's field each attribute comes from (an attribute named as its field is not listed).
    fields_ = {"ethnic_minority": "ethnicity", "age_years": "date_of_birth", "religious_follower": "religion"}
    message = ("Đảng viên này đã được tính vào tiến độ chỉ tiêu với thông tin cũ. Hãy hủy quyết định kết nạp "
               "(lý do: đính chính), đính chính rồi ghi lại quyết định. / This member was counted toward the quota "
               "with the old value: revoke the admission (reason: the correction), correct, then record the "
               "decision again.")
    raise Problem(409, "Correction would change a counted admission",
                  f"the admission was counted with {', '.join(changed)}; revoke it first",
                  errors={fields_.get(k, k): [message] for k in changed}, type_="urn:chitieu:rule:counted_admission")


def _shown(field: str, value: Any) -> Any:
    """A value as the history keeps it: dates as ISO text, national IDs masked."""
    if field == "national_id" and value:
        return mask_national_id(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
