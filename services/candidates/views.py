"""HTTP views of the candidates service (thin: they check input and scope, then call the service layer).

Scope: the token's organisation subtree (`org` claim, '*' = the whole country); `viewer` reads,
`officer` writes. Creating requests accept an `Idempotency-Key` header (idempotency.py).
"""
from __future__ import annotations

from flask import Response, json, request
from flask_smorest import Blueprint

from shared import clock
from shared.auth import ALL_ORGS, require_role, require_scope
from shared.contracts.candidates import OPEN_STAGES
from shared.pagination import page_of
from shared.problems import Problem
from shared.spreadsheets import XLSX_MIMETYPE, read_table, xlsx_template
from shared.web import current_db

from . import corrections, decisions, idempotency, importer, pipeline, registry, reminders, tree
from .deadlines import holidays
from .models import CellStrength
from .schemas import (CandidateCreate, CandidateDetail, CandidateOut, CandidatePage, CandidateQuery,
                      CellStrengthRequest, CandidateCorrection, CorrectionResult, DecisionsBody, DecisionsFile, DecisionsResult, Funnel, ImportFile, ImportResult, OrganizationOut, Reminders,
                      RemindersQuery, TransferOut, TransferRequest, TransferResult, TransitionOut, TransitionRequest,
                      TransitionResult)

IDEMPOTENCY_DOC = {"parameters": [{
    "in": "header", "name": idempotency.HEADER, "required": False, "schema": {"type": "string", "maxLength": 200},
    "description": "Retry-safe key: the same key and body return the stored response without a second write; "
                   "the same key with another body is refused (422)."}]}
REFUSALS = {"409": {"description": "the pipeline does not allow this transition (rule 'pipeline')"},
            "422": {"description": "invalid input or an admission rule refused it; `type` names the rule"}}

candidates_blp = Blueprint("candidates", __name__, url_prefix="/candidates",
                           description="Quần chúng ưu tú và quá trình kết nạp / Candidates and their pipeline")
organizations_blp = Blueprint("organizations", __name__, url_prefix="/organizations",
                              description="Cây tổ chức (bản sao), phễu, nhắc việc / Local tree, funnel, reminders")
decisions_blp = Blueprint("admission-decisions", __name__, url_prefix="/admission-decisions",
                          description="Quyết định kết nạp hàng loạt / Admission decisions in bulk")
blueprints = [candidates_blp, organizations_blp, decisions_blp]



def _scope(session, org_code: str, role: str):
    return require_scope(org_code, role=role, is_within=lambda code, top: tree.is_within(session, code, top))


def _visible_to(session, principal):
    """Whether an organisation lies in the caller's subtree."""
    return lambda code: principal.org == ALL_ORGS or tree.is_within(session, code, principal.org)


def _json(status: int, body: dict, *, replayed: bool = False, location: str | None = None) -> Response:
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    if replayed:
        response.headers["Idempotent-Replayed"] = "true"
    if location:
        response.headers["Location"] = location
    return response


def _idempotent(endpoint: str, fingerprint: str, action) -> Response:
    principal = require_role("officer")
    status, body, replayed = idempotency.run(current_db(), key=request.headers.get(idempotency.HEADER),
                                             principal=principal.sub, endpoint=endpoint, fingerprint=fingerprint,
                                             action=action)
    return _json(status, body, replayed=replayed)


# --- candidates -----------------------------------------------------------------------------------

@candidates_blp.route("", methods=["POST"])
@candidates_blp.arguments(CandidateCreate)
@candidates_blp.response(201, CandidateOut)
@candidates_blp.alt_response(409, description="an open candidate with this national ID exists")
@candidates_blp.doc(**IDEMPOTENCY_DOC)
def create_candidate(body):
    """List a candidate (stage: source) in a cell of your scope."""
    def action(session):
        registry.require_cell(session, body["org_code"])
        principal = _scope(session, body["org_code"], "officer")
        candidate = registry.list_candidate(session, data=body, recorded_by=principal.sub,
                                            visible=_visible_to(session, principal))
        return 201, CandidateOut().dump(candidate)

    return _idempotent("POST /candidates", idempotency.request_hash(request.get_json(silent=True)), action)


