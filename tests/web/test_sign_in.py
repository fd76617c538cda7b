"""Sign-in pages against the real database (SQLite, PostgreSQL) and Redis (Flask-Limiter)."""
from __future__ import annotations

import re
import statistics
import time

import pytest

from tests.web.conftest import CSRF, PASSWORD, add_user, bearer, csrf_of, sign_in

pytestmark = pytest.mark.integration


def test_sign_in_shows_who_you_are(web):
    add_user(web, "can-bo-dong-son", org="P-DONG-SON", role="officer", full_name="Lê Thị Hoa")
    client = web.test_client()
    response = sign_in(client, "Can-Bo-Dong-Son")  # usernames are not case-sensitive
    assert response.status_code == 302 and response.headers["Location"] == "/"
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("chitieu_session="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie  # plain HTTP here
    page = client.get("/").get_data(as_text=True)
    assert "Xin chào, Lê Thị Hoa" in page
    assert "Đảng bộ phường Đông Sơn" in page and "P-DONG-SON" in page  # the name comes from the quota API
    assert "Cán bộ nghiệp vụ" in page
    client.get("/lang/en")
    page = client.get("/").get_data(as_text=True)
    assert "Hello, Lê Thị Hoa" in page and "Officer" in page and "Sign out" in page


def test_cookies_are_secure_behind_https(make_web):
    web = make_web(proxy_hops=1)
    add_user(web, "tinh-uy", org="*", role="admin")
    client = web.test_client()
    # The proxy says the browser came over HTTPS; a browser's same-origin POST carries its Referer.
    https = {"X-Forwarded-Proto": "https", "Referer": "https://localhost/login"}
    page = client.get("/login", headers=https)
    assert "Secure" in page.headers["Set-Cookie"]
    response = client.post("/login", data={"username": "tinh-uy", "password": PASSWORD,
                                           "csrf_token": CSRF.search(page.get_data(as_text=True)).group(1)},
                           headers=https)
    assert response.status_code == 302
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("chitieu_session="))
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_unknown_user_and_wrong_password_answer_alike(make_web):
    web = make_web(login_max_failures=100)
    add_user(web, "co-that", org="P-DONG-SON", role="viewer")
    client = web.test_client()

    def attempt(username):
        started = time.perf_counter()
        response = sign_in(client, username, "sai-mat-khau-roi")
        return response, time.perf_counter() - started

    wrong, _ = attempt("co-that")
    unknown, _ = attempt("khong-co-ai")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: r.get_data(as_text=True).replace("co-that", "X").replace("khong-co-ai", "X")  # noqa: E731
    no_token = lambda text: re.sub(r'value="[^"]*"', "", text)  # noqa: E731
    assert no_token(strip(wrong)) == no_token(strip(unknown))
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in wrong.get_data(as_text=True)
    # Timing: both verify one argon2id hash; medians within a factor of 1.5.
    known = statistics.median(attempt("co-that")[1] for _ in range(7))
    nobody = statistics.median(attempt("khong-co-ai")[1] for _ in range(7))
    assert 1 / 1.5 < known / nobody < 1.5, (known, nobody)


def test_lock_out_after_repeated_failures(make_web):
    web = make_web(login_max_failures=3, login_lockout_minutes=15)
    add_user(web, "bi-khoa", org="P-DONG-SON", role="viewer")
    add_user(web, "nguoi-khac", org="P-DONG-SON", role="viewer")
    client = web.test_client()
    for _ in range(3):
        assert sign_in(client, "bi-khoa", "sai-mat-khau-roi").status_code == 401
    locked = sign_in(client, "bi-khoa")  # the right password, too late
    assert locked.status_code == 429
    assert "tạm khóa" in locked.get_data(as_text=True)
    assert not any(c.startswith("chitieu_session=") for c in locked.headers.getlist("Set-Cookie"))
    # An unknown username is locked out the same way (no enumeration through the lock-out).
    for _ in range(3):
        assert sign_in(client, "khong-ton-tai", "sai-mat-khau-roi").status_code == 401
    assert sign_in(client, "khong-ton-tai", "sai-mat-khau-roi").status_code == 429
    # Another account is not affected; a success is not counted.
    assert sign_in(client, "nguoi-khac").status_code == 302


