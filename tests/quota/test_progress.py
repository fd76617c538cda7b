"""Progress arithmetic: percent of plan as the press prints it, status, composition, ranking;
and the ledger applied in-process (no broker) to a tree that changes."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from services.quota import organizations, quotas
from services.quota.models import ATTRIBUTES, ProgressCounter
from services.quota.periods import parse_period
from services.quota.figures import figures_view, percent_of_plan, status_of
from services.quota.ledger import AdmissionChange, RevocationChange, apply_changes
from tests.quota import figures


def test_percent_of_plan_as_printed():
    assert percent_of_plan(1732, 1500) == Decimal("115.47")
    assert str(percent_of_plan(1877, 1500)) == figures.QUANG_NAM_2022["percent"]
    assert str(percent_of_plan(762, 712)) == "107.02"  # the press: 107%
    assert str(percent_of_plan(206, 202)) == "101.98"  # TP Thanh Hóa 2021: "102%"
    assert str(percent_of_plan(1, 8)) == "12.50" and str(percent_of_plan(1, 200)) == "0.50"
    assert str(percent_of_plan(5, 1000)) == "0.50" and str(percent_of_plan(1, 400)) == "0.25"
    assert str(percent_of_plan(1, 800)) == "0.13"  # 0.125 rounds half up
    assert percent_of_plan(5, 0) is None


def test_status_against_the_elapsed_share():
    year = parse_period("2024")
    assert status_of(None, 5, year, date(2024, 6, 30)) is None
    assert status_of(100, 0, year, date(2024, 6, 30)) == "not_started"
    assert status_of(100, 40, year, date(2024, 6, 30)) == "behind"  # half the year gone
    assert status_of(100, 60, year, date(2024, 6, 30)) == "on_track"
    assert status_of(100, 100, year, date(2024, 6, 30)) == "met"
    assert status_of(100, 101, year, date(2024, 6, 30)) == "exceeded"
    # Huyện Bắc Sơn: 88.78% of the yearly target after 8 months is ahead of 66.8%.
    assert status_of(205, 182, year, date(2024, 8, 31)) == "on_track"


def test_composition_against_targets():
    view = figures_view(target=100, figures={"admitted": 50, "student": 6, "non_state_enterprise": 1, "woman": 30},
                        period=parse_period("2023"), as_of=date(2023, 12, 31), composition=[
                            {"attribute": "student", "min_share": "10", "min_count": None},
                            {"attribute": "non_state_enterprise", "min_share": "2", "min_count": None},
                            {"attribute": "woman", "min_share": None, "min_count": 25}])
    lines = {c["attribute"]: (c["share"], c["met"]) for c in view["composition"]}
    assert lines == {"student": ("12.00", True), "non_state_enterprise": ("2.00", True), "woman": ("60.00", True)}
    view = figures_view(target=100, figures={"admitted": 50, "student": 4}, period=parse_period("2023"),
                        as_of=date(2023, 12, 31), composition=[{"attribute": "student", "min_share": "10"}])
    assert view["composition"][0]["met"] is False and view["status"] == "behind"


def _admit(event_id, org, day, **flags):
    return AdmissionChange(event_id, f"cand-{event_id}", org, day, {a: flags.get(a, False) for a in ATTRIBUTES})


def _counter(session, org, period):
    return session.execute(select(ProgressCounter.admitted).where(
        ProgressCounter.org_code == org, ProgressCounter.period == period)).scalar() or 0


def test_ledger_follows_the_tree_of_the_admission_date(db):
    with db.transaction() as s:
        for code, parent, type_ in [("T", None, "province"), ("H", "T", "district"), ("C", "T", "city"),
                                    ("X", "H", "grassroots")]:
            organizations.create_organization(s, code=code, name=code, type=type_, parent_code=parent,
                                              effective_date=date(2020, 1, 1))
        organizations.merge_organization(s, code="H", into_code="C", effective_date=date(2025, 1, 1))
    with db.transaction() as s:
        apply_changes(s, changes=[_admit("a1", "X", date(2024, 12, 31)), _admit("a2", "X", date(2025, 1, 1)),
                                  _admit("a3", "H", date(2025, 2, 1), woman=True)])
    with db.transaction() as s:
        assert _counter(s, "H", "2024") == 1 and _counter(s, "C", "2024") == 0
        assert _counter(s, "C", "2025") == 2  # X moved under C; H's own admission went to its successor
        assert _counter(s, "T", "2020-2025") == 1 and _counter(s, "T", "2025-2030") == 2
        # The same admission under another event id, and a revocation sent twice: counted once each.
        same_admission = AdmissionChange("a1-again", "cand-a1", "X", date(2024, 12, 31),
                                         dict.fromkeys(ATTRIBUTES, False))
        apply_changes(s, changes=[same_admission,
                                  RevocationChange("r3", "cand-a3", date(2025, 2, 1), date(2025, 3, 1)),
                                  RevocationChange("r3b", "cand-a3", date(2025, 2, 1), date(2025, 3, 1))])
    with db.transaction() as s:
        assert _counter(s, "H", "2024") == 1 and _counter(s, "C", "2025") == 1
        assert s.get(ProgressCounter, ("C", "2025")).woman == 0


def test_new_term_quota_backfills_from_the_ledger(db):
    with db.transaction() as s:
        organizations.create_organization(s, code="P", name="Phường", type="grassroots", parent_code=None,
                                          effective_date=date(2020, 1, 1))
    with db.transaction() as s:
        apply_changes(s, changes=[_admit(f"e{i}", "P", date(2021 + i % 5, 3, 1)) for i in range(10)])
    with db.transaction() as s:
        quotas.set_quota(s, org_code="P", period="2021-2026", target=8, composition=[])
    with db.transaction() as s:
        assert _counter(s, "P", "2021-2026") == 10 and _counter(s, "P", "2020-2025") == 8
        apply_changes(s, changes=[_admit("late", "P", date(2025, 5, 1))])
    with db.transaction() as s:
        assert _counter(s, "P", "2021-2026") == 11 and _counter(s, "P", "2025-2030") == 3
