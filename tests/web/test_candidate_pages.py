"""The candidate pages in a real browser (#12 points 1-4): Playwright drives Debian's Chromium
against every process of the Procfile on the real Kafka, Redis and PostgreSQL (the session's
browser_system; this module keeps to its own ward and cell, codes prefixed CAND12-).

A cell secretary downloads the candidates template from the imports page, fills it with openpyxl
(Vietnamese headers and values, dd/mm/yyyy) and uploads it: the candidate is listed. The secretary
takes the candidate through class → application (two introducers) → cell resolution on the
candidate's page; an application whose second introducer is not an official member is refused
with the rule in Vietnamese next to the introducers and changes nothing. A name correction shows in
the history with its author. A ward officer records the admission decision on the page and the
quota API counts the admission, and the "quota met" notices of the cell (a quota of 1 the ward
assigned) and of the ward itself appear in the ward's inbox, open in another tab, without a
reload. Screenshots of the list and the candidate's page, desktop and phone, go to screenshots/ (README: Dashboard); at phone size neither page is wider than the screen.
"""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest

from services.candidates.registry import make_national_id
from shared import clock
from tests.support import wait_until
from tests.web.browser import DESKTOP, PHONE, make_account, shot, sign_in

pytestmark = [pytest.mark.integration, pytest.mark.slow]
WARD, CELL = "CAND12-PHUONG", "CAND12-CB1"
SECRETARY, OFFICER = "cand12-bi-thu", "cand12-can-bo"
PASSWORD = "mat-khau-cand12-2026"
TODAY = clock.today()
YEAR = str(TODAY.year)
NAME, FIXED_NAME = "Hoàng Thị Minh Khai", "Hoàng Thị Minh Khải"


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


@pytest.fixture(scope="module")
def system(browser_system):
    """This module's ward and cell under the demo city, the ward's quota of 1 this year, and the
    accounts of the cell secretary and the ward officer."""
    for code, name, type_, parent in ((WARD, "Đảng bộ phường Thử Nghiệm", "grassroots", "TP-THANH-HOA"),
                                      (CELL, "Chi bộ khu phố Thử Nghiệm", "cell", WARD)):
        made = browser_system.api("quota", "POST", "/organizations", json={
            "code": code, "name": name, "type": type_, "parent_code": parent, "effective_date": "2020-01-01"})
        assert made.status_code == 201, made.text
    # The ward's quota of 1 from the city, and the cell's quota of 1 from the ward: its "quota met"
    # notice goes to the ward's inbox.
    for code, assigner in ((WARD, "TP-THANH-HOA"), (CELL, WARD)):
        put = browser_system.api("quota", "PUT", f"/organizations/{code}/quotas/{YEAR}",
                  json={"target": 1, "assigner_org_code": assigner})
        assert put.status_code == 200, put.text
    for username, full_name, org in ((SECRETARY, "Bí thư Chi bộ Thử Nghiệm", CELL), (OFFICER, "Cán bộ Phường Thử", WARD)):
        make_account(browser_system, username=username, full_name=full_name, org=org, role="officer",
                     by_org="TP-THANH-HOA", password=PASSWORD)
    wait_until(lambda: browser_system.api("candidates", "GET", f"/organizations/{CELL}").status_code == 200,
               timeout=60, message="the candidate service never learnt the cell")
    return browser_system


def filled_template(path: Path) -> bytes:
    """The downloaded template with its example row replaced by one person, as an official types it."""
    book = openpyxl.load_workbook(io.BytesIO(path.read_bytes()))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    born = TODAY.replace(year=TODAY.year - 24, day=1)
    values = {"Họ và tên": NAME, "Ngày sinh": born.strftime("%d/%m/%Y"), "Giới tính": "Nữ", "Dân tộc": "Kinh",
              "Tôn giáo": "Không", "Trình độ học vấn": "Đại học", "Nghề nghiệp": "Học sinh, sinh viên",
              "Số CCCD": make_national_id(province=38, gender="female", date_of_birth=born, serial=120_012),
              "Mã chi bộ": CELL, "Ngày lập danh sách": (TODAY - timedelta(days=400)).strftime("%d/%m/%Y"),
              "Đoàn viên": "Không", "Đảng viên giúp đỡ": "Lê Văn Bình"}
    assert set(values) <= set(headers), headers
    for i, header in enumerate(headers, start=1):
        sheet.cell(row=2, column=i, value=values.get(header))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def stage_of(system, cid: str) -> str:
    return system.api("candidates", "GET", f"/candidates/{cid}").json()["stage"]


def record_step(page, step: str, fields: dict[str, str]) -> None:
    """Open a next step's form on the candidate's page, fill it and send it."""
    form = page.locator(f"#step-{step}")
    if form.get_attribute("open") is None:
        form.locator("summary").click()
    for selector, value in fields.items():
        target = form.locator(selector)
        if target.evaluate("e => e.tagName") == "SELECT":
            target.select_option(value)
        else:
            target.fill(value)
    form.locator("button[type=submit]").click()
    page.wait_for_load_state()


