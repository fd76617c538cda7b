"""Fixtures of the quota service's tests: its database, app, tokens and helpers."""
from __future__ import annotations


import pytest

from services.quota.app import create_app
from services.quota.models import Base
from tests.keys import token as issue_token
from shared import clock
from shared.db import Database


@pytest.fixture
def settings(make_settings):
    return make_settings("quota")


@pytest.fixture
def db(settings):
    database = Database(settings.database_url, Base.metadata)
    database.create_all()
    yield database
    database.dispose()


@pytest.fixture
def app(settings, db):
    return create_app(settings, db=db)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def token(settings):
    def make(role: str = "admin", org: str = "*", sub: str = "tester") -> dict:
        return {"Authorization": "Bearer " + issue_token(sub=sub, org=org, role=role)}
    return make


@pytest.fixture
def admin(token):
    return token("admin")


def add_org(client, headers, code, name, type_, parent=None, on="2020-01-01", expect=201):
    resp = client.post("/api/v1/organizations", json={"code": code, "name": name, "type": type_,
                                                       "parent_code": parent, "effective_date": on}, headers=headers)
    assert resp.status_code == expect, resp.get_json()
    return resp.get_json()


def thanh_hoa_tree(client, headers):
    """The real tree of the tests: Thanh Hóa province, TP Thanh Hóa with two wards and their cells,
    and huyện Đông Sơn (merged into the city on 2025-01-01) with a commune and a cell."""
    add_org(client, headers, "TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province")
    add_org(client, headers, "TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city", "TINH-THANH-HOA")
    add_org(client, headers, "P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", "TP-THANH-HOA")
    add_org(client, headers, "P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON")
    add_org(client, headers, "P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA")
    add_org(client, headers, "P-QUANG-CAT-CB1", "Chi bộ thôn 1", "cell", "P-QUANG-CAT")
    add_org(client, headers, "H-DONG-SON", "Đảng bộ huyện Đông Sơn", "district", "TINH-THANH-HOA")
    add_org(client, headers, "X-DONG-TIEN", "Đảng bộ xã Đông Tiến", "grassroots", "H-DONG-SON")
    add_org(client, headers, "X-DONG-TIEN-CB1", "Chi bộ thôn Triều Công", "cell", "X-DONG-TIEN")


def table_counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func, select
    with db.transaction() as session:
        return {name: session.execute(select(func.count()).select_from(table)).scalar()
                for name, table in Base.metadata.tables.items()}


TODAY = clock.today()