def test_deactivated_user_is_signed_out_at_once(web):
    add_user(web, "can-bo", org="P-DONG-SON-CB1", role="officer")
    client = web.test_client()
    assert sign_in(client, "can-bo").status_code == 302
    assert client.get("/").status_code == 200
    api = web.test_client()
    response = api.patch("/api/v1/users/can-bo", json={"active": False},
                         headers=bearer(sub="quan-tri", org="P-DONG-SON", role="admin"))
    assert response.status_code == 200 and response.get_json()["active"] is False
    page = client.get("/")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    assert sign_in(web.test_client(), "can-bo").status_code == 401  # and cannot sign in again


def test_password_reset_signs_out_and_forces_a_change(web):
    add_user(web, "bi-quen", org="P-DONG-SON-CB1", role="viewer")
    client = web.test_client()
    assert sign_in(client, "bi-quen").status_code == 302
    reset = web.test_client().post("/api/v1/users/bi-quen/reset-password",
                                   headers=bearer(org="P-DONG-SON", role="officer"))
    assert reset.status_code == 200
    assert client.get("/").status_code == 302
    fresh = web.test_client()
    first = sign_in(fresh, "bi-quen", reset.get_json()["one_time_password"])
    assert first.headers["Location"] == "/password"
    assert fresh.get("/").headers["Location"] == "/password"  # nothing else until it is changed


def test_csrf_is_refused(web):
    add_user(web, "nguoi-dung", org="P-DONG-SON", role="viewer")
    client = web.test_client()
    client.get("/login")
    refused = client.post("/login", data={"username": "nguoi-dung", "password": PASSWORD})
    assert refused.status_code == 400 and "Biểu mẫu" in refused.get_data(as_text=True)
    assert not any(c.startswith("chitieu_session=") for c in refused.headers.getlist("Set-Cookie"))
    forged = client.post("/login", data={"username": "nguoi-dung", "password": PASSWORD, "csrf_token": "forged"})
    assert forged.status_code == 400
    assert sign_in(client, "nguoi-dung").status_code == 302
    assert client.post("/logout").status_code == 400  # a cross-site sign-out is refused too
    assert client.get("/").status_code == 200


def test_password_change_revokes_other_sessions(web):
    add_user(web, "hai-may", org="P-DONG-SON", role="viewer")
    phone, desktop = web.test_client(), web.test_client()
    assert sign_in(phone, "hai-may").status_code == 302
    assert sign_in(desktop, "hai-may").status_code == 302
    new = "mot-mat-khau-moi-hoan-toan"
    changed = desktop.post("/password", data={"current_password": PASSWORD, "new_password": new, "confirm": new,
                                              "csrf_token": csrf_of(desktop, "/password")})
    assert changed.status_code == 302
    assert desktop.get("/").status_code == 200  # the session that changed it goes on
    assert phone.get("/").headers["Location"].startswith("/login")  # the other one is gone
    assert sign_in(web.test_client(), "hai-may", new).status_code == 302
    assert sign_in(web.test_client(), "hai-may").status_code == 401


def test_a_weak_new_password_is_refused_next_to_its_field(web):
    add_user(web, "yeu", org="P-DONG-SON", role="viewer", must_change=True)
    client = web.test_client()
    assert sign_in(client, "yeu").headers["Location"] == "/password"
    refused = client.post("/password", data={"current_password": PASSWORD, "new_password": "ngan",
                                             "confirm": "ngan", "csrf_token": csrf_of(client, "/password")})
    assert refused.status_code == 422
    assert "Mật khẩu cần ít nhất 10 ký tự" in refused.get_data(as_text=True)


def test_sign_out(web):
    add_user(web, "ra-ve", org="P-DONG-SON", role="viewer")
    client = web.test_client()
    sign_in(client, "ra-ve")
    csrf = CSRF.search(client.get("/").get_data(as_text=True)).group(1)
    out = client.post("/logout", data={"csrf_token": csrf})
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    assert client.get("/").headers["Location"].startswith("/login")
    assert "Bạn đã đăng xuất." in client.get("/login").get_data(as_text=True)
