"""The demo accounts, loaded through the real web service over HTTP: each signs in with the
password `make run` prints; loading twice changes nothing."""
from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from services.web import demo
from tests.keys import token
from tests.web.conftest import sign_in

pytestmark = pytest.mark.integration


def test_demo_accounts_sign_in_with_their_printed_passwords(web, quota_url):
    server = make_server("127.0.0.1", 0, web, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    admin = token(sub="demo-loader", org="*", role="admin")
    try:
        assert demo.load(urls={"web": url, "quota": quota_url}, token=admin) == {"accounts": 3}
        assert demo.load(urls={"web": url, "quota": quota_url}, token=admin) == {"accounts": 0}
    finally:
        server.shutdown()
    printed = demo.describe(url)
    for username, _name, org, _role, password in demo.ACCOUNTS:
        assert username in printed and password in printed and org in printed
        client = web.test_client()
        assert sign_in(client, username, password).headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Trần Văn Bình" in page and "Chi bộ khu phố 1" in page
