"""Events of candidates, published by the candidate service; keyed by candidate id so that
the events of one person stay in order. They carry no personal identifiers (no name, birth
date or national ID): only what other services count."""
from marshmallow import Schema, fields, validate

from .base import EventType

TOPIC = "candidates"
OPEN_STAGES = ("source", "trained", "applied", "proposed")  # in the pipeline, before admission
MEMBER_STAGES = ("admitted", "official")  # probationary, then official member
CLOSED_STAGES = ("withdrawn", "rejected", "removed")  # left the pipeline: candidate.closed's outcomes
STAGES = OPEN_STAGES + MEMBER_STAGES + CLOSED_STAGES
GENDERS = ("female", "male", "other")
OCCUPATION_GROUPS = ("student", "state_enterprise", "non_state_enterprise", "farmer", "civil_servant",
                     "armed_forces", "other")
REMINDER_KINDS = ("probation_ending", "certificate_expiring", "decision_overdue")


class CandidateListed(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)
    listed_on = fields.Date(required=True)


class StageChanged(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)
    from_stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    to_stage = fields.String(required=True, validate=validate.OneOf(STAGES))
    date = fields.Date(required=True)
    decision_number = fields.String(allow_none=True, load_default=None)


class AdmissionAttributes(Schema):
    """What composition targets are measured on."""

    gender = fields.String(required=True, validate=validate.OneOf(GENDERS))
    ethnic_minority = fields.Boolean(required=True)
    occupation_group = fields.String(required=True, validate=validate.OneOf(OCCUPATION_GROUPS))
    age_years = fields.Integer(required=True)  # full years on the admission date
    education_level = fields.String(allow_none=True, load_default=None)
    # Added compatibly (still v1): events published before say nothing and count as neither.
    youth_union_member = fields.Boolean(load_default=False, metadata={"description": "đoàn viên / Youth Union member"})
    religious_follower = fields.Boolean(load_default=False, metadata={
        "description": "có đạo / follows a religion (which one stays in the candidate service)"})


class CandidateAdmitted(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)  # the cell where the admission happened
    admission_date = fields.Date(required=True)
    decision_number = fields.String(required=True)
    deciding_org_code = fields.String(required=True)
    attributes = fields.Nested(AdmissionAttributes, required=True)


class AdmissionRevoked(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)
    admission_date = fields.Date(required=True)  # of the admission being taken back
    revoked_on = fields.Date(required=True)
    reason = fields.String(required=True)


class RecognisedOfficial(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)
    date = fields.Date(required=True)
    decision_number = fields.String(required=True)


class CandidateClosed(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(CLOSED_STAGES))
    date = fields.Date(required=True)


class CandidateTransferred(Schema):
    candidate_id = fields.String(required=True)
    from_org_code = fields.String(required=True)
    to_org_code = fields.String(required=True)
    date = fields.Date(required=True)


class ReminderDue(Schema):
    reminder_id = fields.String(required=True)  # stable: the same reminder is never sent twice
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(REMINDER_KINDS))
    due_date = fields.Date(required=True)


def _candidate_key(data):
    return data["candidate_id"]


CANDIDATE_LISTED = EventType("candidate.listed", 1, TOPIC, CandidateListed, _candidate_key,
                             "A cell listed a person as a candidate (stage: source).")
CANDIDATE_STAGE_CHANGED = EventType("candidate.stage_changed", 1, TOPIC, StageChanged, _candidate_key,
                                    "A candidate moved along the pipeline (every transition).")
CANDIDATE_ADMITTED = EventType("candidate.admitted", 1, TOPIC, CandidateAdmitted, _candidate_key,
                               "The competent committee admitted the candidate (probationary member).")
CANDIDATE_ADMISSION_REVOKED = EventType("candidate.admission_revoked", 1, TOPIC, AdmissionRevoked,
                                        _candidate_key, "A mistaken admission was taken back.")
CANDIDATE_RECOGNISED_OFFICIAL = EventType("candidate.recognised_official", 1, TOPIC, RecognisedOfficial,
                                          _candidate_key, "A probationary member became an official member.")
CANDIDATE_CLOSED = EventType("candidate.closed", 1, TOPIC, CandidateClosed, _candidate_key,
                             "The candidate left the pipeline: withdrawn, rejected or removed.")
CANDIDATE_TRANSFERRED = EventType("candidate.transferred", 1, TOPIC, CandidateTransferred, _candidate_key,
                                  "The candidate moved to another organisation, history kept.",
                                  organizations=lambda data: (data["from_org_code"], data["to_org_code"]))
CANDIDATE_REMINDER_DUE = EventType("candidate.reminder_due", 1, TOPIC, ReminderDue, _candidate_key,
                                   "A deadline approaches: probation end, certificate expiry, overdue decision.")


# --- reads of personal data ----------------------------------------------------------------------
# A candidate's full record is personal data (name, birth date, religion, the national ID's last
# digits): every read of it is written down (the reader is the event's actor), on a topic of its
# own, so the consumers of candidate events never see them.
READS_TOPIC = "record-reads"


class RecordRead(Schema):
    candidate_id = fields.String(required=True)
    org_code = fields.String(required=True)


CANDIDATE_RECORD_READ = EventType("candidate.record_read", 1, READS_TOPIC, RecordRead, _candidate_key,
                                  "Someone read a candidate's full record (personal data).")
