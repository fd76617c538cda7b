"""The consumer's fast path gives what the general path gives, or steps aside."""
from __future__ import annotations

from collections import namedtuple
from datetime import date

import pytest

from shared.parsing import compile_loader, parse_structured
from shared.contracts import CANDIDATE_ADMISSION_REVOKED, CANDIDATE_ADMITTED, build_event, parse_record, to_message

Record = namedtuple("Record", "key value headers")
DATA = {"candidate_id": "c1", "org_code": "P-DONG-SON-CB1", "admission_date": date(2024, 5, 19),
        "decision_number": "12-QĐ/ĐU", "deciding_org_code": "P-DONG-SON",
        "attributes": {"gender": "female", "ethnic_minority": True, "occupation_group": "student", "age_years": 21}}


def test_parse_and_load_equal_the_general_path():
    message = to_message(build_event(CANDIDATE_ADMITTED, DATA, source="/candidates", subject="c1"))
    record = Record(message.key.encode(), message.value, list(message.headers.items()))
    fast = parse_structured(record)
    slow = parse_record(record.value, record.key, record.headers)
    assert (fast.id, fast.type, fast.source, fast.subject, fast.key, fast.data, fast.time) == \
           (slow.id, slow.type, slow.source, slow.subject, slow.key, slow.data, slow.time)
    loader = compile_loader(CANDIDATE_ADMITTED.schema())
    assert loader(fast.data) == CANDIDATE_ADMITTED.validate(slow.data)
    revoked = {"candidate_id": "c1", "org_code": "X", "admission_date": "2024-05-19", "revoked_on": "2024-06-01",
               "reason": "nhầm"}
    assert compile_loader(CANDIDATE_ADMISSION_REVOKED.schema())(revoked) == CANDIDATE_ADMISSION_REVOKED.validate(revoked)


@pytest.mark.parametrize("change", [
    {"admission_date": "19/05/2024"}, {"admission_date": "20240519"}, {"candidate_id": 7},
    {"attributes": {"gender": "robot", "ethnic_minority": False, "occupation_group": "student", "age_years": 2}},
    {"attributes": {"gender": "male", "ethnic_minority": "yes", "occupation_group": "student", "age_years": 2}},
    {"attributes": {"gender": "male", "ethnic_minority": False, "occupation_group": "student", "age_years": True}},
    {"unexpected": 1}, {"org_code": None},
])
def test_anything_unusual_goes_to_the_general_path(change):
    data = {**build_event(CANDIDATE_ADMITTED, DATA, source="/c").data, **change}
    assert compile_loader(CANDIDATE_ADMITTED.schema())(data) is None


def test_missing_required_field_steps_aside():
    data = dict(build_event(CANDIDATE_ADMITTED, DATA, source="/c").data)
    del data["decision_number"]
    assert compile_loader(CANDIDATE_ADMITTED.schema())(data) is None
    assert parse_structured(Record(b"k", b"not json", [])) is None
    assert parse_structured(Record(b"k", b'{"specversion": "1.0"}', [])) is None


def test_quota_progress_percent_loads_as_marshmallow_loads_it():
    from shared.contracts import QUOTA_MET
    data = {"org_code": "P-QUANG-CAT", "org_name": "Đảng bộ phường Quảng Cát", "org_type": "grassroots",
            "parent_code": "TP-THANH-HOA", "assigner_org_code": "TP-THANH-HOA", "period": "2024", "target": 10,
            "admitted": 13, "percent": "130.00", "reached_on": "2024-11-20"}
    loader = compile_loader(QUOTA_MET.schema())
    assert loader(data) == QUOTA_MET.validate(data) and loader(data) is not None
    for odd in ("1e2", "NaN", "Infinity", " 130", 130, 130.0):  # marshmallow decides these
        assert loader({**data, "percent": odd}) is None
