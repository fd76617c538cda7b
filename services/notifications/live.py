"""Live news over Redis pub/sub: new inbox notices for dashboards (server-sent events), and a
wake-up call that lets the delivery worker send a new notice at once instead of at its next poll.

Channels are namespaced: `<namespace>:inbox:<org code>` and `<namespace>:notifications:wake`.
Pub/sub is a shortcut, not the record: a dashboard that was away reads what it missed from the
database (SSE `Last-Event-ID`), and the delivery worker also polls.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from typing import Iterator

import redis
from sqlalchemy import select

from shared.config import Settings, setting
from shared.db import Database

from .inbox import list_inbox
from .models import Notification
from .schemas import NotificationSchema

log = logging.getLogger(__name__)
ANNOUNCED_TTL_S = 7 * 24 * 3600


def inbox_channel(settings: Settings, org_code: str) -> str:
    return settings.redis_key("inbox", org_code)


def wake_channel(settings: Settings) -> str:
    return settings.redis_key("notifications", "wake")


def wake_deliverer(redis_client: redis.Redis, settings: Settings) -> None:
    try:
        redis_client.publish(wake_channel(settings), "1")
    except redis.RedisError:
        log.warning("could not wake the delivery worker; it will find the notice at its next poll")


def announce(*, db: Database, redis_client: redis.Redis, settings: Settings, notices: list[Notification] = (),
             read_back: list[str] = ()) -> None:
    """After the commit of a poll's notices: push the inbox notices to live streams (once each,
    however often their events are redelivered) and wake the delivery worker for the others.
    `notices`: the ones just committed; `read_back`: ids of events whose notices were committed
    before (a redelivery), read back from the database."""
    notices = list(notices)
    if read_back:
        with db.sessions() as session:
            notices += session.scalars(select(Notification).where(
                Notification.source_event_id.in_(list(read_back)))).all()
    inbox = [n for n in notices if n.channel == "inbox"]
    schema = NotificationSchema()  # the same shape as GET /inbox
    pipe = redis_client.pipeline(transaction=False)  # one round trip, whatever the number
    for notice in inbox:
        # Published only by the call that first marks the notice announced.
        _ANNOUNCE_ONCE(keys=[settings.redis_key("inbox-announced", str(notice.id)),
                             inbox_channel(settings, notice.recipient_org_code)],
                       args=[json.dumps(schema.dump(notice), ensure_ascii=False), ANNOUNCED_TTL_S], client=pipe)
    if any(n.channel != "inbox" and n.status == "pending" for n in notices):
        pipe.publish(wake_channel(settings), "1")
    if len(pipe):
        pipe.execute()


class _AnnounceOnce:
    """SET the mark NX and, only if it was not there, PUBLISH: atomic, in one Lua call."""

    SOURCE = """
    if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[2]) then
        return redis.call('PUBLISH', KEYS[2], ARGV[1])
    end
    return -1
    """

    def __call__(self, *, keys, args, client):
        # Registered per client (scripts are cached by the server under their SHA).
        return client.register_script(self.SOURCE)(keys=keys, args=args, client=client)


_ANNOUNCE_ONCE = _AnnounceOnce()


def sse(message_id: int | None, event: str, data: str) -> str:
    """One server-sent event; `data` must be a single line (JSON is)."""
    head = f"id: {message_id}\n" if message_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


def stream_inbox(*, db: Database, redis_client: redis.Redis, settings: Settings, org_code: str,
                 after_id: int, heartbeat_s: float = 15.0, limit: int | None = None,
                 max_duration_s: float = 300.0) -> Iterator[str]:
    """Server-sent events of an organisation's inbox: first what came after `after_id`, then live.
    `limit` ends the stream after that many notices (tests and one-shot clients). The stream also
    ends after `max_duration_s`, giving its web-server thread back; EventSource reconnects by
    itself with Last-Event-ID, so a dashboard misses nothing."""
    schema = NotificationSchema()
    pubsub = redis_client.pubsub(ignore_subscribe_messages=True)
    # Subscribe before reading the backlog, so nothing falls between the two.
    pubsub.subscribe(inbox_channel(settings, org_code))
    sent, last_id = 0, after_id
    try:
        with db.sessions() as session:
            backlog = [(n.id, json.dumps(schema.dump(n), ensure_ascii=False)) for n in list_inbox(
                session, org_code=org_code, after_id=after_id, limit=1000, oldest_first=True)]
        # The opening comment comes once subscribed and the backlog read: from then on, news is live.
        yield ": chitieu inbox stream\nretry: 3000\n\n"
        for notice_id, body in backlog:
            yield sse(notice_id, "notification", body)
            last_id, sent = notice_id, sent + 1
            if limit is not None and sent >= limit:
                return
        deadline = time.monotonic() + max_duration_s
        while time.monotonic() < deadline:
            message = pubsub.get_message(timeout=min(heartbeat_s, max(deadline - time.monotonic(), 0.01)))
            if message is None:
                yield ": keep-alive\n\n"
                continue
            body = message["data"]
            notice_id = json.loads(body).get("id")
            if notice_id is not None and notice_id <= last_id:
                continue  # already sent from the backlog
            yield sse(notice_id, "notification", body)
            last_id, sent = max(last_id, notice_id or last_id), sent + 1
            if limit is not None and sent >= limit:
                return
    finally:
        pubsub.close()


class StreamSlots:
    """The live streams one API process holds open, at most `limit` of them. Each open stream keeps
    a server thread (gthread) until it ends; capping them below the thread count leaves threads for
    every other request, /readyz included, however many dashboards are open. Past the cap a stream
    is answered 503 with Retry-After, and EventSource simply tries again."""

    def __init__(self, limit: int):
        self.limit = limit
        self._free = threading.BoundedSemaphore(limit)

    def take(self) -> bool:
        return self._free.acquire(blocking=False)

    def give_back(self) -> None:
        self._free.release()


_slots: StreamSlots | None = None
_slots_lock = threading.Lock()


def stream_slots() -> StreamSlots:
    """This process's slots: CHITIEU_NOTIFY_MAX_STREAMS (default 150), below the notification API's
    gunicorn threads (CHITIEU_NOTIFICATIONS_THREADS, default 160, in the Procfile)."""
    global _slots
    with _slots_lock:
        if _slots is None:
            _slots = StreamSlots(int(setting("NOTIFY_MAX_STREAMS", "150")))
        return _slots

