"""The candidate API's answers made into what the candidate pages show: the funnel, list rows with
their next deadline, a record with its history, the forms of the next steps, and a refusal's
fields mapped onto the form's inputs. What is due and when it is late is the candidate service's
(`next_deadline`, `next_steps`); this module only names and formats it."""
from __future__ import annotations

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from . import formatting

STAGE_LABELS = {"source": _l("Tạo nguồn"), "trained": _l("Đã học lớp bồi dưỡng"), "applied": _l("Đã nộp đơn"),
                "proposed": _l("Chi bộ đề nghị kết nạp"), "admitted": _l("Đảng viên dự bị"),
                "official": _l("Đảng viên chính thức"), "withdrawn": _l("Rút khỏi danh sách"),
                "rejected": _l("Không kết nạp"), "removed": _l("Xóa tên")}
DEADLINE_LABELS = {"certificate_expiring": _l("Giấy chứng nhận hết hạn"),
                   "decision_overdue": _l("Hạn quyết định kết nạp"),
                   "probation_ending": _l("Hết thời gian dự bị")}
GENDER_LABELS = {"male": _l("Nam"), "female": _l("Nữ"), "other": _l("Khác")}
OCCUPATION_LABELS = {"student": _l("Học sinh, sinh viên"), "state_enterprise": _l("Doanh nghiệp nhà nước"),
                     "non_state_enterprise": _l("Doanh nghiệp ngoài nhà nước"), "farmer": _l("Nông dân"),
                     "civil_servant": _l("Cán bộ, công chức, viên chức"), "armed_forces": _l("Lực lượng vũ trang"),
                     "other": _l("Khác")}
KIND_LABELS = {"listing": _l("Lập danh sách"), "transition": _l("Chuyển giai đoạn"),
               "revocation": _l("Hủy quyết định kết nạp"), "correction": _l("Đính chính"),
               "transfer": _l("Chuyển sinh hoạt")}
FIELD_LABELS = {"full_name": _l("Họ và tên"), "date_of_birth": _l("Ngày sinh"), "gender": _l("Giới tính"),
                "ethnicity": _l("Dân tộc"), "religion": _l("Tôn giáo"), "education_level": _l("Trình độ học vấn"),
                "occupation_group": _l("Nghề nghiệp"), "national_id": _l("Số CCCD"),
                "youth_union_member": _l("Đoàn viên"), "helpers": _l("Đảng viên giúp đỡ")}

# The steps a page offers, in the order shown, each with the inputs its form has. Which of them a
# candidate may take now is the service's answer (`next_steps`).
STEP_LABELS = {"trained": _l("Học lớp bồi dưỡng nhận thức về Đảng"),
               "applied": _l("Nộp đơn, hai đảng viên giới thiệu"),
               "proposed": _l("Nghị quyết chi bộ đề nghị kết nạp"), "admitted": _l("Quyết định kết nạp"),
               "official": _l("Công nhận đảng viên chính thức"),
               "transfer": _l("Chuyển sinh hoạt sang chi bộ khác"), "withdrawn": _l("Rút khỏi danh sách"),
               "rejected": _l("Không kết nạp"), "removed": _l("Xóa tên"),
               "revoked": _l("Hủy quyết định kết nạp (nhầm)")}
STEP_INPUTS = {"trained": ("date", "training_certificate_number"),
               "applied": ("date", "introducers", "youth_union_resolution"),
               "proposed": ("date", "decision_number"),
               "admitted": ("date", "decision_number", "deciding_org_code"),
               "official": ("date", "decision_number", "deciding_org_code"),
               "transfer": ("to_org_code", "date", "decision_number"),
               "withdrawn": ("date", "reason"), "rejected": ("date", "reason"),
               "removed": ("date", "decision_number", "reason"), "revoked": ("date", "reason")}
INTRODUCER_SLOTS = (1, 2)


def label(table: dict, value: str | None) -> str:
    return str(table.get(value, value or "–"))


