"""docker-compose.yml, checked without a Docker engine: against the Compose Specification's JSON
schema, the Procfile, the settings the code reads, and .env.example.

The schema, tests/deploy/compose-spec.json, is vendored unchanged from
compose-spec/compose-spec, schema/compose-spec.json at commit
00655e2222608fa6eaecdf12ac5195889ca2244a (the specification's current schema: it knows
`models`, `provider`, `use_api_socket`, `post_start`/`pre_stop` and `gw_priority`).
"""
from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.config import ROOT
from tests.deploy import compose_support as cs

SCHEMA = Path(__file__).with_name("compose-spec.json")
FIXTURES = Path(__file__).with_name("fixtures")
# What an administrator's .env holds at the least: nothing is required (the secrets are files,
# the public name defaults to localhost); tests that move a value say so.
ADMIN_ENV: dict[str, str] = {}
# Each compose secret and the containers that may mount it (least privilege).
SECRET_HOLDERS = {
    "jwt-private-key": {"web-api"},
    "smtp-password": {"notifications-delivery"},
}
# Read by the code only where the secret is mounted: setting -> the processes given it.
ONLY_WHERE_NEEDED = {"CHITIEU_SMTP_PASSWORD": {"notifications-delivery"}}
API_PORTS = {"web": 8000, "quota": 8001, "candidates": 8002, "notifications": 8003}
INFRASTRUCTURE = ("kafka", "redis", "postgres")
# Read by the code but deliberately not set by compose, and why.
NOT_SET_BY_COMPOSE = {
    # gunicorn's fallback bind in deploy/gunicorn.conf.py; every Procfile API command passes --bind.
    "CHITIEU_BIND": "overridden by --bind in every Procfile command",
    # make run's workers' metrics ports (scripts/supervise.py); compose gives each container 9100.
    "CHITIEU_METRICS_BASE_PORT": "make run only",
}


@pytest.fixture(scope="module")
def model() -> dict:
    return cs.load(ADMIN_ENV)


# Long-running services of the administrator's, not of the application: not in the Procfile.
OPERATIONS = {"backup"}


def long_running(model: dict) -> dict[str, dict]:
    return {n: s for n, s in cs.chitieu_services(model).items() if s.get("restart") != "no"}


def one_shot_jobs(model: dict) -> dict[str, dict]:
    return {n: s for n, s in cs.chitieu_services(model).items() if s.get("restart") == "no"}


