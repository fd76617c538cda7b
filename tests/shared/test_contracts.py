"""The event contract: one definition per type, CloudEvents envelope, schema checks."""
import datetime as dt

import pytest

from shared import contracts as c

ADMITTED = {
    "candidate_id": "cand-1", "org_code": "P-DONG-SON-CB1", "admission_date": dt.date(2024, 5, 19),
    "decision_number": "123-QĐ/ĐU", "deciding_org_code": "P-DONG-SON",
    "attributes": {"gender": "female", "ethnic_minority": False, "occupation_group": "student", "age_years": 20},
}


def test_every_type_is_defined_once_and_versioned():
    types = [t.type for t in c.ALL_EVENT_TYPES]
    assert len(types) == len(set(types))
    assert all(t.startswith("vn.chitieu.") and t.rsplit(".", 1)[1].startswith("v") for t in types)


def test_event_round_trips_through_a_kafka_record():
    event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates", subject="cand-1")
    message = c.to_message(event)
    assert message.key == "cand-1"  # partition key: the candidate
    assert message.headers["content-type"] == b"application/cloudevents+json"
    back = c.parse_record(message.value, message.key.encode(), list(message.headers.items()))
    assert (back.id, back.type, back.source, back.subject) == (event.id, event.type, "/candidates", "cand-1")
    data = c.BY_TYPE[back.type].validate(back.data)
    assert data["admission_date"] == dt.date(2024, 5, 19)
    assert data["decision_number"] == "123-QĐ/ĐU"


def test_building_an_event_with_bad_data_is_refused():
    with pytest.raises(ValueError, match="attributes"):
        c.build_event(c.CANDIDATE_ADMITTED, {**ADMITTED, "attributes": {"gender": "x"}}, source="/candidates")


@pytest.mark.parametrize("value", [b"{not json", b'{"data": {}}', b"[]", None])
def test_records_that_are_not_cloudevents_are_invalid(value):
    with pytest.raises(c.InvalidEvent):
        c.parse_record(value, b"k", [])


def test_schema_violation_names_the_field():
    event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates")
    with pytest.raises(c.InvalidEvent, match="admission_date"):
        c.CANDIDATE_ADMITTED.validate({**event.data, "admission_date": "not a date"})


def test_events_carry_no_personal_identifiers():
    forbidden = {"full_name", "name", "national_id", "date_of_birth", "birth_date"}
    for t in c.ALL_EVENT_TYPES:
        if t.topic == "candidates":
            assert not forbidden & set(t.schema().fields), t.type


def test_the_documented_contract_is_the_code():
    from shared.config import ROOT
    from shared.contracts.docs import render

    documented = (ROOT / "docs" / "events.md").read_text(encoding="utf-8")
    assert documented == render(), "regenerate: python -m shared.contracts.docs > docs/events.md"
