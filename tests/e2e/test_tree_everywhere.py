"""One tree, three services, through the real broker: the quota service's history reaches the
candidate and notification services as organization.state; a move dated next month changes scope
in all three on its date and not before; the candidate service's copy, rebuilt from the compacted
topic after its consumer group's offsets are deleted, gives the same answers as before."""
from __future__ import annotations

import threading
from datetime import date, timedelta

import pytest
from kafka import KafkaAdminClient

from services.candidates import tree as candidates_tree
from services.candidates.app import create_app as candidates_app
from services.candidates.app import open_database
from services.candidates.worker import tree_consumer
from services.notifications import tree as notifications_tree
from services.notifications.app import create_app as notifications_app
from services.notifications.models import Base as NotificationsBase
from services.notifications.handlers import make_runner
from services.notifications.settings import DeliverySettings
from services.quota.app import create_app as quota_app
from services.quota.models import Base as QuotaBase
from shared import cli, clock
from shared.db import Database
from shared.deadletters import read_dead_letters
from shared.kafka import ensure_topics
from shared.relay import OutboxRelay
from tests.keys import token
from tests.quota.test_tree_state import FUTURE, history_with_every_kind_of_change
from tests.support import fresh_database, group_caught_up, wait_until

pytestmark = pytest.mark.integration
FAST = dict(session_timeout_ms=6000, heartbeat_interval_ms=1000)
# Minted when the module is collected: valid long enough for the slowest whole-suite run.
ADMIN = {"Authorization": "Bearer " + token(sub="t", org="*", role="admin", ttl=timedelta(hours=12))}


def delete_group(settings, name: str) -> None:
    """Forget a consumer group's offsets (as when they expire), once its members have left."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        def deleted():  # {group: "OK"}, or the error's name (NonEmptyGroupError while members leave)
            return all(str(error) in ("OK", "GroupIdNotFoundError")
                       for error in admin.delete_groups([settings.group(name)]).values())
        wait_until(deleted, timeout=30, message="the group could not be deleted")
    finally:
        admin.close()


def bearer(org: str) -> dict:
    return {"Authorization": "Bearer " + token(sub="t", org=org, role="officer")}


def consumed(runner, until, message):
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(until, timeout=180, message=message)  # a group re-joining under load takes its time
    finally:
        stop.set()
        thread.join(timeout=30)


def answers(db, codes) -> dict:
    """Every scope question the candidate service can be asked, today and on the days that matter."""
    days = [date(2024, 12, 31), date(2025, 1, 1), clock.today(), FUTURE]
    with db.transaction() as session:
        replica = candidates_tree.REPLICA
        return {(c, top, day): replica.is_within(session, c, top, on=day)
                for c in codes for top in codes for day in days}


@pytest.fixture
def services(make_settings, database_url):
    kind = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    quota_settings = make_settings("quota")
    quota_db = Database(quota_settings.database_url, QuotaBase.metadata)
    quota_db.create_all()
    with fresh_database(kind, prefix="cand") as cand_url, fresh_database(kind, prefix="notif") as notif_url:
        cand_settings = make_settings("candidates", database_url=cand_url)
        cand_db = open_database(cand_url)
        cand_db.create_all()
        notif_settings = make_settings("notifications", database_url=notif_url)
        notif_db = Database(notif_url, NotificationsBase.metadata)
        notif_db.create_all()
        ensure_topics(quota_settings)
        yield {"quota": (quota_settings, quota_db), "candidates": (cand_settings, cand_db),
               "notifications": (notif_settings, notif_db)}
        for database in (quota_db, cand_db, notif_db):
            database.dispose()


def test_one_tree_in_three_services(services, monkeypatch, capsys):
    quota_settings, quota_db = services["quota"]
    cand_settings, cand_db = services["candidates"]
    notif_settings, notif_db = services["notifications"]
    quota = quota_app(quota_settings, db=quota_db).test_client()
    history_with_every_kind_of_change(quota, ADMIN)
    relay = OutboxRelay(db=quota_db, settings=quota_settings)
    while relay.publish_pending():
        pass
    relay.close()

    def known(db, module, code="X-DONG-HOA-CB1"):
        def check():
            with db.transaction() as session:
                org = module.get(session, code)
                return org is not None and org.type == "cell"
        return check

    consumed(tree_consumer(db=cand_db, settings=cand_settings, **FAST), known(cand_db, candidates_tree),
             "the candidate service never learnt the tree")
    consumed(make_runner(db=notif_db, settings=notif_settings, delivery=DeliverySettings.from_env(), **FAST),
             known(notif_db, notifications_tree), "the notification service never learnt the tree")

    # P-QUANG-CAT moves from TP-THANH-HOA to the province on FUTURE: the city's officer sees it
    # until the day before, not from that day, in all three services.
    candidates = candidates_app(cand_settings, db=cand_db).test_client()
    notifications = notifications_app(notif_settings, db=notif_db).test_client()
    city = bearer("TP-THANH-HOA")
    asks = {
        "quota": lambda: quota.get("/api/v1/organizations/P-QUANG-CAT-CB1", headers=city).status_code,
        "candidates": lambda: candidates.get("/api/v1/organizations/P-QUANG-CAT-CB1", headers=city).status_code,
        "notifications": lambda: notifications.get("/api/v1/inbox/P-QUANG-CAT-CB1", headers=city).status_code,
    }
    for today, expected in ((FUTURE - timedelta(days=1), 200), (FUTURE, 403)):
        monkeypatch.setattr(clock, "today", lambda: today)
        assert {name: ask() for name, ask in asks.items()} == dict.fromkeys(asks, expected), today
    monkeypatch.undo()

    # The candidate service's copy, lost with its consumer group's offsets, comes back the same.
    codes = ["TINH-THANH-HOA", "TP-THANH-HOA", "P-DONG-SON", "P-DONG-SON-CB1", "P-QUANG-CAT", "P-QUANG-CAT-CB1",
             "H-DONG-SON", "X-DONG-TIEN", "X-DONG-TIEN-CB1", "X-DONG-HOA", "X-DONG-HOA-CB1"]
    before = answers(cand_db, codes)
    delete_group(cand_settings, "candidates-tree")
    with cand_db.transaction() as session:
        session.execute(candidates_tree.REPLICA.parents.delete())
        session.execute(candidates_tree.REPLICA.organizations.delete())
    monkeypatch.setenv("CHITIEU_CANDIDATES_DATABASE_URL", cand_settings.database_url)
    monkeypatch.setenv("CHITIEU_NAMESPACE", cand_settings.namespace)
    monkeypatch.setenv("CHITIEU_KAFKA_BOOTSTRAP", cand_settings.kafka_bootstrap)
    cli.main(["tree", "rebuild", "--service", "candidates"])
    assert capsys.readouterr().out.startswith("11 organisations")
    assert answers(cand_db, codes) == before
    # And a consumer whose offsets expired reads the compacted topic from its start, without a
    # dead letter (every record stands alone: no "unknown parent"), and the answers stay the same.
    delete_group(cand_settings, "candidates-tree")
    consumed(tree_consumer(db=cand_db, settings=cand_settings, **FAST),
             lambda: group_caught_up(cand_settings, "candidates-tree", "organization-state"),
             "the consumer did not read the topic again")
    assert answers(cand_db, codes) == before
    assert read_dead_letters(cand_settings) == []
