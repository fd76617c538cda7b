"""Reports: the progress report of an organisation and its children as the quota API lays it out
in XLSX (passed through unchanged, so the page and provincial systems get the same file), and a
print view of the same table (print stylesheet: the page prints as the table alone)."""
from __future__ import annotations

from flask import Response

from shared import clock

from . import formatting
from .apiclient import as_problem
from .current import api, login_required
from .dashboard import bp, org_path, page, period_arg, quota_get
from .progress_view import figures, ranked_children

REPORT_ROWS = 500
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@bp.route("/org/<code>/report")
@login_required
def report(code: str):
    period = period_arg()
    # The whole table (up to the API's largest page; the XLSX always has every row).
    progress = quota_get(org_path(code, "/progress"), period=period, per_page=REPORT_ROWS)
    return page("dashboard/report.html", code=code, period=period, active="dash.report",
                org_name=progress["org_name"], own=figures(progress), children=ranked_children(progress),
                today=formatting.day(clock.today()), as_of=formatting.day(progress.get("as_of")))


@bp.route("/org/<code>/report.xlsx")
@login_required
def report_xlsx(code: str):
    period = period_arg()
    answer = api().request("GET", "quota", org_path(code, "/report"), params={"period": period, "format": "xlsx"},
                           headers={"Accept": XLSX})
    if not answer.ok:
        raise as_problem(answer)
    disposition = answer.headers.get("Content-Disposition") or f'attachment; filename="bao-cao-{code}-{period}.xlsx"'
    return Response(answer.content, mimetype=XLSX,
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, no-store"})