# --- the specification -----------------------------------------------------------------------
def test_compose_file_follows_the_compose_specification(model):
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    for name, document in (("as written", cs.load_raw()), ("interpolated", model)):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
        assert not errors, f"{name}: " + "; ".join(
            f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def test_the_schema_check_catches_a_wrong_file():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    wrong = cs.load_raw()
    wrong["services"]["quota-api"]["depends_on"]["postgres"]["condition"] = "service_ready"
    wrong["services"]["redis"]["restart_policy"] = "always"
    messages = [e.message for e in jsonschema.Draft7Validator(schema).iter_errors(wrong)]
    assert len(messages) >= 2, messages


def test_interpolation_follows_the_compose_rules():
    env = {"SET": "x", "EMPTY": ""}
    assert cs.interpolate("a$$b ${SET} $SET ${UNSET:-d} ${EMPTY:-d} ${EMPTY-d}", env) == "a$b x x d d "
    assert cs.interpolate("${UNSET:-${SET}y}", env) == "xy"
    assert cs.interpolate("${SET:+alt}${UNSET:+alt}", env) == "alt"
    with pytest.raises(cs.MissingVariable, match="needed"):
        cs.interpolate("${EMPTY:?needed}", env)


def test_no_password_is_in_the_compose_file_or_any_container_environment(model):
    """Passwords are secret files: nothing interpolates one, and no environment carries one."""
    text = cs.COMPOSE_FILE.read_text(encoding="utf-8")
    assert "POSTGRES_PASSWORD}" not in text and "PGPASSWORD:" not in text
    for name, svc in model["services"].items():
        env = cs.service_environment(svc, {"CHITIEU_SMTP_PASSWORD": "leak", "POSTGRES_PASSWORD": "leak"})
        assert "leak" not in env.values(), name
        for key, value in env.items():
            assert not re.match(r"postgresql\+psycopg://[^@/]*:[^@/]*@", value), (name, key, "a URL with a password")
        assert not {k for k in env if k.endswith("PASSWORD")}, (name, sorted(env))
    assert model["services"]["postgres"]["environment"]["POSTGRES_PASSWORD_FILE"] == "/run/secrets/database-password"


def test_each_secret_is_a_file_mounted_only_where_it_is_read(model):
    secrets = model["secrets"]
    assert {n: s["file"] for n, s in secrets.items()} == {
        "jwt-private-key": "./secrets/jwt-ed25519.pem", "database-password": "./secrets/database-password",
        "smtp-password": "./secrets/smtp-password"}
    holders: dict[str, set[str]] = {name: set() for name in secrets}
    for name, svc in model["services"].items():
        for entry in svc.get("secrets", []):
            holders[entry if isinstance(entry, str) else entry["source"]].add(name)
        env = cs.service_environment(svc, ADMIN_ENV)
        # Every *_FILE under /run/secrets names a secret this container mounts.
        mounted = {f"/run/secrets/{e if isinstance(e, str) else e.get('target', e['source'])}"
                   for e in svc.get("secrets", [])}
        for key, value in env.items():
            # (CHITIEU_JWT_PRIVATE_KEY_FILE is a path setting of its own, read by the issuer alone.)
            if key.endswith("_FILE") and key != "CHITIEU_JWT_PRIVATE_KEY_FILE" and value.startswith("/run/secrets/"):
                assert value in mounted, (name, key, value)
    for secret, allowed in SECRET_HOLDERS.items():
        assert holders[secret] == allowed, (secret, holders[secret])
    # The database password: postgres and the processes that open a database, not kafka-topics/proxy.
    with_database = {n for n, s in cs.chitieu_services(model).items()
                     if any(k.endswith("_DATABASE_URL") for k in cs.service_environment(s, ADMIN_ENV))}
    assert holders["database-password"] == with_database | {"postgres"}
    assert "kafka-topics" not in with_database
    moved = cs.load({"DATABASE_PASSWORD_FILE": "/etc/chitieu/pg", "SMTP_PASSWORD_FILE": "/etc/chitieu/smtp"})
    assert moved["secrets"]["database-password"]["file"] == "/etc/chitieu/pg"
    assert moved["secrets"]["smtp-password"]["file"] == "/etc/chitieu/smtp"


def test_only_the_web_service_holds_the_private_key_and_as_a_file(model):
    """No shared signing secret any more: the APIs get the public keys' address, and the issuer's
    private key reaches web-api alone, as a mounted secret file."""
    text = cs.COMPOSE_FILE.read_text(encoding="utf-8")
    assert "CHITIEU_JWT_SECRET" not in text
    for name, svc in cs.chitieu_services(model).items():
        env = cs.service_environment(svc, ADMIN_ENV)
        assert env["CHITIEU_JWKS"] == "http://web-api:8000/.well-known/jwks.json", name
        holds_key = "CHITIEU_JWT_PRIVATE_KEY_FILE" in env or any(
            (e if isinstance(e, str) else e["source"]) == "jwt-private-key" for e in svc.get("secrets", []))
        assert bool(holds_key) == (name in ("web-api", "web-migrate")), name
        assert not any("PRIVATE KEY" in str(v) for v in env.values()), name
    web = model["services"]["web-api"]
    assert web["secrets"] == ["database-password", {"source": "jwt-private-key", "target": "jwt-ed25519.pem"}]
    assert cs.service_environment(web, ADMIN_ENV)["CHITIEU_JWT_PRIVATE_KEY_FILE"] == "/run/secrets/jwt-ed25519.pem"
    assert model["secrets"]["jwt-private-key"]["file"] == "./secrets/jwt-ed25519.pem"


# --- the Procfile ----------------------------------------------------------------------------
def test_every_procfile_process_is_a_service_running_exactly_its_command(model):
    processes = cs.procfile_processes()
    assert len(processes) >= 6, processes
    services = model["services"]
    missing = sorted(set(processes) - set(services))
    assert not missing, f"Procfile processes without a compose service: {missing}"
    for name, command in processes.items():
        # After compose's interpolation ($$ -> $) the container runs the Procfile line through sh,
        # as scripts/run.sh does, so ${CHITIEU_*_BIND:-...} is expanded from the container's env.
        assert services[name]["command"] == ["sh", "-c", f"exec {command}"], name


def test_no_long_running_service_outside_the_procfile(model):
    extra = sorted(set(long_running(model)) - set(cs.procfile_processes()) - OPERATIONS)
    assert not extra, f"compose services running chitieu that the Procfile does not list: {extra}"


def test_each_process_gets_only_its_own_services_database(model):
    init_databases = model["services"]["postgres"]["environment"]["INIT_DATABASES"].split()
    for name in cs.procfile_processes():
        svc = cs.service_of(name)
        env = cs.service_environment(model["services"][name], ADMIN_ENV)
        urls = {k: v for k, v in env.items() if k.endswith("_DATABASE_URL")}
        assert list(urls) == [f"CHITIEU_{svc.upper()}_DATABASE_URL"], (name, urls)
        url = urls[f"CHITIEU_{svc.upper()}_DATABASE_URL"]
        assert url == f"postgresql+psycopg://chitieu@postgres:5432/chitieu_{svc}", url
        assert env["CHITIEU_DATABASE_PASSWORD_FILE"] == "/run/secrets/database-password", name
        assert f"chitieu_{svc}" in init_databases


def test_the_backup_service_backs_up_every_database_on_a_schedule_into_a_volume(model):
    backup = model["services"]["backup"]
    assert backup["command"][:6] == ["python", "-m", "shared.cli", "backup", "schedule", "/var/backups/chitieu"]
    assert backup["command"][6:] == ["--every-hours", "24", "--keep", "7"]
    env = cs.service_environment(backup, ADMIN_ENV)
    for svc in API_PORTS:
        assert env[f"CHITIEU_{svc.upper()}_DATABASE_URL"] == f"postgresql+psycopg://chitieu@postgres:5432/chitieu_{svc}"
        assert backup["depends_on"][f"{svc}-migrate"] == {"condition": "service_completed_successfully"}
    assert env["CHITIEU_KAFKA_BOOTSTRAP"] == "kafka:9092"  # the consumers' offsets are part of a backup
    assert env["CHITIEU_WORKER_STALL_S"] == "0"  # a long pg_dump is not a stall
    assert backup["volumes"] == ["backups:/var/backups/chitieu"]
    assert "JWT_PRIVATE_KEY" not in " ".join(env)
    assert env["CHITIEU_DATABASE_PASSWORD_FILE"] == "/run/secrets/database-password"
    # The image's user owns the mount point, so the fresh volume is writable; pg_dump is installed.
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    assert "postgresql-client" in dockerfile and "chown chitieu /var/lib/chitieu /var/backups/chitieu" in dockerfile
    moved = cs.load({**ADMIN_ENV, "BACKUP_EVERY_HOURS": "6", "BACKUP_KEEP": "28"})
    assert moved["services"]["backup"]["command"][6:] == ["--every-hours", "6", "--keep", "28"]


# --- settings --------------------------------------------------------------------------------
def test_the_settings_scan_finds_what_the_code_reads():
    found = cs.settings_read_by_code()
    for name in ("CHITIEU_JWKS", "CHITIEU_QUOTA_DATABASE_URL", "CHITIEU_NOTIFICATIONS_DATABASE_URL",
                 "CHITIEU_TOPIC_PARTITIONS", "CHITIEU_WEB_WORKERS", "CHITIEU_QUOTA_BIND", "CHITIEU_DATA_DIR",
                 "CHITIEU_TIMEZONE", "CHITIEU_DATABASE_PASSWORD", "CHITIEU_SMTP_PASSWORD",
                 "CHITIEU_WEBHOOK_ALLOW_CIDRS", "CHITIEU_IMPORT_MAX_ROWS"):
        assert name in found, name
    assert "CHITIEU_SETTINGS" not in found  # a Flask config key, not an environment variable
    source = '''
import os
def _env(name, default):
    return os.environ.get(f"CHITIEU_{name}", default)
def _flag(name):
    return _env(name, "0") == "1"
A = _env("SMTP_HOST", "")
B = _flag("SMTP_SSL")
C = os.getenv("CHITIEU_DIRECT")
D = os.environ["CHITIEU_INDEXED"]
E = _env(f"{service.upper()}_DATABASE_URL", "")
F = os.environ.get("OTHER")
from shared.config import setting
G = setting("FROM_FILE_TOO", "")
'''
    assert cs.names_read_in_source(source) == {
        "CHITIEU_SMTP_HOST", "CHITIEU_SMTP_SSL", "CHITIEU_DIRECT", "CHITIEU_INDEXED", "CHITIEU_FROM_FILE_TOO",
        "CHITIEU_WEB_DATABASE_URL", "CHITIEU_QUOTA_DATABASE_URL", "CHITIEU_CANDIDATES_DATABASE_URL",
        "CHITIEU_NOTIFICATIONS_DATABASE_URL"}


def test_every_setting_the_code_reads_is_set_or_passed_by_compose(model):
    services = model["services"]
    declared = {name: cs.declared_environment_keys(svc) for name, svc in cs.chitieu_services(model).items()}
    problems = []
    # A setting is given when CHITIEU_X or CHITIEU_X_FILE is (shared/config.py reads either).
    declared = {name: keys | {k.removesuffix("_FILE") for k in keys} for name, keys in declared.items()}
    for setting, files in sorted(cs.settings_read_by_code().items()):
        if setting in NOT_SET_BY_COMPOSE:
            continue
        if setting in ONLY_WHERE_NEEDED:
            given = {name for name, keys in declared.items() if setting in keys}
            assert given == ONLY_WHERE_NEEDED[setting], (setting, given)
            continue
        owners = {f.split("/")[1] for f in files if f.startswith("services/")}
        if owners:
            # A service's own setting: every process of that service must receive it.
            need = [p for p in cs.procfile_processes() if cs.service_of(p) in owners]
            lacking = [p for p in need if setting not in declared[p]]
            if lacking:
                problems.append(f"{setting} (read in {sorted(files)}) is not given to {lacking}")
        elif not any(setting in keys for keys in declared.values()):
            problems.append(f"{setting} (read in {sorted(files)}) is not set by any compose service")
    assert not problems, "\n".join(problems)
    assert "CHITIEU_BIND" not in services["quota-api"]["environment"]


def test_every_setting_the_code_reads_is_documented_in_env_example():
    documented = cs.documented_names()
    missing = sorted(set(cs.settings_read_by_code()) - documented - set(NOT_SET_BY_COMPOSE)
                     - {name.removesuffix("_FILE") for name in documented})
    assert not missing, f"add these to .env.example: {missing}"


def test_env_example_documents_every_variable_compose_reads_and_nothing_else():
    referenced = cs.variables_referenced(cs.load_raw())
    passed_through = {k for svc in cs.load_raw()["services"].values()
                      for k, v in (svc.get("environment") or {}).items() if v is None}
    documented = cs.documented_names()
    assert not sorted(referenced - documented), f"compose reads undocumented variables: {referenced - documented}"
    unused = sorted(set(cs.assigned_names()) - referenced - passed_through)
    assert not unused, f".env.example sets variables compose never reads: {unused}"
    # The `*_FILE` rule is stated once, and the public name is there for the administrator to set.
    text = cs.ENV_EXAMPLE.read_text(encoding="utf-8")
    assert "CHITIEU_X_FILE" in text and "#CHITIEU_PUBLIC_HOST=localhost" in text.splitlines()


def test_env_example_defaults_are_the_compose_defaults():
    """A commented `#NAME=value` says "the default is value": it must be what compose uses."""
    text = cs.COMPOSE_FILE.read_text(encoding="utf-8")
    for name, shown in cs.assigned_names().items():
        defaults = set(re.findall(rf"\$\{{{name}:-([^}}]*)\}}", text))
        if defaults:
            assert defaults == {shown}, (name, defaults, shown)


# --- ports, healthchecks, dependencies, volumes ----------------------------------------------
def test_only_the_proxy_is_published_and_the_apis_sit_behind_it(model):
    published = {name for name, svc in model["services"].items() if svc.get("ports")}
    assert published == {"proxy"}
    assert model["services"]["proxy"]["ports"] == ["443:443", "443:443/udp", "80:80"]
    for svc, port in API_PORTS.items():
        api = model["services"][f"{svc}-api"]
        env = cs.service_environment(api, ADMIN_ENV)
        assert env[f"CHITIEU_{svc.upper()}_BIND"] == f"0.0.0.0:{port}"  # reachable from the proxy's container
        assert api["healthcheck"]["test"][-1] == f"http://127.0.0.1:{port}/readyz"
        # They trust the one proxy hop's X-Forwarded-* (cookies Secure, the prefix in the spec).
        hops = env["CHITIEU_WEB_PROXY_HOPS" if svc == "web" else "CHITIEU_PROXY_HOPS"]
        assert hops == "1", svc
        assert model["services"]["proxy"]["depends_on"][f"{svc}-api"] == {"condition": "service_healthy"}
    moved = cs.load({"HTTPS_PORT": "8443", "HTTP_PORT": "8080"})
    assert moved["services"]["proxy"]["ports"] == ["8443:443", "8443:443/udp", "8080:80"]


def test_the_override_example_publishes_the_apis_on_loopback_only():
    override = cs.interpolate_tree(yaml.safe_load((ROOT / "docker-compose.override.example.yml").read_text()), {})
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert not list(jsonschema.Draft7Validator(schema).iter_errors(override))
    for svc, port in API_PORTS.items():
        assert override["services"][f"{svc}-api"]["ports"] == [f"127.0.0.1:{port}:{port}"]


def caddy_sites() -> dict[str, str]:
    """deploy/Caddyfile's blocks: `handle_path /quota/*` -> its body (a small reader, enough for
    the file's own flat layout)."""
    text = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    return {m.group(1): m.group(2) for m in re.finditer(r"^\t(handle(?:_path)?(?: \S+)?) \{\n(.*?)^\t\}", text, re.M | re.S)}


def test_the_proxy_serves_the_web_service_at_the_root_and_each_api_under_its_prefix(model):
    proxy = model["services"]["proxy"]
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert re.fullmatch(r"caddy:2\.\d+-alpine(@sha256:[0-9a-f]{64})?", proxy["image"])
    text = (ROOT / "deploy" / "Caddyfile").read_text(encoding="utf-8")
    assert "{$CHITIEU_PUBLIC_HOST:localhost} {" in text and "tls {$CHITIEU_TLS:internal}" in text
    assert proxy["environment"] == {"CHITIEU_PUBLIC_HOST": "localhost", "CHITIEU_TLS": "internal"}
    sites = caddy_sites()
    assert re.search(r"reverse_proxy web-api:8000\b", sites["handle"])
    for svc, port in API_PORTS.items():
        if svc == "web":
            continue
        body = sites[f"handle_path /{svc}/*"]  # handle_path strips the prefix before proxying
        assert re.search(rf"reverse_proxy {svc}-api:{port} \{{", body), svc
        assert f"header_up X-Forwarded-Prefix /{svc}" in body, svc
        assert "respond /metrics 404" in body, svc  # metrics stay on the compose network
    assert "flush_interval -1" in sites["handle_path /notifications/*"]  # live inbox streams


def test_every_container_has_memory_and_cpu_limits_overridable_from_env(model):
    for name, svc in model["services"].items():
        limits = svc["deploy"]["resources"]["limits"]
        assert re.fullmatch(r"\d+(\.\d+)?", str(limits["cpus"])) and float(limits["cpus"]) > 0, name
        assert re.fullmatch(r"\d+[MG]", limits["memory"]), name
    services = model["services"]
    assert services["quota-api"]["deploy"]["resources"]["limits"] == {"cpus": "1.0", "memory": "768M"}
    assert services["quota-relay"]["deploy"]["resources"]["limits"] == {"cpus": "0.5", "memory": "384M"}
    moved = cs.load({"API_MEMORY": "1G", "WORKER_CPUS": "0.25", "POSTGRES_MEMORY": "4G"})["services"]
    assert moved["notifications-api"]["deploy"]["resources"]["limits"]["memory"] == "1G"
    assert moved["quota-consumer"]["deploy"]["resources"]["limits"]["cpus"] == "0.25"
    assert moved["postgres"]["deploy"]["resources"]["limits"]["memory"] == "4G"
    # Kafka's heap fits in its container.
    heap = int(re.search(r"-Xmx(\d+)m", services["kafka"]["environment"]["KAFKA_HEAP_OPTS"]).group(1))
    assert heap * 1.5 <= 1024 * int(services["kafka"]["deploy"]["resources"]["limits"]["memory"].rstrip("G"))


def test_every_long_running_service_has_a_healthcheck(model):
    services = model["services"]
    for name in INFRASTRUCTURE:
        assert services[name]["healthcheck"]["test"], name
    for name, svc in long_running(model).items():
        test = svc["healthcheck"]["test"]
        env = cs.service_environment(svc, ADMIN_ENV)
        if name.endswith("-api"):
            assert test[:4] == ["CMD", "python", "deploy/compose/healthcheck.py", "http"], name
            assert test[-1].endswith("/readyz")
        else:
            # Workers: the heartbeat file their loop touches, the same path the process is given.
            assert test[:4] == ["CMD", "python", "deploy/compose/healthcheck.py", "heartbeat"], name
            assert test[4] == env["CHITIEU_HEALTH_FILE"], name
            assert float(test[5]) > 0
        assert svc["restart"] == "unless-stopped", name
    for name in INFRASTRUCTURE:
        assert services[name]["restart"] == "unless-stopped"


def test_depends_on_waits_for_health_and_for_the_one_shot_jobs(model):
    services = model["services"]
    jobs = one_shot_jobs(model)
    assert {"kafka-topics", "quota-migrate", "candidates-migrate", "notifications-migrate"} <= set(jobs)
    for name, svc in cs.chitieu_services(model).items():
        depends = svc["depends_on"]
        assert isinstance(depends, dict), f"{name}: depends_on needs conditions"
        for dependency, rule in depends.items():
            assert dependency in services, (name, dependency)
            if dependency in jobs:
                assert rule["condition"] == "service_completed_successfully", (name, dependency)
            else:
                assert rule["condition"] == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency], dependency
    for name, svc in long_running(model).items():
        if name in OPERATIONS:
            continue
        svc_name = cs.service_of(name)
        assert set(svc["depends_on"]) >= set(INFRASTRUCTURE) | {"kafka-topics", f"{svc_name}-migrate"}, name
    assert set(jobs["kafka-topics"]["depends_on"]) == {"kafka"}
    for svc_name in API_PORTS:
        assert set(jobs[f"{svc_name}-migrate"]["depends_on"]) == {"postgres"}


