"""Create the contract's Kafka topics (and the dead-letter topic) if they are missing.

    python -m shared.topics

docker-compose.yml runs this once, as a one-shot service, before any relay or consumer starts.
Idempotent: topics that exist are left as they are. Settings: CHITIEU_KAFKA_BOOTSTRAP,
CHITIEU_NAMESPACE, CHITIEU_TOPIC_PARTITIONS.
"""
from __future__ import annotations

import logging
import sys
import time

from .config import Settings
from .contracts import DEAD_LETTER_TOPIC, TOPICS
from .kafka import ensure_topics
from .logs import configure_logging

log = logging.getLogger(__name__)


def main(*, attempts: int = 10, wait_s: float = 3.0) -> int:
    settings = Settings.from_env("topics")
    configure_logging(service="topics", level=settings.log_level)
    names = [settings.topic(n) for n in TOPICS + (DEAD_LETTER_TOPIC,)]
    # A broker that has just become healthy may still refuse metadata changes for a moment.
    for attempt in range(1, attempts + 1):
        try:
            ensure_topics(settings)
            log.info("topics ready", extra={"topics": names})
            return 0
        except Exception as exc:
            log.warning("creating topics failed; retrying", extra={"attempt": attempt, "error": repr(exc)[:300]})
            time.sleep(wait_s)
    log.error("could not create the topics", extra={"topics": names})
    return 1


if __name__ == "__main__":
    sys.exit(main())
