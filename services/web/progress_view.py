"""The quota API's progress answers made into what the pages show: formatted figures, the status
with its colour class, a progress bar's width, composition lines, and the pace chart's ECharts
option. Plain functions of the API's JSON; the templates only place what they return."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _

from . import formatting
from .labels import composition_label, status_label


def figures(item: dict) -> dict:
    """One organisation's figures (the progress answer, or one of its `children`)."""
    percent = item.get("percent")
    width = min(100.0, float(Decimal(percent))) if percent is not None else 0.0
    status = item.get("status")
    return {
        "code": item.get("code") or item.get("org_code"), "name": item.get("name") or item.get("org_name"),
        "admitted": formatting.number(item.get("admitted", 0)), "admitted_raw": item.get("admitted", 0),
        "target": formatting.number(item.get("target")), "target_raw": item.get("target"),
        "percent": formatting.percent(percent), "status": status or "no_quota", "status_label": status_label(status),
        "bar": f"{width:.1f}", "rank": item.get("rank"),
        "expected": formatting.number(round(item["expected_by_now"])) if item.get("expected_by_now") is not None
        else "–",
    }


def composition(item: dict) -> list[dict]:
    """Each composition target: share or count reached, met or not."""
    lines = []
    for line in item.get("composition") or []:
        wanted = []
        if line.get("min_share") is not None:
            wanted.append("≥ " + formatting.percent(line["min_share"]))
        if line.get("min_count") is not None:
            wanted.append("≥ " + formatting.number(int(line["min_count"])))
        lines.append({"attribute": line["attribute"], "label": composition_label(line["attribute"]),
                      "count": formatting.number(line.get("count", 0)), "share": formatting.percent(line.get("share")),
                      "wanted": ", ".join(wanted), "met": bool(line.get("met")),
                      "met_label": _("Đạt") if line.get("met") else _("Chưa đạt")})
    return lines


def ranked_children(progress: dict) -> list[dict]:
    return [figures(child) for child in progress.get("children") or []]


def pace_charts(*, months: list[str], actual: list[int | None], even: list[float] | None,
                previous: list[int] | None, previous_label: str) -> list[dict]:
    """The ECharts options of the two charts: cumulative admissions by month against the even pace
    to the target, and against the previous year's curve (months not reached yet are gaps)."""
    done = {"name": _("Thực hiện"), "type": "line", "data": actual, "symbolSize": 6, "lineStyle": {"width": 3},
            "itemStyle": {"color": "#b3261e"}}
    charts = []
    if even is not None:
        charts.append({"id": "pace-even", "title": _("So với tiến độ đều đến chỉ tiêu"), "option": _line(months, [
            done, {"name": _("Tiến độ đều đến chỉ tiêu"), "type": "line", "data": even, "symbol": "none",
                   "lineStyle": {"type": "dashed"}, "itemStyle": {"color": "#59636e"}}])})
    if previous is not None:
        charts.append({"id": "pace-previous", "title": _("So với năm trước"), "option": _line(months, [
            done, {"name": previous_label, "type": "line", "data": previous, "symbolSize": 4,
                   "itemStyle": {"color": "#0969da"}}])})
    if not charts:
        charts.append({"id": "pace-even", "title": _("Lũy kế kết nạp theo tháng"), "option": _line(months, [done])})
    return charts


def _line(months: list[str], series: list[dict]) -> dict:
    return {"animation": False, "tooltip": {"trigger": "axis"}, "legend": {"bottom": 0},
            "grid": {"left": 48, "right": 16, "top": 16, "bottom": 56},
            "xAxis": {"type": "category", "data": months, "boundaryGap": False},
            "yAxis": {"type": "value", "minInterval": 1}, "series": series}
