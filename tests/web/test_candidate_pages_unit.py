"""The candidate and import pages in process (Flask's client), with the quota and candidate APIs
served over real HTTP (SQLite, the Thanh Hóa demo tree): the list with its funnel and deadlines,
a refusal shown next to the field it concerns with nothing changed, an advisory confirmed before
it is recorded, a correction with its author, an import's report by cell, and hostile input
(another organisation's candidate, a forged CSRF token, a bad step, an oversized text)."""
from __future__ import annotations

import io
import re
import tempfile
import threading
from datetime import date, timedelta

import openpyxl
import pytest
import requests
from werkzeug.serving import make_server

from services.candidates.registry import make_national_id
from services.web.app import create_app
from services.web.settings import WebSettings
from shared import clock
from shared.migrations import upgrade
from tests.candidates.factories import make_app as make_candidates_app
from tests.keys import token
from tests.web.conftest import add_user, csrf_of, sign_in

CELL, WARD, OTHER_CELL = "P-DONG-SON-CB1", "P-DONG-SON", "P-QUANG-CAT-CB1"
TODAY = clock.today()
_serial = iter(range(500_000, 600_000))
# The candidate API lives for the module, across both databases of the web service: names that differ.
_given = iter(["Lan", "Mai", "Hồng", "Đào", "Huệ", "Trúc"])


@pytest.fixture(scope="module")
def candidates_url():
    """The candidate API over HTTP (SQLite, its own file) with the demo tree's copy."""
    with tempfile.TemporaryDirectory() as tmp:
        app = make_candidates_app(f"sqlite:///{tmp}/candidates.db", namespace="t-web-cand-pages")
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{server.server_port}"
        server.shutdown()
        app.extensions["db"].dispose()


@pytest.fixture
def web(make_settings, quota_url, candidates_url, redis_client):
    settings = make_settings("web", service_urls={"quota": quota_url, "candidates": candidates_url},
                             log_level="WARNING")
    upgrade("web", settings.database_url)
    app = create_app(settings, web_settings=WebSettings())
    app.config["TESTING"] = False  # CSRF stays on, as deployed
    add_user(app, "bi-thu-cb1", org=CELL, role="officer", full_name="Bí thư chi bộ 1")
    add_user(app, "can-bo-phuong", org=WARD, role="officer")
    add_user(app, "xem-cb1", org=CELL, role="viewer")
    add_user(app, "bi-thu-quang-cat", org=OTHER_CELL, role="officer")
    yield app
    app.extensions["db"].dispose()


def api(url: str, method: str, path: str, **kwargs):
    headers = {"Authorization": "Bearer " + token(sub="loader", org="*", role="admin")}
    return requests.request(method, f"{url}/api/v1{path}", headers=headers, timeout=30, **kwargs)


def new_candidate(url: str, name: str, *, cell: str = CELL, born: date = date(2000, 3, 15)) -> str:
    made = api(url, "POST", "/candidates", json={
        "full_name": name, "date_of_birth": born.isoformat(), "gender": "female", "ethnicity": "Kinh",
        "occupation_group": "student", "org_code": cell, "listed_on": (TODAY - timedelta(days=800)).isoformat(),
        "national_id": make_national_id(province=38, gender="female", date_of_birth=born, serial=next(_serial))})
    assert made.status_code == 201, made.text
    return made.json()["id"]


def step(url: str, cid: str, body: dict) -> None:
    done = api(url, "POST", f"/candidates/{cid}/transitions", json=body)
    assert done.status_code == 201, done.text


def signed_in(web, username: str):
    client = web.test_client()
    assert sign_in(client, username).status_code in (200, 302)
    return client


def page_csrf(client, path: str) -> str:
    return csrf_of(client, path)


