"""The admissions ledger: admissions and revocations applied to the ledger and the counters.

An admission counts once toward the organisation where it happened and every ancestor, in the
tree in force on the admission date, for every period containing that date (see periods.py).
`apply_changes` handles a list of admissions and revocations in one transaction (one record, or a
whole poll of them); it runs inside the transaction that marks the events processed, so it
happens exactly once. The ledger is also idempotent by itself, by event id: an admission or
revocation whose event is already in it changes nothing, so a replay older than the
processed-events retention counts nothing twice.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from shared import tracing
from shared.bulk import insert_many
from shared.consumer import PoisonEvent

from . import counters, daily
from .counters import FIELDS, Key
from .milestones import Step, emit_crossed
from .models import ATTRIBUTES, Admission, CountedTerm
from .periods import Period, periods_of
from .tree import CachedTree, _Tree, lock_tree

CHUNK = 1000  # event ids per IN list


@dataclass(frozen=True)
class AdmissionChange:
    event_id: str
    candidate_id: str
    org_code: str
    admission_date: date
    flags: dict[str, bool]
    # The trace of the event that made the change: a milestone it reaches is announced in it.
    trace: tracing.TraceContext | None = None


@dataclass(frozen=True)
class RevocationChange:
    event_id: str
    candidate_id: str
    admission_date: date
    revoked_on: date
    trace: tracing.TraceContext | None = None


@dataclass(frozen=True)
class Applied:
    """What one apply did: the events it was given, and the counters it changed."""

    event_ids: frozenset[str]
    keys: list[Key]


def flags_of(attributes: dict) -> dict[str, bool]:
    """The composition attributes of an admitted person (from candidate.admitted's attributes)."""
    return {
        "student": attributes["occupation_group"] == "student",
        "non_state_enterprise": attributes["occupation_group"] == "non_state_enterprise",
        "woman": attributes["gender"] == "female",
        "ethnic_minority": bool(attributes["ethnic_minority"]),
        "under_30": int(attributes["age_years"]) < 30,
        # Carried since candidate.admitted v1 gained them; older events say nothing: not counted.
        "youth_union": bool(attributes.get("youth_union_member")),
        "religious": bool(attributes.get("religious_follower")),
    }


def admission_from(event, data: dict) -> AdmissionChange:
    return AdmissionChange(event.id, data["candidate_id"], data["org_code"], data["admission_date"],
                           flags_of(data["attributes"]), tracing.continued(event.traceparent, event.tracestate))


def revocation_from(event, data: dict) -> RevocationChange:
    return RevocationChange(event.id, data["candidate_id"], data["admission_date"], data["revoked_on"],
                            tracing.continued(event.traceparent, event.tracestate))


def apply_changes(session: Session, *, changes: list, tree: CachedTree | _Tree | None = None) -> Applied:
    """Apply admissions and revocations (in their order) to the ledger, counters and milestones;
    returns the counters changed, for the Redis projection."""
    lock_tree(session)
    if tree is None:
        tree = CachedTree()
    if isinstance(tree, CachedTree):
        tree.refresh(session)
    lookups = _Lookups(tree, frozenset(session.execute(select(CountedTerm.period)).scalars()))
    known = _known_events(session, changes)
    keys: set[Key] = set()
    for run in _runs([c for c in changes if c.event_id not in known]):
        keys.update(_apply_run(session, run, lookups))
    return Applied(frozenset(c.event_id for c in changes), sorted(keys))


def keys_of_events(session: Session, event_ids: list[str]) -> set[Key]:
    """The counters the ledger says these events (admissions or revocations) changed."""
    out: set[Key] = set()
    rest = set(event_ids)
    for column in (Admission.event_id, Admission.revoke_event_id):  # the first is indexed: most are found there
        wanted = sorted(rest)
        for i in range(0, len(wanted), CHUNK):
            for event_id, orgs, periods in session.execute(select(
                    column, Admission.counted_orgs, Admission.counted_periods).where(column.in_(wanted[i:i + CHUNK]))):
                rest.discard(event_id)
                out.update(counted_keys(orgs, periods))
    return out


def _known_events(session: Session, changes: list) -> set[str]:
    """The event ids of `changes` already in the ledger (admissions by event_id, which is indexed;
    revocations, rare, by revoke_event_id)."""
    out: set[str] = set()
    for kind, column in ((AdmissionChange, Admission.event_id), (RevocationChange, Admission.revoke_event_id)):
        ids = [c.event_id for c in changes if isinstance(c, kind)]
        for i in range(0, len(ids), CHUNK):
            out.update(session.execute(select(column).where(column.in_(ids[i:i + CHUNK]))).scalars())
    return out


def _runs(changes: list):
    """The changes cut, in order, into runs where each person's admission comes before any other
    change of that person: a run's admissions are inserted together, then walked in order, so
    admit / revoke / admit of one person (a corrected decision) takes two runs. A poll of
    different people, the usual case, is one run."""
    run: list = []
    seen: set[str] = set()
    for change in changes:
        if isinstance(change, AdmissionChange) and change.candidate_id in seen:
            yield run
            run, seen = [], set()
        run.append(change)
        seen.add(change.candidate_id)
    if run:
        yield run


class _Lookups:
    """Within a poll the same cells, dates and chains come back again and again: their lookups,
    their key lists and their JSON are computed once (the lists are shared, never mutated)."""

    def __init__(self, tree, extra_terms: frozenset[str]):
        self.tree, self.extra_terms = tree, extra_terms
        self.chains: dict[tuple[str, date], list[str]] = {}
        self.periods_by_day: dict[date, list[str]] = {}
        self.keys_of: dict[tuple[tuple[str, ...], tuple[str, ...]], tuple[list[Key], str, str]] = {}

    def keys(self, org_code: str, day: date) -> tuple[list[Key], str, str]:
        """The (org, period) keys an admission in `org_code` on `day` counts toward, and the JSON
        of its organisations and periods for the ledger."""
        orgs = self.chains.get((org_code, day))
        if orgs is None:
            orgs = self.chains[(org_code, day)] = self.tree.chain(org_code, day)
        periods = self.periods_by_day.get(day)
        if periods is None:
            periods = self.periods_by_day[day] = periods_of(day, self.extra_terms)
        cached = self.keys_of.get((tuple(orgs), tuple(periods)))
        if cached is None:
            cached = self.keys_of[(tuple(orgs), tuple(periods))] = (
                [(org, period) for org in orgs for period in periods], json.dumps(orgs), json.dumps(periods))
        return cached


def _apply_run(session: Session, run: list, lookups: _Lookups) -> set[Key]:
    new_rows, keys_by_event = [], {}
    for change in run:
        if not isinstance(change, AdmissionChange):
            continue
        keys, orgs_json, periods_json = lookups.keys(change.org_code, change.admission_date)
        keys_by_event[change.event_id] = keys
        new_rows.append({"event_id": change.event_id, "candidate_id": change.candidate_id,
                         "org_code": change.org_code, "admission_date": change.admission_date,
                         "counted_orgs": orgs_json, "counted_periods": periods_json, **change.flags})
    # A person already counted (an open admission, under another event id) is left alone.
    inserted = {event_id for (event_id,) in insert_many(
        session, Admission.__table__, new_rows, ignore=("candidate_id",), ignore_where="revoked_on IS NULL",
        returning=("event_id",))}

    # In event order: (keys, sign, flags, date, admission date, trace) for the counters and milestones.
    steps: list[tuple[list[Key], int, dict, date, date, tracing.TraceContext | None]] = []
    for change in run:
        if isinstance(change, AdmissionChange):
            if change.event_id in inserted:
                steps.append((keys_by_event[change.event_id], 1, change.flags, change.admission_date,
                              change.admission_date, change.trace))
        else:
            step = _revoke(session, change)
            if step is not None:
                steps.append(step)
    if not steps:
        return set()
    _count(session, steps)
    return {key for step_keys, *_ in steps for key in step_keys}


def counted_keys(counted_orgs: str, counted_periods: str) -> list[Key]:
    periods = json.loads(counted_periods)
    return [(org, period) for org in json.loads(counted_orgs) for period in periods]


def _revoke(session: Session, change: RevocationChange):
    # The person's open admission of that date; autoflush makes this run's insertions visible.
    of_that_day = (Admission.candidate_id == change.candidate_id, Admission.admission_date == change.admission_date)
    admission = session.execute(select(Admission).where(*of_that_day, Admission.revoked_on.is_(None))
                                .with_for_update()).scalar()
    if admission is None:
        if session.execute(select(Admission.id).where(*of_that_day).limit(1)).first() is not None:
            return None  # already taken back (under another event id)
        raise PoisonEvent(f"no admission of candidate {change.candidate_id} on {change.admission_date}")
    session.execute(update(Admission).where(Admission.id == admission.id).values(
        revoked_on=change.revoked_on, revoke_event_id=change.event_id))
    keys = counted_keys(admission.counted_orgs, admission.counted_periods)
    flags = {a: bool(getattr(admission, a)) for a in ATTRIBUTES}
    return keys, -1, flags, change.revoked_on, admission.admission_date, change.trace


def _count(session: Session, steps: list[tuple[list[Key], int, dict, date, date, tracing.TraceContext | None]]
           ) -> None:
    # Steps sharing one key list (the same chain and periods) and date are summed first, then
    # spread on their keys: a poll touches a few hundred chains, not thousands of keys per admission.
    by_list: dict[tuple[int, date], tuple[list[Key], dict[str, int]]] = {}
    for step_keys, sign, flags, _day, admitted_on, _trace in steps:
        entry = by_list.get((id(step_keys), admitted_on))
        if entry is None:
            entry = by_list[(id(step_keys), admitted_on)] = (step_keys, dict.fromkeys(FIELDS, 0))
        sums = entry[1]
        sums["admitted"] += sign
        for attribute, on in flags.items():
            if on:
                sums[attribute] += sign
    totals: dict[Key, dict[str, int]] = {}
    days: dict[daily.DayKey, dict[str, int]] = {}
    for (_, admitted_on), (step_keys, sums) in by_list.items():
        for org in dict.fromkeys(org for org, _period in step_keys):
            row = days.setdefault((org, admitted_on), dict.fromkeys(FIELDS, 0))
            for field, value in sums.items():
                row[field] += value
        for key in step_keys:
            row = totals.get(key)
            if row is None:
                totals[key] = dict(sums)
            else:
                for field, value in sums.items():
                    row[field] += value
    after = counters.add(session, totals)
    daily.add(session, days)
    crossed: list[Step] = [(step_keys, sign, day, trace) for step_keys, sign, _flags, day, _on, trace in steps]
    emit_crossed(session, steps=crossed, before={key: after[key] - totals[key]["admitted"] for key in totals})


def backfill_term(session: Session, *, term: Period) -> None:
    """Count a newly named term from the ledger: each admission inside it counts toward the term
    for the same organisations it counted toward in its year. Redis gets the term's figures from
    projection.ProgressStore.copy_period once this transaction has committed."""
    lock_tree(session, exclusive=True)
    admissions = session.execute(select(Admission).where(
        Admission.admission_date >= term.start, Admission.admission_date < term.end)).scalars().all()
    sums: dict[Key, dict[str, int]] = {}
    for admission in admissions:
        periods = json.loads(admission.counted_periods)
        if term.code in periods:
            continue
        admission.counted_periods = json.dumps(periods + [term.code])
        if admission.revoked_on is not None:
            continue
        for org in json.loads(admission.counted_orgs):
            row = sums.setdefault((org, term.code), dict.fromkeys(FIELDS, 0))
            row["admitted"] += 1
            for attribute in ATTRIBUTES:
                row[attribute] += int(bool(getattr(admission, attribute)))
    session.flush()
    if sums:
        counters.add(session, sums)
