"""The actor extension: who made a change travels with its event (CloudEvents `actor`,
`actorrole`), set from the context (shared/actor.py); events older than it still parse."""
import json
from types import SimpleNamespace

import pytest

from shared import contracts as c
from shared.actor import Actor, acting, current, system
from shared.consumer import Handler
from shared.parsing import Parser, parse_structured
from tests.shared.test_contracts import ADMITTED


def record(message) -> SimpleNamespace:
    return SimpleNamespace(topic="t.candidates", partition=0, offset=0, key=message.key.encode(),
                           value=message.value, headers=list(message.headers.items()))


def test_the_actor_round_trips_through_a_kafka_record_both_ways():
    with acting(Actor("can-bo-dong-son", "officer")):
        event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates", subject="cand-1")
    message = c.to_message(event)
    assert json.loads(message.value)["actor"] == "can-bo-dong-son"
    slow = c.parse_record(message.value, message.key.encode(), list(message.headers.items()))
    fast = parse_structured(record(message))
    for back in (slow, fast):
        assert (back.actor, back.actorrole) == ("can-bo-dong-son", "officer")


def test_without_an_actor_in_context_the_publishing_service_is_the_actor():
    assert current() is None
    event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates")
    assert (event.actor, event.actorrole) == ("system:candidates", None)
    assert "actorrole" not in json.loads(c.to_message(event).value)


def test_an_event_written_before_the_actor_existed_still_parses():
    event = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates")
    message = c.to_message(event)
    old = json.loads(message.value)
    del old["actor"]
    message = type(message)(headers=message.headers, key=message.key, value=json.dumps(old).encode())
    parsed = Parser([c.CANDIDATE_ADMITTED]).parse(record(message))
    assert parsed.event.id == event.id and parsed.event.actor is None
    assert c.parse_record(message.value, None, []).actor is None


def test_an_actor_that_is_not_a_string_is_refused():
    message = c.to_message(c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates"))
    bad = json.loads(message.value)
    bad["actor"] = {"sub": "x"}
    value = json.dumps(bad).encode()
    assert parse_structured(SimpleNamespace(key=b"k", value=value, headers=[])) is None
    with pytest.raises(c.InvalidEvent, match="actor"):
        c.parse_record(value, b"k", [])


def test_what_a_consumer_does_for_an_event_is_the_act_of_the_events_actor():
    with acting(Actor("can-bo-dong-son", "officer")):
        by_person = c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/candidates")
    old = c.Event(**{**by_person.__dict__, "id": "old", "actor": None, "actorrole": None})
    handler = Handler.per_event({c.CANDIDATE_ADMITTED: lambda _session, _event, _data: current()})
    with acting(system("candidates-tree")):
        results = dict(handler.apply(None, [(by_person, {}), (old, {})]))
        assert current() == system("candidates-tree")  # restored after each event
    assert results == {by_person.id: Actor("can-bo-dong-son", "officer"), "old": system("candidates-tree")}
    # And what it writes carries it.
    with acting(results[by_person.id]):
        assert c.build_event(c.CANDIDATE_ADMITTED, ADMITTED, source="/quota").actor == "can-bo-dong-son"