def in_language(message: str) -> str:
    """The services write 'Vietnamese / English' (a rule's message: '[rule, regulation] ... / ...');
    the page's language is shown, Vietnamese unless English was chosen."""
    head, sep, english = str(message).partition(" / ")
    if not sep or str(get_locale() or "vi").startswith("vi"):
        return head
    prefix = head[:head.index("]") + 1] + " " if head.startswith("[") and "]" in head else ""
    return prefix + english


def funnel(answer: dict) -> list[dict]:
    stages = answer.get("stages") or {}
    return [{"stage": stage, "label": label(STAGE_LABELS, stage), "count": formatting.number(stages.get(stage, 0))}
            for stage in STAGE_LABELS]


def deadline(found: dict | None) -> dict | None:
    if not found:
        return None
    return {"kind": found["kind"], "label": label(DEADLINE_LABELS, found["kind"]),
            "date": formatting.day(found["due_date"]), "late": bool(found.get("late"))}


def list_rows(items: list[dict]) -> list[dict]:
    return [{"id": c["id"], "name": c["full_name"], "org_code": c["org_code"], "stage": c["stage"],
             "stage_label": label(STAGE_LABELS, c["stage"]), "born": formatting.day(c.get("date_of_birth")),
             "deadline": deadline(c.get("next_deadline"))} for c in items]


def record(candidate: dict) -> list[tuple[str, str]]:
    """The record's facts as (label, value), the national ID masked as the API gives it."""
    c = candidate
    return [(str(_l("Họ và tên")), c["full_name"]), (str(_l("Ngày sinh")), formatting.day(c.get("date_of_birth"))),
            (str(_l("Giới tính")), label(GENDER_LABELS, c.get("gender"))), (str(_l("Dân tộc")), c.get("ethnicity") or "–"),
            (str(_l("Tôn giáo")), c.get("religion") or str(_l("Không"))),
            (str(_l("Trình độ học vấn")), c.get("education_level") or "–"),
            (str(_l("Nghề nghiệp")), label(OCCUPATION_LABELS, c.get("occupation_group"))),
            (str(_l("Số CCCD")), c.get("national_id_masked") or "–"),
            (str(_l("Đoàn viên")), str(_l("Có")) if c.get("youth_union_member") else str(_l("Không"))),
            (str(_l("Đảng viên giúp đỡ")), ", ".join(c.get("helpers") or []) or "–"),
            (str(_l("Chi bộ")), c.get("org_code")), (str(_l("Giai đoạn")), label(STAGE_LABELS, c.get("stage"))),
            (str(_l("Ngày lập danh sách")), formatting.day(c.get("listed_on")))]


def history(candidate: dict) -> list[dict]:
    """Every line of the history, oldest first: transitions, corrections and transfers, each with
    who recorded it, what it carried and the warnings it raised (rule and regulation)."""
    hist = candidate.get("history") or {}
    lines = [_transition_line(t) for t in hist.get("transitions") or []]
    lines += [_transfer_line(t) for t in hist.get("transfers") or []]
    lines.sort(key=lambda line: (line["sort"], line["at_raw"]))
    return lines


