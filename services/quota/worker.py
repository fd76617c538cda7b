"""Background processes of the quota service.

    python -m services.quota.worker relay      # publish the outbox to Kafka
    python -m services.quota.worker consume    # candidate events -> ledger, counters, milestones, Redis
    python -m services.quota.worker rebuild    # rewrite the Redis figures from the database counters
    python -m services.quota.worker reconcile  # compare them with the counters, repair, report
    python -m services.quota.worker reconciler # reconcile every CHITIEU_RECONCILE_INTERVAL_S (0: never)
    python -m services.quota.worker publish-tree  # organization.state of every organisation, once

rebuild and reconcile are safe while the consumer runs (projection.py says why).
"""
from __future__ import annotations

import logging
import sys
import threading
from functools import partial

from shared import metrics
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.db import Database
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.worker import run_consumer, run_relay, run_until_stopped

from .handlers import progress_handler
from .models import Base
from .organizations import publish_all_states
from .projection import ProgressStore, Report
from .tree import CachedTree

log = logging.getLogger(__name__)
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
    return ProgressStore(get_redis(settings.redis_url), settings).rebuild(db)


def reconcile(*, db: Database, settings: Settings) -> Report:
    report = ProgressStore(get_redis(settings.redis_url), settings).reconcile(db)
    for d in report.differences:
        log.warning("progress figure repaired", extra={"org_code": d.org_code, "period": d.period, "field": d.field,
                                                       "was": d.was, "now": d.now})
    log.info("progress figures reconciled", extra={"checked": report.checked, "repaired": report.repaired_hashes})
    metrics.RECONCILE_DIFFERENCES.inc(len(report.differences))
    return report


def reconcile_every(*, db: Database, settings: Settings, stop: threading.Event) -> None:
    """The reconciler process: reconcile, then wait CHITIEU_RECONCILE_INTERVAL_S (0: never)."""
    interval = settings.reconcile_interval_s
    if interval <= 0:
        log.info("reconciler off (CHITIEU_RECONCILE_INTERVAL_S=0)")
    while not stop.is_set():
        if interval > 0:
            try:
                reconcile(db=db, settings=settings)
            except Exception:  # the database or Redis away: try again next time
                log.exception("reconcile failed")
        stop.wait(interval if interval > 0 else 3600)


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
        print(f"rebuilt {rebuild(db=db, settings=settings)} progress hashes in Redis from the database counters")
    elif command == "reconcile":
        configure_logging(service=f"{SERVICE}-reconcile", level=settings.log_level)
        print(reconcile(db=db, settings=settings).text())
    elif command == "reconciler":
        configure_logging(service=f"{SERVICE}-reconciler", level=settings.log_level)
        run_until_stopped(lambda stop: reconcile_every(db=db, settings=settings, stop=stop))
    elif command == "publish-tree":
        with db.transaction() as session:
            count = publish_all_states(session)
        print(f"{count} organization.state events written to the outbox; the relay publishes them")
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
