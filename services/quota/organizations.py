"""The organisation tree: create, rename, move, merge, dissolve, each from an effective date and
with history kept; every change writes its organization.* event to the outbox in the same
transaction. Refusals raise `Problem` before anything is written (the caller's transaction rolls
back anyway, so a refusal found late also leaves nothing behind).
"""
from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared import clock
from shared.contracts import (ORGANIZATION_CREATED, ORGANIZATION_DISSOLVED, ORGANIZATION_MERGED,
                              ORGANIZATION_MOVED, ORGANIZATION_RENAMED, ORGANIZATION_STATE)
from shared.outbox import record_event
from shared.problems import Problem
from shared.text import fold

from .catalog import CATALOG
from .models import Organization, OrganizationName, OrganizationParent, outbox
from .tree import CATALOG_ROW, TREE_ROW, SqlTree, bump_version, lock_tree

SOURCE = "/quota"
ORG_TYPES = ("central", "province", "block", "city", "district", "grassroots", "cell", "other")


def _not_found(code: str, field: str = "code") -> Problem:
    return Problem(404, "Not Found", f"không có tổ chức '{code}' / no organisation '{code}'",
                   errors={field: [f"không có tổ chức '{code}' / unknown organisation '{code}'"]})


def _conflict(field: str, message: str) -> Problem:
    return Problem(409, "Conflict", message, errors={field: [message]})


def get_organization(session: Session, code: str, *, field: str = "code") -> Organization:
    org = session.get(Organization, code)
    if org is None:
        raise _not_found(code, field)
    return org


def publish_states(session: Session, codes: list[str]) -> None:
    """organization.state of each organisation whose history a change touched: its whole history,
    for the other services' copies of the tree (shared/replica.py)."""
    session.flush()
    for code in dict.fromkeys(codes):
        record_event(session, outbox=outbox, event_type=ORGANIZATION_STATE, source=SOURCE, subject=code,
                     data=state_of(session, code))


def publish_all_states(session: Session) -> int:
    """organization.state of every organisation (after an upgrade, or to refill the compacted topic)."""
    codes = list(session.scalars(select(Organization.code).order_by(Organization.code)))
    publish_states(session, codes)
    return len(codes)


def state_of(session: Session, code: str) -> dict:
    # Named columns, not the entity: an older migration (7a1f3c2d9b40) calls this on a table
    # without the columns added later.
    org = session.execute(select(Organization.type, Organization.status, Organization.founded_on,
                                 Organization.ended_on, Organization.merged_into)
                          .where(Organization.code == code)).one()
    parents = session.execute(select(OrganizationParent.parent_code, OrganizationParent.valid_from,
                                     OrganizationParent.valid_to).where(OrganizationParent.code == code)
                              .order_by(OrganizationParent.valid_from, OrganizationParent.id)).all()
    names = session.execute(select(OrganizationName.name, OrganizationName.valid_from, OrganizationName.valid_to)
                            .where(OrganizationName.code == code)
                            .order_by(OrganizationName.valid_from, OrganizationName.id)).all()
    return {"code": code, "type": org.type, "status": org.status, "founded_on": org.founded_on,
            "ended_on": org.ended_on, "merged_into": org.merged_into,
            "names": [dict(name=n, valid_from=f, valid_to=t) for n, f, t in names],
            "parents": [dict(parent_code=p, valid_from=f, valid_to=t) for p, f, t in parents]}


def is_within(session: Session, code: str, ancestor: str, *, on: date | None = None) -> bool:
    """True if `code` is `ancestor` or lies below it in the tree in force on `on` (default today)."""
    return ancestor in CATALOG.ancestors(session, code, on or clock.today())


def children_on(session: Session, code: str, on: date) -> list[Organization]:
    """The organisations directly under `code` in the tree in force on `on`."""
    rows = session.execute(
        select(Organization).join(OrganizationParent, OrganizationParent.code == Organization.code)
        .where(OrganizationParent.parent_code == code, OrganizationParent.valid_from <= on,
               (OrganizationParent.valid_to.is_(None)) | (OrganizationParent.valid_to > on))
        .order_by(Organization.code)).scalars().all()
    return list(rows)


def _require_active(org: Organization, field: str) -> None:
    if org.status != "active":
        raise _conflict(field, f"tổ chức '{org.code}' đã {'giải thể' if org.status == 'dissolved' else 'hợp nhất'}"
                               f" / organisation '{org.code}' is {org.status}")


def _current_record(session: Session, code: str) -> OrganizationParent | None:
    return session.execute(select(OrganizationParent).where(OrganizationParent.code == code)
                           .order_by(OrganizationParent.valid_from.desc()).limit(1)).scalar()


