"""Milestones of a quota (50%, 75%, met, exceeded) and the events that announce them.

A milestone is a row with a UNIQUE (org, period, kind): the one transaction that inserts the row
writes the event to the outbox, whatever else is redelivered or runs in parallel.
"""
from __future__ import annotations

from datetime import date
from typing import Iterable

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from shared import tracing
from shared.bulk import insert_many
from shared.contracts import QUOTA_EXCEEDED, QUOTA_MET, QUOTA_MILESTONE_REACHED, build_event

from .counters import Key
from .figures import percent_of_plan
from .models import Milestone, Organization, ProgressCounter, Quota, outbox

SOURCE = "/quota"
# Milestone kinds in the order they are reached, with the test "admitted reaches it".
MILESTONES: tuple[tuple[str, object], ...] = (
    ("50", lambda admitted, target: admitted * 100 >= 50 * target),
    ("75", lambda admitted, target: admitted * 100 >= 75 * target),
    ("met", lambda admitted, target: admitted >= target),
    ("exceeded", lambda admitted, target: admitted > target),
)
# One counted change, in event order: (keys it counts toward, +1 or -1, the day, the trace of the
# event that made it: a poll applies many events at once, and each milestone is announced in the
# trace of the admission that reached it).
Step = tuple[list[Key], int, date, tracing.TraceContext | None]
Reached = tuple[Key, str, int, int, date, tracing.TraceContext | None]


def emit_crossed(session: Session, *, steps: list[Step], before: dict[Key, int]) -> None:
    """Emit the milestones the `steps` crossed, starting from the `before` admitted counts."""
    quotas = _quotas_for(session, list(before))
    if not quotas:
        return
    # Replay the steps to find which admission crossed a line; `need` is the count at which a
    # key's next milestone not yet emitted is reached.
    emitted = _emitted_for(session, list(quotas))
    running = {key: before[key] for key in quotas}
    need = {key: _next_line(target, emitted.get(key, set())) for key, target in quotas.items()}
    reached: list[Reached] = []
    for step_keys, sign, day, trace in steps:
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
                        reached.append((key, kind, count, target, day, trace))
                need[key] = _next_line(target, done)
    _emit(session, reached)


def check_milestones(session: Session, *, keys: list[Key], reached_on: date) -> None:
    """Emit the milestones already reached by the counters (after a quota is set or changed)."""
    quotas = _quotas_for(session, keys)
    emitted = _emitted_for(session, keys)
    for key in keys:
        target = quotas.get(key)
        counter = session.get(ProgressCounter, key)
        if not target or counter is None:
            continue
        _emit(session, [(key, kind, counter.admitted, target, reached_on, None) for kind, test in MILESTONES
                        if kind not in emitted.get(key, set()) and test(counter.admitted, target)])


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


def _emit(session: Session, reached: list[Reached]) -> None:
    """Insert the milestone rows reached; only the transaction whose insert lands writes the
    event (the UNIQUE (org, period, kind) decides between replicas and redeliveries)."""
    if not reached:
        return
    rows = [{"org_code": org, "period": period, "kind": kind, "admitted": admitted, "target": target,
             "reached_on": day} for (org, period), kind, admitted, target, day, _trace in reached]
    traces = [trace for *_, trace in reached]
    inserted = {tuple(r) for r in insert_many(session, Milestone.__table__, rows, ignore=("org_code", "period", "kind"),
                                              returning=("org_code", "period", "kind"))}
    if not inserted:
        return
    codes = list({org for org, _, _ in inserted})
    orgs = {o.code: o for o in session.execute(select(Organization).where(Organization.code.in_(codes))).scalars()}
    assigners = dict(((org, period), assigner) for org, period, assigner in session.execute(
        select(Quota.org_code, Quota.period, Quota.assigner_org_code).where(Quota.org_code.in_(codes))))
    events = []
    for row, trace in zip(rows, traces):
        org_code, period, kind = row["org_code"], row["period"], row["kind"]
        if (org_code, period, kind) not in inserted:
            continue  # another transaction reached it first
        org = orgs.get(org_code)
        data = {"org_code": org_code, "org_name": org.name if org else org_code, "assigner_org_code": assigners.get((org_code, period)), "period": period, "target": row["target"],
                "admitted": row["admitted"], "percent": percent_of_plan(row["admitted"], row["target"]),
                "reached_on": row["reached_on"]}
        if kind in ("50", "75"):
            events.append((QUOTA_MILESTONE_REACHED, {**data, "milestone": int(kind)}, trace))
        else:
            events.append((QUOTA_MET if kind == "met" else QUOTA_EXCEEDED, data, trace))
    # The outbox rows exactly as shared.outbox.record_event writes them, in one statement.
    built = [(t, build_event(t, data, source=SOURCE, subject=data["org_code"], trace=trace))
             for t, data, trace in events]
    insert_many(session, outbox, [{"event_id": e.id, "event_type": e.type, "topic": t.topic, "key": e.key,
                                   "value": e.to_kafka_value()} for t, e in built])
