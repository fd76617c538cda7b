"""Topics are created with the retention the project sets (tests/… through the real broker): the
tree's state topic compacted, event topics and the dead-letter topic deleted after their days; a
topic that exists with other settings is brought to ours."""
from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from shared.kafka import DAY_MS, ensure_topics
from tests.support import wait_until

pytestmark = pytest.mark.integration


def configs(settings, *names) -> dict[str, dict[str, str]]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, settings.topic(n))
                                            for n in names])["topic"]
    finally:
        admin.close()
    return {name.split(".", 1)[1]: {k: v["value"] for k, v in entries.items()
                                    if k in ("cleanup.policy", "retention.ms")}
            for name, entries in described.items()}


def test_every_topic_gets_an_explicit_retention(real_stack, make_settings, monkeypatch):
    settings = make_settings("topics")
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:  # made earlier by hand, with the broker's defaults
        admin.create_topics([NewTopic(settings.topic("quotas"), 1, 1)])
    finally:
        admin.close()
    monkeypatch.setenv("CHITIEU_TOPIC_RETENTION_DAYS", "21")
    ensure_topics(settings)
    # The broker applies a configuration change a moment after acknowledging it.
    found = wait_until(lambda: (lambda f: f if f["quotas"] else None)(
        configs(settings, "organization-state", "organizations", "candidates", "quotas", "dead-letter")),
        timeout=10, message="the existing topic kept the broker's defaults")
    assert found["organization-state"] == {"cleanup.policy": "compact", "retention.ms": "-1"}
    for name in ("organizations", "candidates", "quotas"):
        assert found[name] == {"cleanup.policy": "delete", "retention.ms": str(21 * DAY_MS)}, name
    assert found["dead-letter"] == {"cleanup.policy": "delete", "retention.ms": str(90 * DAY_MS)}
