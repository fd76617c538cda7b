"""The tree as state: every change publishes the touched organisations' whole history on the
compacted topic, and a copy rebuilt from that topic (shared/replica.py) answers every ancestry and
scope question as the quota service answers from its own history, on any date."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import MetaData

from services.quota.tree import SqlTree
from shared import clock
from shared.db import Database, messaging_tables
from shared.relay import OutboxRelay
from shared.replica import TreeReplica, replica_tables
from tests.quota.conftest import add_org, thanh_hoa_tree
from tests.support import fresh_database

pytestmark = pytest.mark.integration
FUTURE = clock.today() + timedelta(days=30)
DAYS = [date(2019, 6, 1), date(2020, 1, 1), date(2024, 6, 1), date(2024, 12, 31), date(2025, 1, 1),
        date(2025, 7, 1), clock.today(), FUTURE - timedelta(days=1), FUTURE, date(2099, 1, 1)]


def history_with_every_kind_of_change(client, admin):
    thanh_hoa_tree(client, admin)
    post = lambda path, body: client.post(f"/api/v1/organizations/{path}", json=body, headers=admin)  # noqa: E731
    assert post("P-DONG-SON-CB1/rename", {"name": "Chi bộ khu phố Tân Thọ", "effective_date": "2024-06-01"}).status_code == 200
    assert post("P-DONG-SON-CB1/move", {"parent_code": "P-QUANG-CAT", "effective_date": "2024-09-01"}).status_code == 200
    assert post("H-DONG-SON/merge", {"into_code": "TP-THANH-HOA", "effective_date": "2025-01-01"}).status_code == 200
    add_org(client, admin, "X-DONG-HOA", "Đảng bộ xã Đông Hòa", "grassroots", "TINH-THANH-HOA", on="2023-01-01")
    add_org(client, admin, "X-DONG-HOA-CB1", "Chi bộ thôn 1", "cell", "X-DONG-HOA", on="2023-01-01")
    assert post("X-DONG-HOA/dissolve", {"effective_date": "2025-07-01", "children_to": "P-QUANG-CAT"}).status_code == 200
    # A move decided today, in force next month.
    assert post("P-QUANG-CAT/move", {"parent_code": "TINH-THANH-HOA", "effective_date": FUTURE.isoformat()}).status_code == 200


def publish_all(db, settings):
    relay = OutboxRelay(db=db, settings=settings)
    while relay.publish_pending():
        pass
    relay.close()


@pytest.fixture
def replica_db(settings):
    """A service database holding a copy of the tree, on the same kind of database as the test's."""
    metadata = MetaData()
    messaging_tables(metadata)
    replica_tables(metadata)
    with fresh_database("postgresql" if settings.database_url.startswith("postgresql") else "sqlite",
                        prefix="replica") as url:
        database = Database(url, metadata)
        database.create_all()
        yield database, TreeReplica(metadata)
        database.dispose()


def test_a_copy_rebuilt_from_the_compacted_topic_answers_as_the_quota_service(client, admin, db, settings,
                                                                              replica_db):
    history_with_every_kind_of_change(client, admin)
    publish_all(db, settings)
    copy_db, replica = replica_db
    assert replica.rebuild(copy_db, settings) == 11
    with db.transaction() as session, copy_db.transaction() as copy:
        tree = SqlTree(session)
        codes = [c for c in replica_codes(copy, replica)]
        for day in DAYS:
            chains = replica.ancestors_of(copy, set(codes), on=day)
            for code in codes:
                assert chains[code] == tree.ancestors(code, day), (code, day)
                for top in codes:
                    assert replica.is_within(copy, code, top, on=day) == (top in tree.ancestors(code, day))
            for top in codes:
                below = set(copy.scalars(replica.subtree(top, on=day)))
                assert below == {c for c in codes if top in tree.ancestors(c, day)}, (top, day)
        # The future move changes scope on its date, not before.
        assert replica.is_within(copy, "P-QUANG-CAT-CB1", "TP-THANH-HOA", on=FUTURE - timedelta(days=1))
        assert not replica.is_within(copy, "P-QUANG-CAT-CB1", "TP-THANH-HOA", on=FUTURE)
        org = replica.get(copy, "P-DONG-SON-CB1")
        assert org.name_on(date(2024, 5, 31)) == "Chi bộ khu phố 1" and org.name == "Chi bộ khu phố Tân Thọ"
        assert replica.get(copy, "H-DONG-SON").status == "merged"
        assert replica.get(copy, "H-DONG-SON").merged_into == "TP-THANH-HOA"


def replica_codes(session, replica) -> list[str]:
    from sqlalchemy import select
    return list(session.scalars(select(replica.organizations.c.code).order_by(replica.organizations.c.code)))