def test_list_shows_the_funnel_and_late_deadlines(web, candidates_url):
    late = new_candidate(candidates_url, "Phạm Thị Quá Hạn")
    step(candidates_url, late, {"to": "trained", "date": (TODAY - timedelta(days=700)).isoformat()})
    step(candidates_url, late, {"to": "applied", "date": (TODAY - timedelta(days=600)).isoformat(), "introducers": [
        {"full_name": "Lê Văn Bình", "official_member": True}, {"full_name": "Trần Thị Cúc", "official_member": True}]})
    step(candidates_url, late, {"to": "proposed", "date": (TODAY - timedelta(days=300)).isoformat(),
                                "decision_number": "1/NQ-CB"})
    client = signed_in(web, "can-bo-phuong")
    html = client.get(f"/org/{WARD}/candidates?q=pham thi qua han").get_data(as_text=True)
    row = re.search(r'<tr data-candidate="' + late + r'" class="late">(.*?)</tr>', html, re.S)
    assert row, html
    assert "Hạn quyết định kết nạp" in row.group(1) and "Quá hạn" in row.group(1)
    funnel = api(candidates_url, "GET", f"/organizations/{WARD}/funnel").json()["stages"]
    shown = re.search(r'data-figure="proposed">([^<]+)<', html).group(1)
    assert shown == f"{funnel['proposed']:,}".replace(",", ".")
    # Stage filter: the proposed candidate is not among the trained.
    assert late not in client.get(f"/org/{WARD}/candidates?stage=trained&q=pham").get_data(as_text=True)
    assert client.get(f"/org/{WARD}/candidates?stage=robot").status_code == 400


def test_a_refusal_is_shown_next_to_the_introducers_and_changes_nothing(web, candidates_url):
    cid = new_candidate(candidates_url, "Ngô Thị Giới Thiệu")
    step(candidates_url, cid, {"to": "trained", "date": (TODAY - timedelta(days=100)).isoformat()})
    client = signed_in(web, "bi-thu-cb1")
    csrf = page_csrf(client, f"/candidates/{cid}")
    form = {"csrf_token": csrf, "to": "applied", "date": (TODAY - timedelta(days=10)).isoformat(),
            "introducer1_name": "Lê Văn Bình", "introducer1_status": "official",
            "introducer2_name": "Hoàng Văn Dự Bị", "introducer2_status": "probationary"}
    answer = client.post(f"/candidates/{cid}/steps", data=form)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    error = re.search(r'<fieldset class="introducers has-error".*?data-error-for="introducers">([^<]+)<', html, re.S)
    assert error and "Cần hai đảng viên chính thức giới thiệu" in error.group(1), html
    assert "Hoàng Văn Dự Bị" in html  # the form keeps what was typed
    assert api(candidates_url, "GET", f"/candidates/{cid}").json()["stage"] == "trained"
    # English page: the same rule in English, still next to the field.
    client.get("/lang/en")
    english = client.post(f"/candidates/{cid}/steps", data={**form, "csrf_token": page_csrf(client, f"/candidates/{cid}")})
    assert "Two official members must introduce" in english.get_data(as_text=True)


def test_an_advisory_is_confirmed_before_it_is_recorded(web, candidates_url):
    cid = new_candidate(candidates_url, "Vũ Thị Cảnh Báo")
    for body in ({"to": "trained", "date": (TODAY - timedelta(days=400)).isoformat()},
                 {"to": "applied", "date": (TODAY - timedelta(days=300)).isoformat(), "introducers": [
                     {"full_name": "A", "official_member": True}, {"full_name": "B", "official_member": True}]},
                 {"to": "proposed", "date": (TODAY - timedelta(days=200)).isoformat(), "decision_number": "2/NQ"}):
        step(candidates_url, cid, body)
    client = signed_in(web, "can-bo-phuong")
    form = {"csrf_token": page_csrf(client, f"/candidates/{cid}"), "to": "admitted", "date": TODAY.isoformat(),
            "decision_number": "5-QĐ/ĐU", "deciding_org_code": WARD}
    held = client.post(f"/candidates/{cid}/steps", data=form)
    assert held.status_code == 409
    assert "decision_deadline" in held.get_data(as_text=True) and 'name="confirm_warnings"' in held.get_data(as_text=True)
    assert api(candidates_url, "GET", f"/candidates/{cid}").json()["stage"] == "proposed"
    done = client.post(f"/candidates/{cid}/steps", data={**form, "confirm_warnings": "1"})
    assert done.status_code == 302
    record = api(candidates_url, "GET", f"/candidates/{cid}").json()
    assert record["stage"] == "admitted"
    assert record["history"]["transitions"][-1]["warnings"][0]["rule"] == "decision_deadline"
    page = client.get(f"/candidates/{cid}").get_data(as_text=True)
    assert "60 ngày làm việc" in page and "warning-line" in page  # the history shows the rule behind it