def create_organization(session: Session, *, code: str, name: str, type: str, parent_code: str | None,
                        effective_date: date) -> Organization:
    lock_tree(session, exclusive=True)
    if type not in ORG_TYPES:
        raise Problem(422, "Unprocessable Entity", "loại tổ chức không hợp lệ / unknown organisation type",
                      errors={"type": [f"một trong / one of {', '.join(ORG_TYPES)}"]})
    if session.get(Organization, code) is not None:
        raise _conflict("code", f"mã '{code}' đã tồn tại / code '{code}' already exists")
    if parent_code is not None:
        parent = get_organization(session, parent_code, field="parent_code")
        _require_active(parent, "parent_code")
    org = Organization(code=code, name=name, name_folded=fold(name), type=type, status="active",
                       parent_code=parent_code, founded_on=effective_date)
    session.add(org)
    session.flush()
    session.add(OrganizationParent(code=code, parent_code=parent_code, valid_from=effective_date))
    session.add(OrganizationName(code=code, name=name, valid_from=effective_date))
    bump_version(session, row=TREE_ROW)
    record_event(session, outbox=outbox, event_type=ORGANIZATION_CREATED, source=SOURCE, subject=code,
                 data={"code": code, "name": name, "type": type, "parent_code": parent_code,
                       "effective_date": effective_date})
    publish_states(session, [code])
    return org


def rename_organization(session: Session, *, code: str, name: str, effective_date: date) -> Organization:
    lock_tree(session, exclusive=True)
    org = get_organization(session, code)
    _require_active(org, "code")
    latest = session.execute(select(OrganizationName).where(OrganizationName.code == code)
                             .order_by(OrganizationName.valid_from.desc()).limit(1)).scalar()
    if latest is not None and effective_date < latest.valid_from:
        raise _conflict("effective_date", f"ngày hiệu lực trước lần đổi tên gần nhất ({latest.valid_from}) / "
                                          f"effective date before the latest rename ({latest.valid_from})")
    previous = org.name
    if latest is not None and latest.valid_from == effective_date:
        latest.name = name  # a same-day correction replaces the name
    else:
        if latest is not None:
            latest.valid_to = effective_date
        session.add(OrganizationName(code=code, name=name, valid_from=effective_date))
    org.name, org.name_folded = name, fold(name)
    bump_version(session, row=CATALOG_ROW)  # cached reports show names
    record_event(session, outbox=outbox, event_type=ORGANIZATION_RENAMED, source=SOURCE, subject=code,
                 data={"code": code, "name": name, "previous_name": previous, "effective_date": effective_date})
    publish_states(session, [code])
    return org


def _refuse_before(current: OrganizationParent | None, code: str, effective_date: date) -> None:
    """History is not rewritten before an organisation's latest change."""
    if current is not None and effective_date < current.valid_from:
        raise _conflict("effective_date",
                        f"ngày hiệu lực trước thay đổi gần nhất của '{code}' ({current.valid_from}) / "
                        f"effective date before the latest change of '{code}' ({current.valid_from})")


def _set_parent(session: Session, org: Organization, parent_code: str | None, effective_date: date) -> str | None:
    """Close the parent record in force and open a new one from `effective_date`."""
    current = _current_record(session, org.code)
    previous = current.parent_code if current else None
    _refuse_before(current, org.code, effective_date)
    if current is not None and current.valid_from == effective_date:
        current.parent_code = parent_code  # a same-day correction
    else:
        if current is not None:
            current.valid_to = effective_date
        session.add(OrganizationParent(code=org.code, parent_code=parent_code, valid_from=effective_date))
    org.parent_code = parent_code
    return previous


def _refuse_cycle(session: Session, code: str, new_parent: str, on: date, field: str) -> None:
    tree = SqlTree(session)
    if code in tree.ancestors(new_parent, on) or code in tree.ancestors(new_parent, date.max):
        raise _conflict(field, f"'{new_parent}' nằm trong cây con của '{code}': sẽ tạo chu trình / "
                               f"'{new_parent}' is inside the subtree of '{code}': that would make a cycle")


def check_move(session: Session, *, code: str, parent_code: str,
               effective_date: date) -> tuple[Organization, Organization]:
    """Every refusal of a move, without writing anything (the move and its preview share it)."""
    org = get_organization(session, code)
    _require_active(org, "code")
    parent = get_organization(session, parent_code, field="parent_code")
    _require_active(parent, "parent_code")
    _refuse_cycle(session, code, parent_code, effective_date, "parent_code")
    _refuse_before(_current_record(session, code), code, effective_date)
    return org, parent


