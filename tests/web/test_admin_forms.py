"""The administration pages in process (the quota API over HTTP with the demo tree, tests/web/conftest.py):
refusals shown next to the field they name and changing nothing, hostile input, CSRF, roles; the
one-time password and the client secret shown once; a move's confirmation stating its consequences
from the quota API's preview and the move made only when confirmed."""
from __future__ import annotations

import re
import uuid

import pytest
import requests

from services.web import accounts
from tests.keys import token
from tests.web.conftest import add_user, csrf_of, sign_in

pytestmark = pytest.mark.integration
WARD, CELL, OTHER = "P-DONG-SON", "P-DONG-SON-CB1", "P-QUANG-CAT"


def _signed_in(web, username, *, org, role):
    add_user(web, username, org=org, role=role)
    client = web.test_client()
    assert sign_in(client, username).status_code == 302
    return client


@pytest.fixture
def ward_admin(web):
    return _signed_in(web, "qt-dong-son", org=WARD, role="admin")


def _field_errors(html: str, field: str) -> list[str]:
    return re.findall(rf'data-field-error="{field}">([^<]*)<', html)


def _account(web, username):
    with web.extensions["db"].transaction() as session:
        found = accounts.find_user(session, username)
        return None if found is None else accounts.user_view(found)


def test_an_administrator_creates_an_account_and_reads_its_password_once(web, ward_admin):
    csrf = csrf_of(ward_admin, "/admin/users")
    made = ward_admin.post("/admin/users", data={"csrf_token": csrf, "username": "Bi-Thu-CB1",
                                                 "full_name": "Trần Văn Bí Thư", "org": CELL, "role": "officer"})
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    otp = re.search(r'data-secret="one-time-password">([^<]+)<', made.get_data(as_text=True)).group(1)
    assert len(otp) == 14
    # The list shows the account, never the password again.
    listing = ward_admin.get(f"/admin/users?org={CELL}").get_data(as_text=True)
    assert 'data-username="bi-thu-cb1"' in listing and otp not in listing
    person = web.test_client()
    assert sign_in(person, "bi-thu-cb1", otp).headers["Location"] == "/password"


def test_refusals_show_next_to_the_field_and_change_nothing(web, ward_admin):
    csrf = csrf_of(ward_admin, "/admin/users")
    cases = [  # (form, status, the field whose refusal is shown)
        ({"username": "ngoai-pham-vi", "full_name": "A", "org": OTHER, "role": "officer"}, 403, "org"),
        ({"username": "khong-co", "full_name": "A", "org": "KHONG-CO-TO-CHUC", "role": "officer"}, 403, "org"),
        ({"username": "x", "full_name": "A", "org": CELL, "role": "officer"}, 422, "username"),
        ({"username": "vai-tro-la", "full_name": "A", "org": CELL, "role": "root"}, 422, "role"),
        ({"username": "nul-ten", "full_name": "A\x00B", "org": CELL, "role": "officer"}, 422, "full_name"),
        ({"username": "dai-qua", "full_name": "A" * 301, "org": CELL, "role": "officer"}, 422, "full_name"),
        ({"username": "thieu-ten", "full_name": "", "org": CELL, "role": "officer"}, 422, "full_name"),
    ]
    for form, status, field in cases:
        page = ward_admin.post("/admin/users", data={"csrf_token": csrf, **form})
        html = page.get_data(as_text=True)
        assert page.status_code == status, (form, html[:300])
        assert _field_errors(html, field), (form, field)
        assert _account(web, form["username"]) is None
    outside = ward_admin.post("/admin/users", data={"csrf_token": csrf, "username": "ngoai-pham-vi", "full_name": "A",
                                                    "org": OTHER, "role": "officer"}).get_data(as_text=True)
    assert any("ngoài phạm vi" in m for m in _field_errors(outside, "org"))
    # No CSRF token: refused before anything is read.
    assert ward_admin.post("/admin/users", data={"username": "khong-csrf", "full_name": "A", "org": CELL,
                                                 "role": "officer"}).status_code == 400
    assert _account(web, "khong-csrf") is None


