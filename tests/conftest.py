"""Fixtures shared by every test. Integration tests use the real Kafka broker, Redis and
PostgreSQL that scripts/stack.sh starts (make test starts them; so does this file if needed)."""
from __future__ import annotations

import os
import socket

import pytest
import redis

from shared.config import Settings
from tests.keys import test_issuer
from tests.support import (KAFKA_BOOTSTRAP, PG_SERVER_URL, REDIS_URL, delete_session_topics, fresh_database, stack,
                           unique_namespace)

DATABASES = [d.strip() for d in os.environ.get("CHITIEU_TEST_DATABASES", "sqlite").split(",") if d.strip()]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="session")
def real_stack():
    """The real servers; started by scripts/stack.sh if they are not up yet."""
    ports = [int(url.rsplit(":", 1)[1].split("/")[0]) for url in (KAFKA_BOOTSTRAP, REDIS_URL, PG_SERVER_URL)]
    if not all(_port_open(p) for p in ports):
        stack("start")
    return True


@pytest.fixture
def namespace() -> str:
    return unique_namespace()


@pytest.fixture
def redis_client(real_stack, namespace):
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    for key in client.scan_iter(f"{namespace}:*"):
        client.delete(key)
    client.close()


@pytest.fixture(params=DATABASES)
def database_url(request):
    """An empty database of each kind under test: a SQLite file, or a new PostgreSQL database."""
    if request.param != "sqlite":
        request.getfixturevalue("real_stack")
    with fresh_database(request.param) as url:
        yield url


@pytest.fixture
def make_settings(namespace, database_url):
    """Settings of a service under test, in this test's own namespace and database."""

    def make(service: str, **overrides) -> Settings:
        # Tokens are signed by the tests' own issuer key (tests/keys.py) and verified with its JWK Set.
        values = dict(service=service, database_url=database_url, namespace=namespace,
                      kafka_bootstrap=KAFKA_BOOTSTRAP, redis_url=REDIS_URL, **test_issuer().settings())
        values.update(overrides)
        return Settings(**values)

    return make


def pytest_sessionfinish(session, exitstatus):
    """The session's topics go when it ends (tests/support.py NAMESPACES says why)."""
    try:
        deleted = delete_session_topics()
    except Exception as exc:  # a cleanup failure must not turn a green run red
        print(f"\ncould not delete this session's test topics: {exc}")
    else:
        if deleted:
            print(f"\ndeleted {deleted} test topics")
