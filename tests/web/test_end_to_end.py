"""End to end, with the web service and the quota API as real processes (the Procfile's commands
under gunicorn, PostgreSQL, Redis): the quota API trusts only the keys the web service publishes
at its JWKS URL. A ward officer gets an account, signs in through the sign-in pages as a browser
does, and the session's token reads the ward's progress from the quota API and is refused on
another ward (403); signed out, the session gives no token any more."""
from __future__ import annotations

import re

import pytest
import requests

from services.quota import demo as quota_demo
from tests.system import System

pytestmark = pytest.mark.integration
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


@pytest.fixture(scope="module")
def system(tmp_path_factory, real_stack):
    running = System(log_dir=tmp_path_factory.mktemp("web-e2e-logs"))
    running.start(only=("web-api", "quota-api"))
    try:
        yield running
    finally:
        running.stop()


def form_post(browser: requests.Session, url: str, page: str, data: dict) -> requests.Response:
    csrf = CSRF.search(browser.get(page, timeout=30).text).group(1)
    return browser.post(url, data={**data, "csrf_token": csrf}, timeout=30)


def test_a_ward_officer_signs_in_and_reads_its_ward_only(system):
    web, quota = system.url("web"), system.url("quota")
    quota_demo.load(urls={"quota": quota}, token=system.token())
    made = requests.post(f"{web}/api/v1/users", headers=system.headers(org="TP-THANH-HOA", role="admin"),
                         json={"username": "can-bo-dong-son", "full_name": "Lê Thị Hoa", "org": "P-DONG-SON",
                               "role": "officer"}, timeout=30)
    assert made.status_code == 201, made.text
    one_time = made.json()["one_time_password"]

    browser = requests.Session()
    signed_in = form_post(browser, f"{web}/login", f"{web}/login",
                          {"username": "can-bo-dong-son", "password": one_time})
    assert signed_in.url == f"{web}/password"  # a one-time password must be changed first
    new = "mat-khau-cua-rieng-toi"
    home = form_post(browser, f"{web}/password", f"{web}/password",
                     {"current_password": one_time, "new_password": new, "confirm": new})
    assert home.url == f"{web}/" and "Đảng bộ phường Đông Sơn" in home.text and "Lê Thị Hoa" in home.text

    answer = browser.get(f"{web}/session/token", timeout=30)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    auth = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    progress = requests.get(f"{quota}/api/v1/organizations/P-DONG-SON/progress", params={"period": "2024"},
                            headers=auth, timeout=30)
    assert progress.status_code == 200, progress.text
    assert progress.json()["target"] == 13
    other = requests.get(f"{quota}/api/v1/organizations/P-QUANG-CAT/progress", params={"period": "2024"},
                         headers=auth, timeout=30)
    assert other.status_code == 403

    signed_out = form_post(browser, f"{web}/logout", f"{web}/", {})
    assert signed_out.url == f"{web}/login"
    again = browser.get(f"{web}/session/token", timeout=30, allow_redirects=False)
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")
