"""A broker dies in the middle of a stream of admissions (#13 point 4), through the real processes.

The project's own script starts a three-broker KRaft cluster (scripts/stack.sh start-kafka --brokers 3)
on ports of its own, beside the shared single-broker stack, and every Procfile process runs against
it (tests/system.py). A ward with CELLS cells, each with a 2024 quota of 1, the ward's quota N; a
webhook receiver subscribes to the ward's "quota met" notices. N candidates are listed with one
import and taken to the eve of admission through the candidate API (a thread pool of transitions);
their admission decisions go in CHUNKS bulk requests, and after KILL_AFTER of them the broker that
leads most of the candidate topic's partitions is killed with SIGKILL. The rest are sent with the
broker dead. Then:
- every admission is counted once: the ward's progress is N and every cell's is what it was given;
- every "quota met" notice is delivered once: exactly one per cell and one for the ward;
- nothing is left behind: every outbox row sent, none failed, no dead letter;
- the consumers carried on without a restart: every process alive, with the PID it started with.
The cluster is stopped and its data deleted at the end; the dead broker is not restarted (the point is
that two carry everything). CHITIEU_CHAOS_ADMISSIONS sets N (5,000).

Time: the ~4 minutes asked for do not hold on the shared 2-core machine. Measured at N=5,000 with
a load average of 24-33 (other suites running), two runs: 12.6 and 18 min in all; cluster start
27 and 158 s, every process started 45 and 132 s, the 15,000 transitions to the eve of admission
531 and 604 s (25-28/s: there is no bulk transition API), the 10 decision requests 56 and 81 s, then
every admission counted 2 s after the last request and every notice delivered 2 s later. At N=500
(load about 18) the test body took 104 s.
"""
from __future__ import annotations

import csv
import io
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
import requests
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType
from sqlalchemy import create_engine, text

from services.candidates.registry import make_national_id
from shared.config import ROOT
from tests.support import PG_URL, end_offsets, wait_until
from tests.system import System

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(2400)]

N = int(os.environ.get("CHITIEU_CHAOS_ADMISSIONS", "5000"))
CELLS = min(100, N)
CHUNKS, KILL_AFTER = 10, 4
PROVINCE, WARD = "C13-TINH", "C13-PHUONG"
CELL_CODES = [f"C13-CB{n:03d}" for n in range(1, CELLS + 1)]
BROKERS = 3


def ports_free_in_a_row(count: int) -> int:
    """The first of `count` consecutive free ports, away from the shared stack's."""
    rng = random.Random()
    while True:
        base = rng.randrange(20000, 40000)
        taken = False
        for port in range(base, base + count):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    taken = True
                    break
        if not taken:
            return base


