"""The dashboard pages in process, against the quota API over HTTP with the demo tree and quotas
(tests/web/conftest.py): a ward officer's overview, tree, quotas, report and live fragment show
the API's figures formatted the Vietnamese way; an organisation outside the subtree answers 403
with a Vietnamese page; a quota is assigned through the page (and refused with a named field when
bad); a bad period is refused; the vendored front-end files match their pins and are served
compressed."""
from __future__ import annotations

import gzip
import re

import pytest
import requests

from services.web import assets, formatting
from tests.keys import token
from tests.web.conftest import add_user, csrf_of, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
def officer(web):
    add_user(web, "can-bo-dong-son", org="P-DONG-SON", role="officer", full_name="Lê Thị Hoa")
    client = web.test_client()
    assert sign_in(client, "can-bo-dong-son").status_code == 302
    return client


def api_progress(quota_url: str, code: str, period: str) -> dict:
    answer = requests.get(f"{quota_url}/api/v1/organizations/{code}/progress", params={"period": period},
                          headers={"Authorization": "Bearer " + token(sub="t", org="*", role="admin")}, timeout=30)
    answer.raise_for_status()
    return answer.json()


def test_numbers_and_dates_are_formatted_the_vietnamese_way():
    assert formatting.number(1732) == "1.732"
    assert formatting.percent("115.47") == "115,47%"
    assert formatting.percent("107") == "107,00%"
    from datetime import date
    assert formatting.day(date(2024, 6, 30)) == "30/06/2024"
    assert formatting.moment("2024-06-30T07:05:00+00:00") == "30/06/2024 14:05"  # Vietnam time


def test_the_overview_shows_the_api_figures(officer, quota_url):
    page = officer.get("/org/P-DONG-SON?period=2024")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    api = api_progress(quota_url, "P-DONG-SON", "2024")
    assert api["target"] == 13
    assert f'data-figure="target">{api["target"]}<' in html
    assert f'data-figure="admitted">{api["admitted"]}<' in html
    assert "Đảng bộ phường Đông Sơn" in html and "0,00%" in html
    assert 'hx-trigger="every 5s"' in html and assets.asset_url("htmx") in html
    # The two charts (against the even pace, against 2023) and the forecast, from the quota API.
    assert 'id="pace-even-data"' in html and 'id="pace-previous-data"' in html and assets.asset_url("echarts") in html
    forecast = requests.get(f"{quota_url}/api/v1/organizations/P-DONG-SON/forecast", params={"period": "2024"},
                            headers={"Authorization": "Bearer " + token(sub="t", org="*", role="admin")},
                            timeout=30).json()
    assert f'data-figure="forecast">{forecast["expected"]}<' in html
    assert forecast["verdict"] == "at_risk" and 'data-figure="verdict">Có nguy cơ không đạt<' in html
    assert f"thiếu {forecast['shortfall']} so với chỉ tiêu" in html


def test_the_tree_ranks_the_children_and_drills_down(officer):
    html = officer.get("/org/P-DONG-SON/tree?period=2024").get_data(as_text=True)
    rows = re.findall(r'<tr data-code="([^"]+)"', html)
    assert rows == ["P-DONG-SON-CB1", "P-DONG-SON-CB2"]  # equal percent: more admitted, then code
    assert 'href="/org/P-DONG-SON-CB1/tree?period=2024"' in html
    cell = officer.get("/org/P-DONG-SON-CB1/tree?period=2024")
    assert cell.status_code == 200 and "Chi bộ khu phố 1" in cell.get_data(as_text=True)
    assert 'rel="up"' in cell.get_data(as_text=True)


def test_outside_the_subtree_is_a_vietnamese_403_page(officer):
    for path in ("/org/P-QUANG-CAT?period=2024", "/org/P-QUANG-CAT/tree", "/org/TP-THANH-HOA/quotas",
                 "/org/P-QUANG-CAT/report", "/org/P-QUANG-CAT/live?period=2024"):
        page = officer.get(path)
        assert page.status_code == 403, path
        assert "Không có quyền truy cập" in page.get_data(as_text=True), path
    assert "Quảng Cát" not in officer.get("/org/P-QUANG-CAT").get_data(as_text=True)


def test_a_bad_period_is_refused_and_changes_nothing(officer):
    for bad in ("20x4", "2025-2020", "1999", "2024-2099"):
        page = officer.get(f"/org/P-DONG-SON?period={bad}")
        assert page.status_code == 400 and "Kỳ là một năm" in page.get_data(as_text=True)


