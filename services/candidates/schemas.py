"""Request and response bodies of the candidate API (marshmallow; flask-smorest puts them in /openapi.json)."""
from __future__ import annotations

from datetime import date

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from shared import clock
from shared.codes import OrgCode
from shared.contracts.candidates import GENDERS, OCCUPATION_GROUPS, REMINDER_KINDS, STAGES
from shared.pagination import PageQuery, page_schema

from .decisions import MAX_DECISIONS, Decision
from .deadlines import holidays, next_deadline
from .pipeline import ALLOWED, TARGETS
from .registry import TRANSFERABLE_STAGES
from .registry import mask_national_id

# Dates a record can hold: anything outside is a typing mistake (and would overflow month arithmetic).
DATE_RANGE = validate.Range(min=date(1900, 1, 1), max=date(2100, 12, 31),
                            error="Ngày phải từ 1900-01-01 đến 2100-12-31. / The date must be between 1900-01-01 "
                                  "and 2100-12-31.")
# No control characters (PostgreSQL refuses NUL; none belongs in a name or a number).
PRINTABLE = validate.Regexp(r"^[^\x00-\x1f\x7f]*$", error="Không được chứa ký tự điều khiển. / No control "
                                                            "characters.")


def Text(max_length: int, *, required: bool = False, **kwargs) -> fields.String:  # noqa: N802 (a field factory)
    return fields.String(required=required, validate=[validate.Length(min=1, max=max_length), PRINTABLE], **kwargs)


def Code(*, required: bool = False, **kwargs) -> fields.String:  # noqa: N802 (a field factory)
    return OrgCode(required=required, validate=[validate.Length(min=1, max=64), PRINTABLE], **kwargs)


def Day(**kwargs) -> fields.Date:  # noqa: N802
    return fields.Date(validate=DATE_RANGE, **kwargs)


class CandidateCreate(Schema):
    full_name = Text(200, required=True, metadata={"example": "Nguyễn Thị Hoa"})
    date_of_birth = Day(required=True)
    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    ethnicity = Text(50, required=True, metadata={"example": "Kinh"})
    religion = Text(50, allow_none=True, load_default=None)
    education_level = Text(50, allow_none=True, load_default=None, metadata={"example": "university"})
    occupation_group = fields.String(required=True, validate=validate.OneOf(OCCUPATION_GROUPS))
    national_id = fields.String(required=True, validate=validate.Regexp(
        r"^\d{12}$", error="Số CCCD phải gồm đúng 12 chữ số. / The national ID must be exactly 12 digits."),
        metadata={"description": "12 digits; never returned in full, never in events or logs"})
    org_code = Code(required=True, metadata={"description": "the cell (chi bộ) that lists the candidate"})
    listed_on = Day(load_default=clock.today, metadata={"description": "default: today"})
    youth_union_member = fields.Boolean(load_default=False)
    helpers = fields.List(Text(200), load_default=list, validate=validate.Length(max=10),
                          metadata={"description": "official members assigned to help the candidate"})


class CandidateCorrection(Schema):
    """The identity fields to correct (only those sent) and why; `stage` and the pipeline's facts are
    changed by transitions, never here."""

    full_name = Text(200)
    date_of_birth = Day()
    gender = fields.String(validate=validate.OneOf(GENDERS))
    ethnicity = Text(50)
    religion = Text(50, allow_none=True)
    education_level = Text(50, allow_none=True)
    occupation_group = fields.String(validate=validate.OneOf(OCCUPATION_GROUPS))
    national_id = fields.String(validate=validate.Regexp(
        r"^\d{12}$", error="Số CCCD phải gồm đúng 12 chữ số. / The national ID must be exactly 12 digits."))
    youth_union_member = fields.Boolean()
    helpers = fields.List(Text(200), validate=validate.Length(max=10))
    reason = Text(1000, required=True, metadata={"description": "why (kept in the history with who corrected)",
                                                 "example": "Sai chính tả họ tên trong hồ sơ"})

    @validates_schema
    def _something(self, data, **kwargs):
        if not set(data) - {"reason"}:
            raise ValidationError("Cần ít nhất một trường để đính chính. / Name at least one field to correct.",
                                  field_name="_schema")


