"""HTTP views of the quota service (thin: they check input and scope, then call the service layer).

Scope: tree changes need the role admin, quotas officer, reads viewer; the `org` claim of the
token limits every call to that organisation's subtree ('*' = the whole country).
"""
from __future__ import annotations

from flask import Response, current_app, request
from flask_smorest import Blueprint
from sqlalchemy import select

from shared import clock
from shared.auth import ALL_ORGS, require_role, require_scope
from shared.pagination import offset, page_of
from shared.problems import Problem
from shared.redis_client import get_redis
from shared.spreadsheets import XLSX_MIMETYPE, xlsx_template
from shared.web import current_db

from . import answers, importer, organizations, quotas, tree_preview
from .forecast import forecast as forecast_of
from .pace import pace_series
from .search import search_organizations, top_organizations
from .models import Organization, OrganizationName, OrganizationParent
from .projection import ProgressStore
from .report import official_report, progress_report
from .report_xlsx import XLSX, report_workbook
from .schemas import (AllocationOut, ChildrenQuery, DissolveIn, ForecastOut, ImportIn, ImportOut, MergeIn, MoveIn,
                      OrganizationIn, OrganizationOut, OrganizationPage, PaceOut, PeriodQuery, ProgressOut, ProgressQuery, QuotaIn, QuotaOut, RenameIn,
                      TreeChangePreviewOut,
                      ReportOut, ReportQuery, SearchQuery)

blp = Blueprint("organizations", __name__, url_prefix="/organizations",
                description="Cây tổ chức, chỉ tiêu và tiến độ / Organisation tree, quotas and progress")


@blp.before_request
def _refuse_unusable_path():
    # A code with control characters can name no organisation (and PostgreSQL refuses NUL).
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str) and any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) < 0xE000 for ch in value):
            raise Problem(404, "Not Found", "không có tổ chức này / no such organisation",
                          errors={name: ["ký tự điều khiển / control characters"]})



def _store() -> ProgressStore:
    settings = current_app.config["CHITIEU_SETTINGS"]
    return ProgressStore(get_redis(settings.redis_url), settings)


def _scope(session, code: str, role: str):
    return require_scope(code, role=role, is_within=lambda c, a: organizations.is_within(session, c, a))


def _org_view(session, org: Organization) -> dict:
    view = {c: getattr(org, c) for c in ("code", "name", "type", "status", "parent_code", "founded_on",
                                         "ended_on", "merged_into")}
    view["name_history"] = [{"name": n.name, "valid_from": n.valid_from.isoformat(),
                             "valid_to": n.valid_to.isoformat() if n.valid_to else None}
                            for n in session.execute(select(OrganizationName).where(
                                OrganizationName.code == org.code).order_by(OrganizationName.valid_from)).scalars()]
    view["parent_history"] = [{"parent_code": p.parent_code, "valid_from": p.valid_from.isoformat(),
                               "valid_to": p.valid_to.isoformat() if p.valid_to else None}
                              for p in session.execute(select(OrganizationParent).where(
                                  OrganizationParent.code == org.code).order_by(OrganizationParent.valid_from)).scalars()]
    return view


@blp.route("", methods=["POST"])
@blp.arguments(OrganizationIn)
@blp.response(201, OrganizationOut)
def create(body):
    """Tạo tổ chức / Create an organisation (admin; the parent must be in your subtree)."""
    with current_db().transaction() as session:
        if body["parent_code"] is None:
            principal = require_role("admin")
            if principal.org != ALL_ORGS:
                raise Problem(403, "Forbidden", "chỉ cấp toàn quốc tạo tổ chức gốc / only '*' may create a top organisation")
        else:
            _scope(session, body["parent_code"], "admin")
        org = organizations.create_organization(session, code=body["code"], name=body["name"], type=body["type"],
                                                parent_code=body["parent_code"],
                                                effective_date=body["effective_date"] or clock.today())
        return _org_view(session, org)