def test_an_officer_assigns_a_cell_quota_and_sees_allocation_and_history(officer, quota_url):
    csrf = csrf_of(officer, "/org/P-DONG-SON/quotas?period=2024")
    for target in ("7", "9"):  # the demo's 7, then more (the quota API is shared by the module's runs)
        done = officer.post("/org/P-DONG-SON/quotas?period=2024",
                            data={"csrf_token": csrf, "child": "P-DONG-SON-CB1", "target": target})
        assert done.status_code == 302
        if target == "7":
            html = officer.get("/org/P-DONG-SON/quotas?period=2024").get_data(as_text=True)
            assert 'data-figure="allocation">Phân bổ đủ<' in html  # 7 + 6 = 13
    html = officer.get("/org/P-DONG-SON/quotas?period=2024").get_data(as_text=True)
    assert 'data-figure="allocation">Phân bổ vượt<' in html  # 9 + 6 > 13
    assert "can-bo-dong-son" in html  # the history names who changed it
    assert api_progress(quota_url, "P-DONG-SON-CB1", "2024")["target"] == 9

    refused = officer.post("/org/P-DONG-SON/quotas?period=2024",
                           data={"csrf_token": csrf, "child": "P-DONG-SON-CB1", "target": "-3"})
    assert refused.status_code == 422 and "Chỉ tiêu là một số nguyên" in refused.get_data(as_text=True)
    outside = officer.post("/org/P-DONG-SON/quotas?period=2024",
                           data={"csrf_token": csrf, "child": "P-QUANG-CAT-CB1", "target": "3"})
    assert outside.status_code == 422 and "không trực thuộc" in outside.get_data(as_text=True)
    assert api_progress(quota_url, "P-DONG-SON-CB1", "2024")["target"] == 9
    assert api_progress(quota_url, "P-QUANG-CAT-CB1", "2024")["target"] == 5
    no_csrf = officer.post("/org/P-DONG-SON/quotas?period=2024", data={"child": "P-DONG-SON-CB1", "target": "1"})
    assert no_csrf.status_code == 400


def test_the_report_print_view_and_the_english_switch(officer):
    html = officer.get("/org/P-DONG-SON/report?period=2024").get_data(as_text=True)
    assert "BÁO CÁO KẾT QUẢ PHÁT TRIỂN ĐẢNG VIÊN" in html and "print.css" in html
    officer.get("/lang/en")
    html = officer.get("/org/P-DONG-SON/report?period=2024").get_data(as_text=True)
    assert "Overview" in html and "Not started" in html


def test_vendored_assets_match_their_pins_and_are_served_compressed(web):
    assert assets.check() == []
    client = web.test_client()
    answer = client.get(assets.asset_url("htmx"), headers={"Accept-Encoding": "gzip"})
    assert answer.status_code == 200 and answer.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(answer.data) == (assets.VENDOR / assets.ASSETS["htmx"].name).read_bytes()
    assert "immutable" in answer.headers["Cache-Control"]
    assert client.get("/assets/vendor/other.js").status_code == 404


def test_the_search_finds_names_without_diacritics_within_the_subtree(officer):
    html = officer.get("/search?q=dong+son&period=2024").get_data(as_text=True)
    assert "Đảng bộ phường Đông Sơn" in html and "Quảng Cát" not in html
    fragment = officer.get("/search?q=khu pho", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert fragment.startswith('<div id="search-results">') and "Chi bộ khu phố 1" in fragment
    assert "Chi bộ thôn" not in fragment  # Quảng Cát's cells are outside the ward
    assert officer.get("/search?q=" + "x" * 101).status_code == 400


def test_a_long_ranking_comes_a_page_at_a_time(web, officer):
    from services.web import tree_page as tree
    with web.test_request_context("/org/P00/tree"):
        assert tree.pages("P00", "2024", 1, 100) is None
        pages = tree.pages("P00", "2024", 2, 3000)
        assert pages["text"] == "Trang 2 / 30 (3.000 tổ chức)"
        assert pages["previous"] == "/org/P00/tree?period=2024&page=1"
        assert pages["next"] == "/org/P00/tree?period=2024&page=3"
    assert officer.get("/org/P-DONG-SON/tree?page=0").status_code == 400
    assert officer.get("/org/P-DONG-SON/tree?page=2").status_code == 200  # past the end: no rows
