"""Every admission rule, each with a case that holds and one that does not, and the choice of the rule
version by the date of the transition."""
from dataclasses import replace
from datetime import date

from services.candidates import rules


def test_age_minimum_is_a_full_18_years_in_months():
    born = date(2007, 9, 10)
    assert rules.check_age_minimum(date_of_birth=born, on=date(2025, 9, 10)) is None
    refused = rules.check_age_minimum(date_of_birth=born, on=date(2025, 9, 9))
    assert refused.rule == "age_minimum" and refused.severity == rules.REFUSE
    assert refused.details == {"age_months": 215} and refused.regulation == "294-QĐ/TW"


def test_age_over_60_is_only_a_warning():
    born = date(1964, 3, 1)
    assert rules.check_age_maximum(date_of_birth=born, on=date(2024, 3, 1)) is None  # exactly 60
    warned = rules.check_age_maximum(date_of_birth=born, on=date(2024, 4, 1))
    assert warned.severity == rules.WARN and warned.rule == "age_maximum"


def test_training_certificate_is_valid_60_months():
    cert = date(2020, 6, 15)
    assert rules.check_training_certificate(certificate_date=cert, on=date(2025, 6, 15)) is None
    refused = rules.check_training_certificate(certificate_date=cert, on=date(2025, 6, 16))
    assert refused.rule == "training_certificate" and refused.details["expired_on"] == "2025-06-15"
    assert rules.check_training_certificate(certificate_date=None, on=date(2025, 1, 1)).rule == "training_certificate"


def test_two_official_introducers_or_one_and_the_youth_union():
    on = date(2025, 8, 1)
    assert rules.check_introducers(official_introducers=2, youth_union_resolution=False, youth_union_member=False,
                                   on=on) is None
    assert rules.check_introducers(official_introducers=1, youth_union_resolution=True, youth_union_member=True,
                                   on=on) is None
    assert rules.check_introducers(official_introducers=1, youth_union_resolution=False, youth_union_member=True,
                                   on=on).rule == "introducers"
    # The Youth Union's resolution stands in for an introducer only for a Youth Union member.
    assert rules.check_introducers(official_introducers=1, youth_union_resolution=True, youth_union_member=False,
                                   on=on).rule == "introducers"


def test_official_recognition_after_12_months_of_probation():
    admitted = date(2024, 10, 3)
    assert rules.check_probation(admission_date=admitted, on=date(2025, 10, 3)) is None
    refused = rules.check_probation(admission_date=admitted, on=date(2025, 10, 2))
    assert refused.rule == "probation" and refused.severity == rules.REFUSE


def test_cell_with_fewer_than_3_official_members_is_warned():
    on = date(2025, 8, 1)
    assert rules.check_cell_strength(official_members=3, on=on) is None
    assert rules.check_cell_strength(official_members=None, on=on) is None  # never reported: not flagged
    assert rules.check_cell_strength(official_members=2, on=on).severity == rules.WARN


def test_decision_later_than_60_working_days_is_warned():
    resolution = date(2025, 8, 1)
    due = rules.decision_due(resolution)
    assert rules.check_decision_deadline(resolution_date=resolution, on=due) is None
    warned = rules.check_decision_deadline(resolution_date=resolution, on=date(2025, 12, 1))
    assert warned.severity == rules.WARN and warned.details["working_days"] > 60


def test_the_rule_in_force_is_chosen_by_the_date():
    assert rules.rule_in_force("age_minimum", date(2019, 5, 1)).regulation.code == "Điều lệ Đảng"
    assert rules.rule_in_force("age_minimum", date(2023, 5, 1)).regulation.code == "24-QĐ/TW"
    assert rules.rule_in_force("age_minimum", date(2025, 3, 1)).regulation.code == "232-QĐ/TW"
    assert rules.rule_in_force("age_minimum", date(2025, 6, 30)).regulation.code == "232-QĐ/TW"
    assert rules.rule_in_force("age_minimum", date(2025, 7, 1)).regulation.code == "294-QĐ/TW"
    assert rules.rule_in_force("training_certificate", date(2024, 1, 1)).regulation.code == "01-HD/TW"


def test_a_later_regulation_changes_a_rule_from_its_effective_date_only():
    # A hypothetical regulation raising the minimum age to 19 years from 2030.
    future = rules.Regulation("999-QĐ/TW", "hypothetical", date(2029, 6, 1), date(2030, 1, 1))
    current = rules.rule_in_force("age_minimum", date(2026, 1, 1))
    table = rules.RULES + (replace(current, regulation=future, effective_from=future.in_force,
                                   params={"months": 19 * 12}),)
    born = date(2011, 6, 1)  # 18 years and 7 months on 2030-01-01
    assert rules.check_age_minimum(date_of_birth=born, on=date(2029, 12, 31), rules=table) is None
    refused = rules.check_age_minimum(date_of_birth=born, on=date(2030, 1, 1), rules=table)
    assert refused is not None and refused.regulation == "999-QĐ/TW"


def test_every_rule_names_its_regulation_and_effective_date():
    for version in rules.RULES:
        assert version.regulation.code and version.effective_from == version.regulation.in_force
        assert version.severity in (rules.REFUSE, rules.WARN)
        assert version.text_vi and version.text_en
