"""docker-compose.kafka-cluster.yml, checked without a Docker engine as docker-compose.yml is: the
override alone and merged over the base file (as `docker compose -f docker-compose.yml -f
docker-compose.kafka-cluster.yml` merges them) against the Compose Specification, and the cluster's
settings: three KRaft nodes of one cluster, three replicas with two in sync, every chitieu process
given every broker."""
from __future__ import annotations

import copy
import json
import re
import shlex
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from shared.config import ROOT
from tests.deploy import compose_support as cs

OVERRIDE = ROOT / "docker-compose.kafka-cluster.yml"
SCHEMA = Path(__file__).with_name("compose-spec.json")
NODES = {"kafka": 1, "kafka-2": 2, "kafka-3": 3}


def merge(base: dict, override: dict) -> dict:
    """The Compose Specification's merge of two files, for what these files use: mappings merge
    key by key (environment, depends_on, deploy, healthcheck), `volumes` of a service merge by
    their target path, other sequences and scalars are replaced."""
    merged = copy.deepcopy(base)
    for name, service in override.get("services", {}).items():
        target = merged["services"].setdefault(name, {})
        for key, value in service.items():
            if key == "volumes":
                mounts = {v.split(":")[1]: v for v in target.get("volumes", [])}
                mounts.update({v.split(":")[1]: v for v in value})
                target["volumes"] = list(mounts.values())
            elif isinstance(value, dict) and isinstance(target.get(key), dict):
                target[key] = _merge_mapping(target[key], value)
            else:
                target[key] = copy.deepcopy(value)
    for key in ("volumes", "secrets"):
        if override.get(key):
            merged.setdefault(key, {}).update(override[key])
    return merged


def _merge_mapping(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        out[key] = _merge_mapping(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) \
            else value
    return out


@pytest.fixture(scope="module")
def raw_override() -> dict:
    return yaml.safe_load(OVERRIDE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def model(raw_override) -> dict:
    return cs.interpolate_tree(merge(cs.load_raw(), raw_override), {})


def test_the_override_and_the_merged_file_follow_the_compose_specification(raw_override, model):
    validator = jsonschema.Draft7Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    for name, document in (("override", raw_override), ("merged", model)):
        errors = list(validator.iter_errors(document))
        assert not errors, f"{name}: " + "; ".join(e.message for e in errors[:5])


def test_the_merge_is_the_composes_merge():
    """The small merge above, on what compose's own documentation shows."""
    base = {"services": {"a": {"environment": {"X": "1", "Y": "2"}, "volumes": ["v1:/data", "v2:/logs"],
                               "command": ["a", "b"]}}, "volumes": {"v1": None, "v2": None}}
    override = {"services": {"a": {"environment": {"Y": "3"}, "volumes": ["w:/data"], "command": ["c"]}},
                "volumes": {"w": None}}
    merged = merge(base, override)["services"]["a"]
    assert merged == {"environment": {"X": "1", "Y": "3"}, "volumes": ["w:/data", "v2:/logs"], "command": ["c"]}


def test_three_kraft_nodes_of_one_cluster_each_with_its_own_volume(model):
    services = model["services"]
    voters = "1@kafka:9093,2@kafka-2:9093,3@kafka-3:9093"
    base_kafka = cs.load({})["services"]["kafka"]
    data = set()
    for name, node in NODES.items():
        kafka = services[name]
        env = kafka["environment"]
        assert kafka["image"] == base_kafka["image"], "the same broker everywhere"
        assert env["KAFKA_NODE_ID"] == str(node)
        assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
        assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == voters
        assert env["KAFKA_ADVERTISED_LISTENERS"] == f"PLAINTEXT://{name}:9092"
        assert env["CLUSTER_ID"] == services["kafka"]["environment"]["CLUSTER_ID"]
        assert (env["KAFKA_DEFAULT_REPLICATION_FACTOR"], env["KAFKA_MIN_INSYNC_REPLICAS"]) == ("3", "2")
        assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        assert (env["KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"], env["KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"]) \
            == ("3", "2")
        assert env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
        assert all(k.startswith("KAFKA_") or k == "CLUSTER_ID" for k in env)
        assert kafka["restart"] == "unless-stopped"
        assert re.fullmatch(r"\d+[MG]", kafka["deploy"]["resources"]["limits"]["memory"])
        assert f"(id: {node} rack" in kafka["healthcheck"]["test"][1]
        mounts = {v.split(":")[1]: v.split(":")[0] for v in kafka["volumes"]}
        volume = mounts[env["KAFKA_LOG_DIRS"]]
        assert volume in model["volumes"]
        data.add(volume)
    assert len(data) == 3


def test_every_chitieu_process_is_given_every_broker(model):
    services = cs.chitieu_services(model)
    assert set(cs.procfile_processes()) <= set(services)
    for name, service in services.items():
        bootstrap = cs.service_environment(service, {})["CHITIEU_KAFKA_BOOTSTRAP"]
        assert sorted(bootstrap.split(",")) == ["kafka-2:9092", "kafka-3:9092", "kafka:9092"], name
    # An administrator's own list still wins, as in the base file.
    mine = cs.interpolate_tree(merge(cs.load_raw(), yaml.safe_load(OVERRIDE.read_text())),
                               {"CHITIEU_KAFKA_BOOTSTRAP": "k1:9092,k2:9092"})
    assert mine["services"]["quota-consumer"]["environment"]["CHITIEU_KAFKA_BOOTSTRAP"] == "k1:9092,k2:9092"


def test_topics_are_made_once_every_broker_is_up(model):
    depends = model["services"]["kafka-topics"]["depends_on"]
    for name in NODES:
        assert depends[name] == {"condition": "service_healthy"}, name


@pytest.mark.parametrize("answering, healthy", [(2, True), (1, False)])
def test_a_nodes_healthcheck_needs_that_nodes_answer(model, tmp_path, answering, healthy):
    """kafka-2's shell line, with the tool replaced by a stub printing what the real one prints
    (the base test's sample) for node `answering`: only node 2's own answer is healthy."""
    sample = (Path(__file__).with_name("fixtures") / "kafka-api-versions-ok.txt").read_text()
    (tmp_path / "out.txt").write_text(sample.replace("(id: 1 ", f"(id: {answering} "))
    stub = tmp_path / "kafka-broker-api-versions.sh"
    stub.write_text(f"#!/bin/sh\ncat {shlex.quote(str(tmp_path / 'out.txt'))}\n")
    stub.chmod(0o755)
    kind, line = model["services"]["kafka-2"]["healthcheck"]["test"]
    assert kind == "CMD-SHELL"
    result = subprocess.run(["sh", "-c", line.replace("/opt/kafka/bin/kafka-broker-api-versions.sh", str(stub))],
                            capture_output=True, timeout=30)
    assert (result.returncode == 0) is healthy