@candidates_blp.route("", methods=["GET"])
@candidates_blp.arguments(CandidateQuery, location="query")
@candidates_blp.response(200, CandidatePage)
def list_candidates(args):
    """Candidates in an organisation's subtree; filter by stage, occupation group, name (diacritics optional)."""
    principal = require_role("viewer")
    org = args.get("org") or (None if principal.org == ALL_ORGS else principal.org)
    with current_db().transaction() as session:
        if org is not None:
            _scope(session, org, "viewer")
        items, total = registry.search(session, org_code=org, stage=args.get("stage"),
                                       occupation_group=args.get("occupation_group"), name=args.get("q"),
                                       page=args["page"], per_page=args["per_page"])
        return page_of(items, total=total, query=args)


@candidates_blp.route("/<candidate_id>", methods=["GET"])
@candidates_blp.response(200, CandidateDetail)
@candidates_blp.alt_response(404, description="no such candidate")
def get_candidate(candidate_id):
    """One candidate with the whole history: transitions (with their warnings) and transfers."""
    require_role("viewer")
    with current_db().transaction() as session:
        candidate = registry.get_candidate(session, candidate_id)
        _scope(session, candidate.org_code, "viewer")
        registry.record_read(session, candidate=candidate)
        out = CandidateOut().dump(candidate)
        hist = registry.history(session, candidate_id)
        out["history"] = {"transitions": TransitionOut(many=True).dump(hist["transitions"]),
                          "transfers": TransferOut(many=True).dump(hist["transfers"])}
        return _json(200, out)


@candidates_blp.route("/<candidate_id>", methods=["PATCH"])
@candidates_blp.arguments(CandidateCorrection)
@candidates_blp.response(200, CorrectionResult)
@candidates_blp.alt_response(409, description="the correction would change what the quota service counted for an "
                                               "admitted member (rule 'counted_admission'), or the national ID is "
                                               "another open candidate's")
@candidates_blp.doc(responses={"422": {"description": "invalid fields, or a rule the correction affects refused it; "
                                                      "`type` names the rule"}}, **IDEMPOTENCY_DOC)
def correct_candidate(body, candidate_id):
    """Correct identity fields (a misspelt name, a wrong date of birth, ...) with a reason; recorded in the
    history with who made it; the rules the fields affect are judged again."""
    def action(session):
        candidate = registry.get_candidate(session, candidate_id, for_update=True)
        principal = _scope(session, candidate.org_code, "officer")
        changes = {k: v for k, v in body.items() if k != "reason"}
        done = corrections.correct(session, candidate=candidate, changes=changes, reason=body["reason"],
                                   recorded_by=principal.sub, visible=_visible_to(session, principal))
        return 200, {"candidate": CandidateOut().dump(done.candidate),
                     "correction": TransitionOut().dump(done.line) if done.line else None,
                     "warnings": [w.to_dict() for w in done.warnings]}

    return _idempotent(f"PATCH /candidates/{candidate_id}", idempotency.request_hash(request.get_json(silent=True)),
                       action)


@candidates_blp.route("/<candidate_id>/transitions", methods=["POST"])
@candidates_blp.arguments(TransitionRequest)
@candidates_blp.response(201, TransitionResult)
@candidates_blp.doc(responses=REFUSALS, **IDEMPOTENCY_DOC)
def create_transition(body, candidate_id):
    """Move the candidate along the pipeline. Refusals name the rule; warnings come with the 201 answer."""
    def action(session):
        candidate = registry.get_candidate(session, candidate_id, for_update=True)
        principal = _scope(session, candidate.org_code, "officer")
        outcome = pipeline.transition(session, candidate=candidate, request=body, recorded_by=principal.sub,
                                      holidays=holidays())
        return 201, {"candidate": CandidateOut().dump(outcome.candidate),
                     "transition": TransitionOut().dump(outcome.transition),
                     "warnings": [w.to_dict() for w in outcome.warnings]}

    return _idempotent(f"POST /candidates/{candidate_id}/transitions",
                       idempotency.request_hash(request.get_json(silent=True)), action)


