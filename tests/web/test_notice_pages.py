"""The inbox and subscriptions pages in process, against the notification API served over real HTTP
(its own SQLite file, the tree of phường Đông Sơn): notices listed newest first with Vietnamese
dates, read and unread with the header's count answered beside them, the kind filter, the live
poll's new notices, pages of 20, "mark all read"; subscriptions created (refusals named next to their
field), deleted, read-only for a viewer; failed deliveries listed with their last error and resent.
Bad or hostile input (an unknown kind, a missing CSRF token, another ward's inbox) is refused and
changes nothing."""
from __future__ import annotations

import re
import threading
import uuid

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from services.notifications import tree
from services.notifications.app import create_app as create_notifications_app
from services.notifications.models import Base, Notification, NotificationRead, Subscription
from shared.db import Database
from shared.migrations import upgrade
from services.web.app import create_app
from services.web.settings import WebSettings
from tests.support import org_state
from tests.web.conftest import CSRF, add_user, sign_in

pytestmark = pytest.mark.integration
TREE = [("TPTH", "Đảng bộ thành phố Thanh Hóa", "city", None),
        ("DONGSON", "Đảng bộ phường Đông Sơn", "grassroots", "TPTH"),
        ("QUANGCAT", "Đảng bộ phường Quảng Cát", "grassroots", "TPTH")]


