"""Property: no sequence of requests leaves a candidate in a state the pipeline does not allow.
Hypothesis drives the Flask test client with random targets, dates and evidence (valid or not);
after every request the candidate is where the pipeline graph says it must be, a refused request
changed nothing, and the history replays through the graph to the current stage."""
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.candidates.pipeline import ALLOWED, STAGES, TARGETS, stage_after
from shared import clock
from tests.candidates.factories import auth, candidate_body, evidence

START = date(2012, 1, 2)

step = st.tuples(
    st.sampled_from(TARGETS),
    st.integers(min_value=-20, max_value=500),  # days after the previous request's date
    st.sampled_from(["valid", "bare", "junk"]),  # evidence: complete, only to+date, or wrong values
)


def request_body(target: str, on: date, kind: str) -> dict:
    if kind == "valid":
        return evidence(target, on)
    if kind == "bare":
        return {"to": target, "date": on.isoformat()}
    return {"to": target, "date": on.isoformat(), "decision_number": "?", "deciding_org_code": "P-QUANG-CAT",
            "introducers": [{"full_name": "X", "official_member": False}], "training_certificate_date": "2001-01-01"}


def replay(transitions: list[dict]) -> str:
    stage = "source"
    assert transitions[0]["kind"] == "listing" and transitions[0]["to_stage"] == "source"
    for line in transitions[1:]:
        assert line["from_stage"] == stage
        target = "revoked" if line["kind"] == "revocation" else line["to_stage"]
        assert target in ALLOWED.get(stage, ()), (stage, target)
        stage = stage_after(stage, target)
        assert stage == line["to_stage"]
    return stage


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                 HealthCheck.too_slow])
@given(born=st.dates(min_value=date(1945, 1, 1), max_value=date(2000, 12, 31)),
       youth_union=st.booleans(), steps=st.lists(step, min_size=1, max_size=14))
def test_no_sequence_of_requests_leaves_an_invalid_state(client, born, youth_union, steps):
    created = client.post("/api/v1/candidates", headers=auth(), json=candidate_body(
        date_of_birth=born, listed_on=START, youth_union_member=youth_union))
    assert created.status_code == 201, created.json
    cid = created.json["id"]
    url = f"/api/v1/candidates/{cid}"
    stage, lines, on = "source", 1, START
    for target, delta, kind in steps:
        on = min(on + timedelta(days=delta), clock.today())
        resp = client.post(f"{url}/transitions", json=request_body(target, on, kind), headers=auth())
        assert resp.status_code < 500, resp.json
        expected = stage_after(stage, target)
        if resp.status_code == 201:
            assert expected is not None, (stage, target)
            stage, lines = expected, lines + 1
            assert resp.json["candidate"]["stage"] == stage
        else:
            assert resp.status_code in (409, 422), resp.json
            if expected is None:
                assert resp.status_code == 409 and resp.json["type"] == "urn:chitieu:rule:pipeline"
        detail = client.get(url, headers=auth()).json
        assert detail["stage"] == stage and detail["stage"] in STAGES
        assert len(detail["history"]["transitions"]) == lines
    assert replay(client.get(url, headers=auth()).json["history"]["transitions"]) == stage
