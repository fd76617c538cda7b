"""Who is acting: the one value every event written in this context carries as its `actor`
CloudEvents extension attribute (and `actorrole`), so the audit trail knows who made each change
without any view passing it along.

- An API request: shared/web.py's guard sets it from the bearer token (`sub`, `role`).
- A consumer applying an event: the event's own actor, so what the event causes is the act of
  whoever caused the event (shared/consumer.py); where a poll is applied as a whole, the consumer
  (`system:<consumer>`).
- Workers and command lines: `system:<process>`, or `cli:<user>`.
Nothing set: `system:<service>` is what the service writes (shared/outbox.py decides).
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Iterator


@dataclass(frozen=True)
class Actor:
    id: str  # a token's `sub` (a username, client:<id>), or system:<process>, cli:<user>
    role: str | None = None  # the token's role, when a person or client acted


_CURRENT: ContextVar[Actor | None] = ContextVar("chitieu_actor", default=None)


def current() -> Actor | None:
    return _CURRENT.get()


def set_actor(actor: Actor | None) -> None:
    """For the rest of this context (one request: Flask runs each in its own context)."""
    _CURRENT.set(actor)


@contextmanager
def acting(actor: Actor | None) -> Iterator[None]:
    """`actor` acts inside the block; the previous one again after it."""
    token = _CURRENT.set(actor)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def system(process: str) -> Actor:
    return Actor(f"system:{process}")
