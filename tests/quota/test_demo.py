"""The demo loader through a real HTTP server on a free port: creates the tree once, then nothing."""
from __future__ import annotations

import threading

from werkzeug.serving import make_server

from services.quota import demo
from tests.keys import token as issue_token


def test_demo_loads_once_through_http(app, settings, admin, client):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        urls = {"quota": f"http://127.0.0.1:{server.server_port}"}
        token = issue_token(sub="demo", org="*", role="admin")
        assert demo.load(urls=urls, token=token) == {"organizations": 8, "quotas": 9}
        assert demo.load(urls=urls, token=token) == {"organizations": 0, "quotas": 0}
    finally:
        server.shutdown()
    kids = client.get("/api/v1/organizations/TP-THANH-HOA/children", headers=admin).get_json()["items"]
    assert [k["code"] for k in kids] == ["P-DONG-SON", "P-QUANG-CAT"]
    alloc = client.get("/api/v1/organizations/TP-THANH-HOA/allocation?period=2024", headers=admin).get_json()
    assert alloc["allocated"] == 23 and alloc["allocation"] == "under"
    ward = client.get("/api/v1/organizations/P-DONG-SON/allocation?period=2024", headers=admin).get_json()
    assert ward["allocation"] == "fully"
