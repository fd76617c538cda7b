"""The overview of an organisation for a period: admitted against target, percent of plan, status,
composition, the pace chart (cumulative by month against the even pace and the previous period)
and the forecast; its figures and "quota met" notices refreshed in place (htmx, every
CHITIEU_WEB_LIVE_POLL_S seconds) while the page is open."""
from __future__ import annotations

from flask import current_app, render_template, request
from flask_babel import gettext as _

from shared.problems import Problem

from . import formatting
from .apiclient import path_part
from .current import api, login_required
from .dashboard import bp, org_path, page, period_arg, quota_get
from .progress_view import composition, figures, pace_chart

MONTHS = [f"{m:02d}" for m in range(1, 13)]


@bp.route("/org/<code>")
@login_required
def overview(code: str):
    period = period_arg()
    progress = quota_get(org_path(code, "/progress"), period=period)
    return page("dashboard/overview.html", code=code, period=period, active="dash.overview",
                org_name=progress["org_name"], as_of=formatting.day(progress.get("as_of")),
                live=live_context(code, period, progress, after=_latest_notice(code)),
                composition=composition(progress), chart=_chart(code, period, progress),
                forecast=_forecast(code, period))


@bp.route("/org/<code>/live")
@login_required
def live(code: str):
    """The figures and new notices of an open overview (htmx swaps this fragment)."""
    period = period_arg()
    progress = quota_get(org_path(code, "/progress"), period=period)
    after = _int_arg("after")
    return render_template("partials/live.html", live=live_context(code, period, progress, after=after))


def live_context(code: str, period: str, progress: dict, *, after: int | None) -> dict:
    return {"code": code, "period": period, "figures": figures(progress), "after": after,
            "notices": _notices(code, after), "every_s": current_app.extensions["web_settings"].live_poll_s}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _latest_notice(code: str) -> int | None:
    """The newest notice of the organisation's inbox when the page opens (newer ones are shown)."""
    try:
        latest = api().get("notifications", f"/api/v1/inbox/{path_part(code)}", params={"limit": 1})
    except Problem:
        return None  # no live notices while the notification service does not answer
    return latest[0]["id"] if latest else 0


def _notices(code: str, after: int | None) -> list[dict]:
    if after is None:
        return []
    try:
        found = api().get("notifications", f"/api/v1/inbox/{path_part(code)}", params={"after_id": after})
    except Problem:
        return []
    return [{"id": n["id"], "kind": n["kind"], "text": n["text"], "at": formatting.moment(n.get("created_at"))}
            for n in found]


def _chart(code: str, period: str, progress: dict) -> dict | None:
    """Cumulative admissions by month (the quota API's pace series), for a year."""
    if "-" in period:
        return None
    series = _optional(org_path(code, "/pace"), period=period)
    if series is None:
        return None
    target = progress.get("target")
    months = [m for m in series.get("months", [])]
    actual = [m.get("cumulative") for m in months]
    previous = [m.get("previous_cumulative") for m in months] if any(
        m.get("previous_cumulative") is not None for m in months) else None
    even = [round(target * (i + 1) / 12, 1) for i in range(12)] if target else None
    labels = [formatting_month(m.get("month"), i) for i, m in enumerate(months)] or MONTHS
    return pace_chart(months=labels, actual=actual, even=even, previous=previous,
                      previous_label=_("Năm %(year)s", year=int(period) - 1))


def formatting_month(value: str | None, index: int) -> str:
    """'2024-06' -> '06/2024'."""
    if value and len(value) == 7:
        return f"{value[5:]}/{value[:4]}"
    return MONTHS[index % 12]


def _forecast(code: str, period: str) -> dict | None:
    answer = _optional(org_path(code, "/forecast"), period=period)
    if not answer:
        return None
    return answer


def _optional(path: str, **params) -> dict | None:
    """An answer the page can do without (404: not offered for this period or organisation)."""
    try:
        return quota_get(path, **params)
    except Problem as problem:
        if problem.status in (404, 405, 422):
            return None
        raise
