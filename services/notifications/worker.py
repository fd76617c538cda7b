"""Background processes of the notifications service.

    python -m services.notifications.worker relay      # publish the outbox to Kafka
    python -m services.notifications.worker consume    # events → notices (consumer group "notifications")
    python -m services.notifications.worker deliver    # send webhook and e-mail notices, with retries
"""
from __future__ import annotations

import logging
import sys

from shared.config import Settings
from shared.db import Database
from shared.logs import configure_logging
from shared.redis_client import get_redis
from shared.worker import run_consumer, run_relay, run_until_stopped

from .delivery import Deliverer
from .handlers import make_runner
from .models import Base
from .settings import DeliverySettings

SERVICE = "notifications"


def main(argv: list[str]) -> None:
    settings = Settings.from_env(SERVICE)
    db = Database(settings.database_url, Base.metadata)
    command = argv[0] if argv else ""
    if command == "relay":
        run_relay(db=db, settings=settings)
    elif command == "consume":
        run_consumer(make_runner(db=db, settings=settings, delivery=DeliverySettings.from_env(), apply_in_child=True))
    elif command == "deliver":
        configure_logging(service=f"{SERVICE}-deliver", level=settings.log_level)
        deliverer = Deliverer(db=db, settings=settings, delivery=DeliverySettings.from_env(),
                              redis_client=get_redis(settings.redis_url))
        run_until_stopped(deliverer.run)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    logging.captureWarnings(True)
    main(sys.argv[1:])
