"""Topics are created with the retention the project sets (tests/… through the real broker): the
tree's state topic compacted, event topics and the dead-letter topic deleted after their days; a
topic that exists with other settings is brought to ours."""
from __future__ import annotations

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

from shared.config import SettingError
from shared.kafka import DAY_MS, ensure_topics, min_insync_replicas, replication_factor, topic_configs
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


def replicas(settings, name: str) -> tuple[int, str]:
    """(replicas of partition 0, min.insync.replicas set on the topic) of a logical topic."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        topic = settings.topic(name)
        described = admin.describe_topics([topic])[0]
        entries = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])["topic"][topic]
    finally:
        admin.close()
    return len(described["partitions"][0]["replica_nodes"]), entries["min.insync.replicas"]["value"]


def test_on_one_broker_topics_have_one_replica_and_min_insync_one(real_stack, make_settings):
    settings = make_settings("topics")
    ensure_topics(settings, ("candidates",))
    assert wait_until(lambda: replicas(settings, "candidates") == (1, "1"), timeout=10,
                      message="one replica and min.insync.replicas=1 on the one broker")


@pytest.mark.parametrize("brokers, setting, replication, min_insync", [
    (1, None, 1, 1), (2, None, 2, 1), (3, None, 3, 2), (5, None, 3, 2), (5, "5", 5, 2), (3, "1", 1, 1)])
def test_replication_follows_the_cluster_unless_set(monkeypatch, brokers, setting, replication, min_insync):
    if setting is None:
        monkeypatch.delenv("CHITIEU_TOPIC_REPLICATION_FACTOR", raising=False)
    else:
        monkeypatch.setenv("CHITIEU_TOPIC_REPLICATION_FACTOR", setting)
    assert replication_factor(brokers) == replication
    assert min_insync_replicas(replication) == min_insync
    assert topic_configs("candidates", replication=replication)["min.insync.replicas"] == str(min_insync)


@pytest.mark.parametrize("bad", ["0", "three", "-1", "2.5"])
def test_a_bad_replication_factor_is_refused_clearly(monkeypatch, bad):
    monkeypatch.setenv("CHITIEU_TOPIC_REPLICATION_FACTOR", bad)
    with pytest.raises(SettingError, match="CHITIEU_TOPIC_REPLICATION_FACTOR must be a whole number"):
        replication_factor(3)
