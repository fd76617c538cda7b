"""`make run` on a machine where Debian's own servers already hold the default ports, and its
supervisor restarting a process that dies.

The shared stack of this machine (scripts/stack.sh, ports 9092, 6379 and 5432) plays Debian's
redis-server and postgresql services (and a broker) that `apt-get install` starts on a systemd
host: this test runs `make run` with a stack directory of its own and no port settings, so the
default ports are held by servers it did not start. It must come up on ports of its own, every
process pointed at them, and leave the shared stack alone (nothing here stops or writes to it).
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import redis
import requests
from kafka import KafkaAdminClient

from shared.config import ROOT
from tests.support import unique_namespace, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEFAULT_PORTS = {"CHITIEU_KAFKA_PORT": 9092, "CHITIEU_REDIS_PORT": 6379, "CHITIEU_PG_PORT": 5432}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _read_env(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if line and not line.startswith("#"))


def _process_env(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode().split("=", 1) for item in raw if b"=" in item)


@pytest.fixture
def own_stack(real_stack, tmp_path):
    """make's environment for a stack of its own: no CHITIEU_* of ours leaks in but the API binds
    (free ports, so the shared 8000-8003 stay free for others) and its own directories."""
    for port in DEFAULT_PORTS.values():
        assert _listening(port), f"the default port {port} must be held for this test"
    stack = tmp_path / "stack"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHITIEU_")}
    env.update(CHITIEU_STACK_DIR=str(stack), CHITIEU_NAMESPACE=unique_namespace(), CHITIEU_WEB_WORKERS="1",
               CHITIEU_NOTIFICATIONS_THREADS="8", CHITIEU_NOTIFY_MAX_STREAMS="4")
    if os.getuid() == 0:  # the postgres user cannot enter pytest's private tmp directory
        env["CHITIEU_PG_DIR"] = f"/var/lib/postgresql/chitieu-test-{uuid.uuid4().hex[:10]}"
    apis = {}
    for svc in ("web", "quota", "candidates", "notifications"):
        apis[svc] = _free_port()
        env[f"CHITIEU_{svc.upper()}_BIND"] = f"127.0.0.1:{apis[svc]}"
    try:
        yield stack, env, apis
    finally:
        subprocess.run(["make", "-C", str(ROOT), "stop"], env=env, capture_output=True, timeout=180)
        if "CHITIEU_PG_DIR" in env:
            shutil.rmtree(env["CHITIEU_PG_DIR"], ignore_errors=True)


def test_make_run_comes_up_beside_servers_on_the_default_ports_and_restarts_a_dead_worker(own_stack):
    stack, env, apis = own_stack
    result = subprocess.run(["make", "-C", str(ROOT), "run"], env=env, capture_output=True, text=True, timeout=480)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    assert "Administrator token" in result.stdout

    # Its own servers, on ports next to the held defaults, written to the one env file.
    ports = _read_env(stack / "env")
    for name, default in DEFAULT_PORTS.items():
        assert int(ports[name]) != default, (name, ports)
        assert f"port {default} is held by another program" in output
    assert ports["CHITIEU_REDIS_URL"] == f"redis://127.0.0.1:{ports['CHITIEU_REDIS_PORT']}/0"
    assert ports["CHITIEU_KAFKA_BOOTSTRAP"] == f"127.0.0.1:{ports['CHITIEU_KAFKA_PORT']}"

    # Every supervised process was given those ports, and each API's URL follows its bind.
    conf = stack / "run" / "supervisord.conf"
    ctl = ["bash", str(ROOT / "scripts" / "run.sh"), "exec", "supervisorctl", "-c", str(conf)]
    procfile = [line.split(":", 1)[0] for line in (ROOT / "Procfile").read_text().splitlines()
                if line and not line.startswith("#")]
    pids = {}
    for name in procfile:
        pid = int(subprocess.run([*ctl, "pid", name], env=env, capture_output=True, text=True).stdout.strip() or 0)
        assert pid > 0, f"{name} is not running under supervisord"
        pids[name] = pid
        seen = _process_env(pid)
        assert seen["CHITIEU_KAFKA_BOOTSTRAP"] == ports["CHITIEU_KAFKA_BOOTSTRAP"], name
        assert seen["CHITIEU_REDIS_URL"] == ports["CHITIEU_REDIS_URL"], name
        svc = name.split("-")[0]
        assert seen[f"CHITIEU_{svc.upper()}_DATABASE_URL"] == (
            f"postgresql+psycopg://chitieu:chitieu@127.0.0.1:{ports['CHITIEU_PG_PORT']}/chitieu_{svc}"), name
        for other, port in apis.items():
            assert seen[f"CHITIEU_{other.upper()}_URL"] == f"http://127.0.0.1:{port}", name
        assert seen["CHITIEU_JWKS"] == f"http://127.0.0.1:{apis['web']}/.well-known/jwks.json", name

    # And they use them: the demo data went to this stack's PostgreSQL, Redis and broker.
    for svc, port in apis.items():
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200, svc
    with psycopg.connect(f"postgresql://chitieu:chitieu@127.0.0.1:{ports['CHITIEU_PG_PORT']}/chitieu_quota") as conn:
        assert conn.execute("SELECT count(*) FROM organizations").fetchone()[0] > 0
    namespace = env["CHITIEU_NAMESPACE"]
    own_redis = redis.Redis.from_url(ports["CHITIEU_REDIS_URL"])
    assert any(own_redis.scan_iter(f"{namespace}:*")), "no live figures in this stack's Redis"
    assert not any(redis.Redis.from_url("redis://127.0.0.1:6379/0").scan_iter(f"{namespace}:*", count=1000))
    admin = KafkaAdminClient(bootstrap_servers=ports["CHITIEU_KAFKA_BOOTSTRAP"])
    try:
        assert f"{namespace}.candidates" in admin.list_topics()
    finally:
        admin.close()

    # A worker killed outright is started again by supervisord, within 10 seconds.
    os.kill(pids["quota-relay"], signal.SIGKILL)
    killed = time.monotonic()

    def restarted():
        out = subprocess.run([*ctl, "status", "quota-relay"], env=env, capture_output=True, text=True).stdout
        pid = subprocess.run([*ctl, "pid", "quota-relay"], env=env, capture_output=True, text=True).stdout.strip()
        return "RUNNING" in out and pid.isdigit() and int(pid) not in (0, pids["quota-relay"])

    wait_until(restarted, timeout=10, interval=0.2, message="quota-relay restarted by supervisord")
    assert time.monotonic() - killed < 10
    # The others were left alone (honcho would have stopped them all).
    for name in ("quota-api", "quota-consumer", "notifications-delivery"):
        out = subprocess.run([*ctl, "pid", name], env=env, capture_output=True, text=True).stdout.strip()
        assert int(out) == pids[name], name

    # make status reads supervisord; make stop ends every process and the stack's servers.
    status = subprocess.run(["make", "-C", str(ROOT), "status"], env=env, capture_output=True, text=True, timeout=60)
    assert "quota-relay" in status.stdout and "RUNNING" in status.stdout, status.stdout
    stop = subprocess.run(["make", "-C", str(ROOT), "stop"], env=env, capture_output=True, text=True, timeout=180)
    assert stop.returncode == 0, stop.stdout + stop.stderr
    for pid in pids.values():
        wait_until(lambda p=pid: not Path(f"/proc/{p}").exists() or "zombie" in Path(f"/proc/{p}/status").read_text(),
                   timeout=10, message=f"process {pid} stopped")
    assert not _listening(int(ports["CHITIEU_REDIS_PORT"]))
    assert _listening(6379) and _listening(5432) and _listening(9092)  # the shared stack is untouched
