"""What docker compose would run, run natively against the local stack.

No Docker engine runs here, so these tests take a compose service's own command and environment
from docker-compose.yml (interpolated as compose does, with an administrator's .env), rewrite only
what a container network provides (the hostnames kafka, redis and postgres become 127.0.0.1, the
database is a fresh one, the API binds a free port, files go to a temporary directory) and run them.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
import requests
from kafka import KafkaAdminClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from shared.config import ROOT
from shared.contracts import DEAD_LETTER_TOPIC, TOPICS
from tests.deploy import compose_support as cs
from tests.keys import test_issuer
from tests.support import KAFKA_BOOTSTRAP, PG_ADMIN_URL, PG_SERVER_URL, PG_URL, REDIS_URL, wait_until

pytestmark = pytest.mark.integration

# The local stack's ports (scripts/stack.sh) for each container hostname of docker-compose.yml.
# (They move off ports another program holds; tests/support.py reads them from .stack/env.)
LOCAL_PORTS = {"kafka": {"9092": KAFKA_BOOTSTRAP.rsplit(":", 1)[1]},
               "redis": {"6379": REDIS_URL.rsplit(":", 1)[1].split("/")[0]},
               "postgres": {"5432": PG_SERVER_URL.rsplit(":", 1)[1]}}
PG_PORT = LOCAL_PORTS["postgres"]["5432"]


@pytest.fixture
def admin_env(real_stack, namespace) -> dict[str, str]:
    """An administrator's .env for the local stack: its PostgreSQL user, this test's namespace, and
    two optional settings, to see them reach the processes."""
    return {"POSTGRES_USER": "chitieu", "CHITIEU_NAMESPACE": namespace,
            "CHITIEU_WEB_WORKERS": "1", "CHITIEU_TOPIC_PARTITIONS": "2"}


@pytest.fixture
def fresh_database(real_stack):
    name = f"compose_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    yield name
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def natively(value: str, *, database: str, tmp_path: Path, port: int | None = None) -> str:
    """A value from docker-compose.yml as it must read outside the container network."""
    def local(m: re.Match) -> str:
        return f"127.0.0.1:{LOCAL_PORTS[m.group(1)][m.group(2)]}"
    value = re.sub(r"(?<![\w.-])(kafka|redis|postgres):(\d+)", local, value)
    value = re.sub(rf"(@127\.0\.0\.1:{PG_PORT}/)chitieu_[a-z]+$", rf"\g<1>{database}", value)
    value = value.replace("/tmp/chitieu-heartbeat", str(tmp_path / "heartbeat"))
    value = value.replace("/var/lib/chitieu", str(tmp_path / "data"))
    # The compose secrets' mount points: here, the tests' own issuer key file, and files holding
    # the local stack's PostgreSQL password and an empty SMTP password.
    value = value.replace("/run/secrets/jwt-ed25519.pem", test_issuer().private_key_file)
    if value.startswith("/run/secrets/"):
        value = str(secret_file(tmp_path, value.rsplit("/", 1)[1]))
    if port is not None:
        value = re.sub(r"^0\.0\.0\.0:800[0-3]$", f"127.0.0.1:{port}", value)
        value = re.sub(r"http://127\.0\.0\.1:800[0-3]/", f"http://127.0.0.1:{port}/", value)
    return value


def secret_file(tmp_path: Path, name: str) -> Path:
    """A compose secret as a file here (what /run/secrets/<name> holds in the container)."""
    contents = {"database-password": make_url(PG_SERVER_URL).password + "\n", "smtp-password": ""}
    path = tmp_path / "secrets" / name
    path.parent.mkdir(exist_ok=True)
    path.write_text(contents[name], encoding="utf-8")
    return path


class ComposeService:
    """One compose service, ready to run here: its command, environment and healthcheck."""

    def __init__(self, name: str, admin_env: dict[str, str], *, database: str, tmp_path: Path,
                 port: int | None = None):
        service = cs.load(admin_env)["services"][name]
        self.name = name
        fix = lambda v: natively(v, database=database, tmp_path=tmp_path, port=port)  # noqa: E731
        self.environment = {k: fix(v) for k, v in cs.service_environment(service, admin_env).items()}
        if "CHITIEU_METRICS_PORT" in self.environment:
            # Each container has the compose port to itself; here they share the host: one each.
            self.environment.update(CHITIEU_METRICS_PORT=str(free_port()), CHITIEU_METRICS_HOST="127.0.0.1")
        self.command = service["command"]
        self.healthcheck = [fix(part) for part in service.get("healthcheck", {}).get("test", [])]
        self.log = tmp_path / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def process_env(self) -> dict[str, str]:
        # Only what the container would have: the image's PATH and the compose environment.
        return {"PATH": f"{ROOT / '.venv' / 'bin'}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8",
                "HOME": str(Path(self.log).parent), **self.environment}

    def run(self, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.command, cwd=ROOT, env=self.process_env(), capture_output=True,
                              text=True, timeout=timeout)

    def start(self) -> None:
        Path(self.environment.get("CHITIEU_DATA_DIR", self.log.parent)).mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.process_env(),
                                        stdout=self.log.open("wb"), stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def check_health(self) -> subprocess.CompletedProcess:
        kind, *command = self.healthcheck
        assert kind == "CMD"
        return subprocess.run(command, cwd=ROOT, env=self.process_env(), capture_output=True, text=True,
                              timeout=30)

    def stop(self) -> int:
        """SIGTERM, as `docker compose stop` sends it; the exit status."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def migrate(service: str, admin_env, database, tmp_path) -> None:
    job = ComposeService(f"{service}-migrate", admin_env, database=database, tmp_path=tmp_path)
    result = job.run()
    assert result.returncode == 0, result.stderr[-3000:]


