"""The overview of an organisation for a period: admitted against target, percent of plan, status,
composition, the pace chart (cumulative by month against the even pace and the previous period)
and the forecast; its figures and "quota met" notices refreshed in place (htmx, every
CHITIEU_WEB_LIVE_POLL_S seconds) while the page is open."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app, render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared.problems import Problem

from . import formatting
from .apiclient import ServiceClient, path_part
from .current import api, login_required
from .dashboard import bp, org_path, page, period_arg, together
from .progress_view import composition, figures, pace_charts

VERDICT_LABELS = {"on_track": _l("Kịp chỉ tiêu"), "at_risk": _l("Có nguy cơ không đạt")}
METHOD_LABELS = {"seasonal": _l("Theo nhịp độ năm nay và mùa vụ của các năm trước."),
                 "even_pace": _l("Theo nhịp độ đều từ đầu kỳ (chưa có năm trước để so)."),
                 "final": _l("Kỳ đã kết thúc: số liệu cuối cùng."), "not_started": _l("Kỳ chưa bắt đầu.")}


@bp.route("/org/<code>")
@login_required
def overview(code: str):
    period, client = period_arg(), api()
    params = {"period": period}
    # The overview shows no children: one row of them is all it asks for.
    got = together(progress=lambda: client.get("quota", org_path(code, "/progress"), params={**params, "per_page": 1}),
                   pace=lambda: _optional(client, org_path(code, "/pace"), params),
                   forecast=lambda: _optional(client, org_path(code, "/forecast"), params),
                   latest=lambda: _latest_notice(client, code))
    progress = got["progress"]
    return page("dashboard/overview.html", code=code, period=period, active="dash.overview",
                org_name=progress["org_name"], as_of=formatting.day(progress.get("as_of")),
                live=live_context(code, period, progress, notices=[], after=got["latest"]),
                composition=composition(progress), chart=_chart(got["pace"]), forecast=_forecast(got["forecast"]))


@bp.route("/org/<code>/live")
@login_required
def live(code: str):
    """The figures and new notices of an open overview (htmx swaps this fragment)."""
    period, client, after = period_arg(), api(), _int_arg("after")
    got = together(progress=lambda: client.get("quota", org_path(code, "/progress"),
                                                params={"period": period, "per_page": 1}),
                   notices=lambda: _notices(client, code, after))
    return render_template("partials/live.html",
                           live=live_context(code, period, got["progress"], notices=got["notices"], after=after))


def live_context(code: str, period: str, progress: dict, *, notices: list[dict], after: int | None) -> dict:
    return {"code": code, "period": period, "figures": figures(progress), "after": after,
            "notices": [{"id": n["id"], "kind": n["kind"], "text": n["text"], "at": formatting.moment(n.get("created_at"))}
                        for n in notices],
            "every_s": current_app.extensions["web_settings"].live_poll_s}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _latest_notice(client: ServiceClient, code: str) -> int | None:
    """The newest notice of the organisation's inbox when the page opens (newer ones are shown)."""
    try:
        latest = client.get("notifications", f"/api/v1/inbox/{path_part(code)}", params={"per_page": 1})["items"]
    except Problem:
        return None  # no live notices while the notification service does not answer
    return latest[0]["id"] if latest else 0


def _notices(client: ServiceClient, code: str, after: int | None) -> list[dict]:
    if after is None:
        return []
    try:
        return client.get("notifications", f"/api/v1/inbox/{path_part(code)}", params={"after_id": after})["items"]
    except Problem:
        return []


def _chart(series: dict | None) -> list[dict] | None:
    """Cumulative admissions by month against the even pace and the previous year (the quota API's
    pace series)."""
    if not series or not series.get("months"):
        return None
    months = series["months"]
    even = [m.get("even_pace") for m in months] if series.get("target") else None
    previous = [m.get("previous_year") for m in months] if series.get("previous_period") else None
    return pace_charts(months=[_month_label(m["month"]) for m in months], actual=[m.get("admitted") for m in months],
                      even=even, previous=previous, previous_label=series.get("previous_period") or "")


def _month_label(value: str) -> str:
    """'2024-06' -> '06/2024'."""
    return f"{value[5:]}/{value[:4]}" if len(value) == 7 else value


def _forecast(answer: dict | None) -> dict | None:
    if not answer or answer.get("expected") is None:
        return None
    verdict = answer.get("verdict")
    if verdict == "on_track":
        margin = _("vượt chỉ tiêu %(n)s", n=formatting.number(answer.get("margin") or 0))
    elif verdict == "at_risk" and answer.get("needed_per_month"):
        margin = _("thiếu %(n)s so với chỉ tiêu; cần %(m)s mỗi tháng còn lại",
                   n=formatting.number(answer.get("shortfall") or 0),
                   m=formatting.number(Decimal(answer["needed_per_month"])))
    elif verdict == "at_risk":
        margin = _("thiếu %(n)s so với chỉ tiêu", n=formatting.number(answer.get("shortfall") or 0))
    else:
        margin = ""
    spread = answer.get("low") is not None and answer.get("low") != answer.get("high")
    return {"expected": formatting.number(answer["expected"]), "spread": spread,
            "low": formatting.number(answer.get("low")), "high": formatting.number(answer.get("high")),
            "verdict": verdict or "none", "verdict_label": str(VERDICT_LABELS.get(verdict, "")), "margin_text": margin,
            "method": str(METHOD_LABELS.get(answer.get("method"), answer.get("method") or ""))}


def _optional(client: ServiceClient, path: str, params: dict) -> dict | None:
    """An answer the page can do without (404: not offered for this period or organisation)."""
    try:
        return client.get("quota", path, params=params)
    except Problem as problem:
        if problem.status in (404, 405, 422):
            return None
        raise
