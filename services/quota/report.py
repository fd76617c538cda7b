"""The progress report of an organisation and period: its figures and each child's, rankable.
Figures come from Redis (live) unless `as_of` is a day inside the period: then they are a cut-off,
the admissions dated up to that day (daily.py); targets and the tree come from the database."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from shared import clock

from . import daily
from .counters import FIELDS
from .models import ATTRIBUTES
from .catalog import CATALOG
from .organizations import get_organization
from .figures import figures_view, percent_of_plan
from .projection import ProgressStore
from .periods import Period
from .quotas import check_period, default_day


def progress_report(session: Session, store: ProgressStore, *, org_code: str, period: str,
                    as_of: date | None = None, rank_by: str = "percent", offset: int = 0,
                    limit: int | None = None) -> dict:
    """The organisation's figures and its children ranked; with `limit`, only the children ranked
    offset+1 .. offset+limit are drawn (the ranking is over all of them: a province of 3,000 cells
    costs a sort, not 3,000 views)."""
    parsed = check_period(period)
    cut_off = as_of
    as_of = as_of or clock.today()
    day = default_day(parsed, as_of)
    rows_of = CATALOG.report_rows(session, org_code=org_code, period=period, day=day)
    if rows_of is None:
        get_organization(session, org_code)  # raises the 404
    codes = [org_code] + [c.code for c in rows_of.children]
    figures = figures_of(session, store, codes, period=parsed, cut_off=cut_off)

    def view(code: str) -> dict:
        target, composition = rows_of.quotas.get(code, (None, []))
        return figures_view(target=target, figures=figures[code], period=parsed, as_of=as_of,
                            composition=composition)

    ranked = sorted(rows_of.children, key=_rank_key(rank_by, figures, rows_of.quotas))
    page = ranked[offset:] if limit is None else ranked[offset:offset + limit]
    rows = [{"code": child.code, "name": child.name, "type": child.type, **view(child.code),
             "rank": offset + i} for i, child in enumerate(page, start=1)]
    return {"org_code": org_code, "org_name": rows_of.org_name, "period": period, "as_of": as_of,
            "elapsed_share": round(parsed.elapsed_share(as_of), 4), **view(org_code), "children": rows,
            "children_total": len(ranked)}


def figures_of(session: Session, store: ProgressStore, codes: list[str], *, period: Period,
               cut_off: date | None) -> dict[str, dict[str, int]]:
    """Each organisation's figures for `period`: live (Redis) with no cut-off or one on or after the
    period's last day; otherwise the admissions dated up to `cut_off` (none before the period)."""
    if live_figures(period, cut_off):
        return dict(zip(codes, store.figures([(c, period.code) for c in codes])))
    if cut_off < period.start:
        return {c: dict.fromkeys(FIELDS, 0) for c in codes}
    return daily.sums(session, codes, start=period.start, last=cut_off)


def live_figures(period: Period, cut_off: date | None) -> bool:
    """True if the figures as of `cut_off` are the live ones (Redis): none, or one on or after the
    period's last day."""
    return cut_off is None or cut_off >= period.end - timedelta(days=1)


def _rank_key(rank_by: str, figures: dict, quotas: dict):
    if rank_by == "code":
        return lambda c: c.code
    if rank_by == "admitted":
        return lambda c: (-figures[c.code].get("admitted", 0), c.code)

    def achievement(c):
        # By achievement: percent of plan, highest first; organisations without a quota last.
        admitted = figures[c.code].get("admitted", 0)
        percent = percent_of_plan(admitted, quotas.get(c.code, (None,))[0])
        return (percent is None, -(percent or Decimal(0)), -admitted, c.code)
    return achievement


# The official table: the organisation's children ranked, their total, the organisation itself.
ATTRIBUTE_LABELS = {
    "woman": ("Nữ", "Women"), "ethnic_minority": ("Dân tộc thiểu số", "Ethnic minorities"),
    "student": ("Học sinh, sinh viên", "Students"),
    "non_state_enterprise": ("Doanh nghiệp ngoài nhà nước", "Non-state enterprises"),
    "under_30": ("Dưới 30 tuổi", "Under 30"), "youth_union": ("Đoàn viên", "Youth Union members"),
    "religious": ("Có đạo", "Religious followers"),
}
TITLE = ("BÁO CÁO KẾT QUẢ PHÁT TRIỂN ĐẢNG VIÊN MỚI", "Report on the admission of new party members")


def period_label(period: Period) -> tuple[str, str]:
    if period.is_term:
        return f"Nhiệm kỳ {period.start.year}–{period.end.year}", f"Term {period.start.year}–{period.end.year}"
    return f"Năm {period.start.year}", f"Year {period.start.year}"


def vi_number(n: int) -> str:
    """1732 → "1.732" (the Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def official_report(session: Session, store: ProgressStore, *, org_code: str, period: str,
                    as_of: date | None = None, report_date: date | None = None) -> dict:
    """The progress report laid out as the official table (JSON; report_xlsx.py draws it)."""
    progress = progress_report(session, store, org_code=org_code, period=period, as_of=as_of, rank_by="percent")
    parsed = check_period(period)

    def row(item: dict) -> dict:
        return {"code": item["code"], "name": item["name"], "target": item["target"], "admitted": item["admitted"],
                "percent": item["percent"], "percent_display": item["percent_display"], "status": item["status"],
                "status_text": item["status_text"], "counts": item["counts"]}

    children = [{"rank": c["rank"], **row(c)} for c in progress["children"]]
    targets = [c["target"] for c in children if c["target"] is not None]
    total_target = sum(targets) if targets else None
    total_admitted = sum(c["admitted"] for c in children)
    percent = percent_of_plan(total_admitted, total_target)
    totals = {"target": total_target, "admitted": total_admitted,
              "percent": None if percent is None else str(percent),
              "percent_display": None if percent is None else f"{percent:.2f}%".replace(".", ","),
              "counts": {a: sum(c["counts"][a] for c in children) for a in ATTRIBUTES}}
    own = row({**progress, "code": progress["org_code"], "name": progress["org_name"]})
    label = period_label(parsed)
    return {"title": TITLE[0], "title_en": TITLE[1], "org_code": progress["org_code"],
            "org_name": progress["org_name"], "period": period, "period_label": label[0],
            "period_label_en": label[1], "as_of": progress["as_of"], "report_date": report_date or clock.today(),
            "organization": own, "children": children, "children_total": totals,
            "attributes": [{"attribute": a, "label": ATTRIBUTE_LABELS[a][0], "label_en": ATTRIBUTE_LABELS[a][1]}
                           for a in ATTRIBUTES]}
