"""The dashboard in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium,
installed by scripts/stack.sh) against every process of the Procfile (tests/system.py) on the real
Kafka, Redis and PostgreSQL (the fixtures of tests/web/conftest.py, shared by the browser modules).

A ward officer gets an account, signs in and sets a password, sees the ward's figures equal to the
quota API's, drills into a cell, assigns the cell's quota, downloads the XLSX report (read back with
openpyxl: figures and Vietnamese headers), and sees the figures move on the open overview, and a
"quota met" notice appear, after an admission made through the candidate API; the same pages at
phone size (390x844) fit the screen; an organisation outside the ward answers 403 with a
Vietnamese page. Screenshots of the overview, the tree and the report at desktop and phone size
go to screenshots/ (README: Dashboard).
"""
from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
import requests

from shared import clock
from tests.support import wait_until
from tests.web.browser import admit_today, DESKTOP, PHONE, make_account, shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WARD, CELL, OTHER_WARD = "P-DONG-SON", "P-DONG-SON-CB1", "P-QUANG-CAT"
OFFICER = "can-bo-dong-son"
PASSWORD = "mat-khau-cua-can-bo-2026"
YEAR = str(clock.today().year)


@pytest.fixture(scope="module")
def system(browser_system):
    return browser_system


@pytest.fixture(scope="module")
def ward(system):
    """This year's ward quota (assigned by the city) and the ward officer's account; its password."""
    put = requests.put(f"{system.url('quota')}/api/v1/organizations/{WARD}/quotas/{YEAR}", headers=system.headers(),
                       json={"target": 3, "assigner_org_code": "TP-THANH-HOA"}, timeout=30)
    assert put.status_code == 200, put.text
    return make_account(system, username=OFFICER, full_name="Lê Thị Hoa", org=WARD, role="officer",
                        by_org="TP-THANH-HOA", password=PASSWORD)


def figures_of(page) -> dict[str, str]:
    return {name: page.locator(f'#live [data-figure="{name}"]').inner_text()
            for name in ("admitted", "target", "percent")}


def test_a_ward_officer_works_through_the_dashboard(system, ward, browser):
    web = system.url("web")
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=OFFICER, password=ward)

    # The ward's figures equal the quota API's.
    page.click("text=Xem tiến độ của tổ chức")
    page.wait_for_url(f"{web}/org/{WARD}")
    progress = system.api("quota", "GET", f"/organizations/{WARD}/progress", params={"period": YEAR}).json()
    assert figures_of(page) == {"admitted": str(progress["admitted"]), "target": str(progress["target"]),
                                "percent": progress["percent_display"]}
    assert page.locator('#live [data-figure="status"]').inner_text() == "Chưa bắt đầu"
    shot(page, "overview-desktop")

    # Drill into a cell from the tree.
    page.click("nav.tabs >> text=Tổ chức trực thuộc")
    page.wait_for_url(f"{web}/org/{WARD}/tree**")
    rows = page.locator("table.ranked tbody tr[data-code]")
    rows.first.wait_for()
    assert rows.count() == 2
    shot(page, "tree-desktop")
    page.click(f'tr[data-code="{CELL}"] a')
    page.wait_for_url(f"{web}/org/{CELL}/tree?period={YEAR}")
    assert "Chi bộ khu phố 1" in page.locator("h1").inner_text()
    page.click('a[rel="up"]')
    page.wait_for_url(f"{web}/org/{WARD}/tree?period={YEAR}")
    # Search by name without diacritics (the quota API's search, within the ward).
    page.fill("#q", "khu pho 2")
    page.press("#q", "Enter")
    page.wait_for_selector('#search-results a[href*="P-DONG-SON-CB2"]')
    assert page.locator("#search-results li").count() == 1

    # Assign the cell's quota for this year: 1.
    page.click("nav.tabs >> text=Chỉ tiêu")
    page.fill(f"#target-{CELL}", "1")
    page.click(f'tr[data-code="{CELL}"] button[type=submit]')
    page.wait_for_selector(".notice-success")
    assert page.locator(f'tr[data-code="{CELL}"] [data-figure="target"]').inner_text() == "1"
    assert page.locator('[data-figure="allocation"]').inner_text() == "Phân bổ thiếu"  # 1 of 3
    assert "can-bo-dong-son" in page.locator("table.history").inner_text()
    quotas = system.api("quota", "GET", f"/organizations/{CELL}/quotas").json()
    assert [(q["target"], q["assigner_org_code"]) for q in quotas if q["period"] == YEAR] == [(1, WARD)]

    # The report: the XLSX from the quota API, and the print view.
    page.click("nav.tabs >> text=Báo cáo")
    page.wait_for_url(f"{web}/org/{WARD}/report**")
    shot(page, "report-desktop")
    with page.expect_download() as download:
        page.click("text=Tải báo cáo XLSX")
    assert download.value.suggested_filename.endswith(".xlsx")
    rows = list(openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
                .iter_rows(values_only=True))
    header = next(r for r in rows if r and "Tổ chức đảng" in r)
    for title in ("STT", "Tổ chức đảng", "Chỉ tiêu", "Đã kết nạp", "Tỷ lệ so với chỉ tiêu", "Tình trạng"):
        assert title in header, title
    by_code = {r[header.index("Mã")]: r for r in rows if r and len(r) > 1}
    cell = by_code[CELL]
    assert cell[header.index("Tổ chức đảng")] == "Chi bộ khu phố 1"
    assert (cell[header.index("Chỉ tiêu")], cell[header.index("Đã kết nạp")]) == (1, 0)  # the quota just assigned
    assert any(WARD in str(c) or "Đảng bộ phường Đông Sơn" in str(c) for r in rows for c in r if c)
    page.emulate_media(media="print")
    assert page.locator(".site-header").is_hidden() and page.locator("table.ranked").is_visible()
    page.emulate_media(media="screen")

    # Live: the open overview moves after an admission through the candidate API, and the cell's
    # "quota met" notice (in the ward's inbox: the ward assigned it) appears in the page.
    page.goto(f"{web}/org/{WARD}")
    wait_until(lambda: system.api("candidates", "GET", f"/organizations/{CELL}").status_code == 200,
               timeout=60, message="the candidate service never learnt the cell")
    admit_today(system, cell=CELL, deciding_org=WARD, full_name="Nguyễn Văn Trình Duyệt",
                national_id="038200000111")
    page.wait_for_function("document.querySelector('#live [data-figure=\"admitted\"]').textContent.trim() === '1'",
                           timeout=60_000)
    assert figures_of(page)["percent"] == "33,33%"
    page.wait_for_selector('[data-notice="quota_met"]', timeout=60_000)
    assert "Chi bộ khu phố 1" in page.locator('[data-notice="quota_met"]').inner_text()
    context.close()


def test_the_same_pages_fit_a_phone(system, ward, browser):
    web = system.url("web")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=OFFICER, password=ward)
    for name, path in (("overview", f"/org/{WARD}"), ("tree", f"/org/{WARD}/tree"), ("report", f"/org/{WARD}/report"),
                       ("quotas", f"/org/{WARD}/quotas")):
        page.goto(web + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a 390px phone"
        if name != "quotas":
            shot(page, f"{name}-phone")
    context.close()


def test_outside_the_ward_is_a_vietnamese_403_page(system, ward, browser):
    web = system.url("web")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, web, username=OFFICER, password=ward)
    answer = page.goto(f"{web}/org/{OTHER_WARD}")
    assert answer.status == 403
    assert page.locator("h1").inner_text() == "Không có quyền truy cập"
    assert "Quảng Cát" not in page.content()
    context.close()