@candidates_blp.route("/<candidate_id>/transfer", methods=["POST"])
@candidates_blp.arguments(TransferRequest)
@candidates_blp.response(201, TransferResult)
@candidates_blp.doc(responses=REFUSALS, **IDEMPOTENCY_DOC)
def transfer_candidate(body, candidate_id):
    """Move the candidate to another cell; the history stays with them."""
    def action(session):
        candidate = registry.get_candidate(session, candidate_id, for_update=True)
        principal = _scope(session, candidate.org_code, "officer")
        if not _visible_to(session, principal)(body["to_org_code"]):  # the destination is checked too
            raise Problem(403, "Forbidden", f"organisation '{body['to_org_code']}' is outside your scope "
                                            f"'{principal.org}'",
                          errors={"to_org_code": ["Ngoài phạm vi của bạn / outside your scope"]})
        move = registry.transfer(session, candidate=candidate, to_org_code=body["to_org_code"], on=body["date"],
                                 decision_number=body.get("decision_number"), recorded_by=principal.sub)
        return 201, {"candidate": CandidateOut().dump(candidate), "transfer": TransferOut().dump(move)}

    return _idempotent(f"POST /candidates/{candidate_id}/transfer",
                       idempotency.request_hash(request.get_json(silent=True)), action)


@candidates_blp.route("/import", methods=["POST"])
@candidates_blp.arguments(ImportFile, location="files")
@candidates_blp.response(201, ImportResult)
@candidates_blp.doc(responses={"422": {"description": "row-by-row errors; nothing was imported"}},
                    **IDEMPOTENCY_DOC)
def import_candidates(files):
    """Import candidates from CSV or XLSX: all rows or none, with a row-by-row error report."""
    require_role("officer")
    upload = files["file"]
    content = upload.read()
    table = read_table(content, upload.filename or "")  # before the write transaction: the slow part

    def action(session):
        principal = require_role("officer")
        ids = importer.import_candidates(session, table=table, recorded_by=principal.sub,
                                         allowed=_visible_to(session, principal))
        return 201, {"imported": len(ids), "candidate_ids": ids}

    return _idempotent("POST /candidates/import", idempotency.request_hash(upload.filename or "", content), action)


@candidates_blp.route("/import/template", methods=["GET"])
@candidates_blp.doc(responses={"200": {"description": "an XLSX workbook", "content": {XLSX_MIMETYPE: {}}}})
def candidates_import_template():
    """The XLSX template of a candidates import: Vietnamese headers, an example row, dates as dd/mm/yyyy,
    and a second sheet saying what each column takes."""
    require_role("viewer")
    return _xlsx(xlsx_template(importer.TEMPLATE, title="Danh sách quần chúng"), "mau-danh-sach-quan-chung.xlsx")


# --- organisations ----------------------------------------------------------------------------------

def _org(session, code: str, role: str):
    """The organisation `code` (404 if unknown) once the caller's scope over it is checked."""
    org = tree.get(session, code)
    if org is None:
        raise Problem(404, "Not Found", f"organisation '{code}' is not known to this service")
    return org, _scope(session, code, role)


@organizations_blp.route("/<code>", methods=["GET"])
@organizations_blp.response(200, OrganizationOut)
def get_organization(code):
    """What this service knows of an organisation (from the tree's events) and the cell's reported strength."""
    require_role("viewer")
    with current_db().transaction() as session:
        org, _ = _org(session, code, "viewer")
        strength = session.get(CellStrength, code)
        return {"code": org.code, "name": org.name, "type": org.type, "parent_code": tree.parent_of(session, code),
                "active": org.active, "merged_into": org.merged_into,
                "official_members": strength.official_members if strength else None,
                "official_members_as_of": strength.as_of if strength else None}


@organizations_blp.route("/<code>/official-members", methods=["PUT"])
@organizations_blp.arguments(CellStrengthRequest)
@organizations_blp.response(200, OrganizationOut)
def report_official_members(body, code):
    """Report how many official members a cell has (for the advisory 'fewer than 3' rule)."""
    require_role("officer")
    with current_db().transaction() as session:
        org, principal = _org(session, code, "officer")
        registry.require_cell(session, code, field="code")
        strength = session.get(CellStrength, code) or CellStrength(org_code=code)
        strength.official_members, strength.as_of = body["official_members"], body["as_of"]
        strength.reported_by = principal.sub
        session.add(strength)
        return {"code": org.code, "name": org.name, "type": org.type, "parent_code": tree.parent_of(session, code),
                "active": org.active, "merged_into": org.merged_into,
                "official_members": strength.official_members, "official_members_as_of": strength.as_of}


