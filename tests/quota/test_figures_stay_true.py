"""Redis figures that stay true (#9 point 5), through the real broker, Redis and both databases:
`rebuild` and `reconcile` running while the consumer applies a live stream, `reconcile` repairing
what was broken by hand, and a topic replayed from offset 0 changing no figure."""
from __future__ import annotations

import io
import random
import threading
from datetime import date

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from sqlalchemy import delete, func, select

from services.quota import worker
from services.quota.counters import FIELDS
from services.quota.models import ProgressCounter, processed_events
from tests.quota.conftest import add_org
from tests.quota.replay import FAST_GROUP, admitted, consumers, publish, revoked
from tests.support import end_offsets
from tests.support import wait_until

pytestmark = pytest.mark.integration

COMMUNES = 30
CELLS = [f"CB-{i}" for i in range(1200)]


def small_tree(client, admin) -> None:
    """A province, 30 communes, 1,200 cells: every admission counts toward three organisations and
    three periods, and a rebuild has thousands of hashes to write (time for a race to happen)."""
    add_org(client, admin, "TINH", "Đảng bộ tỉnh", "province")
    rows = [{"code": f"XA-{w}", "name": f"Đảng bộ xã {w}", "type": "grassroots", "parent_code": "TINH"}
            for w in range(COMMUNES)]
    rows += [{"code": cell, "name": f"Chi bộ {i}", "type": "cell", "parent_code": f"XA-{i % COMMUNES}"}
             for i, cell in enumerate(CELLS)]
    content = "code,name,type,parent_code,effective_date\n" + "".join(
        f"{r['code']},{r['name']},{r['type']},{r['parent_code']},2020-01-01\n" for r in rows)
    resp = client.post("/api/v1/organizations/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content.encode()), "tree.csv")})
    assert resp.status_code in (200, 201), resp.get_json()


def stream(n: int, seed: int = 9) -> list:
    rng = random.Random(seed)
    return [admitted(rng.choice(CELLS), date.fromordinal(date(2023, 1, 1).toordinal() + rng.randrange(900)),
                     gender=rng.choice(("male", "female")), occupation=rng.choice(("student", "other")),
                     age=rng.choice((22, 40)), ethnic_minority=rng.random() < 0.2) for _ in range(n)]


def counters(db) -> dict:
    with db.transaction() as session:
        return {(org, period): dict(zip(FIELDS, values)) for org, period, *values in session.execute(
            select(ProgressCounter.org_code, ProgressCounter.period,
                   *[getattr(ProgressCounter, f) for f in FIELDS]))}


def redis_figures(redis_client, settings) -> dict:
    prefix = settings.redis_key("progress", "")
    out = {}
    for key in redis_client.scan_iter(match=prefix + "*"):
        org, period = key[len(prefix):].rsplit(":", 1)
        out[(org, period)] = {f: int(v) for f, v in redis_client.hgetall(key).items()}
    return out


def admitted_total(db) -> int:
    with db.transaction() as session:
        return session.execute(select(func.sum(ProgressCounter.admitted)).where(
            ProgressCounter.org_code.in_(CELLS), ProgressCounter.period.in_(("2023", "2024", "2025")))).scalar() or 0


def assert_redis_equals_database(db, redis_client, settings) -> None:
    expected = counters(db)
    assert expected
    actual = redis_figures(redis_client, settings)
    wrong = {k: (expected.get(k), actual.get(k)) for k in set(expected) | set(actual) if expected.get(k) != actual.get(k)}
    assert not wrong, f"{len(wrong)} of {len(expected)} hashes differ, e.g. {list(wrong.items())[:3]}"


def test_rebuild_and_reconcile_during_a_live_stream_end_equal(client, admin, db, settings, redis_client):
    small_tree(client, admin)
    events = stream(20_000)
    publish(settings, events)
    runs = {"rebuild": 0, "reconcile": 0}
    with consumers(db, settings):
        # Rebuild and reconcile again and again while the consumer applies the stream.
        while admitted_total(db) < len(events):
            worker.rebuild(db=db, settings=settings)
            runs["rebuild"] += 1
            worker.reconcile(db=db, settings=settings)
            runs["reconcile"] += 1
        wait_until(lambda: admitted_total(db) == len(events), timeout=300, message="every admission counted")
    assert runs["rebuild"] >= 2, runs
    assert_redis_equals_database(db, redis_client, settings)
    assert sum(v["admitted"] for k, v in counters(db).items() if k[0] == "TINH" and len(k[1]) == 4) == len(events)


def test_reconcile_repairs_what_was_broken_by_hand_and_names_it(client, admin, db, settings, redis_client):
    small_tree(client, admin)
    publish(settings, stream(500, seed=3))
    with consumers(db, settings):
        wait_until(lambda: admitted_total(db) == 500, timeout=120, message="every admission counted")
    store_key = lambda org, period: settings.redis_key("progress", org, period)  # noqa: E731
    truth = counters(db)
    redis_client.hset(store_key("XA-1", "2024"), "admitted", truth[("XA-1", "2024")]["admitted"] + 7)
    redis_client.hdel(store_key("TINH", "2023"), "woman")
    cell = next(k for k in sorted(truth) if k[0].startswith("CB-"))
    redis_client.delete(store_key(*cell))
    redis_client.hset(store_key("NOWHERE", "2024"), mapping={"admitted": 3})

    report = worker.reconcile(db=db, settings=settings)

    assert report.checked == len(truth)
    found = {(d.org_code, d.period, d.field): (d.was, d.now) for d in report.differences}
    assert found[("XA-1", "2024", "admitted")] == (truth[("XA-1", "2024")]["admitted"] + 7,
                                                   truth[("XA-1", "2024")]["admitted"])
    assert found[("TINH", "2023", "woman")] == (None, truth[("TINH", "2023")]["woman"])
    assert found[(*cell, "admitted")] == (None, truth[cell]["admitted"])
    assert found[("NOWHERE", "2024", "admitted")] == (3, None)
    assert report.repaired_hashes == 4
    assert "XA-1 2024 admitted" in report.text()
    assert_redis_equals_database(db, redis_client, settings)
    assert worker.reconcile(db=db, settings=settings).differences == []


def _caught_up(settings, group: str) -> bool:
    """True when `group` has committed offsets at the end of every partition of the candidates topic."""
    topic, group_id = settings.topic("candidates"), settings.group(group)
    probe = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        parts = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        ends = end_offsets(probe, parts)
        committed = admin.list_group_offsets(group_id).get(group_id, {})
        return bool(parts) and all((committed[tp].offset if tp in committed else 0) >= ends[tp] for tp in parts)
    finally:
        probe.close()
        admin.close()


def _replay(db, settings, group: str) -> None:
    """A new consumer group with the same consumer name (so the same processed-events records) reads
    the topic from offset 0 to its end."""
    stop = threading.Event()
    runner = worker.progress_consumer(db=db, settings=settings, group_id=settings.group(group), **FAST_GROUP)
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: _caught_up(settings, group), timeout=180, interval=0.5, message=f"{group} read the topic")
    finally:
        stop.set()
        thread.join(timeout=30)