def test_the_one_shot_jobs_run_the_migrations_and_topic_creation(model):
    jobs = one_shot_jobs(model)
    assert jobs["kafka-topics"]["command"] == ["python", "-m", "shared.topics"]
    for svc in API_PORTS:
        job = jobs[f"{svc}-migrate"]
        assert job["command"] == ["python", "-m", "shared.migrations", "upgrade", svc]
        assert f"CHITIEU_{svc.upper()}_DATABASE_URL" in cs.service_environment(job, ADMIN_ENV)


def test_every_volume_is_declared_and_every_store_keeps_its_data(model):
    declared = set(model.get("volumes") or {})
    used = set()
    for name, svc in model["services"].items():
        for volume in svc.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("./secrets/"):
                continue  # the administrator's own files (certificates), not the repository's
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} is missing"
            else:
                used.add(source)
                assert source in declared, f"{name}: volume {source} is not declared"
    assert used == declared, f"declared but unused: {declared - used}"
    mounts = {name: {v.split(":")[1]: v.split(":")[0] for v in svc.get("volumes", [])}
              for name, svc in model["services"].items()}
    assert mounts["kafka"][model["services"]["kafka"]["environment"]["KAFKA_LOG_DIRS"]] in declared
    assert mounts["redis"]["/data"] in declared
    assert mounts["postgres"]["/var/lib/postgresql/data"] in declared
    init = mounts["postgres"]["/docker-entrypoint-initdb.d/10-chitieu-databases.sh"]
    assert os.access(ROOT / init, os.X_OK), "the postgres image runs executable init scripts"


