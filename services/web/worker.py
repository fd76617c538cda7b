"""Background processes of the web service.

    python -m services.web.worker relay    # publish the outbox (accounts, API clients) to Kafka
    python -m services.web.worker audit    # every service's events -> the audit trail (group web-audit)
"""
from __future__ import annotations

import sys

from shared.config import Settings
from shared.db import Database
from shared.worker import run_consumer, run_relay

from .handlers import audit_consumer
from .models import Base

SERVICE = "web"


def main(argv: list[str]) -> None:
    settings = Settings.from_env(SERVICE)
    db = Database(settings.database_url, Base.metadata)
    command = argv[0] if argv else ""
    if command == "relay":
        run_relay(db=db, settings=settings)
    elif command == "audit":
        run_consumer(audit_consumer(db=db, settings=settings))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
