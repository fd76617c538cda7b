"""How progress figures are shown: percent of plan as the press prints it, status against the
share of the period elapsed, composition lines."""
from __future__ import annotations

import json
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from .models import ATTRIBUTES, Quota
from .periods import Period


def percent_of_plan(admitted: int, target: int | None) -> Decimal | None:
    """As the press prints it: 1,732 against 1,500 is 115.47 (ROUND_HALF_UP, 2 decimals)."""
    if not target:
        return None
    return (Decimal(admitted) * 100 / Decimal(target)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


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
