"""The administration pages in a real browser (Playwright, Debian's Chromium) against every process
of the Procfile on the real Kafka, Redis and PostgreSQL (tests/web/conftest.py's shared system).

An administrator of TP Thanh Hóa creates an officer account for a cell and reads its one-time
password once, with which the officer signs in; an account outside its subtree is refused and the
page says so next to the field; deactivating the account signs its open session out at once; an
API client registered on the page gets a token from POST /oauth/token with the secret shown once,
and is refused after it is revoked; a cell moves to another ward from a future date after a
confirmation stating the consequence (the quota API then shows the move dated); a ward with
children is dissolved after a confirmation naming how many. The pages fit a phone (390x844).
Screenshots go to screenshots/admin-*.png. Its own organisations (ADMIN12-*) and usernames.
"""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import requests

from shared import clock
from tests.web.browser import DESKTOP, PHONE, make_account, shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CITY = "TP-THANH-HOA"
W1, W2, W3 = "ADMIN12-W1", "ADMIN12-W2", "ADMIN12-W3"
ADMIN, PASSWORD = "admin12-thanh-pho", "mat-khau-quan-tri-2026"
TREE = [(W1, "Đảng bộ phường Thử Một", "grassroots", CITY), (f"{W1}-C1", "Chi bộ khu phố Thử 1", "cell", W1),
        (f"{W1}-C2", "Chi bộ khu phố Thử 2", "cell", W1), (W2, "Đảng bộ phường Thử Hai", "grassroots", CITY),
        (W3, "Đảng bộ phường Thử Ba", "grassroots", CITY), (f"{W3}-C1", "Chi bộ thôn Thử A", "cell", W3),
        (f"{W3}-C2", "Chi bộ thôn Thử B", "cell", W3)]


@pytest.fixture(scope="module")
def system(browser_system):
    for code, name, kind, parent in TREE:
        made = browser_system.api("quota", "POST", "/organizations",
                   json={"code": code, "name": name, "type": kind, "parent_code": parent, "effective_date": "2020-01-01"})
        assert made.status_code in (201, 409), made.text
    make_account(browser_system, username=ADMIN, full_name="Quản trị thành phố", org=CITY, role="admin",
                 by_org="*", password=PASSWORD)
    return browser_system


def _fits_the_screen(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


def test_accounts_and_api_clients(system, browser):
    web = system.url("web")
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=ADMIN, password=PASSWORD)
    page.click("text=Quản trị")
    page.wait_for_url(f"{web}/admin/users")
    assert page.locator("nav.admin-nav a", has_text="Nhật ký").count() == 1  # the audit page is in the nav

    # An officer account for a cell; its one-time password shown once.
    page.fill("#new-username", "admin12-bi-thu")
    page.fill("#new-full_name", "Nguyễn Thị Bí Thư")
    page.fill("#new-org", f"{W1}-C1")
    page.select_option("#new-role", "officer")
    page.click("#create-user button[type=submit]")
    otp = page.locator('[data-secret="one-time-password"]').inner_text().strip()
    assert len(otp) == 14
    shot(page, "admin-users-desktop")
    page.goto(f"{web}/admin/users?org={W1}-C1")
    assert page.locator('[data-username="admin12-bi-thu"]').count() == 1 and otp not in page.content()

    # The officer signs in with it and sets a password.
    person = browser.new_context(viewport=PHONE, is_mobile=True, locale="vi-VN").new_page()
    person.goto(f"{web}/login")
    person.fill("#username", "admin12-bi-thu")
    person.fill("#password", otp)
    person.click("button[type=submit]")
    person.wait_for_url(f"{web}/password")
    for field, value in (("#current_password", otp), ("#new_password", "mat-khau-bi-thu-2026"),
                         ("#confirm", "mat-khau-bi-thu-2026")):
        person.fill(field, value)
    person.click("main button[type=submit]")
    person.wait_for_url(f"{web}/")

    # Outside the administrator's subtree: refused, said next to the field.
    page.goto(f"{web}/admin/users")
    page.fill("#new-username", "admin12-ngoai")
    page.fill("#new-full_name", "Ngoài Phạm Vi")
    page.fill("#new-org", "TINH-THANH-HOA")
    page.click("#create-user button[type=submit]")
    refusal = page.locator('[data-field-error="org"]').first.inner_text()
    assert "ngoài phạm vi" in refusal
    shot(page, "admin-users-refused-desktop")

    # Deactivated: the officer's open session is signed out at once.
    page.goto(f"{web}/admin/users/admin12-bi-thu")
    page.click("#deactivate")
    page.locator('[data-figure="state"]', has_text="Đã khóa").wait_for()
    person.goto(f"{web}/")
    assert person.url.startswith(f"{web}/login")

    # An API client: the secret shown once gets a token; revoked, the token request is refused.
    page.goto(f"{web}/admin/clients")
    page.fill("#client-name", "Phần mềm phường Thử Một")
    page.fill("#client-org", W1)
    page.select_option("#client-role", "officer")
    page.click("#register-client button[type=submit]")
    client_id = page.locator('[data-secret="client-id"]').inner_text().strip()
    secret = page.locator('[data-secret="client-secret"]').inner_text().strip()
    shot(page, "admin-clients-desktop")
    grant = {"grant_type": "client_credentials"}
    got = requests.post(f"{web}/oauth/token", data=grant, auth=(client_id, secret), timeout=30)
    assert got.status_code == 200 and got.json()["token_type"] == "Bearer", got.text
    progress = requests.get(f"{system.url('quota')}/api/v1/organizations/{W1}",
                            headers={"Authorization": "Bearer " + got.json()["access_token"]}, timeout=30)
    assert progress.status_code == 200
    page.goto(f"{web}/admin/clients?org={W1}")
    page.locator(f'tr[data-client="{client_id}"] button.revoke').click()
    page.locator(f'tr[data-client="{client_id}"]', has_text="Đã thu hồi").wait_for()
    refused = requests.post(f"{web}/oauth/token", data=grant, auth=(client_id, secret), timeout=30)
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    context.close()


