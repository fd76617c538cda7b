"""Request and response bodies of the quota API (they document /openapi.json)."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from shared.codes import OrgCode
from shared.pagination import PageQuery, page_schema
from shared.contracts.quotas import COMPOSITION_ATTRIBUTES

from .organizations import ORG_TYPES

# Codes travel in URL paths and names in every report: no control characters (PostgreSQL refuses
# NUL outright), no spaces or URL delimiters in codes.
CODE_RULE = validate.Regexp(r"^[^\s\x00-\x1f\x7f\ud800-\udfff/?#%\\]{1,64}$",
                            error="1-64 ký tự, không khoảng trắng, / ? # % \\ / 1-64 characters, no spaces or / ? # % \\")
NAME_RULE = validate.Regexp(r"^[^\x00-\x1f\x7f\ud800-\udfff]{1,300}$", error="1-300 ký tự, không ký tự điều khiển / "
                                                               "1-300 characters, no control characters")


MAX_COUNT = 100_000_000  # far above any country's admissions in a term; fits the database's integer


def code_field(**kwargs) -> fields.String:
    return OrgCode(validate=CODE_RULE, **kwargs)


class OrganizationIn(Schema):
    code = code_field(required=True,
                      metadata={"description": "mã do hệ thống tích hợp chọn / code chosen by the integrating system"})
    name = fields.String(required=True, validate=NAME_RULE)
    type = fields.String(required=True, validate=validate.OneOf(ORG_TYPES))
    parent_code = code_field(load_default=None, allow_none=True)
    effective_date = fields.Date(load_default=None, metadata={"description": "default: today"})


class OrganizationOut(Schema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    status = fields.String(metadata={"description": "active | merged | dissolved"})
    parent_code = fields.String(allow_none=True)
    founded_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    merged_into = fields.String(allow_none=True)
    name_history = fields.List(fields.Dict(), dump_default=None)
    parent_history = fields.List(fields.Dict(), dump_default=None)


class AsOfQuery(Schema):
    as_of = fields.Date(load_default=None, metadata={"description": "the tree in force on this date (default today)"})


class ChildrenQuery(AsOfQuery, PageQuery):
    pass


class SearchQuery(PageQuery):
    q = fields.String(load_default=None, validate=[validate.Length(min=1, max=300), NAME_RULE], metadata={
        "description": "words of the name, with or without diacritics: 'dong son' finds 'phường Đông Sơn' "
                       "(required unless top=true)"})
    top = fields.Boolean(load_default=False, metadata={
        "description": "true: the tops of your subtree instead of a search (for '*': every organisation without "
                       "a parent today, e.g. the provinces; otherwise your own organisation)"})


class OrganizationSummary(Schema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    status = fields.String()
    parent_code = fields.String(allow_none=True)
    founded_on = fields.Date()
    ended_on = fields.Date(allow_none=True)
    merged_into = fields.String(allow_none=True)


OrganizationPage = page_schema(OrganizationSummary, "OrganizationPage")


class RenameIn(Schema):
    name = fields.String(required=True, validate=NAME_RULE)
    effective_date = fields.Date(load_default=None)


class MoveIn(Schema):
    parent_code = code_field(required=True)
    effective_date = fields.Date(load_default=None)


class MergeIn(Schema):
    into_code = code_field(required=True)
    effective_date = fields.Date(load_default=None)


class DissolveIn(Schema):
    effective_date = fields.Date(load_default=None)
    children_to = code_field(load_default=None, allow_none=True,
                                metadata={"description": "where the children go (default: the parent)"})


class OrgRefOut(Schema):
    code = fields.String()
    name = fields.String()


class PreviewChildOut(Schema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    below = fields.Integer(metadata={"description": "organisations below it, which go with it"})


class PreviewQuotaOut(Schema):
    period = fields.String()
    target = fields.Integer()


class TreeChangePreviewOut(Schema):
    """What a change would do; nothing is changed."""
    change = fields.String(metadata={"description": "move | merge | dissolve"})
    code = fields.String()
    name = fields.String()
    effective_date = fields.Date()
    from_ = fields.Nested(OrgRefOut, data_key="from", attribute="from", allow_none=True,
                          metadata={"description": "the organisation's parent now"})
    to = fields.Nested(OrgRefOut, allow_none=True, metadata={
        "description": "move: the new parent; merge: the successor; dissolve: where the children go"})
    below = fields.Integer(metadata={"description": "organisations below this one on the effective date"})
    children = fields.List(fields.Nested(PreviewChildOut), metadata={
        "description": "merge, dissolve: the children that go to `to` from the effective date"})
    children_count = fields.Integer()
    moving_count = fields.Integer(metadata={
        "description": "organisations that change parent chain: the moved one and everything below it, "
                       "or the children and everything below them"})
    quotas = fields.List(fields.Nested(PreviewQuotaOut), metadata={
        "description": "the organisation's quotas for periods not ended by the effective date"})
    quota_effect = fields.String(metadata={"description": (
        "follows (move: its admissions from the date count under the new parent, earlier ones stay where they "
        "were) | successor (merge: its admissions from the date count for `to`; its quotas end with it) | "
        "ended (dissolve: its quotas end with it)")})


class CompositionIn(Schema):
    attribute = fields.String(required=True, validate=validate.OneOf(COMPOSITION_ATTRIBUTES))
    # Checked (0..100) by quotas.normalise_composition, with a bilingual message.
    min_share = fields.Decimal(load_default=None, allow_none=True,
                               metadata={"minimum": 0, "maximum": 100, "description": "percent, e.g. 10 or \"2.5\""})
    min_count = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_COUNT))


class QuotaIn(Schema):
    target = fields.Integer(required=True, validate=[
        validate.Range(min=0, error="không được âm / must not be negative"),
        validate.Range(max=MAX_COUNT, error=f"tối đa / at most {MAX_COUNT:,}")])
    composition = fields.List(fields.Nested(CompositionIn), load_default=list)
    assigner_org_code = code_field(load_default=None, allow_none=True)


class QuotaOut(Schema):
    org_code = fields.String()
    period = fields.String()
    target = fields.Integer()
    composition = fields.List(fields.Dict())
    assigner_org_code = fields.String(allow_none=True)
    updated_at = fields.DateTime(allow_none=True)
    history = fields.List(fields.Dict())


class ProgressQuery(PageQuery):
    """The children ranked are a list: page and per_page as every list (shared/pagination.py)."""

    period = fields.String(required=True, metadata={"description": "2024 or 2020-2025"})
    as_of = fields.Date(load_default=None, metadata={
        "description": "a cut-off: the figures count the admissions dated up to this day, and the status is "
                       "judged on it (default today, live figures)"})
    rank_by = fields.String(load_default="percent", validate=validate.OneOf(["percent", "admitted", "code"]))


class PeriodQuery(Schema):
    period = fields.String(required=True)
    as_of = fields.Date(load_default=None)


class ProgressOut(Schema):
    org_code = fields.String()
    org_name = fields.String()
    period = fields.String()
    as_of = fields.Date()
    elapsed_share = fields.Float()
    target = fields.Integer(allow_none=True)
    admitted = fields.Integer()
    percent = fields.String(allow_none=True, metadata={"description": "of plan, 2 decimals: 115.47"})
    percent_display = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    status_text = fields.String(allow_none=True)
    expected_by_now = fields.Float(allow_none=True)
    composition = fields.List(fields.Dict())
    counts = fields.Dict()
    children = fields.List(fields.Dict(), metadata={"description": "this page of the children, ranked (rank is overall)"})
    children_total = fields.Integer(metadata={"description": "children in every page together"})
    children_next = fields.String(allow_none=True, metadata={"description": "URL of the next page of children"})


class AllocationOut(Schema):
    org_code = fields.String()
    period = fields.String()
    target = fields.Integer(allow_none=True)
    allocated = fields.Integer()
    unallocated = fields.Integer(allow_none=True)
    allocation = fields.String(allow_none=True, metadata={"description": "fully | under | over"})
    children = fields.List(fields.Dict())
    children_without_quota = fields.List(fields.String())


class ImportIn(Schema):
    file = Upload(required=True, metadata={"description": "CSV (UTF-8) or XLSX: code,name,type,parent_code,effective_date"})


class ImportOut(Schema):
    created = fields.Integer()
    codes = fields.List(fields.String())


class ForecastHistoryOut(Schema):
    year = fields.Integer()
    admitted = fields.Integer(metadata={"description": "that year's admissions"})
    by_same_day = fields.Integer(metadata={"description": "admitted by the same month and day that year"})
    share = fields.String(metadata={"description": "by_same_day / admitted, 4 decimals"})


class ForecastOut(Schema):
    org_code = fields.String()
    org_name = fields.String()
    period = fields.String()
    as_of = fields.Date()
    target = fields.Integer(allow_none=True)
    admitted = fields.Integer(metadata={"description": "admitted from the period's start up to as_of"})
    method = fields.String(metadata={"description": "seasonal | even_pace | final | not_started"})
    expected = fields.Integer(allow_none=True, metadata={"description": "forecast of the period's final figure"})
    low = fields.Integer(allow_none=True)
    high = fields.Integer(allow_none=True)
    expected_share = fields.String(metadata={"description": "share of the period's admissions expected by as_of"})
    verdict = fields.String(allow_none=True, metadata={"description": "on_track | at_risk (null without a target)"})
    verdict_text = fields.String(allow_none=True)
    margin = fields.Integer(allow_none=True, metadata={"description": "expected - target"})
    shortfall = fields.Integer(allow_none=True, metadata={"description": "admissions missing at the expected pace"})
    needed_per_month = fields.String(allow_none=True, metadata={
        "description": "admissions still needed per remaining month (a month begun counts as one)"})
    history = fields.List(fields.Nested(ForecastHistoryOut))


class PaceMonthOut(Schema):
    month = fields.String(metadata={"example": "2024-06"})
    month_end = fields.Date()
    admitted = fields.Integer(allow_none=True, metadata={
        "description": "cumulative admissions at the month's end (up to as_of in the current month; null after)"})
    even_pace = fields.Float(allow_none=True, metadata={"description": "target x share of the period elapsed"})
    previous_year = fields.Integer(metadata={"description": "the previous year's cumulative admissions (years only)"})


class PaceOut(Schema):
    org_code = fields.String()
    org_name = fields.String()
    period = fields.String()
    as_of = fields.Date()
    target = fields.Integer(allow_none=True)
    admitted = fields.Integer()
    previous_period = fields.String(allow_none=True)
    previous_target = fields.Integer(allow_none=True)
    previous_admitted = fields.Integer(allow_none=True)
    months = fields.List(fields.Nested(PaceMonthOut))


class ReportQuery(Schema):
    period = fields.String(required=True, metadata={"description": "2024 or 2020-2025"})
    as_of = fields.Date(load_default=None, metadata={"description": "figures as of this day (a cut-off; default today)"})
    format = fields.String(load_default=None, validate=validate.OneOf(["json", "xlsx"]), metadata={
        "description": "xlsx: the official table as a workbook (as Accept: application/vnd.openxmlformats-"
                       "officedocument.spreadsheetml.sheet); json otherwise"})


class ReportLineOut(Schema):
    rank = fields.Integer()
    code = fields.String()
    name = fields.String()
    target = fields.Integer(allow_none=True)
    admitted = fields.Integer()
    percent = fields.String(allow_none=True)
    percent_display = fields.String(allow_none=True, metadata={"example": "115,47%"})
    status = fields.String(allow_none=True)
    status_text = fields.String(allow_none=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class ReportOut(Schema):
    title = fields.String()
    title_en = fields.String()
    org_code = fields.String()
    org_name = fields.String()
    period = fields.String()
    period_label = fields.String()
    period_label_en = fields.String()
    as_of = fields.Date()
    report_date = fields.Date()
    organization = fields.Nested(ReportLineOut)
    children = fields.List(fields.Nested(ReportLineOut))
    children_total = fields.Dict()
    attributes = fields.List(fields.Dict())