# --- Kafka -----------------------------------------------------------------------------------
def test_kafka_is_the_official_image_single_node_kraft(model):
    kafka = model["services"]["kafka"]
    pom = (ROOT / "deploy" / "kafka" / "pom.xml").read_text(encoding="utf-8")
    local_version = re.search(r"<kafka.version>([^<]+)</kafka.version>", pom).group(1)
    assert re.fullmatch(r"apache/kafka:4\.1\.\d+(@sha256:[0-9a-f]{64})?", kafka["image"])
    assert kafka["image"].split("@")[0] == f"apache/kafka:{local_version}", "the same broker as the local stack"
    env = kafka["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert "CONTROLLER://:9093" in env["KAFKA_LISTENERS"].split(",")
    bootstrap = cs.service_environment(model["services"]["quota-api"], ADMIN_ENV)["CHITIEU_KAFKA_BOOTSTRAP"]
    assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{bootstrap}"
    assert all(k.startswith("KAFKA_") or k == "CLUSTER_ID" for k in env)
    assert f"(id: {env['KAFKA_NODE_ID']} rack" in kafka["healthcheck"]["test"][1]


@pytest.mark.parametrize("output, exit_status, healthy", [
    ("kafka-api-versions-ok.txt", 0, True),
    ("kafka-api-versions-error.txt", 0, False),  # the tool exits 0 after printing ERROR
    (None, 0, False),
    (None, 1, False),
])
def test_kafka_healthcheck_reads_the_tools_output(model, tmp_path, output, exit_status, healthy):
    """Runs the healthcheck's shell line with kafka-broker-api-versions.sh replaced by a stub that
    prints what the real tool prints. The samples were made with Kafka 4.1.1's own classes
    (Node and NodeApiVersions, formatted as BrokerApiVersionsCommand formats them)."""
    kind, line = model["services"]["kafka"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL" and "kafka-broker-api-versions.sh" in line and "| grep" in line
    stub = tmp_path / "kafka-broker-api-versions.sh"
    text = (FIXTURES / output).read_text() if output else ""
    (tmp_path / "out.txt").write_text(text)
    stub.write_text(f"#!/bin/sh\ncat {shlex.quote(str(tmp_path / 'out.txt'))}\nexit {exit_status}\n")
    stub.chmod(0o755)
    line = line.replace("/opt/kafka/bin/kafka-broker-api-versions.sh", str(stub))
    result = subprocess.run(["sh", "-c", line], capture_output=True, timeout=30)
    assert (result.returncode == 0) is healthy, result


def test_postgres_healthcheck_needs_every_service_database(model):
    postgres = model["services"]["postgres"]
    kind, line = postgres["healthcheck"]["test"]
    assert kind == "CMD-SHELL" and "$INIT_DATABASES" in line and "-h 127.0.0.1" in line
    assert set(postgres["environment"]["INIT_DATABASES"].split()) == {f"chitieu_{s}" for s in API_PORTS}


# --- the image -------------------------------------------------------------------------------
def test_the_image_is_python_slim_installs_the_project_and_runs_as_non_root():
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text(encoding="utf-8")
    instructions = [l for l in dockerfile.splitlines() if l and not l.startswith((" ", "#"))]
    assert re.fullmatch(r"FROM python:3\.11-slim(@sha256:[0-9a-f]{64})?", instructions[0])
    users = [l.split()[1] for l in instructions if l.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert "WORKDIR /app" in instructions  # the Procfile's relative paths start there
    # Dependencies only from the hashed lock, then the project alone, building nothing unhashed.
    assert "RUN pip install --require-hashes --no-deps -r requirements.lock" in instructions
    assert "COPY requirements.lock ./" in instructions
    assert re.search(r"pip install --no-deps --no-build-isolation -e \.", dockerfile)
    assert instructions.index("COPY requirements.lock ./") < instructions.index("COPY . .")


def test_dockerignore_keeps_local_state_out_and_the_code_in():
    patterns = [l.strip() for l in (ROOT / ".dockerignore").read_text().splitlines() if l.strip() and l[0] != "#"]
    for local in (".git", ".venv", ".stack", ".env*"):
        assert local in patterns, local
    needed = ("shared", "services", "deploy", "scripts", "Procfile", "pyproject.toml")
    for pattern in patterns:
        assert not any(re.fullmatch(pattern.replace("*", ".*"), path) for path in needed), pattern