def test_an_officer_grants_at_most_its_role_and_a_viewer_sees_no_administration(web):
    officer = _signed_in(web, "cb-dong-son", org=WARD, role="officer")
    csrf = csrf_of(officer, "/admin/users")
    page = officer.post("/admin/users", data={"csrf_token": csrf, "username": "len-quan-tri", "full_name": "A",
                                              "org": CELL, "role": "admin"})
    assert page.status_code == 403 and _field_errors(page.get_data(as_text=True), "role")
    assert _account(web, "len-quan-tri") is None
    assert officer.get("/admin/clients").status_code == 403  # API clients need admin
    assert officer.get("/admin/tree").status_code == 403
    viewer = _signed_in(web, "xem-dong-son", org=WARD, role="viewer")
    for path in ("/admin/users", "/admin/clients", "/admin/tree"):
        assert viewer.get(path).status_code == 403, path
    assert "Quản trị" not in viewer.get("/").get_data(as_text=True)


def test_deactivating_signs_the_person_out_and_a_reset_shows_a_new_password(web, ward_admin):
    person = _signed_in(web, "sap-bi-khoa", org=CELL, role="officer")
    assert person.get("/").status_code == 200
    csrf = csrf_of(ward_admin, "/admin/users/sap-bi-khoa")
    done = ward_admin.post("/admin/users/sap-bi-khoa", data={"csrf_token": csrf, "action": "inactive"})
    assert done.status_code == 302 and _account(web, "sap-bi-khoa")["active"] is False
    assert person.get("/").headers["Location"].startswith("/login")
    back = ward_admin.post("/admin/users/sap-bi-khoa", data={"csrf_token": csrf, "action": "active"})
    assert back.status_code == 302 and _account(web, "sap-bi-khoa")["active"] is True
    reset = ward_admin.post("/admin/users/sap-bi-khoa", data={"csrf_token": csrf, "action": "reset"})
    otp = re.search(r'data-secret="one-time-password">([^<]+)<', reset.get_data(as_text=True)).group(1)
    assert sign_in(web.test_client(), "sap-bi-khoa", otp).status_code == 302
    # A scope outside the subtree is refused next to the field; an unknown action changes nothing.
    moved = ward_admin.post("/admin/users/sap-bi-khoa", data={"csrf_token": csrf, "action": "scope", "org": OTHER,
                                                              "role": "officer"})
    assert moved.status_code == 403 and _field_errors(moved.get_data(as_text=True), "org")
    assert ward_admin.post("/admin/users/sap-bi-khoa", data={"csrf_token": csrf, "action": "xoa"}).status_code == 422
    assert _account(web, "sap-bi-khoa")["org"] == CELL
    # An account outside the subtree is not shown.
    add_user(web, "o-quang-cat", org=OTHER, role="officer")
    assert ward_admin.get("/admin/users/o-quang-cat").status_code == 403