def _transition_line(t: dict) -> dict:
    evidence = t.get("evidence") or {}
    details = []
    if t.get("kind") in ("transition", "revocation", "listing"):
        what = label(STAGE_LABELS, t.get("to_stage"))
        if t.get("from_stage"):
            what = f"{label(STAGE_LABELS, t['from_stage'])} → {what}"
    else:
        what = ""  # the kind says it; the details say what changed
        for name, change in (evidence.get("changes") or {}).items():
            details.append(f"{label(FIELD_LABELS, name)}: {_shown(change.get('from'))} → {_shown(change.get('to'))}")
    if t.get("decision_number"):
        details.append(str(_l("Số quyết định/nghị quyết: %(n)s", n=t["decision_number"])))
    if t.get("deciding_org_code"):
        details.append(str(_l("Cấp quyết định: %(org)s", org=t["deciding_org_code"])))
    if evidence.get("training_certificate_number"):
        details.append(str(_l("Giấy chứng nhận số %(n)s", n=evidence["training_certificate_number"])))
    for person in evidence.get("introducers") or []:
        status = _l("đảng viên chính thức") if person.get("official_member") else _l("không phải đảng viên chính thức")
        details.append(str(_l("Người giới thiệu: %(name)s (%(status)s)", name=person.get("full_name"), status=status)))
    if evidence.get("youth_union_resolution"):
        details.append(str(_l("Nghị quyết giới thiệu của Đoàn: %(n)s", n=evidence["youth_union_resolution"])))
    reason = evidence.get("reason")
    warnings = [{"message": in_language(w.get("message", "")), "rule": w.get("rule"), "regulation": w.get("regulation")}
                for w in t.get("warnings") or []]
    return {"kind": t.get("kind"), "kind_label": label(KIND_LABELS, t.get("kind")), "what": what,
            "date": formatting.day(t.get("date")), "details": details, "reason": reason, "warnings": warnings,
            "by": t.get("recorded_by"), "at": formatting.moment(t.get("recorded_at")),
            "at_raw": t.get("recorded_at") or "", "sort": t.get("date") or ""}


def _transfer_line(t: dict) -> dict:
    details = [str(_l("Số quyết định/nghị quyết: %(n)s", n=t["decision_number"]))] if t.get("decision_number") else []
    return {"kind": "transfer", "kind_label": label(KIND_LABELS, "transfer"),
            "what": f"{t.get('from_org_code')} → {t.get('to_org_code')}", "date": formatting.day(t.get("date")),
            "details": details, "reason": None, "warnings": [], "by": t.get("recorded_by"),
            "at": formatting.moment(t.get("recorded_at")), "at_raw": t.get("recorded_at") or "", "sort": t.get("date") or ""}


def _shown(value) -> str:
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return str(_l("Có")) if value else str(_l("Không"))
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "–"
    text = str(value)
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        return formatting.day(text)
    return label(GENDER_LABELS, text) if text in GENDER_LABELS else label(OCCUPATION_LABELS, text) \
        if text in OCCUPATION_LABELS else text


def steps(candidate: dict) -> list[dict]:
    """The forms of the steps the service allows now, in the pipeline's order."""
    allowed = set(candidate.get("next_steps") or [])
    return [{"to": step, "label": str(STEP_LABELS[step]), "inputs": STEP_INPUTS[step]}
            for step in STEP_LABELS if step in allowed]


# A refusal names the request's fields (marshmallow's nested ones as dicts: introducers.0.full_name);
# each is shown next to the input it concerns, the rest above the form.
FIELD_TO_INPUT = {"date": "date", "decision_number": "decision_number", "deciding_org_code": "deciding_org_code",
                  "training_certificate_date": "training_certificate_number",
                  "training_certificate_number": "training_certificate_number", "introducers": "introducers",
                  "youth_union_resolution": "introducers", "reason": "reason", "to_org_code": "to_org_code"}


def form_errors(errors: dict | None, inputs: tuple[str, ...], *, mapping: dict[str, str] | None = None
                ) -> dict[str, list[str]]:
    """The problem's `errors` by the form's inputs ('_form' for what no input shows), in the page's language."""
    mapping = FIELD_TO_INPUT if mapping is None else mapping
    out: dict[str, list[str]] = {}
    for name, messages in (errors or {}).items():
        target = mapping.get(name.split(".")[0])
        if target not in inputs:
            target = "_form"
        out.setdefault(target, []).extend(in_language(m) for m in _messages(messages))
    return out


def _messages(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [m for item in value for m in _messages(item)]
    if isinstance(value, dict):
        return [m for item in value.values() for m in _messages(item)]
    return [str(value)]