def readyz(port: int):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except OSError:
        return None


@pytest.mark.parametrize("service", ["quota", "candidates", "notifications"])
def test_each_migration_job_brings_a_fresh_database_to_the_newest_revision(service, admin_env,
                                                                              fresh_database, tmp_path):
    migrate(service, admin_env, fresh_database, tmp_path)
    engine = create_engine(PG_URL.format(name=fresh_database))
    try:
        with engine.connect() as conn:
            revisions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
            tables = set(conn.execute(text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars())
    finally:
        engine.dispose()
    assert len(revisions) == 1
    assert {"outbox", "processed_events"} <= tables, tables
    # Running it again at the next `docker compose up` changes nothing and succeeds.
    migrate(service, admin_env, fresh_database, tmp_path)


def test_the_quota_api_serves_readyz_as_compose_starts_it(admin_env, fresh_database, tmp_path):
    migrate("quota", admin_env, fresh_database, tmp_path)
    port = free_port()
    api = ComposeService("quota-api", admin_env, database=fresh_database, tmp_path=tmp_path, port=port)
    assert api.environment["CHITIEU_QUOTA_BIND"] == f"127.0.0.1:{port}"
    assert api.environment["CHITIEU_WEB_WORKERS"] == "1"  # passed through from .env
    assert api.environment["CHITIEU_JWKS"] == "http://web-api:8000/.well-known/jwks.json"
    api.start()
    try:
        # The port comes from CHITIEU_QUOTA_BIND through sh's ${...:-...} in the Procfile command:
        # if compose's $$ escaping were wrong, gunicorn would not listen here.
        answer = wait_until(lambda: readyz(port) or api.process.poll() is not None, timeout=90,
                            message="quota-api answers /readyz")
        assert answer is not True, f"quota-api exited: {api.output()}"
        status, body = answer
        assert status == 200, body
        assert body["checks"] == {"database": "ok", "kafka": "ok", "redis": "ok"}
        health = api.check_health()
        assert health.returncode == 0 and health.stdout.startswith("healthy"), health
    finally:
        status = api.stop()
    assert status == 0, api.output()


def test_the_topic_job_and_a_relay_run_as_compose_runs_them(admin_env, namespace, fresh_database, tmp_path):
    topics = ComposeService("kafka-topics", admin_env, database=fresh_database, tmp_path=tmp_path)
    result = topics.run()
    assert result.returncode == 0, result.stderr[-3000:]
    admin = KafkaAdminClient(bootstrap_servers=KAFKA_BOOTSTRAP)
    try:
        wanted = [f"{namespace}.{t}" for t in TOPICS + (DEAD_LETTER_TOPIC,)]
        described = {d["name"]: d for d in admin.describe_topics(wanted)}
        for name in wanted:
            assert described[name]["error_code"] == 0, described[name]
            assert len(described[name]["partitions"]) == 2  # CHITIEU_TOPIC_PARTITIONS from .env
    finally:
        admin.close()

    migrate("quota", admin_env, fresh_database, tmp_path)
    relay = ComposeService("quota-relay", admin_env, database=fresh_database, tmp_path=tmp_path)
    heartbeat = Path(relay.environment["CHITIEU_HEALTH_FILE"])
    assert not heartbeat.exists()
    relay.start()
    try:
        wait_until(lambda: heartbeat.exists() or relay.process.poll() is not None, timeout=60,
                   message="the relay's loop touches its heartbeat file")
        assert relay.process.poll() is None, relay.output()
        health = relay.check_health()
        assert health.returncode == 0 and health.stdout.startswith("healthy"), health
    finally:
        status = relay.stop()
    assert status == 0, relay.output()  # SIGTERM stops the loop cleanly
    # A loop that stopped turning: its heartbeat grows old and the check says so.
    old = heartbeat.stat().st_mtime - 3600
    os.utime(heartbeat, (old, old))
    health = relay.check_health()
    assert health.returncode == 1 and health.stdout.startswith("unhealthy"), health


def test_the_postgres_init_script_creates_each_service_database_once(real_stack, tmp_path):
    names = [f"compose_init_{uuid.uuid4().hex[:8]}_{s}" for s in ("quota", "candidates")]
    env = {"PATH": os.environ["PATH"], "POSTGRES_USER": "chitieu", "INIT_DATABASES": " ".join(names),
           # The image runs the script on its local socket with trust; here, the local stack over TCP.
           "PGHOST": "127.0.0.1", "PGPORT": PG_PORT, "PGPASSWORD": "chitieu"}
    script = ROOT / "deploy" / "compose" / "postgres-init.sh"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        first = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert first.returncode == 0, first.stderr
        again = subprocess.run([str(script)], env=env, capture_output=True, text=True, timeout=60)
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("exists") == len(names)
        with admin.connect() as conn:
            owners = dict(conn.execute(text(
                "SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE datname = ANY(:names)"),
                {"names": names}).all())
        assert owners == {n: "chitieu" for n in names}
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()


@pytest.fixture
def service_databases(real_stack):
    """A fresh PostgreSQL database for each chitieu service."""
    names = {svc: f"compose_{svc[:5]}_{uuid.uuid4().hex[:8]}" for svc in cs.SERVICES}
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f"CREATE DATABASE {name}"))
    yield names
    with admin.connect() as conn:
        for name in names.values():
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
    admin.dispose()


