"""Quotas: a target number of admissions for an organisation and a period, with optional
composition targets; every change is kept in quota_changes and published as quota.assigned."""
from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.contracts import QUOTA_ASSIGNED
from shared.contracts.quotas import COMPOSITION_ATTRIBUTES
from shared.outbox import record_event
from shared.problems import Problem

from .models import CountedTerm, Quota, QuotaChange, outbox
from .organizations import children_on, get_organization
from .periods import InvalidPeriod, Period, parse_period, standard_term
from .tree import CATALOG_ROW, bump_version

SOURCE = "/quota"


def _invalid(field: str, message: str) -> Problem:
    return Problem(422, "Unprocessable Entity", message, errors={field: [message]})


def check_period(code: str, field: str = "period") -> Period:
    try:
        return parse_period(code)
    except InvalidPeriod as exc:
        raise _invalid(field, str(exc)) from exc


def normalise_composition(items: list[dict]) -> list[dict]:
    """Check composition targets; returns them as JSON-ready dicts (share as a string)."""
    out, seen = [], set()
    for i, item in enumerate(items or []):
        field = f"composition.{i}"
        attribute = item.get("attribute")
        if attribute not in COMPOSITION_ATTRIBUTES:
            raise _invalid(f"{field}.attribute", f"một trong / one of {', '.join(COMPOSITION_ATTRIBUTES)}")
        if attribute in seen:
            raise _invalid(f"{field}.attribute", f"'{attribute}' lặp lại / '{attribute}' is repeated")
        seen.add(attribute)
        share, count = item.get("min_share"), item.get("min_count")
        if share is None and count is None:
            raise _invalid(field, "cần min_share hoặc min_count / give min_share or min_count")
        if share is not None:
            try:
                share = Decimal(str(share))
            except InvalidOperation as exc:
                raise _invalid(f"{field}.min_share", "phải là số / must be a number") from exc
            if not Decimal(0) <= share <= Decimal(100):
                raise _invalid(f"{field}.min_share", "tỷ lệ từ 0 đến 100% / a share from 0 to 100%")
            share = str(share)
        if count is not None and int(count) < 0:
            raise _invalid(f"{field}.min_count", "không được âm / must not be negative")
        out.append({"attribute": attribute, "min_share": share, "min_count": count})
    return out


def set_quota(session: Session, *, org_code: str, period: str, target: int, composition: list[dict],
              assigner_org_code: str | None = None, changed_by: str | None = None) -> Quota:
    """Set or change the quota of `org_code` for `period` (refusals before any write)."""
    if target is None or int(target) < 0:
        raise _invalid("target", "chỉ tiêu không được âm / the target must not be negative")
    parsed = check_period(period)
    items = normalise_composition(composition)
    org = get_organization(session, org_code)
    if org.status != "active":
        raise Problem(409, "Conflict", f"tổ chức '{org_code}' đã {org.status} / organisation '{org_code}' is "
                      f"{org.status}", errors={"org_code": [f"{org.status}"]})
    quota = session.execute(select(Quota).where(Quota.org_code == org_code, Quota.period == period)).scalar()
    previous = quota.target if quota else None
    assigner = assigner_org_code if assigner_org_code is not None else (
        quota.assigner_org_code if quota else org.parent_code)
    if quota is None:
        quota = Quota(org_code=org_code, period=period, target=int(target), composition=json.dumps(items),
                      assigner_org_code=assigner)
        session.add(quota)
    else:
        quota.target, quota.composition, quota.assigner_org_code = int(target), json.dumps(items), assigner
    session.add(QuotaChange(org_code=org_code, period=period, previous_target=previous, target=int(target),
                            composition=json.dumps(items), changed_by=changed_by))
    bump_version(session, row=CATALOG_ROW)
    session.flush()
    if parsed.is_term and period != standard_term(parsed.start) and session.get(CountedTerm, period) is None:
        from .ledger import backfill_term  # the ledger imports this module's neighbours
        session.add(CountedTerm(period=period))
        backfill_term(session, term=parsed)
    record_event(session, outbox=outbox, event_type=QUOTA_ASSIGNED, source=SOURCE, subject=org_code,
                 data={"org_code": org_code, "org_name": org.name, "period": period, "target": int(target),
                       "previous_target": previous, "composition": items, "assigner_org_code": assigner})
    # A quota set after the admissions were counted may already be reached.
    from .milestones import check_milestones
    check_milestones(session, keys=[(org_code, period)], reached_on=clock.today())
    return quota


def quota_view(quota: Quota) -> dict:
    return {"org_code": quota.org_code, "period": quota.period, "target": quota.target,
            "composition": json.loads(quota.composition or "[]"), "assigner_org_code": quota.assigner_org_code,
            "updated_at": quota.updated_at}


def list_quotas(session: Session, *, org_code: str) -> list[dict]:
    get_organization(session, org_code)
    rows = session.execute(select(Quota).where(Quota.org_code == org_code).order_by(Quota.period)).scalars()
    out = []
    for quota in rows:
        view = quota_view(quota)
        view["history"] = [
            {"previous_target": c.previous_target, "target": c.target, "changed_by": c.changed_by,
             "changed_at": c.changed_at}
            for c in session.execute(select(QuotaChange).where(
                QuotaChange.org_code == org_code, QuotaChange.period == quota.period)
                .order_by(QuotaChange.id)).scalars()]
        out.append(view)
    return out


def default_day(period: Period, as_of: date | None) -> date:
    """The day whose tree a period's report uses: `as_of`, capped to the period's last day."""
    day = as_of or clock.today()
    return min(max(day, period.start), period.end - timedelta(days=1))


def allocation(session: Session, *, org_code: str, period: str, as_of: date | None = None) -> dict:
    """How the target of `org_code` is shared among its children: fully, under or over."""
    parsed = check_period(period)
    get_organization(session, org_code)
    day = default_day(parsed, as_of)
    parent = session.execute(select(Quota.target).where(Quota.org_code == org_code, Quota.period == period)).scalar()
    children = children_on(session, org_code, day)
    targets = dict(session.execute(select(Quota.org_code, Quota.target).where(
        Quota.period == period, Quota.org_code.in_([c.code for c in children]))).all()) if children else {}
    allocated = sum(targets.values())
    if parent is None:
        state = None
    else:
        state = "fully" if allocated == parent else ("under" if allocated < parent else "over")
    return {
        "org_code": org_code, "period": period, "target": parent, "allocated": allocated,
        "unallocated": None if parent is None else parent - allocated, "allocation": state,
        "children": [{"code": c.code, "name": c.name, "target": targets.get(c.code)} for c in children],
        "children_without_quota": [c.code for c in children if c.code not in targets],
    }


def needs_backfill(session: Session, period: str) -> bool:
    """True if a quota for `period` would add a term not counted yet (its figures need copying)."""
    try:
        parsed = parse_period(period)
    except InvalidPeriod:
        return False
    return parsed.is_term and period != standard_term(parsed.start) and session.get(CountedTerm, period) is None