class Introducer(Schema):
    full_name = Text(200, required=True)
    official_member = fields.Boolean(required=True)
    party_card_number = Text(50, allow_none=True, load_default=None)


class TransitionRequest(Schema):
    to = fields.String(required=True, validate=validate.OneOf(TARGETS),
                       metadata={"description": "the target stage, or 'revoked' to take back a mistaken admission"})
    date = Day(required=True, metadata={"description": "of the class, application, cell resolution or decision"})
    decision_number = Text(100, allow_none=True, load_default=None,
                           metadata={"description": "resolution or decision number (required for proposed, "
                                                    "admitted, official, removed)"})
    deciding_org_code = Code(allow_none=True, load_default=None,
                             metadata={"description": "the committee that decided (admitted, official)"})
    training_certificate_date = Day(allow_none=True, load_default=None)
    training_certificate_number = Text(100, allow_none=True, load_default=None)
    introducers = fields.List(fields.Nested(Introducer), load_default=list, validate=validate.Length(max=5))
    youth_union_resolution = Text(100, allow_none=True, load_default=None,
                                  metadata={"description": "number of the Youth Union's resolution introducing "
                                                           "the candidate"})
    reason = Text(1000, allow_none=True, load_default=None, metadata={"description": "required for 'revoked'"})
    confirm_warnings = fields.Boolean(load_default=True, metadata={
        "description": "false: if an advisory rule does not hold, record nothing and answer 409 "
                       "(`urn:chitieu:rule:advisory`, `errors` naming the fields) for the person to confirm; "
                       "true (default): record it and return the warnings"})


class TransferRequest(Schema):
    to_org_code = Code(required=True)
    date = Day(required=True)
    decision_number = Text(100, allow_none=True, load_default=None)


class CandidateQuery(PageQuery):
    org = Code(metadata={"description": "organisation whose subtree to list (default: your scope)"})
    stage = fields.String(validate=validate.OneOf(STAGES))
    occupation_group = fields.String(validate=validate.OneOf(OCCUPATION_GROUPS))
    q = Text(200, metadata={"description": "name search, with or without diacritics"})


class RemindersQuery(Schema):
    as_of = Day(metadata={"description": "default: today"})
    window_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=366))


class CellStrengthRequest(Schema):
    official_members = fields.Integer(required=True, validate=validate.Range(min=0, max=100000))
    as_of = Day(load_default=clock.today)


class ImportFile(Schema):
    file = Upload(required=True, metadata={"description": "a .csv (UTF-8) or .xlsx file; first row = column names"})


# --- responses ----------------------------------------------------------------------------------

class Finding(Schema):
    rule = fields.String()
    severity = fields.String()
    field = fields.String()
    message = fields.String()
    regulation = fields.String()
    details = fields.Dict()


def _next_deadline(candidate) -> dict | None:
    found = next_deadline(candidate, as_of=clock.today(), holidays=holidays())
    return found.to_dict() if found else None


class CandidateOut(Schema):
    id = fields.String()
    full_name = fields.String()
    date_of_birth = fields.Date()
    gender = fields.String()
    ethnicity = fields.String()
    religion = fields.String(allow_none=True)
    education_level = fields.String(allow_none=True)
    occupation_group = fields.String()
    national_id_masked = fields.Function(lambda c: mask_national_id(c.national_id))
    youth_union_member = fields.Boolean()
    helpers = fields.List(fields.String())
    org_code = fields.String()
    stage = fields.String()
    listed_on = fields.Date()
    training_certificate_date = fields.Date(allow_none=True)
    cell_resolution_date = fields.Date(allow_none=True)
    admission_date = fields.Date(allow_none=True)
    admission_decision_number = fields.String(allow_none=True)
    official_date = fields.Date(allow_none=True)
    next_steps = fields.Function(lambda c: list(ALLOWED.get(c.stage, ()))
                                 + (["transfer"] if c.stage in TRANSFERABLE_STAGES else []), metadata={
        "description": "what may be recorded next at this stage: the `to` of a transition, and `transfer`"})
    next_deadline = fields.Function(_next_deadline, allow_none=True, metadata={
        "description": "what is due next at this stage: {kind (certificate_expiring, decision_overdue, "
                       "probation_ending), due_date, late (the date has passed)}; null when nothing is"})


class TransitionOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    from_stage = fields.String(allow_none=True)
    to_stage = fields.String()
    date = fields.Date()
    decision_number = fields.String(allow_none=True)
    deciding_org_code = fields.String(allow_none=True)
    org_code = fields.String()
    evidence = fields.Dict()
    warnings = fields.List(fields.Dict())
    recorded_by = fields.String()
    recorded_at = fields.DateTime()


class TransferOut(Schema):
    id = fields.Integer()
    from_org_code = fields.String()
    to_org_code = fields.String()
    date = fields.Date()
    decision_number = fields.String(allow_none=True)
    recorded_by = fields.String()
    recorded_at = fields.DateTime()


class History(Schema):
    transitions = fields.List(fields.Nested(TransitionOut))
    transfers = fields.List(fields.Nested(TransferOut))


class CorrectionResult(Schema):
    candidate = fields.Nested(CandidateOut)
    correction = fields.Nested(TransitionOut, allow_none=True,
                               metadata={"description": "the history line; null when nothing differed"})
    warnings = fields.List(fields.Nested(Finding))


class CandidateDetail(CandidateOut):
    history = fields.Nested(History)


CandidatePage = page_schema(CandidateOut, "CandidatePage")  # shared/pagination.py: ordered by name, id


class TransitionResult(Schema):
    candidate = fields.Nested(CandidateOut)
    transition = fields.Nested(TransitionOut)
    warnings = fields.List(fields.Nested(Finding))


class TransferResult(Schema):
    candidate = fields.Nested(CandidateOut)
    transfer = fields.Nested(TransferOut)


class Funnel(Schema):
    org_code = fields.String()
    stages = fields.Dict(keys=fields.String(), values=fields.Integer())
    in_pipeline = fields.Integer(metadata={"description": "source to proposed"})
    total = fields.Integer()


class ReminderOut(Schema):
    reminder_id = fields.String()
    kind = fields.String(validate=validate.OneOf(REMINDER_KINDS))
    candidate_id = fields.String()
    full_name = fields.String()
    org_code = fields.String()
    due_date = fields.Date()


class Reminders(Schema):
    org_code = fields.String()
    as_of = fields.Date()
    reminders = fields.List(fields.Nested(ReminderOut))


class OrganizationOut(Schema):
    code = fields.String()
    name = fields.String()
    type = fields.String()
    parent_code = fields.String(allow_none=True)
    active = fields.Boolean()
    merged_into = fields.String(allow_none=True)
    official_members = fields.Integer(allow_none=True,
                                      metadata={"description": "as last reported by the cell (None: never)"})
    official_members_as_of = fields.Date(allow_none=True)


class ImportResult(Schema):
    imported = fields.Integer()
    candidate_ids = fields.List(fields.String())


# --- admission decisions in bulk ----------------------------------------------------------------

class DecisionsBody(Schema):
    decisions = fields.List(fields.Nested(Decision), required=True,
                            validate=validate.Length(min=1, max=MAX_DECISIONS))


class DecisionsFile(Schema):
    file = Upload(required=True, metadata={"description": "a .csv (UTF-8) or .xlsx file; first row = column names, "
                                                          "Vietnamese (template) or English; dates dd/mm/yyyy or ISO"})


class DecisionRowOut(Schema):
    row = fields.String(metadata={"description": "'row N' of the file as the spreadsheet numbers it, or "
                                                 "'decisions[i]' of a JSON body"})
    candidate_id = fields.String()
    decision_number = fields.String()
    status = fields.String(validate=validate.OneOf(("admitted", "already_recorded")))
    warnings = fields.List(fields.Nested(Finding))


class DecisionsResult(Schema):
    recorded = fields.Integer(metadata={"description": "admissions recorded by this request"})
    already_recorded = fields.Integer(metadata={"description": "decisions recorded before (nothing changed)"})
    rows = fields.List(fields.Nested(DecisionRowOut))