def test_a_correction_shows_its_author_and_reason(web, candidates_url):
    cid = new_candidate(candidates_url, "Nguyen Thi Sai Ten")
    client = signed_in(web, "bi-thu-cb1")
    record = api(candidates_url, "GET", f"/candidates/{cid}").json()
    form = {"csrf_token": page_csrf(client, f"/candidates/{cid}"), "full_name": "Nguyễn Thị Sài Tên",
            "date_of_birth": record["date_of_birth"], "gender": record["gender"], "ethnicity": record["ethnicity"],
            "religion": "", "education_level": "", "occupation_group": record["occupation_group"], "national_id": ""}
    missing = client.post(f"/candidates/{cid}/correction", data=form)
    assert missing.status_code == 422 and "Cần ghi lý do đính chính" in missing.get_data(as_text=True)
    done = client.post(f"/candidates/{cid}/correction", data={**form, "reason": "Sai chính tả họ tên"})
    assert done.status_code == 302
    lines = api(candidates_url, "GET", f"/candidates/{cid}").json()["history"]["transitions"]
    assert [(t["kind"], t["recorded_by"]) for t in lines] == [("listing", "loader"), ("correction", "bi-thu-cb1")]
    assert set(lines[-1]["evidence"]["changes"]) == {"full_name"}  # only what changed was sent
    html = client.get(f"/candidates/{cid}").get_data(as_text=True)
    assert "Nguyen Thi Sai Ten → Nguyễn Thị Sài Tên" in html and "Sai chính tả họ tên" in html
    assert re.search(r'data-figure="by">bi-thu-cb1<', html)
    assert "********" in html and record["national_id_masked"] in html  # the ID only masked


def test_another_organisations_candidate_and_forged_requests_are_refused(web, candidates_url):
    theirs = new_candidate(candidates_url, "Đỗ Thị Ngoài Phạm Vi", cell=OTHER_CELL)
    client = signed_in(web, "bi-thu-cb1")
    refused = client.get(f"/candidates/{theirs}")
    assert refused.status_code == 403 and "Không có quyền truy cập" in refused.get_data(as_text=True)
    csrf = page_csrf(client, f"/org/{CELL}/candidates")
    attempt = client.post(f"/candidates/{theirs}/steps", data={"csrf_token": csrf, "to": "withdrawn",
                                                               "date": TODAY.isoformat()})
    assert attempt.status_code == 403
    assert api(candidates_url, "GET", f"/candidates/{theirs}").json()["stage"] == "source"
    mine = new_candidate(candidates_url, "Lý Thị Giả Mạo")
    forged = client.post(f"/candidates/{mine}/steps", data={"csrf_token": "forged", "to": "withdrawn",
                                                            "date": TODAY.isoformat()})
    assert forged.status_code == 400
    no_token = client.post(f"/candidates/{mine}/correction", data={"full_name": "X", "reason": "y"})
    assert no_token.status_code == 400
    bad_step = client.post(f"/candidates/{mine}/steps", data={"csrf_token": csrf, "to": "official; drop",
                                                              "date": TODAY.isoformat()})
    assert bad_step.status_code == 422
    too_long = client.post(f"/candidates/{mine}/steps", data={"csrf_token": csrf, "to": "withdrawn",
                                                              "date": TODAY.isoformat(), "reason": "x" * 5000})
    assert too_long.status_code == 422
    bad_date = client.post(f"/candidates/{mine}/steps", data={"csrf_token": csrf, "to": "withdrawn", "date": "31/02/2024"})
    assert bad_date.status_code == 422 and 'data-error-for="date"' in bad_date.get_data(as_text=True)
    assert api(candidates_url, "GET", f"/candidates/{mine}").json()["stage"] == "source"
    away = client.post(f"/candidates/{mine}/steps", data={"csrf_token": csrf, "to": "transfer", "date": TODAY.isoformat(),
                                                          "to_org_code": OTHER_CELL})
    assert away.status_code == 422 and 'data-error-for="to_org_code"' in away.get_data(as_text=True)
    assert api(candidates_url, "GET", f"/candidates/{mine}").json()["org_code"] == CELL
    viewer = signed_in(web, "xem-cb1")
    assert 'id="next-steps"' not in viewer.get(f"/candidates/{mine}").get_data(as_text=True)


