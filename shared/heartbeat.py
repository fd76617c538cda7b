"""A liveness heartbeat for worker processes, read by container healthchecks.

Every worker loop asks its stop event `is_set()` once per turn and sleeps with `stop.wait(...)`.
`HeartbeatEvent` is that stop event, touching a file while it is asked or waited on: the file's
age says how long ago the loop last turned. A loop stuck in a call that never returns stops
touching it, and `deploy/compose/healthcheck.py heartbeat FILE MAX_AGE` reports it unhealthy.

Docker never restarts an unhealthy container, so with `stall_s` the event is also a watchdog: a
loop that has not turned for that long makes the process exit (status 70), and the restart policy
(docker-compose's `restart:`, supervisord's `autorestart`) starts a fresh one.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

STALLED_EXIT_STATUS = 70  # EX_SOFTWARE


class HeartbeatEvent(threading.Event):
    def __init__(self, path: str | Path | None, *, every_s: float = 5.0, stall_s: float = 0,
                 on_beat: Callable[[], None] | None = None):
        super().__init__()
        self.path = Path(path) if path else None
        self.on_beat = on_beat  # e.g. the heartbeat gauge Prometheus reads (shared/metrics.py)
        self.every_s = every_s
        self._last = float("-inf")
        self._turned = time.monotonic()
        if stall_s > 0:
            threading.Thread(target=self._watch, args=(stall_s,), name="watchdog", daemon=True).start()

    def _watch(self, stall_s: float) -> None:
        while not super().wait(min(stall_s / 4, 5.0)):
            stalled = time.monotonic() - self._turned
            if stalled > stall_s:
                log.critical("worker loop stalled; exiting so that it is restarted",
                             extra={"stalled_s": round(stalled, 1), "limit_s": stall_s})
                logging.shutdown()
                # The loop is stuck in a call that never returns: no orderly shutdown can reach it.
                os._exit(STALLED_EXIT_STATUS)

    def beat(self) -> None:
        now = time.monotonic()
        self._turned = now
        if now - self._last >= self.every_s:
            self._last = now
            try:
                if self.path is not None:
                    self.path.touch()
                if self.on_beat is not None:
                    self.on_beat()
            except Exception:  # a heartbeat must never stop the worker
                pass

    def is_set(self) -> bool:
        self.beat()
        return super().is_set()

    def wait(self, timeout: float | None = None) -> bool:
        # A long sleep between turns is the loop working as meant: keep beating through it.
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self.beat()
            step = self.every_s if deadline is None else min(self.every_s, deadline - time.monotonic())
            if step <= 0:
                return super().is_set()
            if super().wait(step):
                return True