@organizations_blp.route("/<code>/funnel", methods=["GET"])
@organizations_blp.response(200, Funnel)
def funnel(code):
    """How many candidates are at each stage in the organisation's subtree."""
    require_role("viewer")
    with current_db().transaction() as session:
        _org(session, code, "viewer")
        stages = registry.funnel(session, org_code=code)
        return {"org_code": code, "stages": stages, "total": sum(stages.values()),
                "in_pipeline": sum(stages[s] for s in OPEN_STAGES)}


@organizations_blp.route("/<code>/reminders", methods=["GET"])
@organizations_blp.arguments(RemindersQuery, location="query")
@organizations_blp.response(200, Reminders)
def list_reminders(args, code):
    """Deadlines in the subtree: probation ending, certificates expiring, decisions overdue."""
    require_role("viewer")
    as_of = args.get("as_of") or clock.today()
    with current_db().transaction() as session:
        _org(session, code, "viewer")
        found = reminders.due_reminders(session, as_of=as_of, org_code=code, window_days=args["window_days"],
                                        holidays=holidays())
        return {"org_code": code, "as_of": as_of,
                "reminders": [{"reminder_id": r.reminder_id, "kind": r.kind, "candidate_id": r.candidate_id,
                               "full_name": r.full_name, "org_code": r.org_code, "due_date": r.due_date}
                              for r in found]}


# --- admission decisions in bulk ----------------------------------------------------------------------

@decisions_blp.route("", methods=["POST"])
@decisions_blp.response(201, DecisionsResult, description="recorded (200: every decision was recorded before)")
@decisions_blp.doc(requestBody={"required": True, "content": {
    "application/json": {"schema": DecisionsBody}, "multipart/form-data": {"schema": DecisionsFile}}},
    responses={"413": {"description": f"more than {decisions.MAX_DECISIONS:,} decisions"},
               "422": {"description": "row-by-row errors (`errors`: {'row N' or 'decisions[i]': {field: [...]}}); "
                                      "nothing was recorded"}}, **IDEMPOTENCY_DOC)
def record_admission_decisions():
    """Many admission decisions at once, all or none: each admits its candidate as `POST /candidates/{id}/
    transitions {to: admitted}` would (same rules, history, events). A decision already recorded (same
    deciding organisation and number, same candidate) changes nothing, so sending a file again is safe."""
    require_role("officer")
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Problem(422, "Missing file", "send the decisions as the multipart field 'file'",
                          errors={"file": ["Thiếu tệp. / The file is missing."]})
        content = upload.read()
        table = read_table(content, upload.filename or "")
        rows, columns = decisions.rows_from_table(table), decisions.file_columns(table)
        fingerprint = idempotency.request_hash(upload.filename or "", content)
    else:
        body = request.get_json(silent=True)
        rows, columns = decisions.rows_from_json(body), None
        fingerprint = idempotency.request_hash(body)

    def action(session):
        principal = require_role("officer")
        report = decisions.record_decisions(session, rows=rows, recorded_by=principal.sub,
                                            allowed=_visible_to(session, principal), holidays=holidays(),
                                            columns=columns)
        return (201 if report.recorded else 200), DecisionsResult().dump(report)

    return _idempotent("POST /admission-decisions", fingerprint, action)


@decisions_blp.route("/template", methods=["GET"])
@decisions_blp.doc(responses={"200": {"description": "an XLSX workbook", "content": {XLSX_MIMETYPE: {}}}})
def admission_decisions_template():
    """The XLSX template of a decisions file: Vietnamese headers, an example row, dates as dd/mm/yyyy."""
    require_role("viewer")
    return _xlsx(xlsx_template(decisions.TEMPLATE, title="Quyết định kết nạp"), "mau-quyet-dinh-ket-nap.xlsx")


def _xlsx(content: bytes, filename: str) -> Response:
    response = Response(content, mimetype=XLSX_MIMETYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