def test_every_procfile_process_becomes_healthy_as_compose_runs_it(admin_env, service_databases, tmp_path):
    """The whole deployment, natively: the one-shot jobs, then every long-running compose service
    (read from the Procfile at test time), each judged by its own compose healthcheck, then
    stopped with SIGTERM as `docker compose stop` does."""
    topics = ComposeService("kafka-topics", admin_env, database="unused", tmp_path=tmp_path)
    assert topics.run().returncode == 0
    for svc, database in service_databases.items():
        migrate(svc, admin_env, database, tmp_path)
    running: list[ComposeService] = []
    try:
        for name in cs.procfile_processes():
            home = tmp_path / name
            home.mkdir()
            port = free_port() if name.endswith("-api") else None
            process = ComposeService(name, admin_env, database=service_databases[cs.service_of(name)],
                                     tmp_path=home, port=port)
            process.start()
            running.append(process)
        for process in running:
            def healthy(p=process):
                assert p.process.poll() is None, f"{p.name} exited: {p.output()}"
                return p.check_health().returncode == 0
            wait_until(healthy, timeout=120, interval=1, message=f"{process.name} becomes healthy")
            # Every process serves its Prometheus metrics: an API at /metrics, a worker on its port.
            url = (process.environment[f"CHITIEU_{cs.service_of(process.name).upper()}_BIND"]
                   if process.name.endswith("-api") else f"127.0.0.1:{process.environment['CHITIEU_METRICS_PORT']}")
            if process.name.endswith("-api"):
                requests.get(f"http://{url}/openapi.json", timeout=10)  # one request to count
            scraped = requests.get(f"http://{url}/metrics", timeout=10).text
            assert ("chitieu_http_requests_total" if process.name.endswith("-api")
                    else "chitieu_worker_heartbeat_timestamp_seconds") in scraped, (process.name, scraped[:500])
    finally:
        statuses = {p.name: p.stop() for p in running}
    unclean = {name: status for name, status in statuses.items() if status != 0}
    assert not unclean, "not stopped cleanly by SIGTERM: " + "; ".join(
        f"{p.name} ({statuses[p.name]}): {p.output()[-800:]}" for p in running if p.name in unclean)


def test_the_postgres_healthcheck_needs_every_service_database(real_stack, fresh_database, tmp_path):
    postgres = cs.load({})["services"]["postgres"]
    kind, line = postgres["healthcheck"]["test"]
    # It reads the password from the secret file the container mounts.
    assert "/run/secrets/database-password" in line
    line = line.replace("/run/secrets/database-password", str(secret_file(tmp_path, "database-password")))
    env = {"PATH": os.environ["PATH"], "POSTGRES_USER": "chitieu", "PGPORT": PG_PORT}
    ready = subprocess.run(["sh", "-c", line], env={**env, "INIT_DATABASES": f"postgres {fresh_database}"},
                           capture_output=True, timeout=60)
    assert ready.returncode == 0, ready
    missing = subprocess.run(["sh", "-c", line], capture_output=True, timeout=60,
                             env={**env, "INIT_DATABASES": f"{fresh_database} {fresh_database}_not_yet"})
    assert missing.returncode != 0
