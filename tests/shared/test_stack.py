"""The local stack script and `make run`: clear failures, and the three services ready."""
import os
import socket
import subprocess
import time

import pytest
import requests

from shared.config import ROOT

pytestmark = pytest.mark.integration


def test_a_taken_port_gives_a_clear_message_not_a_hang(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        env = dict(os.environ, CHITIEU_STACK_DIR=str(tmp_path), CHITIEU_REDIS_PORT=str(port))
        started = time.monotonic()
        result = subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), "start"], env=env,
                                capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert f"port {port} (Redis) is already taken" in result.stderr
    assert time.monotonic() - started < 30


def test_make_run_brings_up_three_ready_services(real_stack, tmp_path, namespace):
    """`make run` = stack.sh start + run.sh start; the stack is up, so run run.sh in an isolated
    data directory and namespace, on the real ports 8001-8003."""
    for port in (8001, 8002, 8003):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} is in use: stop the running services (make stop) first")
    env = dict(os.environ, CHITIEU_STACK_DIR=str(tmp_path / "stack"), CHITIEU_DATA_DIR=str(tmp_path / "data"),
               CHITIEU_NAMESPACE=namespace, CHITIEU_WEB_WORKERS="1")
    script = str(ROOT / "scripts" / "run.sh")
    try:
        result = subprocess.run(["bash", script, "start"], env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert "Administrator token" in result.stdout
        # Each service checks what it uses: the candidate service has no Redis.
        needs = {8001: {"database", "kafka", "redis"}, 8002: {"database", "kafka"},
                 8003: {"database", "kafka", "redis"}}
        for port, checks in needs.items():
            resp = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=10)
            assert resp.status_code == 200, resp.text
            assert resp.json()["checks"] == {name: "ok" for name in checks}
    finally:
        subprocess.run(["bash", script, "stop"], env=env, capture_output=True, timeout=120)


def _stack_env(tmp_path, *args, **settings) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHITIEU_")}
    env.update(CHITIEU_STACK_DIR=str(tmp_path), **settings)
    return subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), "env", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def test_a_three_broker_cluster_gets_its_ports_in_a_row_and_a_bootstrap_list_of_all_three(tmp_path):
    with socket.socket() as s:  # a free port, and the five after it very likely too
        s.bind(("127.0.0.1", 0))
        base = s.getsockname()[1]
    result = _stack_env(tmp_path, "--brokers", "3", CHITIEU_KAFKA_PORT=str(base))
    assert result.returncode == 0, result.stderr
    written = dict(line.split("=", 1) for line in (tmp_path / "env").read_text().splitlines()
                   if line.startswith("CHITIEU_"))
    assert written["CHITIEU_KAFKA_BROKERS"] == "3"
    assert written["CHITIEU_KAFKA_BOOTSTRAP"] == ",".join(f"127.0.0.1:{base + i}" for i in range(3))
    assert written["CHITIEU_KAFKA_CONTROLLER_PORT"] == str(base + 3)  # controllers after the brokers
    # The number is kept for the next command, as the ports are.
    again = _stack_env(tmp_path, CHITIEU_KAFKA_PORT=str(base))
    assert again.returncode == 0 and "CHITIEU_KAFKA_BROKERS=3" in again.stdout


@pytest.mark.parametrize("brokers", ["0", "three", "12"])
def test_a_wrong_number_of_brokers_is_refused_clearly(tmp_path, brokers):
    result = _stack_env(tmp_path, "--brokers", brokers)
    assert result.returncode == 2
    assert f"--brokers / CHITIEU_KAFKA_BROKERS must be 1 to 9, not {brokers}" in result.stderr
    assert not (tmp_path / "env").exists()