@pytest.fixture
def notifications(make_settings, tmp_path):
    """The notification API over HTTP and its database."""
    settings = make_settings("notifications", database_url=f"sqlite:///{tmp_path}/notifications.db",
                             log_level="WARNING")
    db = Database(settings.database_url, Base.metadata)
    db.create_all()
    with db.transaction() as session:
        for code, name, type_, parent in TREE:
            tree.REPLICA.apply(session, org_state(code, name, type_, parent))
    server = make_server("127.0.0.1", 0, create_notifications_app(settings, db=db), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", db
    server.shutdown()
    db.dispose()


@pytest.fixture
def web(make_settings, notifications, redis_client):
    settings = make_settings("web", service_urls={"notifications": notifications[0]}, log_level="WARNING")
    upgrade("web", settings.database_url)
    app = create_app(settings, web_settings=WebSettings())
    app.config["TESTING"] = False  # CSRF stays on, as deployed
    yield app
    app.extensions["db"].dispose()


def person(web, username: str, *, org: str = "DONGSON", role: str = "officer"):
    add_user(web, username, org=org, role=role)
    client = web.test_client()
    assert sign_in(client, username).status_code == 302
    return client


def notice(db, *, org: str = "DONGSON", kind: str = "quota_met", period: str = "2024", channel: str = "inbox",
           status: str = "delivered", subscription_id: int | None = None, last_error: str | None = None) -> int:
    with db.transaction() as session:
        row = Notification(delivery_id=str(uuid.uuid4()), recipient=f"inbox:{org}" if channel == "inbox" else
                           f"subscription:{subscription_id}", subscription_id=subscription_id, channel=channel,
                           recipient_org_code=org, org_code=org, org_name=dict((c, n) for c, n, _, _ in TREE)[org],
                           kind=kind, period=period, occurrence=f"{period}-{uuid.uuid4()}", language="vi",
                           text=f"{kind} {period} của {org}", payload={}, source_event_id=str(uuid.uuid4()),
                           status=status, attempts=8 if status == "failed" else 0, last_error=last_error)
        session.add(row)
        session.flush()
        return row.id


def csrf(client, path: str) -> str:
    return CSRF.search(client.get(path).get_data(as_text=True)).group(1)


def reads(db) -> int:
    with db.sessions() as session:
        return len(session.scalars(select(NotificationRead)).all())


def test_the_inbox_page_lists_reads_filters_and_polls(web, notifications):
    _url, db = notifications
    met, milestone = notice(db, period="2023"), notice(db, kind="milestone_reached")
    notice(db, org="QUANGCAT")
    officer = person(web, "can-bo-inbox")
    page = officer.get("/inbox")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.findall(r'data-notice="([a-z_]+)"', html) == ["milestone_reached", "quota_met"]  # newest first
    assert "Đạt mốc chỉ tiêu" in html and "Hoàn thành chỉ tiêu" in html and "QUANGCAT" not in html
    assert re.search(r"<time>\d\d/\d\d/\d{4} \d\d:\d\d</time>", html)
    assert 'id="unread-badge"' in html and f'/inbox/poll?org=DONGSON&amp;after={milestone}' in html
    assert 'data-unread="2"' in officer.get("/inbox/badge").get_data(as_text=True)

    # Read, with the new count beside it for the header (htmx out-of-band); a POST without the CSRF
    # token changes nothing.
    assert officer.post(f"/inbox/notices/{met}/read", headers={"HX-Request": "true"}).status_code == 400
    assert reads(db) == 0
    token = csrf(officer, "/inbox")
    marked = officer.post(f"/inbox/notices/{met}/read", data={"csrf_token": token, "org": "DONGSON"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="notice-{met}"' in marked and 'data-read="yes"' in marked
    assert 'hx-swap-oob="outerHTML"' in marked and 'data-unread="1"' in marked
    again = officer.post(f"/inbox/notices/{met}/unread", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert 'data-read="no"' in again.get_data(as_text=True) and 'data-unread="2"' in again.get_data(as_text=True)

    # The kind filter; an unknown kind or another ward's inbox is refused.
    only = officer.get("/inbox?kind=milestone_reached").get_data(as_text=True)
    assert re.findall(r'data-notice="([a-z_]+)"', only) == ["milestone_reached"]
    assert officer.get("/inbox?kind=gossip").status_code == 400
    other = officer.get("/inbox?org=QUANGCAT")
    assert other.status_code == 403 and "Không có quyền truy cập" in other.get_data(as_text=True)
    assert officer.get("/inbox/poll?org=DONGSON&after=-1").status_code == 400

    # The live poll: nothing after the newest shown, then the notice that came.
    assert "data-notice" not in officer.get(f"/inbox/poll?org=DONGSON&after={milestone}").get_data(as_text=True)
    newer = notice(db, kind="quota_exceeded")
    polled = officer.get(f"/inbox/poll?org=DONGSON&after={milestone}").get_data(as_text=True)
    assert 'hx-swap-oob="afterbegin:#inbox-items"' in polled and f'id="notice-{newer}"' in polled
    assert f"after={newer}" in polled  # the next poll starts after it
    unread_only = officer.get("/inbox?unread=1").get_data(as_text=True)
    assert f"/inbox/poll?org=DONGSON&amp;after={newer}&amp;unread=1" in unread_only  # the poll keeps the filter
    officer.post(f"/inbox/notices/{newer}/read", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert "data-notice" not in officer.get(f"/inbox/poll?org=DONGSON&after={milestone}&unread=1").get_data(as_text=True)
    officer.post(f"/inbox/notices/{newer}/unread", data={"csrf_token": token}, headers={"HX-Request": "true"})

    # Mark all read: up to the newest the page showed.
    done = officer.post("/inbox/read", data={"csrf_token": token, "org": "DONGSON", "up_to_id": str(milestone)})
    assert done.status_code == 302
    assert 'data-unread="1"' in officer.get("/inbox/badge").get_data(as_text=True)  # the newer one is left
    assert "Đã đánh dấu 2 thông báo là đã đọc." in officer.get("/inbox").get_data(as_text=True)


def test_the_inbox_pages_by_twenty(web, notifications):
    _url, db = notifications
    for year in range(2000, 2025):
        notice(db, period=str(year))
    officer = person(web, "can-bo-trang")
    first = officer.get("/inbox").get_data(as_text=True)
    assert first.count('class="notice-item') == 20 and "Trang 1 / 2 (25 mục)" in first
    assert 'href="/inbox?page=2" rel="next"' in first
    second = officer.get("/inbox?page=2").get_data(as_text=True)
    assert second.count('class="notice-item') == 5 and 'rel="prev"' in second
    assert "inbox-poll" not in second  # only the first page takes new notices in
    assert officer.get("/inbox?page=0").status_code == 400


def test_subscriptions_are_made_refused_and_deleted_on_the_page(web, notifications):
    _url, db = notifications
    officer = person(web, "can-bo-dang-ky")
    token = csrf(officer, "/subscriptions")
    bad = officer.post("/subscriptions", data={"csrf_token": token, "channel": "email", "target": "khong-phai-thu",
                                               "events": "quota_met"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert re.search(r'id="target-errors"><p class="field-error">[^<]*e-mail', html)
    none = officer.post("/subscriptions", data={"csrf_token": token, "channel": "inbox"})
    assert none.status_code == 422 and "Chọn ít nhất một loại thông báo." in none.get_data(as_text=True)
    with db.sessions() as session:
        assert session.scalars(select(Subscription)).all() == []

    made = officer.post("/subscriptions", data={"csrf_token": token, "channel": "email", "target": "cap-uy@example.vn",
                                                "events": ["quota_met", "milestone_reached"], "include_subtree": "1"})
    assert made.status_code == 302
    page = officer.get("/subscriptions").get_data(as_text=True)
    assert "Đã tạo đăng ký" in page and "cap-uy@example.vn" in page and "Hoàn thành chỉ tiêu, Đạt mốc chỉ tiêu" in page
    with db.sessions() as session:
        [sub] = session.scalars(select(Subscription)).all()
        assert (sub.org_code, sub.include_subtree, sub.created_by) == ("DONGSON", True, "can-bo-dang-ky")

    viewer = person(web, "nguoi-xem", role="viewer")
    seen = viewer.get("/subscriptions").get_data(as_text=True)
    assert "cap-uy@example.vn" in seen and 'id="new-subscription"' not in seen and 'data-action="test"' not in seen
    assert viewer.post(f"/subscriptions/{sub.id}/delete", data={"csrf_token": csrf(viewer, "/subscriptions")}
                       ).status_code == 403

    assert officer.post(f"/subscriptions/{sub.id}/delete", data={"csrf_token": token}).status_code == 302
    assert "cap-uy@example.vn" not in officer.get("/subscriptions").get_data(as_text=True)
    tested = officer.post(f"/subscriptions/{sub.id}/test", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert tested.status_code == 200 and 'data-test-status=""' in tested.get_data(as_text=True)  # gone: said so


def test_failed_deliveries_are_listed_and_resent(web, notifications):
    _url, db = notifications
    with db.transaction() as session:
        sub = Subscription(org_code="DONGSON", include_subtree=False, events=["quota_met"], channel="webhook",
                           target="https://he-thong-tinh.example.vn/hook", secret="s" * 32, language="vi",
                           created_by="tester")
        session.add(sub)
        session.flush()
        sub_id = sub.id
    failed = notice(db, channel="webhook", status="failed", subscription_id=sub_id, last_error="HTTP 500")
    officer = person(web, "can-bo-gui-lai")
    page = officer.get("/subscriptions").get_data(as_text=True)
    assert f'data-failed="{failed}"' in page and "HTTP 500" in page and "Gửi không thành công" in page
    resent = officer.post(f"/deliveries/{failed}/resend", data={"csrf_token": csrf(officer, "/subscriptions")},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert f'id="failed-{failed}"' in resent and "Đang chờ gửi" in resent
    with db.sessions() as session:
        assert session.get(Notification, failed).status == "pending"
    assert f'data-failed="{failed}"' not in officer.get("/subscriptions").get_data(as_text=True)