def test_an_import_is_reported_by_cell_and_a_good_one_lists_the_candidate(web, candidates_url):
    client = signed_in(web, "bi-thu-cb1")
    template = client.get(f"/org/{CELL}/import/candidates/template.xlsx")
    assert template.status_code == 200 and template.mimetype.endswith("spreadsheetml.sheet")
    book = openpyxl.load_workbook(io.BytesIO(template.data))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    assert headers[:3] == ["Họ và tên", "Ngày sinh", "Giới tính"]
    born = date(2001, 5, 4)
    name = f"Trịnh Thị {next(_given)}"
    values = {"Họ và tên": name, "Ngày sinh": "31/02/2001", "Giới tính": "Nữ", "Dân tộc": "Kinh",
              "Tôn giáo": "Không", "Trình độ học vấn": "Đại học", "Nghề nghiệp": "Học sinh, sinh viên",
              "Số CCCD": make_national_id(province=38, gender="female", date_of_birth=born, serial=next(_serial)),
              "Mã chi bộ": CELL, "Ngày lập danh sách": "15/01/2024", "Đoàn viên": "Có", "Đảng viên giúp đỡ": "Lê Văn Bình"}
    for i, header in enumerate(headers, start=1):
        sheet.cell(row=2, column=i, value=values.get(header))

    def upload(book) -> object:
        out = io.BytesIO()
        book.save(out)
        return client.post(f"/org/{CELL}/import/candidates", content_type="multipart/form-data", data={
            "csrf_token": page_csrf(client, f"/org/{CELL}/import"), "file": (io.BytesIO(out.getvalue()), "danh-sach.xlsx")})

    refused = upload(book)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    letter = openpyxl.utils.get_column_letter(headers.index("Ngày sinh") + 1)
    assert re.search(r'<tr data-row="2" data-column="' + letter + r'">.*?Ngày sinh', html, re.S), html
    assert api(candidates_url, "GET", "/candidates", params={"q": name}).json()["total"] == 0
    sheet.cell(row=2, column=headers.index("Ngày sinh") + 1, value="04/05/2001")
    listed = upload(book)
    assert listed.status_code == 302 and listed.headers["Location"].startswith(f"/org/{CELL}/candidates")
    assert name in client.get(listed.headers["Location"]).get_data(as_text=True)
    # The tree import is an administrator's: an officer sees no such form and cannot post it.
    page = client.get(f"/org/{CELL}/import").get_data(as_text=True)
    assert 'data-import="candidates"' in page and 'data-import="tree"' not in page
    no_file = client.post(f"/org/{CELL}/import/candidates", data={"csrf_token": page_csrf(client, f"/org/{CELL}/import")})
    assert no_file.status_code == 422 and "Hãy chọn một tệp" in no_file.get_data(as_text=True)
    assert client.get(f"/org/{CELL}/import/robots/template.xlsx").status_code == 404


def test_the_tree_import_shares_the_page_and_its_report(web):
    """An administrator's tree import: the same page and partial; a refused file names its cells and
    creates nothing (the quota API's report)."""
    add_user(web, "quan-tri-phuong", org=WARD, role="admin")
    client = signed_in(web, "quan-tri-phuong")
    page = client.get(f"/org/{WARD}/import").get_data(as_text=True)
    assert 'data-import="candidates"' in page and 'data-import="tree"' in page
    template = client.get(f"/org/{WARD}/import/tree/template.xlsx")
    headers = [c.value for c in openpyxl.load_workbook(io.BytesIO(template.data)).worksheets[0][1]]
    assert headers[:3] == ["Mã tổ chức", "Tên tổ chức", "Loại tổ chức"]
    csv = "Mã tổ chức,Tên tổ chức,Loại tổ chức,Mã tổ chức cấp trên\nP-DONG-SON-CB9,Chi bộ khu phố 9,Tổ dân phố,P-DONG-SON\n"
    refused = client.post(f"/org/{WARD}/import/tree", content_type="multipart/form-data", data={
        "csrf_token": page_csrf(client, f"/org/{WARD}/import"), "file": (io.BytesIO(csv.encode()), "cay.csv")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Không nhập dòng nào" in html
    assert re.search(r'<tr data-row="2" data-column="C">.*?Loại tổ chức', html, re.S), html
    officer = signed_in(web, "bi-thu-cb1")
    attempt = officer.post(f"/org/{CELL}/import/tree", content_type="multipart/form-data", data={
        "csrf_token": page_csrf(officer, f"/org/{CELL}/import"), "file": (io.BytesIO(csv.encode()), "cay.csv")})
    assert attempt.status_code == 403
