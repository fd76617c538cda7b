"""Kafka and Redis clients belong to the process that made them: after a fork (gunicorn workers),
the child makes its own instead of reusing the parent's sockets."""
import os

import pytest

from shared import kafka as shared_kafka
from shared import redis_client
from shared.config import Settings
from tests.support import REDIS_URL

pytestmark = pytest.mark.integration


def _in_child(check) -> bool:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        ok = False
        try:
            ok = check()
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.waitpid(pid, 0)
    return os.read(read, 1) == b"1"


def test_a_forked_child_makes_its_own_redis_client(real_stack):
    parent = redis_client.get_redis(REDIS_URL)
    assert parent.ping()
    assert _in_child(lambda: redis_client.get_redis(REDIS_URL) is not parent
                     and redis_client.get_redis(REDIS_URL).ping())


def test_a_forked_child_makes_its_own_kafka_admin_client(real_stack):
    settings = Settings(service="t", database_url="sqlite://")
    shared_kafka.check_broker(settings)
    parent = shared_kafka._admin_by_pid[os.getpid()]

    def child_check():
        shared_kafka.check_broker(settings)
        return shared_kafka._admin_by_pid[os.getpid()] is not parent

    assert _in_child(child_check)


def test_gunicorn_loads_the_app_after_forking():
    import runpy

    from shared.config import ROOT

    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    assert config["preload_app"] is False
