"""The inbox and subscriptions pages in a real browser (Playwright driving Debian's Chromium) against
every process of the Procfile on the real Kafka, Redis and PostgreSQL (the session's browser_system,
tests/web/conftest.py), with this module's own ward and cell under the demo city.

A ward officer has the inbox page open; a quota of 1 for one of the ward's cells, assigned by the
ward, is completed by an admission made through the candidate API: the "quota met" notice appears
in the open page without reload and the header's unread count goes from 0 to 1; marking it read
brings the count to 0; the kind filter hides it. On the subscriptions page a webhook to a local
receiver is created and its "send a test" shows the receiver's status (200; a receiver answering
500 shows 500); a webhook to a forbidden address (link-local: the SSRF guard) and a bad URL are
refused next to the field. The same pages fit a phone. Screenshots: inbox and subscriptions at
desktop and phone size, in screenshots/.
"""
from __future__ import annotations


import pytest

from shared import clock
from tests.support import wait_until
from tests.web.browser import admit_today, DESKTOP, PHONE, make_account, shot, sign_in
from tests.webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]
CITY, WARD, CELL = "TP-THANH-HOA", "INBOX12-P", "INBOX12-P-CB1"
OFFICER, PASSWORD = "inbox12-can-bo", "mat-khau-hop-thu-2026"
YEAR = str(clock.today().year)


@pytest.fixture(scope="module")
def system(browser_system):
    return browser_system


@pytest.fixture(scope="module")
def ward(system):
    """The ward and its cell under the demo city, this year's quotas (the ward's by the city, the
    cell's 1 by the ward), and the ward officer's account; its password."""
    for code, name, type_, parent in ((WARD, "Đảng bộ phường Hộp Thư", "grassroots", CITY),
                                      (CELL, "Chi bộ khu phố Hộp Thư 1", "cell", WARD)):
        made = system.api("quota", "POST", "/organizations",
                   json={"code": code, "name": name, "type": type_, "parent_code": parent})
        assert made.status_code == 201, made.text
    for code, target, assigner in ((WARD, 2, CITY), (CELL, 1, WARD)):
        put = system.api("quota", "PUT", f"/organizations/{code}/quotas/{YEAR}",
                  json={"target": target, "assigner_org_code": assigner})
        assert put.status_code == 200, put.text
    return make_account(system, username=OFFICER, full_name="Phạm Văn Thư", org=WARD, role="officer",
                        by_org=CITY, password=PASSWORD)


def unread_badge(page) -> str:
    return page.locator("#unread-badge .count").get_attribute("data-unread")


def test_the_quota_met_notice_arrives_live_and_is_read(system, ward, browser):
    web = system.url("web")
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=OFFICER, password=ward)
    page.goto(f"{web}/inbox")
    page.wait_for_function("document.querySelector('#unread-badge .count').dataset.unread === '0'", timeout=30_000)
    assert page.locator("#inbox-items [data-notice]").count() == 0
    assert page.locator("#inbox-items li.empty").is_visible()
    page.evaluate("window.stillTheSamePage = true")  # gone if the page were reloaded

    for service in ("candidates", "notifications"):  # both learn the new cell from the quota service's events
        path = f"/organizations/{CELL}" if service == "candidates" else f"/inbox/{CELL}/unread"
        wait_until(lambda: system.api(service, "GET", path).status_code == 200, timeout=60,
                   message=f"the {service} service never learnt the cell")
    admit_today(system, cell=CELL, deciding_org=WARD, full_name="Trần Thị Hộp Thư", gender="female",
                national_id="038300001212", number=12)

    page.wait_for_selector('#inbox-items [data-notice="quota_met"]', timeout=60_000)
    notice = page.locator('#inbox-items [data-notice="quota_met"]')
    assert "Chi bộ khu phố Hộp Thư 1" in notice.inner_text() and "1/1" in notice.inner_text()
    assert notice.get_attribute("data-read") == "no"
    assert page.evaluate("window.stillTheSamePage") is True
    page.wait_for_function("document.querySelector('#unread-badge .count').dataset.unread === '1'", timeout=30_000)
    assert not page.locator("#inbox-items li.empty").is_visible()
    shot(page, "inbox-desktop")

    # Read: the notice and the header's count change in place.
    notice.locator('button[data-action="read"]').click()
    page.wait_for_selector('#inbox-items [data-notice="quota_met"][data-read="yes"]')
    page.wait_for_function("document.querySelector('#unread-badge .count').dataset.unread === '0'", timeout=10_000)
    counted = system.api("notifications", "GET", f"/inbox/{WARD}").json()
    assert counted["total"] == 1 and [n["kind"] for n in counted["items"]] == ["quota_met"]

    # The kind filter: another kind hides it, its own kind shows it.
    page.select_option("#kind", "milestone_reached")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"{web}/inbox?kind=milestone_reached")
    assert page.locator('#inbox-items [data-notice="quota_met"]').count() == 0
    page.select_option("#kind", "quota_met")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(f"{web}/inbox?kind=quota_met")
    assert page.locator('#inbox-items [data-notice="quota_met"]').count() == 1
    context.close()


