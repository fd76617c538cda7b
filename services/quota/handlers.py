"""Event handlers of the quota service (thin: candidate events -> ledger functions).

candidate.admitted and candidate.admission_revoked change progress. candidate.transferred is not
handled: an admission stays counted where it happened, whatever the member does afterwards.
"""
from __future__ import annotations

from shared.consumer import Handler
from shared.contracts import CANDIDATE_ADMISSION_REVOKED, CANDIDATE_ADMITTED
from shared.db import Database

from .ledger import Applied, admission_from, apply_changes, keys_of_events, revocation_from
from .projection import ProgressStore
from .tree import CachedTree

CHANGE_OF = {CANDIDATE_ADMITTED.type: admission_from, CANDIDATE_ADMISSION_REVOKED.type: revocation_from}


def progress_handler(*, db: Database, store: ProgressStore, tree: CachedTree) -> Handler:
    """`apply` writes a poll's admissions and revocations to the ledger exactly once; `project`
    copies to Redis the counters of every event of the poll (idempotent: absolute values)."""

    def apply(session, events: list) -> Applied:
        return apply_changes(session, changes=[CHANGE_OF[event.type](event, data) for event, data in events],
                             tree=tree)

    def project(events: list, applied: Applied | None) -> None:
        # The counters just changed, and, for the events applied before (redeliveries, whose
        # projection a crash may have cut short), those the ledger says they changed.
        keys = set(applied.keys) if applied else set()
        seen = applied.event_ids if applied else frozenset()
        missing = [event.id for event, _ in events if event.id not in seen]
        if missing:
            with db.transaction() as session:
                keys |= keys_of_events(session, missing)
        store.project(db, keys)

    return Handler((CANDIDATE_ADMITTED, CANDIDATE_ADMISSION_REVOKED), apply, project)
