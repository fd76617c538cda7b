"""The web service under test: its app on a fresh database (SQLite and PostgreSQL), Redis in the
test's namespace, and the quota service it asks about the tree, served over real HTTP on a free
port with the Thanh Hóa demo tree."""
from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.quota import demo as quota_demo
from services.quota.app import create_app as create_quota_app
from services.web import accounts, passwords
from services.web.app import create_app
from services.web.settings import WebSettings
from shared.config import Settings
from shared.migrations import upgrade
from tests.keys import test_issuer, token

PASSWORD = "mat-khau-rat-dai-2024"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="session")
def quota_url():
    """The quota API over HTTP (SQLite, its own file), with the demo tree and quotas."""
    with tempfile.TemporaryDirectory() as tmp:
        app = create_quota_app(Settings(service="quota", database_url=f"sqlite:///{tmp}/quota.db",
                                        log_level="WARNING", **test_issuer().settings()))
        app.extensions["db"].create_all()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_port}"
        quota_demo.load(urls={"quota": url}, token=token(sub="loader", org="*", role="admin"))
        yield url
        server.shutdown()
        app.extensions["db"].dispose()


@pytest.fixture
def make_web(make_settings, quota_url, redis_client):
    """make_web(**WebSettings overrides) -> the web app on this test's migrated database."""
    apps = []

    def make(**overrides):
        settings = make_settings("web", service_urls={"quota": quota_url}, log_level="WARNING")
        if not apps:
            upgrade("web", settings.database_url)
        app = create_app(settings, web_settings=WebSettings(**overrides))
        app.config["TESTING"] = False  # CSRF and limits stay on, as deployed
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["db"].dispose()


@pytest.fixture
def web(make_web):
    return make_web()


def add_user(app, username: str, *, org: str, role: str, password: str = PASSWORD, active: bool = True,
             must_change: bool = False, full_name: str | None = None) -> None:
    """An account with a known password (as if its one-time password had been changed)."""
    with app.extensions["db"].transaction() as session:
        user, _otp = accounts.create_user(session, username=username, full_name=full_name or username.title(),
                                          org=org, role=role, created_by="test")
        user.password_hash = passwords.hash_password(password)
        user.must_change_password = must_change
        user.active = active


def csrf_of(client, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    return client.post("/login", data={"username": username, "password": password,
                                       "csrf_token": csrf_of(client), **extra})


def bearer(*, sub: str = "tester", org: str, role: str) -> dict[str, str]:
    return {"Authorization": "Bearer " + token(sub=sub, org=org, role=role)}


@pytest.fixture(scope="session")
def browser_system(tmp_path_factory, real_stack):
    """Every process of the Procfile, shared by the browser modules (tests/web/browser.py), with the
    demo tree loaded and the pages' live polling every second."""
    from tests.system import System
    from tests.web.browser import CHROMIUM

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/stack.sh install installs Debian's chromium")
    running = System(log_dir=tmp_path_factory.mktemp("browser-logs"), env={"CHITIEU_WEB_LIVE_POLL_S": "1"})
    running.start()
    try:
        quota_demo.load(urls={"quota": running.url("quota")}, token=running.token())
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.web.browser import CHROMIUM

    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()
