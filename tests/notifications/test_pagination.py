"""The notification API's lists follow the one pagination convention (shared/pagination.py): the
inbox, the notices (with the failed ones to resend) and the subscriptions answer
{items, total, page, per_page, next} with a Link header, pages neither skip nor repeat, a page
past the end is empty, and a bad page or per_page is refused naming the field."""
import pytest

from services.notifications.app import create_app

from .conftest import milestone, quota_met, record_of

pytestmark = pytest.mark.integration
PERIODS = ["2021", "2022", "2023", "2024", "2025"]


@pytest.fixture
def client(db, settings):
    return create_app(settings, db=db).test_client()


@pytest.fixture
def five_notices(client, runner, token):
    """Five "quota met" notices (one a year) in phường Đông Sơn's inbox, oldest first by id."""
    created = client.post("/api/v1/subscriptions", headers=token(), json={
        "org_code": "DONGSON", "events": ["quota_met", "milestone_reached"], "channel": "inbox"})
    assert created.status_code == 201, created.json
    for period in PERIODS:
        runner.process(record_of(quota_met(period=period)))
    return created.json


def test_the_inbox_is_paged(client, five_notices, token):
    viewer = token("DONGSON", "viewer")
    first = client.get("/api/v1/inbox/DONGSON", query_string={"per_page": 2}, headers=viewer)
    assert first.status_code == 200, first.json
    assert {k: first.json[k] for k in ("total", "page", "per_page")} == {"total": 5, "page": 1, "per_page": 2}
    assert [n["period"] for n in first.json["items"]] == ["2025", "2024"]  # newest first
    assert first.json["next"].endswith("per_page=2&page=2")
    assert first.headers["Link"] == f'<{first.json["next"]}>; rel="next"'
    assert first.headers["X-Unread-Count"] == "5"

    seen = []
    for number in (1, 2, 3):
        page = client.get("/api/v1/inbox/DONGSON", query_string={"per_page": 2, "page": number}, headers=viewer).json
        seen += [n["period"] for n in page["items"]]
    assert seen == PERIODS[::-1]  # every notice once, in order
    last = client.get("/api/v1/inbox/DONGSON", query_string={"per_page": 2, "page": 3}, headers=viewer)
    assert last.json["next"] is None and 'rel="prev"' in last.headers["Link"] and 'rel="next"' not in last.headers["Link"]
    past = client.get("/api/v1/inbox/DONGSON", query_string={"per_page": 2, "page": 9}, headers=viewer).json
    assert past["items"] == [] and past["total"] == 5


def test_after_id_and_kind_filter_within_the_convention(client, five_notices, runner, token):
    viewer = token("DONGSON", "viewer")
    items = client.get("/api/v1/inbox/DONGSON", headers=viewer).json["items"]
    newest = items[0]["id"]
    runner.process(record_of(milestone(milestone=50, period="2026")))
    newer = client.get("/api/v1/inbox/DONGSON", query_string={"after_id": newest}, headers=viewer).json
    assert [(n["kind"], n["period"]) for n in newer["items"]] == [("milestone_reached", "2026")]
    assert newer["total"] == 1
    met = client.get("/api/v1/inbox/DONGSON", query_string={"kind": "quota_met", "per_page": 1}, headers=viewer).json
    assert met["total"] == 5 and [n["kind"] for n in met["items"]] == ["quota_met"]


@pytest.mark.parametrize("query, field", [({"per_page": 0}, "per_page"), ({"per_page": 501}, "per_page"),
                                          ({"page": 0}, "page"), ({"page": "x"}, "page"),
                                          ({"after_id": -1}, "after_id")])
def test_a_bad_page_is_refused_naming_the_field(client, five_notices, token, query, field):
    for path in ("/api/v1/inbox/DONGSON", "/api/v1/notifications", "/api/v1/subscriptions"):
        if field == "after_id" and path != "/api/v1/inbox/DONGSON":
            continue
        answer = client.get(path, query_string=query, headers=token("DONGSON", "viewer"))
        assert answer.status_code == 422, (path, answer.json)
        assert answer.mimetype == "application/problem+json"
        assert f"query.{field}" in answer.json["errors"], answer.json


def test_notifications_and_failed_ones_are_paged(client, five_notices, db, token):
    from sqlalchemy import select

    from services.notifications.models import Notification

    with db.transaction() as session:  # two of them as the deliverer leaves a notice out of attempts
        for notice in session.scalars(select(Notification).where(Notification.recipient_org_code == "DONGSON")
                                      .order_by(Notification.id).limit(2)):
            notice.status, notice.last_error = "failed", "HTTP 500"
    officer = token("DONGSON", "officer")
    everything = client.get("/api/v1/notifications", query_string={"per_page": 3}, headers=officer)
    assert (everything.json["total"], len(everything.json["items"])) == (5, 3)
    assert 'rel="next"' in everything.headers["Link"]
    failed = client.get("/api/v1/notifications", query_string={"status": "failed", "per_page": 1}, headers=officer)
    assert failed.json["total"] == 2
    assert [(n["period"], n["last_error"]) for n in failed.json["items"]] == [("2022", "HTTP 500")]
    second = client.get(failed.json["next"], headers=officer).json
    assert [n["period"] for n in second["items"]] == ["2021"] and second["next"] is None


def test_subscriptions_are_paged(client, five_notices, token):
    for n in range(3):
        made = client.post("/api/v1/subscriptions", headers=token(), json={
            "org_code": "DONGSON", "events": ["quota_met"], "channel": "email", "target": f"cap-uy-{n}@example.vn"})
        assert made.status_code == 201, made.json
    first = client.get("/api/v1/subscriptions", query_string={"per_page": 3}, headers=token()).json
    assert first["total"] == 4 and [s["channel"] for s in first["items"]] == ["inbox", "email", "email"]
    rest = client.get(first["next"], headers=token()).json
    assert [s["target"] for s in rest["items"]] == ["cap-uy-2@example.vn"] and rest["next"] is None
    other = client.get("/api/v1/subscriptions", headers=token("QUANGCAT", "viewer")).json
    assert other["items"] == [] and other["total"] == 0  # outside the caller's scope counts nothing