def alive(pid: int) -> bool:
    """Running (a killed broker nobody has reaped yet is a zombie: dead)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Cluster:
    def __init__(self, stack_dir: Path):
        self.stack_dir = stack_dir
        base = ports_free_in_a_row(2 * BROKERS)
        self.env = dict(os.environ, CHITIEU_STACK_DIR=str(stack_dir), CHITIEU_KAFKA_BROKERS=str(BROKERS),
                        CHITIEU_KAFKA_PORT=str(base), CHITIEU_KAFKA_CONTROLLER_PORT=str(base + BROKERS),
                        CHITIEU_KAFKA_HEAP="384m")
        self.bootstrap = ""

    def script(self, *args: str) -> None:
        subprocess.run(["bash", str(ROOT / "scripts" / "stack.sh"), *args], env=self.env, check=True,
                       stdout=subprocess.DEVNULL, timeout=600)

    def start(self) -> "Cluster":
        self.script("start-kafka", "--brokers", str(BROKERS))
        # The bootstrap list of every broker, as the script wrote it where the settings are read.
        settings = dict(line.split("=", 1) for line in (self.stack_dir / "env").read_text().splitlines()
                        if line.startswith("CHITIEU_"))
        self.bootstrap = settings["CHITIEU_KAFKA_BOOTSTRAP"]
        assert len(self.bootstrap.split(",")) == BROKERS
        return self

    def pid(self, node: int) -> int:
        return int((self.stack_dir / f"kafka-{node}.pid").read_text())

    def kill(self, node: int) -> None:
        pid = self.pid(node)
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not alive(pid), timeout=30, message="the broker did not die")

    def stop(self) -> None:
        try:
            self.script("stop-kafka")
        finally:
            shutil.rmtree(self.stack_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    running = Cluster(tmp_path_factory.mktemp("kafka-cluster") / "stack")
    started = time.monotonic()
    try:
        running.start()
        print(f"\ncluster started in {time.monotonic() - started:.1f} s")
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def system(tmp_path_factory, real_stack, cluster):
    running = System(log_dir=tmp_path_factory.mktemp("broker-death-logs"), web_workers=2,
                     env={"CHITIEU_KAFKA_BOOTSTRAP": cluster.bootstrap,
                          "CHITIEU_NOTIFY_BACKOFF_S": "0.2", "CHITIEU_NOTIFY_BACKOFF_MAX_S": "1"})
    started = time.monotonic()
    try:
        running.start(timeout=180)
        print(f"\nsystem started in {time.monotonic() - started:.1f} s")
        yield running
    finally:
        running.stop()


def people_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Họ và tên", "Ngày sinh", "Giới tính", "Dân tộc", "Nghề nghiệp", "Số CCCD", "Mã chi bộ",
                     "Ngày lập danh sách"])
    born = date(2001, 5, 4)
    for n in range(N):
        writer.writerow([f"Nguyễn Văn Số {n}", "04/05/2001", "Nam", "Kinh", "student",
                         make_national_id(province=38, gender="male", date_of_birth=born, serial=300000 + n),
                         CELL_CODES[n % CELLS], "02/01/2023"])
    return out.getvalue().encode()


def decisions_csv(ids: list[str], first: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["Mã quần chúng", "Số quyết định", "Ngày quyết định", "Mã cấp ủy quyết định"])
    for n, cid in enumerate(ids, start=first):
        writer.writerow([cid, f"{n + 1}-QĐ/ĐU", "04/03/2024", WARD])
    return out.getvalue().encode()


STEPS = [{"to": "trained", "date": "2023-03-01"},
         {"to": "applied", "date": "2023-09-01", "introducers": [
             {"full_name": "Lê Văn Bình", "official_member": True},
             {"full_name": "Trần Thị Cúc", "official_member": True}]},
         {"to": "proposed", "date": "2024-02-01", "decision_number": "NQ-01/CB"}]


def to_eve_of_admission(system: System, ids: list[str]) -> None:
    local = threading.local()

    def advance(cid: str) -> None:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        # A new token now and then: on a loaded machine this takes longer than a token lives.
        local.session.headers.update(system.headers())
        for step in STEPS:
            resp = local.session.post(f"{system.url('candidates')}/api/v1/candidates/{cid}/transitions", json=step,
                                      timeout=120)
            assert resp.status_code == 201, resp.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(advance, ids))


def topic_replication(bootstrap: str, topic: str) -> tuple[set[int], str]:
    """(replica counts of the topic's partitions, its min.insync.replicas)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        described = admin.describe_topics([topic])[0]
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)],
                                         config_filter="all")["topic"][topic]
    finally:
        admin.close()
    return {len(p["replica_nodes"]) for p in described["partitions"]}, configs["min.insync.replicas"]["value"]


def busiest_leader(bootstrap: str, topic: str) -> int:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        partitions = admin.describe_topics([topic])[0]["partitions"]
    finally:
        admin.close()
    return Counter(p["leader_id"] for p in partitions).most_common(1)[0][0]


def groups_caught_up(bootstrap: str, namespace: str) -> bool:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        groups = [g["group_id"] for g in admin.list_groups() if g["group_id"].startswith(namespace + ".")]
        for group in groups:
            committed = admin.list_group_offsets(group)[group]
            ends = end_offsets(probe, list(committed))
            if any(meta.offset < ends.get(tp, 0) for tp, meta in committed.items()):
                return False
        return len(groups) >= 4
    finally:
        probe.close()
        admin.close()


def records_in(bootstrap: str, topic: str) -> int:
    probe = KafkaConsumer(bootstrap_servers=bootstrap)
    try:
        partitions = [TopicPartition(topic, p) for p in probe.partitions_for_topic(topic) or ()]
        return sum(end_offsets(probe, partitions).values()) if partitions else 0
    finally:
        probe.close()


def outbox_states(system: System) -> dict[str, int]:
    states: Counter = Counter()
    for svc in ("quota", "candidates", "notifications", "web"):
        engine = create_engine(PG_URL.format(name=system.databases[svc]))
        with engine.connect() as conn:
            for state, count in conn.execute(text("SELECT state, count(*) FROM outbox GROUP BY state")):
                states[state] += count
        engine.dispose()
    return dict(states)


