"""The inbox's live stream: server-sent events fed through Redis pub/sub, served by a real HTTP
server on a free port, resumable with Last-Event-ID."""
import json
import threading
import time

import pytest
import requests
from werkzeug.serving import make_server

from services.notifications.app import create_app

from .conftest import quota_met, record_of

pytestmark = pytest.mark.integration


@pytest.fixture
def server(db, settings):
    httpd = make_server("127.0.0.1", 0, create_app(settings, db=db), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}"
    httpd.shutdown()


def events(response):
    """Parse server-sent events from a streaming response, one dict per event."""
    current: dict = {}
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if line == "":
            if "data" in current:
                yield current
            current = {}
        elif line.startswith(":"):
            current["comment"] = True
            yield {"comment": line}
        else:
            name, _, value = line.partition(": ")
            current[name] = value


def test_dashboard_sees_a_met_quota_live_and_can_resume(server, runner, token, redis_client, settings):
    url = f"{server}/api/v1/inbox/TPTH/stream"
    bearer = token("TPTH", "viewer")["Authorization"].split(" ", 1)[1]
    with requests.get(url, params={"access_token": bearer, "limit": 1}, stream=True, timeout=20) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        stream = events(response)
        assert "comment" in next(stream)  # subscribed and past the backlog: this one comes through Redis
        runner.process(record_of(quota_met()))
        live = next(e for e in stream if "data" in e)
    notice = json.loads(live["data"])
    assert live["event"] == "notification" and int(live["id"]) == notice["id"]
    assert (notice["recipient_org_code"], notice["org_code"], notice["kind"]) == ("TPTH", "DONGSON", "quota_met")
    assert notice["text"].startswith("Đảng bộ phường Đông Sơn đã hoàn thành chỉ tiêu")

    # A dashboard that was away resumes from the last id it saw and gets what it missed.
    runner.process(record_of(quota_met("QUANGCAT", admitted=13, target=10, percent="130.00")))
    with requests.get(url, headers={**token("TPTH", "viewer"), "Last-Event-ID": live["id"]},
                      params={"limit": 1}, stream=True, timeout=20) as response:
        missed = next(e for e in events(response) if "data" in e)
    assert json.loads(missed["data"])["org_code"] == "QUANGCAT" and int(missed["id"]) > notice["id"]


def test_stream_refuses_callers_out_of_scope(server, token):
    url = f"{server}/api/v1/inbox/TPTH/stream"
    assert requests.get(url, timeout=10).status_code == 401
    response = requests.get(url, headers=token("DONGSON", "viewer"), timeout=10)
    assert response.status_code == 403 and response.headers["Content-Type"] == "application/problem+json"


def test_a_stream_gives_its_thread_back_and_keeps_quiet_connections_alive(db, settings, redis_client):
    from services.notifications.live import stream_inbox
    chunks = list(stream_inbox(db=db, redis_client=redis_client, settings=settings, org_code="TPTH", after_id=0,
                               heartbeat_s=0.05, max_duration_s=0.5))
    assert chunks[0].startswith(": chitieu inbox stream") and "retry: 3000" in chunks[0]
    assert ": keep-alive\n\n" in chunks[1:] and not any("data:" in c for c in chunks)


def test_an_inbox_notice_is_announced_once_however_often_its_event_comes(db, runner, settings, redis_client):
    from services.notifications import live
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(live.inbox_channel(settings, "TPTH"))
    event = quota_met()
    assert runner.process(record_of(event)) == "applied"
    assert runner.process(record_of(event)) == "duplicate"  # announced again from the database: no-op
    live.announce(db=db, redis_client=redis_client, settings=settings, read_back=[event.id])
    messages = []
    # get_message also answers None for the (ignored) subscribe confirmation: listen a while.
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        message = pubsub.get_message(timeout=0.2)
        if message is not None:
            messages.append(json.loads(message["data"]))
    pubsub.close()
    assert [(m["recipient_org_code"], m["org_code"]) for m in messages] == [("TPTH", "DONGSON")]
