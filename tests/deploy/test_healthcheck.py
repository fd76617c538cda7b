"""deploy/compose/healthcheck.py, the containers' healthcheck command, run as docker runs it."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from shared.config import ROOT

SCRIPT = ROOT / "deploy" / "compose" / "healthcheck.py"


def check(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=30)


@pytest.fixture
def server():
    """A local HTTP server answering /readyz with the status the test sets."""
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(state["status"])
            self.end_headers()
            self.wfile.write(b'{"status": "whatever"}')

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{httpd.server_address[1]}/readyz"
    httpd.shutdown()
    httpd.server_close()


def test_http_is_healthy_only_on_200(server):
    state, url = server
    ok = check("http", url)
    assert ok.returncode == 0 and ok.stdout.startswith("healthy")
    state["status"] = 503
    failing = check("http", url)
    assert failing.returncode == 1 and "503" in failing.stdout


def test_http_is_unhealthy_when_nothing_listens(server):
    _, url = server
    port = int(url.split(":")[2].split("/")[0])
    closed = check("http", f"http://127.0.0.1:{port + 1 if port < 65535 else port - 1}/readyz")
    assert closed.returncode == 1 and closed.stdout.startswith("unhealthy")


def test_heartbeat_is_healthy_while_the_file_is_young(tmp_path):
    beat = tmp_path / "heartbeat"
    missing = check("heartbeat", str(beat), "120")
    assert missing.returncode == 1 and "no heartbeat" in missing.stdout
    beat.touch()
    assert check("heartbeat", str(beat), "120").returncode == 0
    old = time.time() - 121
    os.utime(beat, (old, old))
    stale = check("heartbeat", str(beat), "120")
    assert stale.returncode == 1 and stale.stdout.startswith("unhealthy")


def test_wrong_arguments_explain_the_usage():
    result = check("heartbeat", "/tmp/x")
    assert result.returncode == 2 and "heartbeat" in result.stdout
