"""Progress: admissions applied to the ledger and the counters, milestones, and the report.

An admission counts once toward the organisation where it happened and every ancestor, in the
tree in force on the admission date, for every period containing that date (see periods.py).
`apply_changes` handles a list of admissions and revocations in one transaction (one record, or a
whole poll of them); it runs inside the transaction that marks the events processed, so it
happens exactly once. Milestones (50%, 75%, met, exceeded) are rows with a UNIQUE key: the one
transaction that inserts the row writes the event, whatever else is redelivered or runs in parallel.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterable

from sqlalchemy import select, tuple_, update
from sqlalchemy.orm import Session

from shared.bulk import insert_many
from shared.consumer import PoisonEvent
from shared.contracts import QUOTA_EXCEEDED, QUOTA_MET, QUOTA_MILESTONE_REACHED, build_event

from .models import (ATTRIBUTES, Admission, CountedTerm, Milestone, Organization,
                     ProgressCounter, Quota, outbox)
from .periods import Period, periods_of
from .tree import CachedTree, _Tree, lock_tree

SOURCE = "/quota"
FIELDS = ("admitted",) + ATTRIBUTES
# Milestone kinds in the order they are reached, with the test "admitted reaches it".
MILESTONES: tuple[tuple[str, object], ...] = (
    ("50", lambda admitted, target: admitted * 100 >= 50 * target),
    ("75", lambda admitted, target: admitted * 100 >= 75 * target),
    ("met", lambda admitted, target: admitted >= target),
    ("exceeded", lambda admitted, target: admitted > target),
)
Key = tuple[str, str]  # (org_code, period)


@dataclass(frozen=True)
class AdmissionChange:
    event_id: str
    candidate_id: str
    org_code: str
    admission_date: date
    flags: dict[str, bool]


@dataclass(frozen=True)
class RevocationChange:
    event_id: str
    candidate_id: str
    admission_date: date
    revoked_on: date


def flags_of(attributes: dict) -> dict[str, bool]:
    """The composition attributes of an admitted person (from candidate.admitted's attributes)."""
    return {
        "student": attributes["occupation_group"] == "student",
        "non_state_enterprise": attributes["occupation_group"] == "non_state_enterprise",
        "woman": attributes["gender"] == "female",
        "ethnic_minority": bool(attributes["ethnic_minority"]),
        "under_30": int(attributes["age_years"]) < 30,
    }


def admission_from(event, data: dict) -> AdmissionChange:
    return AdmissionChange(event.id, data["candidate_id"], data["org_code"], data["admission_date"],
                           flags_of(data["attributes"]))


def revocation_from(event, data: dict) -> RevocationChange:
    return RevocationChange(event.id, data["candidate_id"], data["admission_date"], data["revoked_on"])


def percent_of_plan(admitted: int, target: int | None) -> Decimal | None:
    """As the press prints it: 1,732 against 1,500 is 115.47 (ROUND_HALF_UP, 2 decimals)."""
    if not target:
        return None
    return (Decimal(admitted) * 100 / Decimal(target)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Delta:
    """What one event added to the counters: Redis applies the same, once per event id."""

    event_id: str
    sign: int  # +1 admission, -1 revocation
    keys: list[Key]
    fields: list[str]  # "admitted" and the attributes the person has


def apply_changes(session: Session, *, changes: list, tree: CachedTree | _Tree | None = None) -> list[Delta]:
    """Apply admissions and revocations (in their order) to the ledger, counters and milestones;
    returns what each applied event added, for the Redis projection."""
    lock_tree(session)
    if tree is None:
        tree = CachedTree()
    if isinstance(tree, CachedTree):
        tree.refresh(session)
    lookups = _Lookups(tree, frozenset(session.execute(select(CountedTerm.period)).scalars()))
    deltas: list[Delta] = []
    for run in _runs(changes):
        deltas += _apply_run(session, run, lookups)
    return deltas


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


def _apply_run(session: Session, run: list, lookups: _Lookups) -> list[Delta]:
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

    # In event order: (event id, keys, sign, flags, date) for the counters and milestones.
    steps: list[tuple[str, list[Key], int, dict, date]] = []
    for change in run:
        if isinstance(change, AdmissionChange):
            if change.event_id in inserted:
                steps.append((change.event_id, keys_by_event[change.event_id], 1, change.flags,
                              change.admission_date))
        else:
            step = _revoke(session, change)
            if step is not None:
                steps.append(step)
    if steps:
        _count(session, steps)
    return [Delta(event_id, sign, keys, ["admitted"] + [a for a, on in flags.items() if on])
            for event_id, keys, sign, flags, _ in steps]


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
    return change.event_id, keys, -1, flags, change.revoked_on


def _count(session: Session, steps: list[tuple[str, list[Key], int, dict, date]]) -> None:
    # Steps sharing one key list (the same chain and periods) are summed first, then spread on
    # their keys: a poll touches a few hundred chains, not thousands of keys per admission.
    by_list: dict[int, tuple[list[Key], dict[str, int]]] = {}
    for _id, step_keys, sign, flags, _day in steps:
        entry = by_list.get(id(step_keys))
        if entry is None:
            entry = by_list[id(step_keys)] = (step_keys, dict.fromkeys(FIELDS, 0))
        sums = entry[1]
        sums["admitted"] += sign
        for attribute, on in flags.items():
            if on:
                sums[attribute] += sign
    totals: dict[Key, dict[str, int]] = {}
    for step_keys, sums in by_list.values():
        for key in step_keys:
            row = totals.get(key)
            if row is None:
                totals[key] = dict(sums)
            else:
                for field, value in sums.items():
                    row[field] += value
    keys = sorted(totals)
    after = _add_to_counters(session, keys, totals)
    quotas = _quotas_for(session, keys)
    if not quotas:
        return
    # Replay the steps from the counts before this batch to find which admission crossed a line;
    # `need` is the count at which a key's next milestone not yet emitted is reached.
    emitted = _emitted_for(session, list(quotas))
    running = {key: after[key] - totals[key]["admitted"] for key in quotas}
    need = {key: _next_line(target, emitted.get(key, set())) for key, target in quotas.items()}
    reached: list[tuple[Key, str, int, int, date]] = []
    for _id, step_keys, sign, _flags, day in steps:
        for key in step_keys:
            count = running.get(key)
            if count is None:
                continue
            count = running[key] = count + sign
            if sign > 0 and count >= need[key]:
                target = quotas[key]
                done = emitted.setdefault(key, set())
                for kind, test in MILESTONES:
                    if kind not in done and test(count, target):
                        done.add(kind)
                        reached.append((key, kind, count, target, day))
                need[key] = _next_line(target, done)
    _emit(session, reached)


def _next_line(target: int, done: set[str]) -> float:
    """The smallest count reaching a milestone not in `done` (infinite when none is left). Each
    test is monotonic in the count and every one holds at target + 1, so a bisection finds it."""
    if target <= 0:
        return float("inf")
    best = float("inf")
    for kind, test in MILESTONES:
        if kind in done:
            continue
        low, high = 0, target + 1  # test(high) holds
        while low < high:
            middle = (low + high) // 2
            if test(middle, target):
                high = middle
            else:
                low = middle + 1
        best = min(best, low)
    return best


def _add_to_counters(session: Session, keys: list[Key], totals: dict[Key, dict[str, int]]) -> dict[Key, int]:
    """Add the batch's totals to the counters, one upsert per chunk in key order (two replicas
    lock rows in the same order); returns each counter's admitted after the addition."""
    rows = insert_many(session, ProgressCounter.__table__,
                       [{"org_code": org, "period": period, **totals[(org, period)]} for org, period in keys],
                       conflict=("org_code", "period"), add=FIELDS, returning=("org_code", "period", "admitted"))
    return {(org, period): admitted for org, period, admitted in rows}


def _quotas_for(session: Session, keys: list[Key]) -> dict[Key, int]:
    out: dict[Key, int] = {}
    for chunk in _chunks(keys, 400):
        for org, period, target in session.execute(select(Quota.org_code, Quota.period, Quota.target).where(
                tuple_(Quota.org_code, Quota.period).in_(chunk))):
            out[(org, period)] = target
    return out


def _emitted_for(session: Session, keys: list[Key]) -> dict[Key, set[str]]:
    out: dict[Key, set[str]] = {}
    for chunk in _chunks(keys, 400):
        for org, period, kind in session.execute(select(Milestone.org_code, Milestone.period, Milestone.kind).where(
                tuple_(Milestone.org_code, Milestone.period).in_(chunk))):
            out.setdefault((org, period), set()).add(kind)
    return out


def _chunks(items: list, size: int) -> Iterable[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _emit(session: Session, reached: list[tuple[Key, str, int, int, date]]) -> None:
    """Insert the milestone rows reached; only the transaction whose insert lands writes the
    event (the UNIQUE (org, period, kind) decides between replicas and redeliveries)."""
    if not reached:
        return
    rows = [{"org_code": org, "period": period, "kind": kind, "admitted": admitted, "target": target,
             "reached_on": day} for (org, period), kind, admitted, target, day in reached]
    inserted = {tuple(r) for r in insert_many(session, Milestone.__table__, rows, ignore=("org_code", "period", "kind"),
                                              returning=("org_code", "period", "kind"))}
    if not inserted:
        return
    codes = list({org for org, _, _ in inserted})
    orgs = {o.code: o for o in session.execute(select(Organization).where(Organization.code.in_(codes))).scalars()}
    assigners = dict(((org, period), assigner) for org, period, assigner in session.execute(
        select(Quota.org_code, Quota.period, Quota.assigner_org_code).where(Quota.org_code.in_(codes))))
    events = []
    for row in rows:
        org_code, period, kind = row["org_code"], row["period"], row["kind"]
        if (org_code, period, kind) not in inserted:
            continue  # another transaction reached it first
        org = orgs.get(org_code)
        data = {"org_code": org_code, "org_name": org.name if org else org_code,
                "org_type": org.type if org else "other", "parent_code": org.parent_code if org else None,
                "assigner_org_code": assigners.get((org_code, period)), "period": period, "target": row["target"],
                "admitted": row["admitted"], "percent": percent_of_plan(row["admitted"], row["target"]),
                "reached_on": row["reached_on"]}
        if kind in ("50", "75"):
            events.append((QUOTA_MILESTONE_REACHED, {**data, "milestone": int(kind)}))
        else:
            events.append((QUOTA_MET if kind == "met" else QUOTA_EXCEEDED, data))
    # The outbox rows exactly as shared.outbox.record_event writes them, in one statement.
    built = [(t, build_event(t, data, source=SOURCE, subject=data["org_code"])) for t, data in events]
    insert_many(session, outbox, [{"event_id": e.id, "event_type": e.type, "topic": t.topic, "key": e.key,
                                   "value": e.to_kafka_value()} for t, e in built])


def check_milestones(session: Session, *, keys: list[Key], reached_on: date) -> None:
    """Emit the milestones already reached by the counters (after a quota is set or changed)."""
    quotas = _quotas_for(session, keys)
    emitted = _emitted_for(session, keys)
    for key in keys:
        target = quotas.get(key)
        counter = session.get(ProgressCounter, key)
        if not target or counter is None:
            continue
        _emit(session, [(key, kind, counter.admitted, target, reached_on) for kind, test in MILESTONES
                        if kind not in emitted.get(key, set()) and test(counter.admitted, target)])


def backfill_term(session: Session, *, term: Period) -> None:
    """Count a newly named term from the ledger: each admission inside it counts toward the term
    for the same organisations it counted toward in its year."""
    lock_tree(session, exclusive=True)
    admissions = session.execute(select(Admission).where(
        Admission.admission_date >= term.start, Admission.admission_date < term.end)).scalars().all()
    sums: dict[str, dict[str, int]] = {}
    for admission in admissions:
        periods = json.loads(admission.counted_periods)
        if term.code in periods:
            continue
        admission.counted_periods = json.dumps(periods + [term.code])
        if admission.revoked_on is not None:
            continue
        for org in json.loads(admission.counted_orgs):
            row = sums.setdefault(org, dict.fromkeys(FIELDS, 0))
            row["admitted"] += 1
            for attribute in ATTRIBUTES:
                row[attribute] += int(bool(getattr(admission, attribute)))
    session.flush()
    if sums:
        insert_many(session, ProgressCounter.__table__, [{"org_code": org, "period": term.code, **values}
                                                         for org, values in sums.items()],
                    conflict=("org_code", "period"), add=FIELDS)


# --- the report ---------------------------------------------------------------------------------
def status_of(target: int | None, admitted: int, period: Period, as_of: date) -> str | None:
    """not_started, behind, on_track, met or exceeded; judged against the share of the period
    elapsed on `as_of` (on_track: at least target x elapsed share)."""
    if target is None:
        return None
    if admitted > target:
        return "exceeded"
    if admitted == target:
        return "met"
    if admitted == 0 or as_of < period.start:
        return "not_started"
    return "on_track" if admitted >= target * period.elapsed_share(as_of) else "behind"


STATUS_TEXT = {
    "not_started": "chưa bắt đầu / not started", "behind": "chậm tiến độ / behind",
    "on_track": "đúng tiến độ / on track", "met": "đạt chỉ tiêu / met", "exceeded": "vượt chỉ tiêu / exceeded",
}


def figures_view(*, target: int | None, figures: dict[str, int], period: Period, as_of: date,
                 composition: list[dict]) -> dict:
    admitted = figures.get("admitted", 0)
    percent = percent_of_plan(admitted, target)
    status = status_of(target, admitted, period, as_of)
    return {
        "target": target, "admitted": admitted,
        "percent": None if percent is None else str(percent),
        "percent_display": None if percent is None else f"{percent:.2f}%".replace(".", ","),
        "status": status, "status_text": STATUS_TEXT.get(status),
        "expected_by_now": None if target is None else round(target * period.elapsed_share(as_of), 2),
        "composition": [_composition_line(item, figures, admitted) for item in composition],
        "counts": {a: figures.get(a, 0) for a in ATTRIBUTES},
    }


def _composition_line(item: dict, figures: dict[str, int], admitted: int) -> dict:
    count = figures.get(item["attribute"], 0)
    share = percent_of_plan(count, admitted) if admitted else Decimal("0.00")
    met = True
    if item.get("min_share") is not None:
        met = met and admitted > 0 and share >= Decimal(str(item["min_share"]))
    if item.get("min_count") is not None:
        met = met and count >= int(item["min_count"])
    return {**item, "count": count, "share": str(share), "met": met}


def quota_composition(quota: Quota | None) -> list[dict]:
    return json.loads(quota.composition) if quota is not None and quota.composition else []