def test_a_cell_secretary_and_a_ward_officer_take_a_candidate_to_admission(system, browser, tmp_path):
    web = system.url("web")
    context = browser.new_context(viewport=DESKTOP, accept_downloads=True, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=SECRETARY, password=PASSWORD)

    # The template from the page, filled and uploaded: the candidate is listed.
    page.goto(f"{web}/org/{CELL}")
    page.click("nav.tabs >> text=Nhập từ tệp")
    with page.expect_download() as download:
        page.click("#import-candidates >> text=Tải mẫu Excel (.xlsx)")
    assert download.value.suggested_filename == "mau-danh-sach-quan-chung.xlsx"
    filled = tmp_path / "danh-sach.xlsx"
    filled.write_bytes(filled_template(Path(download.value.path())))
    page.set_input_files("#file-candidates", str(filled))
    page.click("#import-candidates button[type=submit]")
    page.wait_for_url(f"{web}/org/{CELL}/candidates*")
    assert "Đã nhập 1 quần chúng" in page.locator(".notice-success").inner_text()
    row = page.locator("table.candidates tbody tr[data-candidate]")
    assert row.count() == 1 and NAME in row.inner_text()
    cid = row.get_attribute("data-candidate")
    assert page.locator('.funnel [data-figure="source"]').inner_text() == "1"
    page.fill("#q", "minh khai")  # without diacritics
    page.click("form.filters button[type=submit]")
    assert page.locator("table.candidates tbody tr[data-candidate]").count() == 1

    # Class, then an application whose second introducer is only a probationary member: refused,
    # the rule in Vietnamese next to the introducers, the form keeping what was typed, nothing changed.
    page.click(f'tr[data-candidate="{cid}"] a')
    page.wait_for_url(f"{web}/candidates/{cid}")
    record_step(page, "trained", {'input[name="date"]': day(300), 'input[name="training_certificate_number"]': "GCN-12"})
    assert "Đã ghi" in page.locator(".notice-success").inner_text() and stage_of(system, cid) == "trained"
    application = {'input[name="date"]': day(200), "#introducer1_name": "Lê Văn Bình", "#introducer1_status": "official",
                   "#introducer2_name": "Trần Văn Dự Bị", "#introducer2_status": "probationary"}
    record_step(page, "applied", application)
    error = page.locator('fieldset.introducers [data-error-for="introducers"]')
    assert "Cần hai đảng viên chính thức giới thiệu" in error.inner_text()
    assert "Điều lệ Đảng" in error.inner_text() or "QĐ/TW" in error.inner_text()  # the regulation behind it
    assert page.locator("#introducer2_name").input_value() == "Trần Văn Dự Bị"
    assert stage_of(system, cid) == "trained"
    shot(page, "candidate-refusal-desktop")
    record_step(page, "applied", {"#introducer2_name": "Trần Thị Cúc", "#introducer2_status": "official"})
    assert stage_of(system, cid) == "applied"
    record_step(page, "proposed", {'input[name="date"]': day(14), 'input[name="decision_number"]': "12-NQ/CB"})
    assert stage_of(system, cid) == "proposed"
    # The decision is due 60 working days after the resolution: shown, not late.
    assert "Hạn quyết định kết nạp" in page.locator('[data-figure="deadline"]').inner_text()

    # A name correction, with its reason; the history shows it with its author.
    page.locator("#correction summary").click()
    page.fill("#fix-full_name", FIXED_NAME)
    page.fill("#fix-reason", "Sai dấu trong họ tên")
    page.click(".correction-form button[type=submit]")
    page.wait_for_selector(".notice-success")
    line = page.locator('#history li[data-kind="correction"]')
    assert f"{NAME} → {FIXED_NAME}" in line.inner_text() and "Sai dấu trong họ tên" in line.inner_text()
    assert line.locator('[data-figure="by"]').inner_text() == SECRETARY
    assert "********" in page.locator("dl.record").inner_text()  # the national ID only masked
    shot(page, "candidate-desktop")
    context.close()

    # The ward officer records the committee's decision; the quota API counts the admission, and the
    # ward's inbox, open in another tab, shows the "quota met" notices without a reload.
    context = browser.new_context(viewport=DESKTOP, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=OFFICER, password=PASSWORD)
    inbox = context.new_page()
    inbox.goto(f"{web}/inbox")
    assert inbox.locator('#inbox-items [data-notice="quota_met"]').count() == 0
    page.goto(f"{web}/org/{WARD}/candidates?stage=proposed")
    page.click(f'tr[data-candidate="{cid}"] a')
    record_step(page, "admitted", {'input[name="date"]': TODAY.isoformat(),
                                   'input[name="decision_number"]': "7-QĐ/ĐU"})
    assert stage_of(system, cid) == "admitted"
    assert page.locator('[data-figure="stage"]').inner_text() == "Đảng viên dự bị"
    wait_until(lambda: system.api("quota", "GET", f"/organizations/{WARD}/progress",
                           params={"period": YEAR}).json()["admitted"] == 1,
               timeout=60, message="the quota service never counted the admission")
    notices = inbox.locator('#inbox-items [data-notice="quota_met"]')
    notices.filter(has_text="Chi bộ khu phố Thử Nghiệm").wait_for(timeout=60_000)  # the cell's quota
    notices.filter(has_text="Đảng bộ phường Thử Nghiệm").wait_for(timeout=60_000)  # and the ward's own
    page.goto(f"{web}/org/{WARD}/candidates")
    row = page.locator(f'tr[data-candidate="{cid}"]')
    assert "Hết thời gian dự bị" in row.inner_text()  # the probation's end is what is due next
    assert page.locator('.funnel [data-figure="admitted"]').inner_text() == "1"
    shot(page, "candidates-list-desktop")
    context.close()


def test_the_candidate_pages_fit_a_phone(system, browser):
    web = system.url("web")
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN")
    page = context.new_page()
    sign_in(page, web, username=SECRETARY, password=PASSWORD)
    page.goto(f"{web}/org/{CELL}/candidates")
    rows = page.locator("table.candidates tbody tr[data-candidate]")
    assert rows.count() >= 1
    cid = rows.first.get_attribute("data-candidate")
    for name, path in (("candidates-list", f"/org/{CELL}/candidates"), ("candidate", f"/candidates/{cid}")):
        page.goto(web + path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{path} is {width}px wide on a 390px phone"
        shot(page, f"{name}-phone")
    context.close()
