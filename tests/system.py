"""The whole of chitieu as real processes, for end-to-end tests and benchmarks: every process of
the Procfile (APIs under gunicorn, relays, consumers, workers) started with the Procfile's own
command against the real Kafka, Redis and PostgreSQL, on free ports, in a namespace of its own."""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

from shared.config import ROOT
from tests.keys import test_issuer
from tests.keys import token as issue_token
from tests.support import PG_ADMIN_URL, PG_URL

SERVICES = ("quota", "candidates", "notifications", "web")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile() -> list[tuple[str, str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return [tuple(p.strip() for p in line.split(":", 1)) for line in lines if re.match(r"^[a-z0-9-]+:", line)]


@contextmanager
def served_api(service: str, env: dict[str, str], log: Path):
    """`service`'s API alone, started with the Procfile's command (gunicorn, deploy/gunicorn.conf.py)
    on a free port with `env` (its CHITIEU_* settings) in a process group of its own; yields its base
    URL once /readyz answers 200, stops it on leaving."""
    port = free_port()
    env = {**os.environ, **env, f"CHITIEU_{service.upper()}_BIND": f"127.0.0.1:{port}",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(["bash", "-c", f"exec {dict(procfile())[f'{service}-api']}"], cwd=ROOT, env=env,
                               stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the {service} API did not start: {log.read_text(errors='replace')[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


class System:
    def __init__(self, *, log_dir: Path, env: dict[str, str] | None = None, web_workers: int = 1):
        self.namespace = f"e2e{uuid.uuid4().hex[:8]}"
        self.log_dir = log_dir
        self.ports = {svc: free_port() for svc in SERVICES}
        self.databases = {svc: f"e2e_{svc}_{uuid.uuid4().hex[:8]}" for svc in SERVICES}
        self.env = dict(os.environ)
        self.env.update({
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
            # The tests' webhook receivers listen on loopback, which webhooks may not reach otherwise.
            "CHITIEU_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
            "CHITIEU_NAMESPACE": self.namespace,
            # The web service signs with the tests' issuer key; the APIs read its published JWK Set.
            "CHITIEU_JWT_PRIVATE_KEY_FILE": test_issuer().private_key_file,
            "CHITIEU_WEB_WORKERS": str(web_workers),
            "CHITIEU_LOG_LEVEL": "WARNING",
        })
        for svc in SERVICES:
            self.env[f"CHITIEU_{svc.upper()}_BIND"] = f"127.0.0.1:{self.ports[svc]}"
            self.env[f"CHITIEU_{svc.upper()}_URL"] = self.url(svc)
            self.env[f"CHITIEU_{svc.upper()}_DATABASE_URL"] = (
                PG_URL.format(name=self.databases[svc]))
        self.env["CHITIEU_JWKS"] = f"{self.url('web')}/.well-known/jwks.json"
        self.env.update(env or {})
        self.processes: dict[str, subprocess.Popen] = {}

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def token(self, *, org: str = "*", role: str = "admin") -> str:
        return issue_token(sub=f"e2e-{role}", org=org, role=role)

    def headers(self, **kwargs) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(**kwargs)}"}

    def api(self, service: str, method: str, path: str, *, timeout: float = 300, **kwargs) -> requests.Response:
        """A call to a service's API (`path` under /api/v1) as the national administrator, with a
        token made for it (a long test outlives a token); `headers` are added to the token's."""
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        return requests.request(method, f"{self.url(service)}/api/v1{path}", headers=headers, timeout=timeout,
                                **kwargs)

    # --- life cycle ------------------------------------------------------------------------------
    def start(self, *, timeout: float = 90, only: tuple[str, ...] | None = None) -> "System":
        """Every Procfile process, or `only` those named (e.g. ("web-api", "quota-api"))."""
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.databases.values():
                conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        for svc in SERVICES:
            subprocess.run([sys.executable, "-m", "shared.migrations", "upgrade", svc], cwd=ROOT, env=self.env,
                           check=True, capture_output=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for name, command in procfile():
                if only is None or name in only:
                    self.start_process(name, command)
            self.wait_ready(timeout=timeout)
        except BaseException:
            # `with System()` never reaches __exit__ when start fails: stop what did start, or its
            # processes outlive the test (a failed benchmark left twenty, polling for hours).
            self.stop()
            raise
        return self

    def start_process(self, name: str, command: str | None = None) -> None:
        command = command or dict(procfile())[name]
        log = open(self.log_dir / f"{name}.log", "ab")
        self.processes[name] = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=self.env,
                                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, *, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for svc in [s for s in SERVICES if f"{s}-api" in self.processes]:
            while True:
                try:
                    if requests.get(f"{self.url(svc)}/readyz", timeout=5).status_code == 200:
                        break
                except requests.RequestException:
                    pass
                dead = {n: p.returncode for n, p in self.processes.items() if p.poll() is not None}
                if dead or time.monotonic() > deadline:
                    raise RuntimeError(f"{svc} not ready; exited processes: {dead}; logs in {self.log_dir}")
                time.sleep(0.3)

    def stop_process(self, name: str, sig: int = signal.SIGTERM) -> None:
        process = self.processes.pop(name)
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def stop(self) -> None:
        for name in list(self.processes):
            self.stop_process(name)
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in self.databases.values():
                conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        admin.dispose()

    def __enter__(self) -> "System":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
