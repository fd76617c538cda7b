"""An API started for a benchmark as the Procfile starts it (gunicorn with deploy/gunicorn.conf.py),
in a process of its own, so its figures are those of the deployed server and the benchmark's client
does not share its interpreter."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

from shared.config import ROOT
from tests.system import free_port


@contextmanager
def gunicorn_api(service: str, env: dict[str, str], log: Path):
    """Yields the base URL of `service`'s API served by gunicorn with `env` (its CHITIEU_* settings);
    stops it on leaving."""
    port = free_port()
    command = (f"gunicorn -c deploy/gunicorn.conf.py --bind 127.0.0.1:{port} "
               f"'services.{service}.app:create_app()'")
    env = {**os.environ, **env, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    process = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=ROOT, env=env, stdout=log.open("ab"),
                               stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the {service} API did not start; see {log}")
            time.sleep(0.3)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