def test_a_topic_replayed_from_offset_0_changes_no_figure(client, admin, db, settings, redis_client):
    small_tree(client, admin)
    events = stream(3_000, seed=5)
    taken_back = [revoked(e, date(2025, 8, 1)) for e in events[:200]]
    publish(settings, events + taken_back)
    with consumers(db, settings):
        wait_until(lambda: admitted_total(db) == len(events) - len(taken_back), timeout=180,
                   message="every admission and revocation counted")
        wait_until(lambda: _caught_up(settings, worker.CONSUMER), timeout=60, interval=0.5, message="offsets committed")
    before_db, before_redis = counters(db), redis_figures(redis_client, settings)
    assert before_redis == before_db

    # 1. The Redis side forgot what it projected (the old markers expired): only the progress hashes remain.
    for key in redis_client.scan_iter(match=f"{settings.namespace}:*"):
        if not key.startswith(settings.redis_key("progress", "")):
            redis_client.delete(key)
    _replay(db, settings, "replay-1")
    assert counters(db) == before_db
    assert redis_figures(redis_client, settings) == before_redis

    # 2. Older than the processed-events retention as well: those records were pruned.
    with db.transaction() as session:
        session.execute(delete(processed_events))
    _replay(db, settings, "replay-2")
    assert counters(db) == before_db
    assert redis_figures(redis_client, settings) == before_redis