def test_a_webhook_is_subscribed_and_tested_on_the_page(system, ward, browser):
    web = system.url("web")
    ok, failing = WebhookReceiver(), WebhookReceiver(fail_first=10**9)
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    try:
        sign_in(page, web, username=OFFICER, password=ward)
        page.goto(f"{web}/inbox")
        page.click("nav.tabs >> text=Đăng ký nhận thông báo")
        page.wait_for_url(f"{web}/subscriptions?org={WARD}")

        # Refusals next to the field: a forbidden address (SSRF guard) and a URL that is not http(s).
        for target in ("http://169.254.169.254/latest/meta-data", "ftp://example.vn/hook"):
            page.select_option("#channel", "webhook")
            page.fill("#target", target)
            page.click("#new-subscription button[type=submit]")
            page.wait_for_selector("#target-errors .field-error")
            assert page.locator("#target").get_attribute("aria-invalid") == "true"
            assert "webhook" in page.locator("#target-errors").inner_text().lower() or \
                "địa chỉ" in page.locator("#target-errors").inner_text().lower()
        assert system.api("notifications", "GET", "/subscriptions", params={"org_code": WARD}).json()["total"] == 0

        ids = {}
        for name, receiver in (("ok", ok), ("failing", failing)):
            page.select_option("#channel", "webhook")
            page.fill("#target", receiver.url)
            page.click("#new-subscription button[type=submit]")
            page.wait_for_selector(".notice-success")
            assert "Khóa bí mật" in page.locator(".notice-success").inner_text()
            item = page.locator(f'#subscriptions li[data-channel="webhook"]:has-text("{receiver.url}")')
            ids[name] = item.get_attribute("data-subscription")
        listed = system.api("notifications", "GET", "/subscriptions", params={"org_code": WARD}).json()
        assert listed["total"] == 2 and {s["target"] for s in listed["items"]} == {ok.url, failing.url}

        for name, status in (("ok", "200"), ("failing", "500")):
            page.click(f'#subscriptions li[data-subscription="{ids[name]}"] button[data-action="test"]')
            result = page.locator(f"#test-{ids[name]} [data-test-status]")
            result.wait_for(timeout=30_000)
            assert result.get_attribute("data-test-status") == status
            assert status in result.inner_text()
        assert [r.headers.get("X-Chitieu-Event") for r in ok.received] == ["test"]
        assert failing.attempts == 1
        shot(page, "subscriptions-desktop")
    finally:
        context.close()
        ok.close()
        failing.close()


def test_the_inbox_pages_fit_a_phone(system, ward, browser):
    web = system.url("web")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=OFFICER, password=ward)
    for name, path in (("inbox", "/inbox"), ("subscriptions", "/subscriptions")):
        page.goto(web + path)
        page.wait_for_function("document.querySelector('#unread-badge .count').dataset.unread !== ''")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a 390px phone"
        shot(page, f"{name}-phone")
    context.close()
