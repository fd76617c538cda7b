"""Live streams cannot starve the API (issue 8, point 9): with 100 inbox streams open on the
notification API served as deployed (the Procfile's gunicorn command), the inbox and /readyz
still answer within a second, and a stream past the cap is answered 503 at once."""
from __future__ import annotations

import socket
import time

import pytest
import requests

from services.notifications import tree
from services.notifications.models import Base
from tests.keys import test_issuer
from tests.keys import token as issue_token
from shared.db import Database
from tests.system import served_api
from tests.support import org_state, unique_namespace

pytestmark = pytest.mark.integration
STREAMS = 100


@pytest.fixture
def served(tmp_path, real_stack):
    """The notification API under gunicorn, exactly as the Procfile starts it."""
    url = f"sqlite:///{tmp_path}/notifications.db"
    db = Database(url, Base.metadata)
    db.create_all()
    with db.transaction() as session:
        tree.REPLICA.apply(session, org_state("P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", None))
    db.dispose()
    env = {"CHITIEU_NOTIFICATIONS_DATABASE_URL": url, **test_issuer().env(), "CHITIEU_NAMESPACE": unique_namespace(),
           "CHITIEU_LOG_LEVEL": "WARNING"}
    with served_api("notifications", env, tmp_path / "api.log") as base:
        yield base, int(base.rsplit(":", 1)[1])


def _open_stream(port: int, token: str) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(f"GET /api/v1/inbox/P-DONG-SON/stream?access_token={token} HTTP/1.1\r\n"
                 f"Host: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        if not chunk:
            break
        head += chunk
    return sock, head


def test_a_hundred_open_streams_leave_the_api_answering(served):
    base, port = served
    token = issue_token(sub="viewer", org="P-DONG-SON", role="viewer")
    streams = []
    try:
        for _ in range(STREAMS):
            sock, head = _open_stream(port, token)
            assert head.startswith(b"HTTP/1.1 200"), head[:200]
            streams.append(sock)
        headers = {"Authorization": f"Bearer {token}"}
        for _ in range(5):
            started = time.monotonic()
            assert requests.get(f"{base}/api/v1/inbox/P-DONG-SON", headers=headers, timeout=5).status_code == 200
            assert requests.get(f"{base}/readyz", timeout=5).status_code == 200
            assert time.monotonic() - started < 1.0
    finally:
        for sock in streams:
            sock.close()


def test_a_stream_past_the_cap_is_answered_503_and_a_closed_one_frees_its_slot(db, settings, token, monkeypatch):
    from services.notifications import live
    from services.notifications.app import create_app

    monkeypatch.setenv("CHITIEU_NOTIFY_MAX_STREAMS", "1")
    monkeypatch.setattr(live, "_slots", None)
    with db.transaction() as session:
        tree.REPLICA.apply(session, org_state("P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", None))
    client = create_app(settings, db=db).test_client()
    url, headers = "/api/v1/inbox/P-DONG-SON/stream", token(org="P-DONG-SON", role="viewer")
    first = client.get(url, headers=headers, buffered=False)
    assert first.status_code == 200
    refused = client.get(url, headers=headers, buffered=False)
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
    assert refused.mimetype == "application/problem+json"
    first.close()
    again = client.get(url, headers=headers, buffered=False)
    assert again.status_code == 200
    again.close()
