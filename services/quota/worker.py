"""Background processes of the quota service.

    python -m services.quota.worker relay      # publish the outbox to Kafka
"""
from __future__ import annotations

import sys

from shared.config import Settings
from shared.db import Database
from shared.worker import run_relay

from .models import Base

SERVICE = "quota"


def main(argv: list[str]) -> None:
    settings = Settings.from_env(SERVICE)
    db = Database(settings.database_url, Base.metadata)
    command = argv[0] if argv else ""
    if command == "relay":
        run_relay(db=db, settings=settings)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
