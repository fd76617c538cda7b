"""The pipeline of one candidate and its transitions:

    source → trained → applied → proposed → admitted (probationary) → official
    withdrawn / rejected from any stage before admission; removed during probation;
    a mistaken admission is revoked by a transition of its own (admitted → proposed).

`transition()` checks the move is allowed, that the evidence of the target stage is there, applies the
rules in force on the transition's date (rules.py), appends a history line (never rewritten) and writes
the events to the outbox, all in the caller's transaction. Refusals raise Problem naming the rule in
`type` (urn:chitieu:rule:<rule>) and the offending fields in `errors`; warnings are returned.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from sqlalchemy.orm import Session

from shared import clock
from shared.contracts import (CANDIDATE_ADMISSION_REVOKED, CANDIDATE_ADMITTED, CANDIDATE_CLOSED,
                              CANDIDATE_RECOGNISED_OFFICIAL, CANDIDATE_STAGE_CHANGED)
from shared.contracts.candidates import CLOSED_STAGES, STAGES
from shared.outbox import record_event
from shared.problems import Problem

from . import rules, tree
from .dates import full_months_between
from .models import Candidate, CellStrength, Transition, outbox
from .registry import EVENT_SOURCE, is_ethnic_minority, is_religious_follower

REVOKED = "revoked"  # a request target, not a stage: the candidate goes back to `proposed`

# Where each stage may go (request targets). Stages absent from the keys are final.
ALLOWED: dict[str, tuple[str, ...]] = {
    "source": ("trained", "withdrawn", "rejected"),
    "trained": ("applied", "withdrawn", "rejected"),
    "applied": ("proposed", "withdrawn", "rejected"),
    "proposed": ("admitted", "withdrawn", "rejected"),
    "admitted": ("official", "removed", REVOKED),
}
TARGETS = STAGES[1:] + (REVOKED,)  # every stage but the first, and the revocation


def stage_after(stage: str, target: str) -> str | None:
    """The stage a candidate reaches from `stage` with request `target`, or None if not allowed."""
    if target not in ALLOWED.get(stage, ()):
        return None
    return "proposed" if target == REVOKED else target


@dataclass
class Outcome:
    candidate: Candidate
    transition: Transition
    warnings: list[rules.Finding]


def _missing(field: str, target: str) -> Problem:
    return Problem(422, "Missing evidence", f"'{field}' is required for '{target}'",
                   errors={field: [f"Bắt buộc khi chuyển sang '{target}'. / Required for '{target}'."]})


def _refuse(findings: list[rules.Finding]) -> Problem:
    first = findings[0]
    errors: dict[str, list[str]] = {}
    for f in findings:
        errors.setdefault(f.field, []).append(f"[{f.rule}, {f.regulation}] {f.message}")
    return Problem(422, "Admission rule refused", f"rule '{first.rule}' ({first.regulation}): {first.message_en}",
                   errors=errors, type_=f"urn:chitieu:rule:{first.rule}")


def _unconfirmed(warnings: list[rules.Finding]) -> Problem:
    """Advisories the caller asked to see before anything is recorded (a page shows them for the
    person to confirm, then sends the request again with confirm_warnings true)."""
    errors: dict[str, list[str]] = {}
    for f in warnings:
        errors.setdefault(f.field, []).append(f"[{f.rule}, {f.regulation}] {f.message}")
    return Problem(409, "Advisory not confirmed", "advisory rule(s) did not hold: "
                   + ", ".join(f.rule for f in warnings) + "; send again with confirm_warnings true to record it",
                   errors=errors, type_="urn:chitieu:rule:advisory")


def transition(session: Session, *, candidate: Candidate, request: dict[str, Any], recorded_by: str,
               holidays: frozenset[date] = frozenset(), today: date | None = None,
               is_within: Callable[[str, str], bool] | None = None, events: list | None = None) -> Outcome:
    """Move `candidate` as `request` (a loaded TransitionRequest) asks; see the module docstring.
    A caller deciding many at once passes a memoised `is_within(code, ancestor)` (default:
    tree.is_within) and an `events` list to collect the events in, which it then writes to the outbox
    in their order with shared.outbox.record_events (default: each written at once)."""
    target, on = request["to"], request["date"]
    today = today or clock.today()
    new_stage = stage_after(candidate.stage, target)
    if new_stage is None:
        allowed = ", ".join(ALLOWED.get(candidate.stage, ())) or "none"
        raise Problem(409, "Transition not allowed",
                      f"rule 'pipeline': '{candidate.stage}' cannot go to '{target}' (allowed: {allowed})",
                      errors={"to": [f"Từ '{candidate.stage}' không chuyển sang '{target}' được (được phép: "
                                     f"{allowed}). / '{candidate.stage}' cannot go to '{target}' (allowed: "
                                     f"{allowed})."]},
                      type_="urn:chitieu:rule:pipeline")
    if on < candidate.last_transition_on or on > today:
        raise Problem(422, "Invalid date", "rule 'chronology': the date must lie between the last recorded change "
                      f"({candidate.last_transition_on}) and today",
                      errors={"date": [f"Phải từ {candidate.last_transition_on} đến hôm nay. / Must be between "
                                       f"{candidate.last_transition_on} and today."]},
                      type_="urn:chitieu:rule:chronology")

    within = is_within or (lambda code, ancestor: tree.is_within(session, code, ancestor))
    evidence, findings = _check(session, candidate, request, target, on, holidays, within)
    refusals = [f for f in findings if f.severity == rules.REFUSE]
    if refusals:
        raise _refuse(refusals)
    warnings = [f for f in findings if f.severity == rules.WARN]
    if warnings and request.get("confirm_warnings") is False:
        raise _unconfirmed(warnings)

    old_stage, admission_date = candidate.stage, candidate.admission_date
    _apply(candidate, request, target, new_stage, on)
    line = Transition(candidate_id=candidate.id, kind="revocation" if target == REVOKED else "transition",
                      from_stage=old_stage, to_stage=new_stage, date=on,
                      decision_number=request.get("decision_number"),
                      deciding_org_code=request.get("deciding_org_code"), org_code=candidate.org_code,
                      evidence=evidence, warnings=[w.to_dict() for w in warnings], recorded_by=recorded_by)
    session.add(line)
    session.flush()
    _publish(session, candidate, request, old_stage, target, on, revoked_admission_date=admission_date,
             events=events)
    return Outcome(candidate, line, warnings)


def _check(session: Session, candidate: Candidate, request: dict[str, Any], target: str, on: date,
           holidays: frozenset[date], within: Callable[[str, str], bool]) -> tuple[dict[str, Any], list[rules.Finding]]:
    """The evidence to keep in the history line, and the rules that did not hold."""
    findings: list[rules.Finding | None] = []
    evidence: dict[str, Any] = {}
    if target in ("proposed", "admitted", "official", "removed") and not request.get("decision_number"):
        raise _missing("decision_number", target)
    if target in ("admitted", "official"):
        deciding = request.get("deciding_org_code")
        if not deciding:
            raise _missing("deciding_org_code", target)
        if not within(candidate.org_code, deciding):
            raise Problem(422, "Invalid deciding organisation",
                          f"'{deciding}' is not the cell or one of its superior committees",
                          errors={"deciding_org_code": [f"'{deciding}' không phải cấp ủy của chi bộ. / '{deciding}' "
                                                        f"is not a committee above the cell."]})

    if target == "trained":
        cert = request.get("training_certificate_date") or on
        if cert > on:
            raise Problem(422, "Invalid certificate date", "the certificate cannot postdate the transition",
                          errors={"training_certificate_date": ["Sau ngày chuyển. / After the transition date."]})
        evidence.update(training_certificate_date=cert.isoformat(),
                        training_certificate_number=request.get("training_certificate_number"))
        findings.append(rules.check_training_certificate(certificate_date=cert, on=on))
    elif target == "applied":
        introducers = request.get("introducers") or []
        official = sum(1 for i in introducers if i.get("official_member"))
        yu = request.get("youth_union_resolution")
        evidence.update(introducers=introducers, youth_union_resolution=yu)
        findings.append(rules.check_introducers(official_introducers=official, youth_union_resolution=bool(yu),
                                                youth_union_member=candidate.youth_union_member, on=on))
    elif target == "proposed":
        # The cell considers admission on this date: age and certificate are judged on it.
        cert = request.get("training_certificate_date") or candidate.training_certificate_date
        if request.get("training_certificate_date"):  # a class retaken after the first certificate expired
            evidence["training_certificate_date"] = cert.isoformat()
        findings.append(rules.check_age_minimum(date_of_birth=candidate.date_of_birth, on=on))
        findings.append(rules.check_age_maximum(date_of_birth=candidate.date_of_birth, on=on))
        findings.append(rules.check_training_certificate(certificate_date=cert, on=on))
        strength = session.get(CellStrength, candidate.org_code)
        findings.append(rules.check_cell_strength(official_members=strength.official_members if strength else None,
                                                  on=on))
    elif target == "admitted":
        findings.append(rules.check_decision_deadline(resolution_date=candidate.cell_resolution_date, on=on,
                                                      holidays=holidays))
    elif target == "official":
        findings.append(rules.check_probation(admission_date=candidate.admission_date, on=on))
    elif target == REVOKED:
        if not request.get("reason"):
            raise _missing("reason", target)
    if request.get("reason"):
        evidence["reason"] = request["reason"]
    return evidence, [f for f in findings if f is not None]


def _apply(candidate: Candidate, request: dict[str, Any], target: str, new_stage: str, on: date) -> None:
    if target == "trained":
        candidate.training_certificate_date = request.get("training_certificate_date") or on
        candidate.training_certificate_number = request.get("training_certificate_number")
    elif target == "proposed":
        candidate.cell_resolution_date = on
        if request.get("training_certificate_date"):
            candidate.training_certificate_date = request["training_certificate_date"]
    elif target == "admitted":
        candidate.admission_date = on
        candidate.admission_decision_number = request["decision_number"]
    elif target == "official":
        candidate.official_date = on
    elif target == REVOKED:
        # The history line keeps the admission; the candidate is back before the decision.
        candidate.admission_date = None
        candidate.admission_decision_number = None
    candidate.stage = new_stage
    candidate.last_transition_on = on


def _publish(session: Session, candidate: Candidate, request: dict[str, Any], old_stage: str, target: str,
             on: date, *, revoked_admission_date: date | None, events: list | None = None) -> None:
    def emit(event_type, data):
        if events is not None:
            events.append((event_type, data, EVENT_SOURCE, candidate.id))
            return
        record_event(session, outbox=outbox, event_type=event_type, data=data, source=EVENT_SOURCE,
                     subject=candidate.id)

    base = {"candidate_id": candidate.id, "org_code": candidate.org_code}
    emit(CANDIDATE_STAGE_CHANGED, {**base, "from_stage": old_stage, "to_stage": candidate.stage, "date": on,
                                   "decision_number": request.get("decision_number")})
    if target == "admitted":
        emit(CANDIDATE_ADMITTED, {**base, "admission_date": on, "decision_number": request["decision_number"],
                                  "deciding_org_code": request["deciding_org_code"],
                                  "attributes": admission_attributes(candidate, on)})
    elif target == REVOKED:
        emit(CANDIDATE_ADMISSION_REVOKED, {**base, "admission_date": revoked_admission_date,
                                           "revoked_on": on, "reason": request["reason"]})
    elif target == "official":
        emit(CANDIDATE_RECOGNISED_OFFICIAL, {**base, "date": on, "decision_number": request["decision_number"]})
    elif target in CLOSED_STAGES:
        emit(CANDIDATE_CLOSED, {**base, "outcome": target, "date": on})


def admission_attributes(candidate: Candidate, on: date) -> dict[str, Any]:
    """What the quota service measures composition on; no personal identifiers."""
    return {
        "gender": candidate.gender,
        "ethnic_minority": is_ethnic_minority(candidate.ethnicity),
        "occupation_group": candidate.occupation_group,
        "age_years": full_months_between(candidate.date_of_birth, on) // 12,
        "education_level": candidate.education_level,
        "youth_union_member": bool(candidate.youth_union_member),
        "religious_follower": is_religious_follower(candidate.religion),
    }
