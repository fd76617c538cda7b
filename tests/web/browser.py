"""What the browser tests share: Debian's Chromium driven by Playwright, one running system for the
whole session (every Procfile process on the real Kafka, Redis and PostgreSQL, tests/system.py, the
Thanh Hóa demo tree loaded once), accounts made as an administrator would and signed in as a person
would, and screenshots. The fixtures are in tests/web/conftest.py; each browser module keeps to its
own organisations and usernames, so the modules can share the system in any order."""
from __future__ import annotations

import requests

from shared.config import ROOT
from tests.system import System
from tests.web.conftest import CSRF

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


def api(system: System, service: str, method: str, path: str, **kwargs) -> requests.Response:
    """A call to a service's API as the national administrator."""
    return requests.request(method, f"{system.url(service)}/api/v1{path}", headers=system.headers(),
                            timeout=30, **kwargs)


def make_account(system: System, *, username: str, full_name: str, org: str, role: str, by_org: str,
                 password: str) -> str:
    """An account created through the web API by an administrator of `by_org`, its one-time password
    changed to `password` through the pages (as the first sign-in asks); returns the password."""
    web = system.url("web")
    made = requests.post(f"{web}/api/v1/users", headers=system.headers(org=by_org),
                         json={"username": username, "full_name": full_name, "org": org, "role": role}, timeout=30)
    assert made.status_code == 201, made.text
    one_time, http = made.json()["one_time_password"], requests.Session()
    for path, data in (("/login", {"username": username, "password": one_time}),
                       ("/password", {"current_password": one_time, "new_password": password, "confirm": password})):
        csrf = CSRF.search(http.get(f"{web}{path}", timeout=30).text).group(1)
        done = http.post(f"{web}{path}", data={**data, "csrf_token": csrf}, timeout=30)
        assert done.status_code == 200, done.text
    assert done.url == f"{web}/"
    return password


def sign_in(page, web: str, *, username: str, password: str) -> None:
    """Signs in through the sign-in page and waits for the first page."""
    page.goto(f"{web}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web}/")


def shot(page, name: str) -> None:
    """A full-page screenshot in screenshots/ (git-ignored; the README names the ones to look at)."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
