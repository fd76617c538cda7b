"""Kept progress answers (services/quota/answers.py): a second identical request is served from
the process's copy, and every change the answer shows is seen at once: an admission (written to
Redis), a quota or a tree change (committed), another page; an ETag lets a client ask again for
nothing; Redis emptied and rebuilt never brings back an old answer; a change whose version move
fails still stands, and no answer outlives its age limit."""
from __future__ import annotations

from datetime import date

from prometheus_client import REGISTRY

from services.quota import answers
from services.quota.ledger import AdmissionChange, apply_changes
from services.quota.models import ATTRIBUTES
from services.quota.projection import ProgressStore
from tests.quota.conftest import add_org

URL = "/api/v1/organizations/TINH-QUANG-NAM/progress?period=2024"


def _admit(db, store, event_id, org):
    with db.transaction() as session:
        applied = apply_changes(session, changes=[AdmissionChange(
            event_id, f"cand-{event_id}", org, date(2024, 3, 1), dict.fromkeys(ATTRIBUTES, False))])
    store.project(db, applied.keys)


def _hits() -> float:
    return REGISTRY.get_sample_value("chitieu_progress_answers_total", {"outcome": "hit"}) or 0.0


def _get(client, headers, url=URL):
    resp = client.get(url, headers=headers)
    assert resp.status_code == 200, resp.get_json()
    return resp


def test_a_kept_answer_follows_every_change_it_depends_on(client, admin, db, settings, redis_client):
    store = ProgressStore(redis_client, settings)
    add_org(client, admin, "TINH-QUANG-NAM", "Đảng bộ tỉnh Quảng Nam", "province")
    add_org(client, admin, "TAM-KY-CB1", "Chi bộ khối phố 1", "cell", "TINH-QUANG-NAM")
    assert client.put("/api/v1/organizations/TINH-QUANG-NAM/quotas/2024", json={"target": 1500},
                      headers=admin).status_code == 200
    _admit(db, store, "a1", "TAM-KY-CB1")

    first = _get(client, admin)
    hits = _hits()
    again = _get(client, admin)
    assert _hits() == hits + 1 and again.data == first.data  # kept
    assert first.get_json()["admitted"] == 1

    _admit(db, store, "a2", "TAM-KY-CB1")  # a figure moved
    assert _get(client, admin).get_json()["admitted"] == 2
    assert client.put("/api/v1/organizations/TINH-QUANG-NAM/quotas/2024", json={"target": 1732},
                      headers=admin).status_code == 200  # a quota moved
    assert _get(client, admin).get_json()["target"] == 1732
    add_org(client, admin, "TAM-KY-CB2", "Chi bộ khối phố 2", "cell", "TINH-QUANG-NAM")  # the tree moved
    assert _get(client, admin).get_json()["children_total"] == 2
    paged = _get(client, admin, URL + "&per_page=1&page=2").get_json()  # another page is another answer
    assert [c["rank"] for c in paged["children"]] == [2]

    # The ETag: asking again with it costs a 304 and no body, until something changes.
    current = _get(client, admin)
    unchanged = client.get(URL, headers={**admin, "If-None-Match": current.headers["ETag"]})
    assert unchanged.status_code == 304 and unchanged.data == b""
    _admit(db, store, "a3", "TAM-KY-CB2")
    changed = client.get(URL, headers={**admin, "If-None-Match": current.headers["ETag"]})
    assert changed.status_code == 200 and changed.get_json()["admitted"] == 3

    # The caller is known before anything kept is served.
    assert client.get(URL).status_code == 401
    assert client.get(URL, headers={"Authorization": "Bearer " + "x" * 40}).status_code == 401


def test_redis_emptied_and_rebuilt_never_serves_an_old_answer(client, admin, db, settings, redis_client):
    store = ProgressStore(redis_client, settings)
    add_org(client, admin, "TINH-QUANG-NAM", "Đảng bộ tỉnh Quảng Nam", "province")
    _admit(db, store, "a1", "TINH-QUANG-NAM")
    assert _get(client, admin).get_json()["admitted"] == 1
    kept_under = store.version()
    for key in redis_client.scan_iter(f"{settings.namespace}:*"):
        redis_client.delete(key)
    # No version (Redis emptied): nothing is kept or served from what was kept.
    assert store.version() is None and _get(client, admin).get_json()["admitted"] == 0
    _admit(db, store, "a2", "TINH-QUANG-NAM")
    assert store.rebuild(db) >= 1
    assert int(store.version()) > int(kept_under)  # restarted from the clock, past every earlier one
    assert _get(client, admin).get_json()["admitted"] == 2


def test_a_change_stands_when_the_version_cannot_be_moved(client, admin, db, settings, redis_client,
                                                         monkeypatch):
    store = ProgressStore(redis_client, settings)
    add_org(client, admin, "TINH-QUANG-NAM", "Đảng bộ tỉnh Quảng Nam", "province")
    _admit(db, store, "a1", "TINH-QUANG-NAM")
    assert _get(client, admin).get_json()["target"] is None

    def redis_away(self):
        raise ConnectionError("Redis away")
    monkeypatch.setattr(ProgressStore, "touch", redis_away)
    # Committed, answered 201/200, and this process no longer serves what it kept.
    assert client.put("/api/v1/organizations/TINH-QUANG-NAM/quotas/2024", json={"target": 1500},
                      headers=admin).status_code == 200
    assert _get(client, admin).get_json()["target"] == 1500


def test_answers_are_dropped_least_recently_used_within_their_bounds(monkeypatch):
    kept = answers.Answers(max_entries=2, max_bytes=10, max_age_s=30)
    now = [1000.0]
    monkeypatch.setattr(answers.time, "monotonic", lambda: now[0])
    for key, body in (("a", b"12345"), ("b", b"12345")):
        kept._put((key,), answers.Answer(body, (), key, now[0]))
    kept._get(("a",))  # used: "b" is now the least recent
    kept._put(("c",), answers.Answer(b"1", (), "c", now[0]))
    assert kept._get(("b",)) is None and kept._get(("a",)) and kept._get(("c",))
    kept._put(("d",), answers.Answer(b"x" * 11, (), "d", now[0]))  # larger than every bound: not kept
    assert kept._get(("d",)) is None and kept._bytes == 6
    now[0] += 30.5  # older than the age limit: never served again
    assert kept._get(("a",)) is None and kept._bytes == 1
