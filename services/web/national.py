"""The overview entry of a country-wide (`*`) account (issue 11 left it without one): the tops of
the tree, the provinces, from the quota API (`GET /organizations?top=true`), each a link to its
overview. Any other account goes straight to its own organisation's overview."""
from __future__ import annotations

from flask import redirect, render_template, url_for

from shared.auth import ALL_ORGS

from .current import login_required, user
from .dashboard import bp, period_arg, quota_get

PAGE_SIZE = 100


@bp.route("/org")
@login_required
def national():
    person = user()
    period = period_arg()
    if person.org != ALL_ORGS:
        return redirect(url_for("dash.overview", code=person.org, period=period))
    answer = quota_get("/api/v1/organizations", top="true", per_page=PAGE_SIZE)
    return render_template("dashboard/national.html", period=period,
                           tops=[{"code": o["code"], "name": o["name"]} for o in answer.get("items", [])],
                           more=answer.get("total", 0) > PAGE_SIZE)
