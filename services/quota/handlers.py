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


def progress_handler(*, db: Database, store: ProgressStore, tree: CachedTree) -> Handler:
    """`apply` writes a poll's admissions and revocations to the ledger exactly once; `project`
    brings Redis up to what the ledger says, for every event of the poll (idempotent, by event id)."""

    def apply(session, events: list) -> list:
        return apply_changes(session, changes=[CHANGE_OF[event.type](event, data) for event, data in events],
                             tree=tree)

    def project(events: list, deltas: list | None) -> None:
        # The deltas just applied, and, for the events already applied (redeliveries), what the
        # ledger says they added.
        deltas = list(deltas or [])
        known = {d.event_id for d in deltas}
        missing = [event.id for event, _ in events if event.id not in known]
        if missing:
            with db.transaction() as session:
                deltas += deltas_for(session, missing)
        store.apply(deltas)

    return Handler((CANDIDATE_ADMITTED, CANDIDATE_ADMISSION_REVOKED), apply, project)