def test_an_api_client_secret_is_shown_once_and_revoked_clients_are_marked(web, ward_admin):
    csrf = csrf_of(ward_admin, "/admin/clients")
    made = ward_admin.post("/admin/clients", data={"csrf_token": csrf, "name": "Phần mềm phường", "org": WARD,
                                                   "role": "officer"})
    html = made.get_data(as_text=True)
    assert made.status_code == 201 and made.headers["Cache-Control"] == "no-store"
    client_id = re.search(r'data-secret="client-id">([^<]+)<', html).group(1)
    secret = re.search(r'data-secret="client-secret">([^<]+)<', html).group(1)
    assert secret not in ward_admin.get("/admin/clients").get_data(as_text=True)
    refused = ward_admin.post("/admin/clients", data={"csrf_token": csrf, "name": "Ngoài", "org": OTHER,
                                                      "role": "officer"})
    assert refused.status_code == 403 and _field_errors(refused.get_data(as_text=True), "org")
    assert ward_admin.post(f"/admin/clients/{client_id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert "Đã thu hồi" in ward_admin.get("/admin/clients").get_data(as_text=True)


def test_a_move_is_confirmed_with_its_consequences_before_it_is_made(web, make_web, quota_url):
    suffix = uuid.uuid4().hex[:6].upper()
    ward_a, ward_b, cell = f"FA-{suffix}-A", f"FA-{suffix}-B", f"FA-{suffix}-A1"
    admin_headers = {"Authorization": "Bearer " + token(sub="t", org="*", role="admin")}
    for code, parent, kind in ((ward_a, "TP-THANH-HOA", "grassroots"), (ward_b, "TP-THANH-HOA", "grassroots"),
                               (cell, ward_a, "cell")):
        made = requests.post(f"{quota_url}/api/v1/organizations", headers=admin_headers, timeout=30,
                             json={"code": code, "name": f"Tổ chức {code}", "type": kind, "parent_code": parent,
                                   "effective_date": "2020-01-01"})
        assert made.status_code == 201, made.text
    city_admin = _signed_in(web, "qt-thanh-pho", org="TP-THANH-HOA", role="admin")
    csrf = csrf_of(city_admin, f"/admin/tree?org={cell}")
    form = {"csrf_token": csrf, "parent_code": ward_b, "effective_date": "2031-01-01"}
    confirm = city_admin.post(f"/admin/tree/{cell}/move", data=form)
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and 'data-consequences="move"' in html
    assert f"Tổ chức {ward_a}" in html and f"Tổ chức {ward_b}" in html and "01/01/2031" in html
    org = requests.get(f"{quota_url}/api/v1/organizations/{cell}", headers=admin_headers, timeout=30).json()
    assert org["parent_code"] == ward_a  # nothing changed before the confirmation
    done = city_admin.post(f"/admin/tree/{cell}/move", data={**form, "confirm": "1"})
    assert done.status_code == 302
    org = requests.get(f"{quota_url}/api/v1/organizations/{cell}", headers=admin_headers, timeout=30).json()
    assert org["parent_history"][-1] == {"parent_code": ward_b, "valid_from": "2031-01-01", "valid_to": None}
    # A cycle, a date before the latest change, and an organisation outside the subtree: next to the field.
    cycle = city_admin.post(f"/admin/tree/{ward_b}/move", data={"csrf_token": csrf, "parent_code": cell,
                                                                "effective_date": "2032-01-01"})
    assert cycle.status_code == 409 and _field_errors(cycle.get_data(as_text=True), "parent_code")
    early = city_admin.post(f"/admin/tree/{cell}/move", data={"csrf_token": csrf, "parent_code": ward_a,
                                                              "effective_date": "2030-01-01"})
    assert early.status_code == 409 and _field_errors(early.get_data(as_text=True), "effective_date")
    outside = city_admin.post(f"/admin/tree/{cell}/move", data={"csrf_token": csrf, "parent_code": "TINH-THANH-HOA",
                                                                "confirm": "1"})
    assert outside.status_code == 403 and _field_errors(outside.get_data(as_text=True), "parent_code")
    bad = city_admin.post(f"/admin/tree/{cell}/move", data={"csrf_token": csrf, "parent_code": ward_a,
                                                            "effective_date": "31/12/2031"})
    assert bad.status_code == 422 and _field_errors(bad.get_data(as_text=True), "effective_date")
    assert city_admin.post(f"/admin/tree/{cell}/explode", data={"csrf_token": csrf}).status_code == 404


def test_a_national_account_enters_the_overview_through_the_provinces(web):
    national = _signed_in(web, "xem-toan-quoc", org="*", role="viewer")
    home = national.get("/").get_data(as_text=True)
    assert 'href="/org">Tổng quan<' in home
    html = national.get("/org").get_data(as_text=True)
    assert 'href="/org/TINH-THANH-HOA?period=' in html and "Đảng bộ tỉnh Thanh Hóa" in html
    ward = _signed_in(web, "xem-dong-son-2", org=WARD, role="viewer")
    assert ward.get("/org").headers["Location"].startswith(f"/org/{WARD}?period=")


def test_control_characters_in_paths_and_queries_are_refused_before_anything_is_read(web, ward_admin):
    for path, status in (("/admin/users?q=a%00b", 422), ("/admin/users?org=P%00X", 422), ("/admin/tree?org=%00", 422),
                         ("/admin/users/ab%00c", 404), ("/admin/clients?org=%01", 422)):
        page = ward_admin.get(path)
        assert page.status_code == status, path
        assert "<html" in page.get_data(as_text=True)  # a page, not a crash
    csrf = csrf_of(ward_admin, "/admin/clients")
    assert ward_admin.post("/admin/clients/ct%00x/revoke", data={"csrf_token": csrf}).status_code == 404
    assert ward_admin.post("/admin/tree/P%00/move", data={"csrf_token": csrf, "parent_code": WARD}).status_code == 404


def _workbook(rows) -> bytes:
    import io

    import openpyxl
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Tên đăng nhập", "Họ và tên", "Tổ chức", "Vai trò"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_bulk_accounts_from_an_xlsx_answer_the_passwords_all_or_nothing(web, ward_admin):
    import io

    import openpyxl
    csrf = csrf_of(ward_admin, "/admin/users")
    bad = _workbook([("lo-mot", "Lô Một", CELL, "Cán bộ"), ("lo-hai", "Lô Hai", OTHER, "Cán bộ")])
    refused = ward_admin.post("/admin/users/import", data={"csrf_token": csrf, "file": (io.BytesIO(bad), "ds.xlsx")},
                              content_type="multipart/form-data")
    report = _field_errors(refused.get_data(as_text=True), "file")
    assert refused.status_code == 422 and any(m.startswith("Dòng 3: org:") for m in report), report
    assert _account(web, "lo-mot") is None  # all or nothing
    good = _workbook([("lo-mot", "Lô Một", CELL, "Cán bộ"), ("lo-hai", "Lô Hai", "P-DONG-SON-CB2", "Xem")])
    answer = ward_admin.post("/admin/users/import", data={"csrf_token": csrf, "file": (io.BytesIO(good), "ds.xlsx")},
                             content_type="multipart/form-data")
    assert answer.status_code == 201 and answer.headers["Cache-Control"] == "no-store"
    rows = list(openpyxl.load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == ["lo-mot", "lo-hai"]
    assert sign_in(web.test_client(), "lo-hai", rows[2][4]).status_code == 302
    assert _account(web, "lo-hai")["role"] == "viewer"
    empty = ward_admin.post("/admin/users/import", data={"csrf_token": csrf}, content_type="multipart/form-data")
    assert empty.status_code == 422 and _field_errors(empty.get_data(as_text=True), "file")


def test_create_rename_and_merge_each_confirmed_first(web, quota_url):
    suffix = uuid.uuid4().hex[:6].upper()
    ward, kept, gone = f"FB-{suffix}", f"FB-{suffix}-1", f"FB-{suffix}-2"
    headers = {"Authorization": "Bearer " + token(sub="t", org="*", role="admin")}
    city_admin = _signed_in(web, "qt-thanh-pho-2", org="TP-THANH-HOA", role="admin")
    csrf = csrf_of(city_admin, "/admin/tree?org=TP-THANH-HOA")
    for code, parent, kind in ((ward, "TP-THANH-HOA", "grassroots"), (kept, ward, "cell"), (gone, ward, "cell")):
        form = {"csrf_token": csrf, "code": code, "name": f"Tên {code}", "type": kind, "effective_date": "2021-01-01"}
        confirm = city_admin.post(f"/admin/tree/{parent}/create", data=form)
        assert confirm.status_code == 200 and 'data-consequences="create"' in confirm.get_data(as_text=True)
        assert "01/01/2021" in confirm.get_data(as_text=True)
        assert requests.get(f"{quota_url}/api/v1/organizations/{code}", headers=headers, timeout=30).status_code == 404
        assert city_admin.post(f"/admin/tree/{parent}/create", data={**form, "confirm": "1"}).status_code == 302
    child = requests.post(f"{quota_url}/api/v1/organizations", headers=headers, timeout=30, json={
        "code": f"{gone}-T", "name": "Tổ", "type": "other", "parent_code": gone, "effective_date": "2021-01-01"})
    assert child.status_code == 201
    renamed = city_admin.post(f"/admin/tree/{kept}/rename", data={"csrf_token": csrf, "name": "Chi bộ Mới",
                                                                  "effective_date": "2022-01-01", "confirm": "1"})
    assert renamed.status_code == 302
    assert requests.get(f"{quota_url}/api/v1/organizations/{kept}", headers=headers, timeout=30).json()[
        "name"] == "Chi bộ Mới"
    form = {"csrf_token": csrf, "into_code": kept, "effective_date": "2023-01-01"}
    confirm = city_admin.post(f"/admin/tree/{gone}/merge", data=form).get_data(as_text=True)
    assert 'data-consequences="merge"' in confirm and "1 tổ chức trực thuộc" in confirm and "Chi bộ Mới" in confirm
    assert city_admin.post(f"/admin/tree/{gone}/merge", data={**form, "confirm": "1"}).status_code == 302
    merged = requests.get(f"{quota_url}/api/v1/organizations/{gone}", headers=headers, timeout=30).json()
    assert merged["status"] == "merged" and merged["merged_into"] == kept
    duplicate = city_admin.post(f"/admin/tree/{ward}/create", data={"csrf_token": csrf, "code": kept, "name": "X",
                                                                    "type": "cell", "confirm": "1"})
    assert duplicate.status_code == 409 and _field_errors(duplicate.get_data(as_text=True), "code")
