"""The admission rules, as data: each version of a rule names the regulation it comes from and the
date it took effect, and the version in force on the date of a transition is the one applied. A later
regulation changes a rule by adding a version here, never by editing an old one (old transitions
must still be explained by the rules of their day).

The figures have not changed between the versions listed (18 years, 60 months, two introducers,
12 months, 3 members, 60 working days); what changed is the regulation they are enforced under.
`REFUSE` rules stop the transition; `WARN` rules are returned with the accepted response.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from .dates import add_months, add_working_days, full_months_between, working_days_after

REFUSE = "refuse"
WARN = "warn"


@dataclass(frozen=True)
class Regulation:
    code: str
    title: str
    issued: date
    in_force: date


DIEU_LE = Regulation("Điều lệ Đảng", "Điều lệ Đảng Cộng sản Việt Nam (Đại hội XI)", date(2011, 1, 19),
                     date(2011, 1, 19))
QD_24 = Regulation("24-QĐ/TW", "Quy định 24-QĐ/TW thi hành Điều lệ Đảng", date(2021, 7, 30), date(2021, 7, 30))
HD_01 = Regulation("01-HD/TW", "Hướng dẫn 01-HD/TW một số vấn đề cụ thể thi hành Điều lệ Đảng",
                   date(2021, 9, 28), date(2021, 9, 28))
QD_232 = Regulation("232-QĐ/TW", "Quy định 232-QĐ/TW thi hành Điều lệ Đảng", date(2025, 1, 20), date(2025, 1, 20))
QD_294 = Regulation("294-QĐ/TW", "Quy định 294-QĐ/TW thi hành Điều lệ Đảng", date(2025, 5, 26), date(2025, 7, 1))
HD_06 = Regulation("06-HD/TW", "Hướng dẫn 06-HD/TW một số vấn đề cụ thể thi hành Điều lệ Đảng",
                   date(2025, 6, 9), date(2025, 7, 1))


@dataclass(frozen=True)
class RuleVersion:
    rule: str  # stable code, named in refusals: "age_minimum"
    severity: str  # REFUSE or WARN
    regulation: Regulation
    effective_from: date
    params: dict[str, Any]
    text_vi: str
    text_en: str


def _versions(rule: str, severity: str, params: dict, text_vi: str, text_en: str,
              sources: list[Regulation]) -> list[RuleVersion]:
    return [RuleVersion(rule, severity, reg, reg.in_force, dict(params), text_vi, text_en) for reg in sources]


RULES: tuple[RuleVersion, ...] = tuple(
    _versions("age_minimum", REFUSE, {"months": 18 * 12},
              "Người vào Đảng phải đủ 18 tuổi (tính theo tháng) tại thời điểm chi bộ xét kết nạp.",
              "A candidate must be a full 18 years old (counted in months) when the cell considers admission.",
              [DIEU_LE, QD_24, QD_232, QD_294])
    + _versions("age_maximum", WARN, {"months": 60 * 12},
                "Người trên 60 tuổi chỉ được kết nạp khi cấp ủy cấp trên trực tiếp đồng ý.",
                "A candidate over 60 needs the consent of the next committee up.",
                [QD_24, QD_232, QD_294])
    + _versions("training_certificate", REFUSE, {"valid_months": 60},
                "Giấy chứng nhận lớp bồi dưỡng nhận thức về Đảng có giá trị 60 tháng.",
                "The party awareness class certificate is valid for 60 months.",
                [HD_01, HD_06])
    + _versions("introducers", REFUSE, {"official_members": 2, "with_youth_union_resolution": 1},
                "Cần hai đảng viên chính thức giới thiệu (đoàn viên: một đảng viên chính thức và nghị quyết "
                "của Đoàn).",
                "Two official members must introduce the candidate (a Youth Union member: one official member "
                "and the Youth Union's resolution).",
                [DIEU_LE, QD_24, QD_294])
    + _versions("probation", REFUSE, {"months": 12},
                "Đảng viên dự bị chỉ được công nhận chính thức sau 12 tháng dự bị.",
                "A probationary member is recognised as official only after 12 months of probation.",
                [DIEU_LE, QD_294])
    + _versions("cell_strength", WARN, {"official_members": 3},
                "Chi bộ có dưới 3 đảng viên chính thức không xét kết nạp được.",
                "A cell with fewer than 3 official members cannot process admissions.",
                [DIEU_LE, QD_294])
    + _versions("decision_deadline", WARN, {"working_days": 60},
                "Cấp ủy có thẩm quyền quyết định kết nạp trong 60 ngày làm việc kể từ ngày chi bộ có nghị quyết.",
                "The competent committee decides within 60 working days of the cell's resolution.",
                [QD_24, QD_232, QD_294])
)


def rule_in_force(rule: str, on: date, rules: tuple[RuleVersion, ...] = RULES) -> RuleVersion:
    """The version of `rule` in force on `on`: the latest that took effect on or before it (the
    earliest known version for a date before all of them)."""
    versions = sorted((r for r in rules if r.rule == rule), key=lambda r: r.effective_from)
    if not versions:
        raise KeyError(rule)
    chosen = versions[0]
    for version in versions:
        if version.effective_from <= on:
            chosen = version
    return chosen


@dataclass(frozen=True)
class Finding:
    """A rule that did not hold: refused or warned, naming the rule, its source and the field."""

    rule: str
    severity: str
    field: str
    message_vi: str
    message_en: str
    regulation: str
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def message(self) -> str:
        return f"{self.message_vi} / {self.message_en}"

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "severity": self.severity, "field": self.field, "message": self.message,
                "regulation": self.regulation, "details": self.details}


def _finding(version: RuleVersion, field_name: str, detail_vi: str, detail_en: str, **details) -> Finding:
    return Finding(version.rule, version.severity, field_name, f"{version.text_vi} {detail_vi}".strip(),
                   f"{version.text_en} {detail_en}".strip(), version.regulation.code, details)


# --- the checks, one per rule: each returns a Finding when the rule does not hold, else None ---------

def check_age_minimum(*, date_of_birth: date, on: date, rules=RULES) -> Finding | None:
    v = rule_in_force("age_minimum", on, rules)
    months = full_months_between(date_of_birth, on)
    if months < v.params["months"]:
        return _finding(v, "date_of_birth", f"(Ngày {on}: {months} tháng.)", f"(On {on}: {months} months.)",
                        age_months=months)
    return None


def check_age_maximum(*, date_of_birth: date, on: date, rules=RULES) -> Finding | None:
    v = rule_in_force("age_maximum", on, rules)
    months = full_months_between(date_of_birth, on)
    if months > v.params["months"]:
        return _finding(v, "date_of_birth", f"(Ngày {on}: {months} tháng.)", f"(On {on}: {months} months.)",
                        age_months=months)
    return None


def check_training_certificate(*, certificate_date: date | None, on: date, rules=RULES) -> Finding | None:
    v = rule_in_force("training_certificate", on, rules)
    if certificate_date is None:
        return _finding(v, "training_certificate_date", "(Chưa có giấy chứng nhận.)", "(No certificate recorded.)")
    expires = add_months(certificate_date, v.params["valid_months"])
    if on > expires:
        return _finding(v, "training_certificate_date", f"(Hết hạn ngày {expires}.)", f"(Expired on {expires}.)",
                        expired_on=expires.isoformat())
    return None


def certificate_expiry(certificate_date: date, rules=RULES) -> date:
    v = rule_in_force("training_certificate", certificate_date, rules)
    return add_months(certificate_date, v.params["valid_months"])


def check_introducers(*, official_introducers: int, youth_union_resolution: bool, youth_union_member: bool,
                      on: date, rules=RULES) -> Finding | None:
    v = rule_in_force("introducers", on, rules)
    if official_introducers >= v.params["official_members"]:
        return None
    if (youth_union_member and youth_union_resolution
            and official_introducers >= v.params["with_youth_union_resolution"]):
        return None
    return _finding(v, "introducers", f"(Có {official_introducers} đảng viên chính thức giới thiệu.)",
                    f"({official_introducers} official introducer(s) given.)", official_introducers=official_introducers)


def probation_end(admission_date: date, rules=RULES) -> date:
    v = rule_in_force("probation", admission_date, rules)
    return add_months(admission_date, v.params["months"])


def check_probation(*, admission_date: date, on: date, rules=RULES) -> Finding | None:
    v = rule_in_force("probation", on, rules)
    ends = add_months(admission_date, v.params["months"])
    if on < ends:
        return _finding(v, "date", f"(Hết thời gian dự bị ngày {ends}.)", f"(Probation ends on {ends}.)",
                        probation_ends=ends.isoformat())
    return None


def check_cell_strength(*, official_members: int | None, on: date, rules=RULES) -> Finding | None:
    """Unknown strength (never reported) is not flagged: the rule is advisory."""
    v = rule_in_force("cell_strength", on, rules)
    if official_members is not None and official_members < v.params["official_members"]:
        return _finding(v, "org_code", f"(Chi bộ báo cáo {official_members}.)",
                        f"(The cell reported {official_members}.)", official_members=official_members)
    return None


def decision_due(resolution_date: date, holidays: frozenset[date] = frozenset(), rules=RULES) -> date:
    v = rule_in_force("decision_deadline", resolution_date, rules)
    return add_working_days(resolution_date, v.params["working_days"], holidays)


def check_decision_deadline(*, resolution_date: date | None, on: date, holidays: frozenset[date] = frozenset(),
                            rules=RULES) -> Finding | None:
    if resolution_date is None:
        return None
    v = rule_in_force("decision_deadline", on, rules)
    days = working_days_after(resolution_date, on, holidays)
    if days > v.params["working_days"]:
        return _finding(v, "date", f"({days} ngày làm việc.)", f"({days} working days.)", working_days=days)
    return None
