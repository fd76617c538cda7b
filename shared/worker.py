"""Running a service's background processes (outbox relay, consumers) until SIGTERM."""
from __future__ import annotations

import logging
import os
import sys
import threading
from typing import Callable

from kafka.errors import KafkaError

from . import metrics
from .config import Settings, setting
from .consumer import ConsumerRunner, install_sigterm
from .db import Database
from .deadletters import DeadLetterLimitReached
from .heartbeat import HeartbeatEvent
from .logs import configure_logging
from .relay import OutboxRelay, outbox_figures
from .retention import Pruner, rules_for

log = logging.getLogger(__name__)


def run_until_stopped(target: Callable[[threading.Event], None]) -> None:
    # With CHITIEU_HEALTH_FILE set (docker-compose.yml does), the loop's turns touch that file; with
    # CHITIEU_WORKER_STALL_S, a loop that has not turned for that long exits (shared/heartbeat.py).
    # Each worker serves its metrics on CHITIEU_METRICS_PORT (shared/metrics.py), with the time its
    # loop last turned, for the "heartbeat stopped" alert.
    heartbeat = metrics.HEARTBEAT.labels(process_name())
    stop = HeartbeatEvent(setting("HEALTH_FILE", "") or None,
                          stall_s=float(setting("WORKER_STALL_S", "") or 0),
                          on_beat=heartbeat.set_to_current_time)
    metrics.serve_worker_metrics()
    install_sigterm(stop)
    target(stop)


def process_name() -> str:
    """`services.quota.worker consume` for `python -m services.quota.worker consume`."""
    main = sys.modules.get("__main__")
    module = getattr(getattr(main, "__spec__", None), "name", None) or os.path.basename(sys.argv[0])
    return " ".join([module, *sys.argv[1:2]])


def run_relay(*, db: Database, settings: Settings) -> None:
    configure_logging(service=f"{settings.service}-relay", level=settings.log_level)
    log.info("outbox relay started")
    # The relay process also prunes old sent rows, processed-event records and idempotency keys.
    pruner = Pruner(db=db, rules=rules_for(db, settings))
    metrics.register(metrics.OutboxCollector(settings.service, lambda: outbox_figures(db)))
    run_until_stopped(OutboxRelay(db=db, settings=settings, pruner=pruner).run)


def run_consumer(runner: ConsumerRunner) -> None:
    configure_logging(service=f"{runner.settings.service}-{runner.name}", level=runner.settings.log_level)
    run_until_stopped(lambda stop: _consume(runner, stop))


def _consume(runner: ConsumerRunner, stop: threading.Event) -> None:
    backoff = 1.0
    while not stop.is_set():
        try:
            runner.run(stop)
            return
        except KafkaError:
            # The broker away or too slow at start (metadata, topics, group): start again rather
            # than exit; nothing was committed past what was applied, so nothing is lost.
            log.exception("consumer could not talk to Kafka; starting again", extra={"consumer": runner.name,
                                                                                      "in_s": backoff})
            stop.wait(backoff)
            backoff = min(backoff * 2, 30)
        except DeadLetterLimitReached as exc:
            _stay_stopped(runner, stop, exc)
            return


def _stay_stopped(runner: ConsumerRunner, stop: threading.Event, exc: DeadLetterLimitReached) -> None:
    # Exiting would have the process restarted, and each restart would dead-letter another
    # window of events: it stays stopped, saying why, until it is stopped (and fixed).
    metrics.CONSUMER_STOPPED.labels(runner.name).set(1)
    while not stop.is_set():
        log.critical("consumer stopped by the dead-letter limit; fix the cause, restart it, then replay "
                     "its dead letters (chitieu dead-letters list)", extra={"consumer": runner.name,
                                                                              "why": str(exc)})
        stop.wait(300)
