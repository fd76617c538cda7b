"""Where a consumer applies its polls while it fetches the next one: a thread, or a child process.

kafka-python's fetching and the apply step share one interpreter lock in one process; in a
child process of its own the apply step takes a core of its own. The child builds its own
consumer (database, Redis, caches) from a picklable factory, and dies with its parent: a parent
killed with SIGKILL cannot stop it, so the child watches for its parent to go.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Callable

log = logging.getLogger(__name__)


class ThreadOffload:
    def __init__(self, apply: Callable[[list, threading.Event], Any], *, name: str):
        self._apply = apply
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"{name}-apply")

    def submit(self, records: list, stop: threading.Event) -> Future:
        return self._pool.submit(self._apply, records, stop)

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class ProcessOffload:
    """`factory()` runs in the child and returns the consumer whose `process_batch` applies polls."""

    def __init__(self, factory: Callable[[], Any]):
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no inherited sockets
        self._stop = context.Event()
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=context, initializer=_start_child,
                                         initargs=(factory, self._stop, os.getpid()))
        self._pool.submit(_child_ready).result()  # started and connected before the first poll

    def submit(self, records: list, stop: threading.Event) -> Future:
        return self._pool.submit(_child_process_batch, records)

    def stopping(self) -> None:
        self._stop.set()  # a record waiting for a retry in the child gives up, uncommitted

    def close(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)


_child: tuple[Any, Any] | None = None


def _start_child(factory: Callable[[], Any], stop, parent_pid: int) -> None:
    """Runs once in the child. Signals are the parent's business: it finishes the poll in flight,
    then closes the pool."""
    global _child
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    threading.Thread(target=_die_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()
    _child = (factory(), stop)


def _die_with_parent(parent_pid: int) -> None:
    # An orphan is re-parented (to init or a subreaper): the poll it applies is uncommitted and
    # will come again to the parent's successor, so it may stop at once.
    while os.getppid() == parent_pid:
        threading.Event().wait(0.5)
    log.warning("parent process gone; the apply process exits")
    os._exit(1)


def _child_ready() -> bool:
    return _child is not None


def _child_process_batch(records: list):
    consumer, stop = _child
    return consumer.process_batch(records, stop)
