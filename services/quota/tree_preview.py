"""What a move, merger or dissolution would do, answered without changing anything: the same
refusals as the change itself (organizations.check_*), then its consequences: which organisations
go where from which date, how many lie below them, and the quotas it touches.

The web service's confirmation pages state these before an administrator confirms; the rules stay
here, with the tree.
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from .models import Organization, OrganizationParent, Quota
from .organizations import check_dissolve, check_merge, check_move, get_organization
from .periods import InvalidPeriod, parse_period
from .tree import MAX_DEPTH

CHUNK = 1000  # codes per IN (...) list


def _below(session: Session, roots: list[str], on: date) -> dict[str, int]:
    """How many organisations lie below each root in the tree in force on `on`, level by level."""
    counts = dict.fromkeys(roots, 0)
    frontier = {code: code for code in roots}  # an organisation of this level -> its root
    for _ in range(MAX_DEPTH):
        if not frontier:
            break
        found: dict[str, str] = {}
        codes = list(frontier)
        for i in range(0, len(codes), CHUNK):
            rows = session.execute(select(OrganizationParent.code, OrganizationParent.parent_code).where(
                OrganizationParent.parent_code.in_(codes[i:i + CHUNK]), OrganizationParent.valid_from <= on,
                (OrganizationParent.valid_to.is_(None)) | (OrganizationParent.valid_to > on)))
            for code, parent in rows:
                if code not in found and code not in counts:
                    found[code] = frontier[parent]
        for root in found.values():
            counts[root] += 1
        frontier = found
    return counts


def _running_quotas(session: Session, code: str, on: date) -> list[dict]:
    """The quotas of `code` for periods that have not ended by `on` (those a change from `on` touches)."""
    out = []
    for period, target in session.execute(select(Quota.period, Quota.target).where(Quota.org_code == code)
                                          .order_by(Quota.period)):
        try:
            ends = parse_period(period).end
        except InvalidPeriod:
            continue
        if ends > on:
            out.append({"period": period, "target": target})
    return out


def _ref(org: Organization | None) -> dict | None:
    return None if org is None else {"code": org.code, "name": org.name}


def _parent(session: Session, org: Organization) -> Organization | None:
    return get_organization(session, org.parent_code) if org.parent_code else None


def _children_view(session: Session, children: list[Organization], on: date) -> tuple[list[dict], int]:
    below = _below(session, [c.code for c in children], on)
    view = [{"code": c.code, "name": c.name, "type": c.type, "below": below[c.code]} for c in children]
    return view, len(children) + sum(below.values())


def preview_move(session: Session, *, code: str, parent_code: str, effective_date: date) -> dict:
    org, parent = check_move(session, code=code, parent_code=parent_code, effective_date=effective_date)
    below = _below(session, [code], effective_date)[code]
    return {"change": "move", "code": code, "name": org.name, "effective_date": effective_date,
            "from": _ref(_parent(session, org)), "to": _ref(parent),
            "below": below, "children": [], "children_count": 0, "moving_count": 1 + below,
            "quotas": _running_quotas(session, code, effective_date), "quota_effect": "follows"}


def preview_merge(session: Session, *, code: str, into_code: str, effective_date: date) -> dict:
    org, into, children = check_merge(session, code=code, into_code=into_code, effective_date=effective_date)
    view, moving = _children_view(session, children, effective_date)
    return {"change": "merge", "code": code, "name": org.name, "effective_date": effective_date,
            "from": _ref(_parent(session, org)), "to": _ref(into),
            "below": moving, "children": view, "children_count": len(children), "moving_count": moving,
            "quotas": _running_quotas(session, code, effective_date), "quota_effect": "successor"}


def preview_dissolve(session: Session, *, code: str, effective_date: date, children_to: str | None) -> dict:
    org, target, children = check_dissolve(session, code=code, children_to=children_to,
                                           effective_date=effective_date)
    view, moving = _children_view(session, children, effective_date)
    return {"change": "dissolve", "code": code, "name": org.name, "effective_date": effective_date,
            "from": _ref(_parent(session, org)),
            "to": _ref(get_organization(session, target)) if target and children else None,
            "below": moving, "children": view, "children_count": len(children), "moving_count": moving,
            "quotas": _running_quotas(session, code, effective_date), "quota_effect": "ended"}
