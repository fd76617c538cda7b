"""Prometheus metrics as Prometheus reads them: a real consumer process serving its metrics on its
port, fed through the real broker; and the alert rules in deploy/prometheus reading metrics that
exist. (Every API's /metrics under gunicorn: tests/deploy/test_compose_native.py.)"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from shared import metrics
from shared.config import ROOT
from shared.kafka import ensure_topics
from shared.relay import OutboxRelay
from tests.shared.effects_app import effect_counts, make_db
from tests.shared.test_messaging import write_events
from tests.support import raw_producer, wait_until

ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port: int) -> dict[tuple[str, tuple], float]:
    """{(sample name, sorted labels): value} from a process's /metrics."""
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def alert_expressions() -> dict[str, str]:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    return {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}


@pytest.mark.integration
def test_a_dead_letter_moves_the_counter_the_alert_reads(real_stack, make_settings, tmp_path):
    settings = make_settings("effects")
    ensure_topics(settings)
    db = make_db(settings.database_url)
    port = free_port()
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.shared.effects_app", settings.database_url, settings.namespace],
        cwd=ROOT, env={**os.environ, "CHITIEU_METRICS_PORT": str(port), "CHITIEU_KAFKA_BOOTSTRAP":
                       settings.kafka_bootstrap}, stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"))
    try:
        wait_until(lambda: _answers(port), timeout=60, message="the worker serves its metrics")
        before = scrape(port)
        assert value(before, "chitieu_consumer_events_dead_lettered_total", consumer="effects", reason="invalid") == 0

        write_events(db, ["a", "b", "c"])
        OutboxRelay(db=db, settings=settings).publish_batch()
        producer = raw_producer(settings)
        producer.send(settings.topic("candidates"), key=b"k", value=b"{not json",
                      headers=[("content-type", b"application/cloudevents+json")]).get(timeout=30)
        producer.close()

        wait_until(lambda: effect_counts(db) == (3, 3), timeout=60, message="the three good events applied")
        wait_until(lambda: value(scrape(port), "chitieu_consumer_events_dead_lettered_total",
                                 consumer="effects", reason="invalid") == 1,
                   timeout=60, message="the dead letter counted")
        after = scrape(port)
        applied = sum(v for (name, labels), v in after.items()
                      if name == "chitieu_consumer_events_applied_total" and ("consumer", "effects") in labels)
        assert applied == 3
        assert value(after, "chitieu_worker_heartbeat_timestamp_seconds",
                     process="tests.shared.effects_app " + settings.database_url) > 0
        lags = [v for (name, _labels), v in after.items() if name == "chitieu_consumer_lag_records"]
        assert lags and max(lags) == 0  # caught up
        # The alert on dead letters reads exactly this counter.
        assert "chitieu_consumer_events_dead_lettered_total" in alert_expressions()["ChitieuDeadLetter"]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
        db.dispose()


def _answers(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).ok
    except requests.RequestException:
        return False


def defined_metrics() -> set[str]:
    """The names of the metrics shared/metrics.py defines (counters without `_total`)."""
    return {family.name for m in vars(metrics).values() if isinstance(m, MetricWrapperBase)
            for family in m.describe()}


def test_every_alert_reads_metrics_the_services_export():
    # The outbox gauges come from OutboxCollector; `up` is Prometheus's own.
    exported = defined_metrics() | {"chitieu_outbox_rows", "chitieu_outbox_oldest_pending_age_seconds", "up"}
    alerts = alert_expressions()
    assert {"ChitieuConsumerLagGrowing", "ChitieuOutboxRowOlderThanAMinute", "ChitieuDeadLetter",
            "ChitieuDeliveryFailures", "ChitieuWorkerHeartbeatStopped"} <= set(alerts)
    for alert, expr in alerts.items():
        names = set(re.findall(r"\b(chitieu_[a-z_]+|up)\b", expr))
        assert names, alert
        unknown = {n for n in names if re.sub(r"_total$", "", n) not in exported}
        assert not unknown, f"{alert} reads metrics nobody exports: {unknown}"


def test_the_alert_rules_say_what_fires_in_vietnamese_and_english():
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))["groups"][0]["rules"]
    for rule in rules:
        summary = rule["annotations"]["summary"]
        assert " / " in summary and re.search(r"[ạảãáàâấầẩẫậăắằẳẵặđêếềểễệôốồổỗộơớờởỡợưứừửữự]", summary), rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}


def test_the_docs_list_every_metric():
    doc = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for name in defined_metrics() | {"chitieu_outbox_rows", "chitieu_outbox_oldest_pending_age_seconds"}:
        assert f"`{name}" in doc, name
    assert Path(ALERTS).name in doc
