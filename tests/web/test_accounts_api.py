"""Accounts through the web service's API: who may create and change which accounts, decided
with the real quota API's tree (over HTTP, with the caller's own token); bulk creation from XLSX."""
from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from tests.web.conftest import add_user, bearer, sign_in

pytestmark = pytest.mark.integration

WARD_OFFICER = dict(sub="can-bo-dong-son", org="P-DONG-SON", role="officer")


def create(client, headers, **body):
    return client.post("/api/v1/users", json={"full_name": "Nguyễn Văn An", "role": "viewer", **body},
                       headers=headers)


def test_officer_creates_accounts_in_its_subtree_only(web):
    client = web.test_client()
    officer = bearer(**WARD_OFFICER)
    made = create(client, officer, username="bi-thu-cb1", org="P-DONG-SON-CB1", role="officer")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["org"] == "P-DONG-SON-CB1" and body["must_change_password"] is True
    assert body["created_by"] == "can-bo-dong-son" and len(body["one_time_password"]) >= 12
    # The one-time password signs in, straight to the password change.
    assert sign_in(web.test_client(), "bi-thu-cb1", body["one_time_password"]).headers["Location"] == "/password"

    outside = create(client, officer, username="ngoai-pham-vi", org="P-QUANG-CAT-CB1")
    assert outside.status_code == 403 and "org" in outside.get_json()["errors"]
    above = create(client, officer, username="cap-tren", org="TP-THANH-HOA")
    assert above.status_code == 403
    higher = create(client, officer, username="quan-tri-moi", org="P-DONG-SON-CB1", role="admin")
    assert higher.status_code == 403 and "role" in higher.get_json()["errors"]
    country = create(client, officer, username="toan-quoc", org="*")
    assert country.status_code == 403
    # An unknown code is outside every subtree (the quota service says 403); the whole country learns 422.
    assert create(client, officer, username="khong-co", org="KHONG-CO-TO-CHUC").status_code == 403
    unknown = create(client, bearer(org="*", role="admin"), username="khong-co", org="KHONG-CO-TO-CHUC")
    assert unknown.status_code == 422 and "org" in unknown.get_json()["errors"]
    viewer = create(client, bearer(sub="v", org="P-DONG-SON", role="viewer"), username="xem", org="P-DONG-SON")
    assert viewer.status_code == 403
    assert create(client, officer, username="bi-thu-cb1", org="P-DONG-SON-CB1").status_code == 409
    assert client.get("/api/v1/users/ngoai-pham-vi", headers=bearer(org="*", role="admin")).status_code == 404


def test_officer_manages_only_accounts_below_it(web):
    add_user(web, "quang-cat", org="P-QUANG-CAT", role="officer")
    add_user(web, "cb1", org="P-DONG-SON-CB1", role="viewer")
    add_user(web, "quan-tri-phuong", org="P-DONG-SON", role="admin")
    client, officer = web.test_client(), bearer(**WARD_OFFICER)
    assert client.patch("/api/v1/users/quang-cat", json={"active": False}, headers=officer).status_code == 403
    assert client.post("/api/v1/users/quang-cat/reset-password", headers=officer).status_code == 403
    assert client.patch("/api/v1/users/quan-tri-phuong", json={"active": False}, headers=officer).status_code == 403
    moved = client.patch("/api/v1/users/cb1", json={"org": "P-DONG-SON-CB2"}, headers=officer)
    assert moved.status_code == 200 and moved.get_json()["org"] == "P-DONG-SON-CB2"
    assert client.patch("/api/v1/users/cb1", json={"org": "P-QUANG-CAT-CB2"}, headers=officer).status_code == 403
    assert client.patch("/api/v1/users/cb1", json={"role": "admin"}, headers=officer).status_code == 403
    listed = client.get("/api/v1/users?org=P-DONG-SON-CB2", headers=officer).get_json()
    assert [u["username"] for u in listed] == ["cb1"]
    assert client.get("/api/v1/users?org=P-QUANG-CAT", headers=officer).status_code == 403
    assert client.get("/api/v1/users").status_code == 401


def xlsx(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(client, headers, content):
    return client.post("/api/v1/users/import", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), "tai-khoan.xlsx")})


def test_bulk_accounts_for_cell_secretaries(web):
    client, officer = web.test_client(), bearer(**WARD_OFFICER)
    content = xlsx([("Tên đăng nhập", "Họ và tên", "Tổ chức", "Vai trò"),
                    ("bt-khu-pho-1", "Trần Thị Bình", "P-DONG-SON-CB1", "Cán bộ"),
                    ("bt-khu-pho-2", "Lê Văn Cường", "P-DONG-SON-CB2", "")])
    answer = upload(client, officer, content)
    assert answer.status_code == 201, answer.get_data(as_text=True)
    assert answer.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(answer.data)).active.iter_rows(values_only=True))
    assert rows[0] == ("Tên đăng nhập", "Họ và tên", "Tổ chức", "Vai trò", "Mật khẩu dùng một lần")
    assert [r[:4] for r in rows[1:]] == [("bt-khu-pho-1", "Trần Thị Bình", "P-DONG-SON-CB1", "officer"),
                                         ("bt-khu-pho-2", "Lê Văn Cường", "P-DONG-SON-CB2", "officer")]
    for username, _name, _org, _role, otp in rows[1:]:
        assert sign_in(web.test_client(), username, otp).headers["Location"] == "/password"


def test_bulk_file_with_a_bad_row_creates_nothing(web):
    client, officer = web.test_client(), bearer(**WARD_OFFICER)
    content = xlsx([("Tên đăng nhập", "Họ và tên", "Tổ chức"),
                    ("bt-hop-le", "Trần Thị Bình", "P-DONG-SON-CB1"),
                    ("bt-ngoai", "Lê Văn Cường", "P-QUANG-CAT-CB1"),
                    ("bt-hop-le", "Trùng Tên", "P-DONG-SON-CB2")])
    refused = upload(client, officer, content)
    assert refused.status_code == 422
    report = {r["line"]: r["errors"] for r in refused.get_json()["errors"]["rows"]}
    assert set(report) == {3, 4} and "org" in report[3] and "username" in report[4]
    assert client.get("/api/v1/users?org=P-DONG-SON-CB1", headers=officer).get_json() == []


def test_the_command_line_creates_and_resets_accounts(web, monkeypatch, capsys):
    from services.web.cli import main

    monkeypatch.setenv("CHITIEU_WEB_DATABASE_URL", web.extensions["db"].url)
    main(["users", "create", "--username", "tinh-uy", "--full-name", "Tỉnh ủy", "--org", "*", "--role", "admin"])
    otp = capsys.readouterr().out.strip().splitlines()[-1].split()[-1]
    assert sign_in(web.test_client(), "tinh-uy", otp).headers["Location"] == "/password"
    main(["users", "deactivate", "tinh-uy"])
    assert sign_in(web.test_client(), "tinh-uy", otp).status_code == 401
