"""Event handlers of the quota service (thin: candidate events -> progress functions).

candidate.admitted and candidate.admission_revoked change progress. candidate.transferred is not
handled: an admission stays counted where it happened, whatever the member does afterwards.
"""
from __future__ import annotations

from shared.consumer import Handler
from shared.contracts import CANDIDATE_ADMISSION_REVOKED, CANDIDATE_ADMITTED
from shared.db import Database

from .progress import admission_from, apply_changes, revocation_from
from .projection import ProgressStore, deltas_for
from .tree import CachedTree

CHANGE_OF = {CANDIDATE_ADMITTED.type: admission_from, CANDIDATE_ADMISSION_REVOKED.type: revocation_from}


def make_handlers(*, db: Database, store: ProgressStore, tree: CachedTree | None = None) -> list[Handler]:
    """One Handler per event type, for ConsumerRunner: `apply` writes the ledger exactly once,
    `project` brings Redis up to what the ledger says (idempotent, by event id)."""
    tree = tree or CachedTree()

    def project(event, _data):
        with db.transaction() as session:
            deltas = deltas_for(session, [event.id])
        store.apply(deltas)

    def handler(event_type):
        to_change = CHANGE_OF[event_type.type]
        return Handler(event_type, apply=lambda session, event, data: apply_changes(
            session, changes=[to_change(event, data)], tree=tree), project=project)

    return [handler(CANDIDATE_ADMITTED), handler(CANDIDATE_ADMISSION_REVOKED)]


def apply_batch(session, events: list, *, tree: CachedTree) -> list:
    """A whole poll's new events in one transaction (BatchConsumerRunner); returns their deltas."""
    return apply_changes(session, changes=[CHANGE_OF[event.type](event, data) for event, data in events], tree=tree)


def project_batch(db: Database, store: ProgressStore, events: list, deltas: list | None) -> None:
    """Every event of the poll to Redis: the deltas just applied, and, for the events that were
    already applied (redeliveries), what the ledger says they added."""
    deltas = list(deltas or [])
    known = {d.event_id for d in deltas}
    missing = [event.id for event, _ in events if event.id not in known]
    if missing:
        with db.transaction() as session:
            deltas += deltas_for(session, missing)
    store.apply(deltas)

