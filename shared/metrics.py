"""Every Prometheus metric of chitieu, defined once, and how a process exposes them.

APIs answer `GET /metrics` (shared/web.py). Under gunicorn several worker processes serve one
port, so they write their samples to files in PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
makes it) and /metrics sums them: prometheus_client's multiprocess mode. Workers (relays,
consumers, delivery, reminders, reconcile) are one process each and serve their own registry on
CHITIEU_METRICS_PORT (unset or 0: none); `make run` gives each its own port (scripts/supervise.py),
docker-compose the same port in every container. docs/operations.md lists them with the alerts
in deploy/prometheus/alerts.yml.
"""
from __future__ import annotations

import logging
import os
import time
from typing import Callable, Iterable

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest,
                               start_http_server)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from .config import setting

log = logging.getLogger(__name__)

# --- HTTP --------------------------------------------------------------------------------------
REQUESTS = Counter("chitieu_http_requests_total", "HTTP requests answered, by route template and status",
                   ["service", "method", "route", "status"])
REQUEST_SECONDS = Histogram("chitieu_http_request_duration_seconds", "Time to answer an HTTP request",
                            ["service", "method", "route"],
                            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

# --- consumers (shared/consumer.py) ------------------------------------------------------------
EVENTS_APPLIED = Counter("chitieu_consumer_events_applied_total", "Events a consumer applied (new, not duplicates)",
                         ["consumer", "event_type"])
EVENTS_DUPLICATE = Counter("chitieu_consumer_events_duplicate_total",
                           "Events a consumer had already processed and skipped", ["consumer"])
EVENTS_RETRIED = Counter("chitieu_consumer_events_retried_total", "Attempts of an event applied again after a failure",
                         ["consumer"])
EVENTS_DEAD_LETTERED = Counter("chitieu_consumer_events_dead_lettered_total",
                               "Records a consumer set aside on the dead-letter topic", ["consumer", "reason"])
CONSUMER_LAG = Gauge("chitieu_consumer_lag_records", "Records of a partition not yet consumed (end offset - position)",
                     ["consumer", "topic", "partition"])
CONSUMER_STOPPED = Gauge("chitieu_consumer_stopped_by_dead_letter_limit",
                         "1 while a consumer stays stopped by the dead-letter limit", ["consumer"])

# --- outbox relays (shared/relay.py) -----------------------------------------------------------
OUTBOX_SENT = Counter("chitieu_outbox_sent_total", "Outbox rows published to Kafka", ["service"])

# --- notices (services/notifications) ----------------------------------------------------------
DELIVERIES = Counter("chitieu_deliveries_total", "Delivery attempts of notices, by channel and outcome",
                     ["channel", "outcome"])

# --- Redis figures (services/quota reconcile) --------------------------------------------------
RECONCILE_DIFFERENCES = Counter("chitieu_reconcile_differences_total",
                                "Redis progress figures found different from the database counters and repaired")

# --- the quota API's kept progress answers (services/quota/answers.py) --------------------------
PROGRESS_ANSWERS = Counter("chitieu_progress_answers_total",
                           "Progress answers: kept from an earlier request (hit), computed and kept (miss), "
                           "computed for a cut-off (not_kept)", ["outcome"])

# --- every worker loop (shared/heartbeat.py) ---------------------------------------------------
HEARTBEAT = Gauge("chitieu_worker_heartbeat_timestamp_seconds", "When the worker's loop last turned (Unix time)",
                  ["process"])


class OutboxCollector(Collector):
    """Outbox rows by state and the age of the oldest pending one, read from the database when
    Prometheus scrapes (a relay pass runs 20 times a second; counting there would be waste)."""

    def __init__(self, service: str, read: Callable[[], tuple[int, int, float | None]]):
        self.service = service
        self.read = read  # -> (pending, failed, oldest pending's created_at as Unix time or None)

    def collect(self) -> Iterable[GaugeMetricFamily]:
        try:
            pending, failed, oldest = self.read()
        except Exception:  # a scrape must answer even when the database does not
            log.warning("outbox metrics could not be read", exc_info=True)
            return
        rows = GaugeMetricFamily("chitieu_outbox_rows", "Outbox rows waiting (pending) or set aside (failed)",
                                 labels=["service", "state"])
        rows.add_metric([self.service, "pending"], pending)
        rows.add_metric([self.service, "failed"], failed)
        yield rows
        age = GaugeMetricFamily("chitieu_outbox_oldest_pending_age_seconds",
                                "Age of the oldest pending outbox row (0 when none)", labels=["service"])
        age.add_metric([self.service], max(0.0, time.time() - oldest) if oldest is not None else 0.0)
        yield age


def render() -> tuple[bytes, str]:
    """The body and content type of /metrics: every gunicorn worker's samples when multiprocess."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def serve_worker_metrics(port: int | None = None) -> int | None:
    """Serve this worker process's metrics on CHITIEU_METRICS_PORT (or `port`); returns the port."""
    port = int(setting("METRICS_PORT", "") or 0) if port is None else port
    if not port:
        return None
    host = setting("METRICS_HOST", "127.0.0.1")
    try:
        start_http_server(port, addr=host)
    except OSError:
        # The work matters more than its figures: go on without them (Prometheus reports the
        # target down, which alerts) rather than exit and stop the work too.
        log.error("metrics port unavailable; serving no metrics", exc_info=True, extra={"port": port})
        return None
    log.info("metrics served", extra={"port": port, "host": host})
    return port


def register(collector: Collector) -> None:
    REGISTRY.register(collector)