def test_tree_changes_are_confirmed_with_their_consequences(system, browser):
    web, quota = system.url("web"), system.url("quota")
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=ADMIN, password=PASSWORD)

    # A cell moves to another ward from a future date.
    when = clock.today() + timedelta(days=60)
    page.goto(f"{web}/admin/tree?org={W1}-C2")
    page.fill("#move-parent_code", W2)
    page.fill("#move-effective_date", when.isoformat())
    page.click("#change-move button[type=submit]")
    consequences = page.locator('[data-consequences="move"]').inner_text()
    assert "Đảng bộ phường Thử Một" in consequences and "Đảng bộ phường Thử Hai" in consequences
    assert when.strftime("%d/%m/%Y") in consequences
    shot(page, "admin-tree-move-confirm-desktop")
    page.click("#confirm")
    page.wait_for_url(re.compile(r".*/admin/tree\?org="))
    org = system.api("quota", "GET", f"/organizations/{W1}-C2").json()
    assert org["parent_history"][-1] == {"parent_code": W2, "valid_from": when.isoformat(), "valid_to": None}

    # A ward with two cells is dissolved: the confirmation names how many go where.
    page.goto(f"{web}/admin/tree?org={W3}")
    page.fill("#dissolve-effective_date", (clock.today() + timedelta(days=30)).isoformat())
    page.click("#change-dissolve button[type=submit]")
    consequences = page.locator('[data-consequences="dissolve"]').inner_text()
    assert "2 tổ chức trực thuộc" in consequences and "Đảng bộ thành phố Thanh Hóa" in consequences
    shot(page, "admin-tree-dissolve-confirm-desktop")
    page.set_viewport_size(PHONE)
    _fits_the_screen(page)
    shot(page, "admin-tree-dissolve-confirm-phone")
    page.click("#confirm")
    page.wait_for_url(re.compile(r".*/admin/tree\?org="))
    assert system.api("quota", "GET", f"/organizations/{W3}").json()["status"] == "dissolved"
    assert requests.get(f"{quota}/api/v1/organizations/{W3}-C1", headers=system.headers(), timeout=30).json()[
        "parent_history"][-1]["parent_code"] == CITY

    # The pages at phone size.
    for path, name in ((f"/admin/tree?org={W1}", "admin-tree-phone"), ("/admin/users", "admin-users-phone"),
                       ("/admin/clients", "admin-clients-phone")):
        page.goto(f"{web}{path}")
        _fits_the_screen(page)
        shot(page, name)
    page.set_viewport_size(DESKTOP)
    page.goto(f"{web}/admin/tree?org={W1}")
    shot(page, "admin-tree-desktop")
    context.close()
