"""Background processes of the quota service.

    python -m services.quota.worker relay      # publish the outbox to Kafka
    python -m services.quota.worker consume    # candidate events -> ledger, counters, milestones, Redis
    python -m services.quota.worker rebuild    # recompute the Redis figures from the ledger
"""
from __future__ import annotations

import sys
from functools import partial

from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.db import Database
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.worker import run_consumer, run_relay

from .handlers import progress_handler
from .models import Base
from .projection import ProgressStore
from .tree import CachedTree

SERVICE = "quota"
CONSUMER = "quota-progress"


def progress_consumer(*, db: Database, settings: Settings, apply_in_child: bool = False,
                      **consumer_config) -> ConsumerRunner:
    """The consumer of candidate events (group `<namespace>.quota-progress`). With
    `apply_in_child`, polls are applied by a child process (shared/offload.py)."""
    store = ProgressStore(get_redis(settings.redis_url), settings)
    # Bigger polls share each transaction's fixed cost (commit, locks, lookups) among more admissions.
    consumer_config.setdefault("max_poll_records", 2000)
    return ConsumerRunner(
        name=CONSUMER, db=db, settings=settings, handler=progress_handler(db=db, store=store, tree=CachedTree()),
        offload=partial(child_consumer, settings=settings) if apply_in_child else None, **consumer_config)


def child_consumer(*, settings: Settings) -> ConsumerRunner:
    """The runner that applies polls inside the child process: its own database and Redis."""
    configure_logging(service=f"{SERVICE}-{CONSUMER}-apply", level=settings.log_level)
    return progress_consumer(db=Database(settings.database_url, Base.metadata), settings=settings)


def rebuild(*, db: Database, settings: Settings) -> int:
    store = ProgressStore(get_redis(settings.redis_url), settings)
    with db.transaction() as session:
        return store.rebuild(session)


def main(argv: list[str]) -> None:
    settings = Settings.from_env(SERVICE)
    db = Database(settings.database_url, Base.metadata)
    command = argv[0] if argv else ""
    if command == "relay":
        run_relay(db=db, settings=settings)
    elif command == "consume":
        run_consumer(progress_consumer(db=db, settings=settings, apply_in_child=True))
    elif command == "rebuild":
        configure_logging(service=f"{SERVICE}-rebuild", level=settings.log_level)
        print(f"rebuilt {rebuild(db=db, settings=settings)} progress hashes in Redis from the ledger")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