def move_organization(session: Session, *, code: str, parent_code: str, effective_date: date) -> Organization:
    lock_tree(session, exclusive=True)
    org, _ = check_move(session, code=code, parent_code=parent_code, effective_date=effective_date)
    _move(session, org, parent_code, effective_date)
    bump_version(session, row=TREE_ROW)
    publish_states(session, [code])
    return org


def _move(session: Session, org: Organization, parent_code: str, effective_date: date) -> None:
    previous = _set_parent(session, org, parent_code, effective_date)
    record_event(session, outbox=outbox, event_type=ORGANIZATION_MOVED, source=SOURCE, subject=org.code,
                 data={"code": org.code, "previous_parent_code": previous, "parent_code": parent_code,
                       "effective_date": effective_date})


def _end(session: Session, org: Organization, effective_date: date) -> list[Organization]:
    """Close `org` from `effective_date`; returns its children then (to be re-parented)."""
    children = children_on(session, org.code, effective_date)
    current = _current_record(session, org.code)
    _refuse_before(current, org.code, effective_date)
    if current is not None:
        current.valid_to = effective_date
    org.ended_on = effective_date
    return children


def _refuse_ending(session: Session, org: Organization, effective_date: date) -> list[Organization]:
    """The refusals of ending `org` on `effective_date` (its own history and that of each child that
    would move); returns those children."""
    _refuse_before(_current_record(session, org.code), org.code, effective_date)
    children = children_on(session, org.code, effective_date)
    for child in children:
        _refuse_before(_current_record(session, child.code), child.code, effective_date)
    return children


def check_merge(session: Session, *, code: str, into_code: str,
                effective_date: date) -> tuple[Organization, Organization, list[Organization]]:
    """Every refusal of a merger, without writing anything; returns the organisation, its successor
    and the children that would follow it."""
    if code == into_code:
        raise Problem(422, "Unprocessable Entity", "không thể hợp nhất một tổ chức vào chính nó / "
                      "an organisation cannot be merged into itself",
                      errors={"into_code": ["khác mã tổ chức / must differ from the organisation"]})
    org = get_organization(session, code)
    _require_active(org, "code")
    into = get_organization(session, into_code, field="into_code")
    _require_active(into, "into_code")
    _refuse_cycle(session, code, into_code, effective_date, "into_code")
    return org, into, _refuse_ending(session, org, effective_date)


def merge_organization(session: Session, *, code: str, into_code: str, effective_date: date) -> Organization:
    lock_tree(session, exclusive=True)
    org, _, _ = check_merge(session, code=code, into_code=into_code, effective_date=effective_date)
    children = _end(session, org, effective_date)
    for child in children:
        _move(session, child, into_code, effective_date)
    org.status, org.merged_into, org.parent_code = "merged", into_code, None
    bump_version(session, row=TREE_ROW)
    record_event(session, outbox=outbox, event_type=ORGANIZATION_MERGED, source=SOURCE, subject=code,
                 data={"code": code, "into_code": into_code, "children_codes": [c.code for c in children],
                       "effective_date": effective_date})
    publish_states(session, [code] + [c.code for c in children])
    return org


def check_dissolve(session: Session, *, code: str, effective_date: date,
                   children_to: str | None = None) -> tuple[Organization, str | None, list[Organization]]:
    """Every refusal of a dissolution, without writing anything; returns the organisation, where
    its children go (named, or by default its parent) and those children."""
    org = get_organization(session, code)
    _require_active(org, "code")
    target = children_to or org.parent_code
    if children_to is not None:
        if children_to == code:
            raise _conflict("children_to", "không thể chuyển về chính tổ chức bị giải thể / "
                                           "children cannot go to the dissolved organisation")
        _require_active(get_organization(session, children_to, field="children_to"), "children_to")
        _refuse_cycle(session, code, children_to, effective_date, "children_to")
    children = _refuse_ending(session, org, effective_date)
    if children and target is None:
        raise _conflict("children_to", "tổ chức gốc có tổ chức con: cần nêu nơi chuyển đến / "
                                       "a top organisation with children needs children_to")
    return org, target, children


def dissolve_organization(session: Session, *, code: str, effective_date: date,
                          children_to: str | None = None) -> Organization:
    lock_tree(session, exclusive=True)
    org, target, _ = check_dissolve(session, code=code, children_to=children_to, effective_date=effective_date)
    children = _end(session, org, effective_date)
    for child in children:
        _move(session, child, target, effective_date)
    org.status, org.parent_code = "dissolved", None
    bump_version(session, row=TREE_ROW)
    record_event(session, outbox=outbox, event_type=ORGANIZATION_DISSOLVED, source=SOURCE, subject=code,
                 data={"code": code, "children_moved_to": target if children else None,
                       "children_codes": [c.code for c in children], "effective_date": effective_date})
    publish_states(session, [code] + [c.code for c in children])
    return org