def test_a_broker_killed_mid_stream_loses_and_doubles_nothing(cluster, system, receiver):
    figures: dict[str, float] = {}
    started = time.monotonic()
    pids = {name: p.pid for name, p in system.processes.items()}

    tree = [(PROVINCE, "Đảng bộ tỉnh Thử", "province", None), (WARD, "Đảng bộ phường Thử", "grassroots", PROVINCE)]
    tree += [(code, f"Chi bộ khu phố {n}", "cell", WARD) for n, code in enumerate(CELL_CODES, start=1)]
    for code, name, type_, parent in tree:
        resp = system.api("quota", "POST", "/organizations", json={
            "code": code, "name": name, "type": type_, "parent_code": parent, "effective_date": "2020-01-01"})
        assert resp.status_code == 201, resp.text
    figures["tree_s"] = time.monotonic() - started
    for code, target in [(WARD, N)] + [(code, 1) for code in CELL_CODES]:
        resp = system.api("quota", "PUT", f"/organizations/{code}/quotas/2024", json={"target": target})
        assert resp.status_code in (200, 201), resp.text
    wait_until(lambda: system.api("notifications", "POST", "/subscriptions", json={
        "org_code": WARD, "include_subtree": True, "events": ["quota_met"], "channel": "webhook",
        "target": receiver.url}).status_code == 201 or None, timeout=120,
        message="the notification service never learnt the ward")
    wait_until(lambda: system.api("candidates", "GET", f"/organizations/{CELL_CODES[-1]}").status_code == 200,
               timeout=120, message="the candidate service never learnt the cells")

    figures["replicas_ready_s"] = time.monotonic() - started
    # Every topic of the namespace is on the three brokers, and an acknowledged write on two.
    topic = f"{system.namespace}.candidates"
    assert topic_replication(cluster.bootstrap, topic) == ({3}, "2")
    assert topic_replication(cluster.bootstrap, "__consumer_offsets") == ({3}, "2")  # the broker's default

    listed = system.api("candidates", "POST", "/candidates/import",
                 files={"file": ("danh-sach.csv", people_csv(), "text/csv")})
    assert listed.status_code == 201, listed.text
    ids = listed.json()["candidate_ids"]
    assert len(ids) == N
    figures["import_s"] = time.monotonic() - started
    to_eve_of_admission(system, ids)
    figures["to_eve_s"] = time.monotonic() - started

    victim = busiest_leader(cluster.bootstrap, topic)
    size = -(-N // CHUNKS)
    chunks = [ids[i:i + size] for i in range(0, N, size)]
    for number, chunk in enumerate(chunks):
        if number == KILL_AFTER:
            cluster.kill(victim)
            figures["admitted_when_killed"] = progress(system, WARD)["admitted"]
            figures["killed_at_s"] = time.monotonic() - started
        resp = system.api("candidates", "POST", "/admission-decisions",
                   files={"file": ("quyet-dinh.csv", decisions_csv(chunk, number * size), "text/csv")})
        assert resp.status_code == 201, resp.text
        assert resp.json()["recorded"] == len(chunk)
    figures["decided_s"] = time.monotonic() - started
    assert figures["admitted_when_killed"] < N, "the broker must die in the middle of the stream"

    wait_until(lambda: progress(system, WARD)["admitted"] >= N, timeout=600,
               message=f"the quota service did not count {N} admissions with a broker dead")
    figures["counted_s"] = time.monotonic() - started
    wait_until(lambda: len(receiver.received) >= CELLS + 1, timeout=300, message="quota met notices missing")
    wait_until(lambda: groups_caught_up(cluster.bootstrap, system.namespace), timeout=300,
               message="the consumer groups did not catch up")
    wait_until(lambda: system.api("notifications", "GET", "/notifications",
                           params={"status": "pending", "per_page": 1}).json()["total"] == 0,
               timeout=120, message="notices still waiting for delivery")
    figures["settled_s"] = time.monotonic() - started

    # Every admission counted once, in the ward and in each cell.
    assert progress(system, WARD)["admitted"] == N
    per_cell = Counter(CELL_CODES[n % CELLS] for n in range(N))
    for code in CELL_CODES:
        assert progress(system, code)["admitted"] == per_cell[code], code
    # Every "quota met" notice delivered once.
    notices = Counter(r.json()["org_code"] for r in receiver.received if r.json()["kind"] == "quota_met")
    assert notices == Counter({**{code: 1 for code in CELL_CODES}, WARD: 1})
    assert len(receiver.received) == CELLS + 1
    # Nothing left behind, nothing set aside.
    states = outbox_states(system)
    assert set(states) == {"sent"}, states
    assert records_in(cluster.bootstrap, f"{system.namespace}.dead-letter") == 0
    # The consumers carried on: every process alive, none restarted.
    assert {name: p.pid for name, p in system.processes.items()} == pids
    dead = {name: p.returncode for name, p in system.processes.items() if p.poll() is not None}
    assert not dead, dead
    assert not alive(cluster.pid(victim)), "the broker stayed dead throughout"

    figures["brokers_rss_mb"] = sum(rss_mb(cluster.pid(n)) for n in range(1, BROKERS + 1) if n != victim)
    print(f"\nbroker death: N={N}, cells={CELLS}, killed broker {victim}; " +
          ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()))


def progress(system: System, code: str) -> dict:
    resp = system.api("quota", "GET", f"/organizations/{code}/progress",
               params={"period": "2024", "as_of": "2024-12-31"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def rss_mb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0