@blp.route("/import", methods=["POST"])
@blp.arguments(ImportIn, location="files")
@blp.response(201, ImportOut)
def import_tree(files):
    """Nhập cây từ CSV/XLSX, tất cả hoặc không / Import a tree from CSV or XLSX, all or nothing (admin)."""
    require_role("admin")
    upload = files["file"]
    rows, columns = importer.read_rows(upload.read(), upload.filename or "upload.csv")  # before the transaction
    with current_db().transaction() as session:
        principal = require_role("admin")
        if principal.org != ALL_ORGS:
            in_file = {r.get("code") for r in rows}
            for row in rows:
                parent = row.get("parent_code")
                if not parent or (parent not in in_file and not organizations.is_within(session, parent, principal.org)):
                    raise Problem(403, "Forbidden", f"'{row.get('code')}' would be outside your scope '{principal.org}'")
        codes = importer.import_tree(session, rows=rows, default_date=clock.today(), columns=columns)
    return {"created": len(codes), "codes": codes}


@blp.route("/import/template", methods=["GET"])
@blp.doc(responses={"200": {"description": "an XLSX workbook", "content": {XLSX_MIMETYPE: {}}}})
def import_template():
    """Mẫu XLSX để nhập cây / The XLSX template of a tree import: Vietnamese headers, an example row,
    dates as dd/mm/yyyy, and a second sheet saying what each column takes."""
    require_role("viewer")
    response = Response(xlsx_template(importer.TEMPLATE, title="Cây tổ chức"), mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = 'attachment; filename="mau-cay-to-chuc.xlsx"'
    return response


@blp.route("/<code>")
@blp.response(200, OrganizationOut)
def get(code):
    """Một tổ chức với lịch sử tên và cấp trên / One organisation with its name and parent history."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        return _org_view(session, organizations.get_organization(session, code))


@blp.route("")
@blp.arguments(SearchQuery, location="query")
@blp.response(200, OrganizationPage)
def search(query):
    """Tìm tổ chức theo tên, có dấu hoặc không, trong phạm vi của bạn / Find organisations by name,
    with or without diacritics, in your subtree (the tree in force today); paginated (page,
    per_page; shared/pagination.py), ordered by name. `top=true` instead: the tops of your subtree
    (for '*', the organisations without a parent: the provinces)."""
    principal = require_role("viewer")
    if not query["q"] and not query["top"]:
        raise Problem(422, "Unprocessable Entity", "thiếu từ khóa / q is missing",
                      errors={"q": ["bắt buộc, trừ khi top=true / required unless top=true"]})
    within = None if principal.org == ALL_ORGS else principal.org
    with current_db().transaction() as session:
        if query["top"]:
            rows, total = top_organizations(session, within=within, offset=offset(query), limit=query["per_page"])
        else:
            rows, total = search_organizations(session, q=query["q"], within=within, offset=offset(query),
                                               limit=query["per_page"])
        return page_of(rows, total=total, query=query)


@blp.route("/<code>/children")
@blp.arguments(ChildrenQuery, location="query")
@blp.response(200, OrganizationPage)
def children(query, code):
    """Tổ chức trực thuộc theo cây có hiệu lực vào ngày as_of / Children in the tree in force on as_of,
    ordered by code; paginated (page, per_page; shared/pagination.py)."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        organizations.get_organization(session, code)
        rows = organizations.children_on(session, code, query["as_of"] or clock.today())
        start = offset(query)
        return page_of(rows[start:start + query["per_page"]], total=len(rows), query=query)


def _tree_change(code: str, *others: str):
    """Scope of a tree change: admin over the organisation and every other one it touches."""
    def check(session):
        for c in (code, *others):
            if c:
                _scope(session, c, "admin")
    return check


@blp.route("/<code>/rename", methods=["POST"])
@blp.arguments(RenameIn)
@blp.response(200, OrganizationOut)
def rename(body, code):
    """Đổi tên từ một ngày / Rename from a date (admin)."""
    with current_db().transaction() as session:
        _tree_change(code)(session)
        org = organizations.rename_organization(session, code=code, name=body["name"],
                                                effective_date=body["effective_date"] or clock.today())
        return _org_view(session, org)


@blp.route("/<code>/move", methods=["POST"])
@blp.arguments(MoveIn)
@blp.response(200, OrganizationOut)
def move(body, code):
    """Chuyển sang cấp trên khác từ một ngày / Move under another parent from a date (admin)."""
    with current_db().transaction() as session:
        _tree_change(code, body["parent_code"])(session)
        org = organizations.move_organization(session, code=code, parent_code=body["parent_code"],
                                              effective_date=body["effective_date"] or clock.today())
        return _org_view(session, org)


@blp.route("/<code>/merge", methods=["POST"])
@blp.arguments(MergeIn)
@blp.response(200, OrganizationOut)
def merge(body, code):
    """Hợp nhất vào tổ chức khác / Merge into another organisation (admin); its children follow."""
    with current_db().transaction() as session:
        _tree_change(code, body["into_code"])(session)
        org = organizations.merge_organization(session, code=code, into_code=body["into_code"],
                                               effective_date=body["effective_date"] or clock.today())
        return _org_view(session, org)


@blp.route("/<code>/dissolve", methods=["POST"])
@blp.arguments(DissolveIn)
@blp.response(200, OrganizationOut)
def dissolve(body, code):
    """Giải thể; tổ chức trực thuộc chuyển về cấp trên / Dissolve; the children go to the parent (admin)."""
    with current_db().transaction() as session:
        # Where the children go, named or by default the parent, is touched too.
        _tree_change(code, body["children_to"] or organizations.get_organization(session, code).parent_code)(session)
        org = organizations.dissolve_organization(session, code=code, children_to=body["children_to"],
                                                  effective_date=body["effective_date"] or clock.today())
        return _org_view(session, org)


@blp.route("/<code>/move/preview", methods=["POST"])
@blp.arguments(MoveIn)
@blp.response(200, TreeChangePreviewOut)
def preview_move(body, code):
    """Xem trước việc chuyển, không thay đổi gì / What the move would do; nothing is changed (admin).
    The same refusals as the move itself."""
    with current_db().transaction() as session:
        _tree_change(code, body["parent_code"])(session)
        return tree_preview.preview_move(session, code=code, parent_code=body["parent_code"],
                                         effective_date=body["effective_date"] or clock.today())


@blp.route("/<code>/merge/preview", methods=["POST"])
@blp.arguments(MergeIn)
@blp.response(200, TreeChangePreviewOut)
def preview_merge(body, code):
    """Xem trước việc hợp nhất / What the merger would do: the children that follow, the quotas; nothing is changed (admin)."""
    with current_db().transaction() as session:
        _tree_change(code, body["into_code"])(session)
        return tree_preview.preview_merge(session, code=code, into_code=body["into_code"],
                                          effective_date=body["effective_date"] or clock.today())


@blp.route("/<code>/dissolve/preview", methods=["POST"])
@blp.arguments(DissolveIn)
@blp.response(200, TreeChangePreviewOut)
def preview_dissolve(body, code):
    """Xem trước việc giải thể / What the dissolution would do: the children and where they go; nothing is changed (admin)."""
    with current_db().transaction() as session:
        _tree_change(code, body["children_to"] or organizations.get_organization(session, code).parent_code)(session)
        return tree_preview.preview_dissolve(session, code=code, children_to=body["children_to"],
                                             effective_date=body["effective_date"] or clock.today())


@blp.route("/<code>/quotas/<period>", methods=["PUT"])
@blp.arguments(QuotaIn)
@blp.response(200, QuotaOut)
def put_quota(body, code, period):
    """Giao hoặc điều chỉnh chỉ tiêu / Set or change the quota for a year (2024) or term (2020-2025) (officer)."""
    with current_db().transaction() as session:
        principal = _scope(session, code, "officer")
        if principal.org != ALL_ORGS and code == principal.org:
            # A quota is assigned from above: an officer sets those of the organisations below it.
            raise Problem(403, "Forbidden", f"chỉ tiêu của '{code}' do cấp trên giao / the quota of '{code}' is "
                                            "assigned by the level above",
                          errors={"code": ["Không tự giao chỉ tiêu cho tổ chức của mình / "
                                           "cannot set your own organisation's quota"]})
        if body["assigner_org_code"]:
            _scope(session, body["assigner_org_code"], "officer")
        new_term = quotas.needs_backfill(session, period)
        quota = quotas.set_quota(session, org_code=code, period=period, target=body["target"],
                                 composition=body["composition"], assigner_org_code=body["assigner_org_code"],
                                 changed_by=principal.sub)
        view = quotas.quota_view(quota)
    if new_term:
        with current_db().transaction() as session:
            _store().copy_period(session, period)
    return view


@blp.route("/<code>/quotas")
@blp.response(200, QuotaOut(many=True))
def list_quotas(code):
    """Chỉ tiêu các kỳ và lịch sử điều chỉnh / Quotas of every period with their history."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        return quotas.list_quotas(session, org_code=code)


@blp.route("/<code>/allocation")
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, AllocationOut)
def allocation(query, code):
    """Phân bổ chỉ tiêu cho tổ chức trực thuộc: đủ, thiếu, vượt / Allocation among children: fully, under, over."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        return quotas.allocation(session, org_code=code, period=query["period"], as_of=query["as_of"])


@blp.route("/<code>/progress")
@blp.arguments(ProgressQuery, location="query")
@blp.response(200, ProgressOut)
@blp.alt_response(304, description="unchanged since the answer whose ETag was sent in If-None-Match")
def progress(query, code):
    """Tiến độ so với kế hoạch, cơ cấu, trạng thái, xếp hạng tổ chức trực thuộc /
    Progress against plan, composition, status, and each child ranked by achievement; the children
    come a page at a time (page, per_page; children_total, children_next and a Link header). Every
    answer has an ETag: sent back in If-None-Match, it gets 304 while nothing shown has changed."""
    store = _store()
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        # A kept answer while the tree, quotas and figures stay the same (answers.py).
        key = answers.progress_key(store, period=quotas.check_period(query["period"]), as_of=query["as_of"])
        return answers.PROGRESS.respond(key, lambda: _progress_answer(session, store, code, query))


def _progress_answer(session, store: ProgressStore, code: str, query: dict) -> tuple[dict, dict]:
    report = progress_report(session, store, org_code=code, period=query["period"], as_of=query["as_of"],
                             rank_by=query["rank_by"], offset=offset(query), limit=query["per_page"])
    page, headers = page_of(report["children"], total=report["children_total"], query=query)
    return ProgressOut().dump({**report, "children_next": page["next"]}), headers


@blp.route("/<code>/forecast")
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, ForecastOut)
def forecast(query, code):
    """Dự báo kết quả cuối kỳ / Forecast of the period's final figure, with a range and a verdict.

    For a year: admitted so far (up to as_of, default today) divided by the share of a year's
    admissions this organisation made by the same day in each of the five earlier years that had
    any (their mean; the range from the largest and the smallest share). Without such a year, and
    for a term, the even pace: admitted / elapsed share of the period. `on_track` when the forecast
    reaches the target (`margin` above it), else `at_risk` (`shortfall` admissions short).
    docs/forecast.md has the method and its worked example."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        return forecast_of(session, org_code=code, period=query["period"], as_of=query["as_of"])


@blp.route("/<code>/pace")
@blp.arguments(PeriodQuery, location="query")
@blp.response(200, PaceOut)
def pace(query, code):
    """Tiến độ theo tháng / Cumulative admissions by month against the even pace to the target,
    and the previous year's curve (years), for the charts; agrees with progress as of any date."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        return pace_series(session, org_code=code, period=query["period"], as_of=query["as_of"])


@blp.route("/<code>/report")
@blp.arguments(ReportQuery, location="query")
@blp.response(200, ReportOut)
@blp.doc(responses={"200": {"description": "JSON, or the workbook with format=xlsx or its Accept", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ReportOut"}},
                                        XLSX: {"schema": {"type": "string", "format": "binary"}}}}})
def report(query, code):
    """Báo cáo kết quả của tổ chức và các tổ chức trực thuộc / The official progress table of an
    organisation and its children: title, organisation, period, figures as of, report date,
    Vietnamese headers, children ranked by achievement, their total and the organisation's own line.
    XLSX with `format=xlsx` or `Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`."""
    with current_db().transaction() as session:
        _scope(session, code, "viewer")
        table = official_report(session, _store(), org_code=code, period=query["period"], as_of=query["as_of"])
    wants = query["format"] or ("xlsx" if request.accept_mimetypes.best_match(["application/json", XLSX]) == XLSX
                                else "json")
    if wants == "xlsx":
        name = f"bao-cao-{code}-{query['period']}.xlsx"
        return Response(report_workbook(table), mimetype=XLSX,
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
    return table


blueprints = [blp]
