"""Background processes of the candidates service.

    python -m services.candidates.worker relay      # publish the outbox to Kafka
    python -m services.candidates.worker consume    # keep the local organisation tree (group candidates-tree)
    python -m services.candidates.worker reminders  # write candidate.reminder_due events periodically

CHITIEU_CANDIDATES_REMINDER_INTERVAL: seconds between two reminder passes (default 3600).
"""
from __future__ import annotations

import logging
import sys
import threading
from datetime import date

from shared import clock
from shared.config import Settings, setting
from shared.consumer import ConsumerRunner
from shared.db import Database
from shared.logs import configure_logging
from shared.worker import run_consumer, run_relay, run_until_stopped

from . import reminders
from .handlers import CONSUMER, HANDLER
from .app import open_database
from .deadlines import holidays

SERVICE = "candidates"
log = logging.getLogger(__name__)


def tree_consumer(*, db: Database, settings: Settings, **consumer_config) -> ConsumerRunner:
    return ConsumerRunner(name=CONSUMER, db=db, settings=settings, handler=HANDLER, **consumer_config)


def reminder_pass(db: Database, *, as_of: date | None = None) -> int:
    """One pass: every reminder due and not yet sent goes to the outbox; returns how many."""
    with db.transaction() as session:
        return reminders.publish_due(session, as_of=as_of or clock.today(), holidays=holidays())


def run_reminders(db: Database, stop: threading.Event, *, interval: float) -> None:
    while not stop.is_set():
        try:
            written = reminder_pass(db)
            log.info("reminder pass done", extra={"written": written})
        except Exception:  # the database may be away; the next pass tries again
            log.exception("reminder pass failed")
        stop.wait(interval)


def main(argv: list[str]) -> None:
    settings = Settings.from_env(SERVICE)
    db = open_database(settings.database_url)
    command = argv[0] if argv else ""
    if command == "relay":
        run_relay(db=db, settings=settings)
    elif command == "consume":
        run_consumer(tree_consumer(db=db, settings=settings))
    elif command == "reminders":
        configure_logging(service=f"{SERVICE}-reminders", level=settings.log_level)
        interval = float(setting("CANDIDATES_REMINDER_INTERVAL", "3600"))
        run_until_stopped(lambda stop: run_reminders(db, stop, interval=interval))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
