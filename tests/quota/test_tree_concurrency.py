"""Concurrent tree changes cannot corrupt the tree (issue 8, point 7), on PostgreSQL, where two
transactions really run at once (SQLite's BEGIN IMMEDIATE serialises writers anyway).

Each change waits at a barrier right after its checks: without the tree lock both pass their checks
on the same tree and both commit; with it, the second waits for the first and then refuses."""
from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import select

from services.quota import organizations
from services.quota.models import Base, Organization
from shared.db import Database
from shared.problems import Problem
from tests.support import fresh_database

pytestmark = pytest.mark.integration
D = date(2024, 1, 1)


@pytest.fixture
def pg(real_stack):
    with fresh_database("postgresql") as url:
        db = Database(url, Base.metadata)
        db.create_all()
        yield db
        db.dispose()


def _seed(db, orgs):
    with db.transaction() as s:
        for code, parent in orgs:
            organizations.create_organization(s, code=code, name=code, type="grassroots", parent_code=parent,
                                              effective_date=date(2020, 1, 1))


def _race(monkeypatch, db, check_name: str, changes) -> list:
    """Run `changes` (functions of a session) in two threads that meet after `check_name` returns."""
    barrier = threading.Barrier(len(changes))
    original = getattr(organizations, check_name)

    def check_then_wait(*args, **kwargs):
        result = original(*args, **kwargs)
        try:
            barrier.wait(timeout=3)  # the other change is inside its transaction too, or blocked on the lock
        except threading.BrokenBarrierError:
            pass
        return result

    monkeypatch.setattr(organizations, check_name, check_then_wait)
    outcomes: list = [None] * len(changes)

    def run(i, change):
        try:
            with db.transaction() as s:
                change(s)
            outcomes[i] = "ok"
        except Problem as exc:
            outcomes[i] = exc.status

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(changes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def test_crossed_moves_leave_no_cycle(pg, monkeypatch):
    _seed(pg, [("ROOT", None), ("A", "ROOT"), ("B", "ROOT")])
    outcomes = _race(monkeypatch, pg, "_refuse_cycle", [
        lambda s: organizations.move_organization(s, code="A", parent_code="B", effective_date=D),
        lambda s: organizations.move_organization(s, code="B", parent_code="A", effective_date=D)])
    assert sorted(outcomes, key=str) == [409, "ok"]
    with pg.transaction() as s:
        parents = dict(s.execute(select(Organization.code, Organization.parent_code)).all())
    assert parents["A"] == "B" or parents["B"] == "A"
    assert not (parents["A"] == "B" and parents["B"] == "A")


def test_a_create_under_a_parent_being_dissolved_leaves_no_orphan(pg, monkeypatch):
    _seed(pg, [("ROOT", None), ("P", "ROOT")])
    outcomes = _race(monkeypatch, pg, "_require_active", [
        lambda s: organizations.create_organization(s, code="NEW", name="Chi bộ mới", type="cell",
                                                    parent_code="P", effective_date=D),
        lambda s: organizations.dissolve_organization(s, code="P", effective_date=D)])
    assert "ok" in outcomes
    with pg.transaction() as s:
        orgs = {o.code: o for o in s.execute(select(Organization)).scalars()}
    assert orgs["P"].status == "dissolved"
    for org in orgs.values():
        if org.status == "active" and org.parent_code:
            assert orgs[org.parent_code].status == "active", f"{org.code} under dissolved {org.parent_code}"


def test_two_first_changes_of_a_fresh_database_both_commit(pg):
    """The versions' rows are made at their first use: two quota changes (or a change and a quota)
    at once on a fresh database both commit, instead of one failing on the row's primary key
    (found by bench.notifications_latency assigning 1,300 quotas from 8 threads: a 500)."""
    from services.quota.tree import CATALOG_ROW, bump_version
    from services.quota.models import TreeVersion

    barrier, outcomes = threading.Barrier(2), []

    def run():
        try:
            with pg.transaction() as s:
                s.execute(select(1))  # inside a transaction before either inserts
                barrier.wait(timeout=5)
                bump_version(s, row=CATALOG_ROW)
            outcomes.append("ok")
        except Exception as exc:  # noqa: BLE001 - the outcome is the assertion
            outcomes.append(repr(exc))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes == ["ok", "ok"]
    with pg.transaction() as s:
        assert s.get(TreeVersion, CATALOG_ROW).version == 2
