"""The dashboard's blueprint and what its pages share: the signed-in person (every page needs one),
the period asked for, the organisation pages' navigation, and refusals as Vietnamese pages.

The pages themselves are in overview.py, tree.py, quota_pages.py and reports.py; every figure
comes from the quota, candidate and notification APIs called with the person's own token
(`current.api()`), so an organisation outside the person's subtree is refused by the API (403)
and answered here with a page saying so.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from flask import Blueprint, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from shared import clock
from shared.problems import Problem

from .apiclient import path_part
from .current import api
from .pages import load_signed_in_person

bp = Blueprint("dash", __name__, template_folder="templates")
bp.before_request(load_signed_in_person)

PERIOD = re.compile(r"^(\d{4})(?:-(\d{4}))?$")
TABS = (("dash.overview", _l("Tổng quan")), ("dash.tree", _l("Tổ chức trực thuộc")), ("dash.quotas", _l("Chỉ tiêu")),
        ("dash.report", _l("Báo cáo")), ("dash.candidates", _l("Quần chúng ưu tú")), ("dash.imports", _l("Nhập từ tệp")))


def period_arg() -> str:
    """The period of the request (?period=2024 or 2020-2025), the current year by default."""
    value = (request.values.get("period") or "").strip()
    if not value:
        return str(clock.today().year)
    match = PERIOD.match(value)
    if not match or not 2000 <= int(match.group(1)) <= 2100 or (
            match.group(2) and not int(match.group(1)) < int(match.group(2)) <= int(match.group(1)) + 10):
        raise Problem(400, _("Kỳ không hợp lệ"), _("Kỳ là một năm (2024) hoặc một nhiệm kỳ (2020-2025)."),
                      errors={"period": [_("Kỳ là một năm (2024) hoặc một nhiệm kỳ (2020-2025).")]})
    return value


def period_choices(period: str) -> list[str]:
    """The periods offered in the selector: recent years, the standard terms, and the one shown."""
    year = clock.today().year
    choices = [str(y) for y in range(year + 1, year - 4, -1)] + ["2025-2030", "2020-2025"]
    return choices if period in choices else [period, *choices]


def quota_get(path: str, **params):
    return api().get("quota", path, params=params or None)


_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="dashboard-api")


def together(**calls: Callable[[], object]) -> dict[str, object]:
    """Run a page's independent API calls at once (its time is the slowest call's, not their sum);
    each call takes what it needs from the request beforehand. A refusal is raised as it came."""
    futures = {name: _pool.submit(call) for name, call in calls.items()}
    return {name: future.result() for name, future in futures.items()}


def org_path(code: str, tail: str = "") -> str:
    return f"/api/v1/organizations/{path_part(code)}{tail}"


def tabs(code: str, period: str, active: str) -> list[dict]:
    return [{"url": url_for(endpoint, code=code, period=period), "label": str(label), "active": endpoint == active}
            for endpoint, label in TABS]


def page(template: str, *, code: str, period: str, active: str, **context):
    """An organisation's page with its tabs and period selector."""
    return render_template(template, code=code, period=period, periods=period_choices(period),
                           tabs=tabs(code, period, active), active=active, **context)


@bp.errorhandler(Problem)
def refused(problem: Problem):
    """An API's refusal as a page in the person's language: 403 outside one's subtree, 404 unknown."""
    if problem.status == 403:
        title, message = _("Không có quyền truy cập"), _(
            "Tổ chức này nằm ngoài phạm vi của bạn, hoặc vai trò của bạn không cho phép việc này.")
    elif problem.status == 404:
        title, message = _("Không tìm thấy"), _("Không có tổ chức hoặc dữ liệu này.")
    elif problem.status == 400:
        title, message = problem.title, problem.detail or problem.title
    elif problem.status >= 500:
        title, message = _("Dịch vụ tạm thời không trả lời"), _("Hãy thử lại sau ít phút.")
    else:
        title, message = problem.title, problem.detail or problem.title
    if request.headers.get("HX-Request"):
        return render_template("partials/problem.html", title=title, message=message), problem.status
    return render_template("error.html", title=title, message=message), problem.status
