"""Backup and restore (shared/backup.py, `chitieu backup`) on the real broker, Redis and database,
with the services running as real processes: back up, make 100 admissions, stop, restore, rebuild
Redis, start again: the consumers read the 100 admissions again from the offsets of the backup, and
the figures equal those after the 100 admissions, not one counted twice."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta

import pytest
from sqlalchemy import create_engine, text

from shared.config import ROOT
from tests.support import wait_until
from tests.system import System

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KINDS = [k.strip() for k in os.environ.get("CHITIEU_TEST_DATABASES", "sqlite").split(",") if k.strip()]
WARD, CELL = "BK-PHUONG", "BK-CB1"
PROCESSES = ("web-api", "quota-api", "quota-relay", "quota-consumer", "candidates-api", "candidates-relay",
             "candidates-consumer")
BEFORE, AFTER = 5, 100


def admit(system: System, n: int) -> None:
    person = {"full_name": f"Trần Văn Lưu {n}", "date_of_birth": "2001-05-02", "gender": "male",
              "ethnicity": "Kinh", "religion": None, "education_level": "university",
              "occupation_group": "student", "national_id": f"038201{n:06d}", "org_code": CELL,
              "listed_on": "2023-01-02", "youth_union_member": False, "helpers": ["Lê Văn Bình"]}
    resp = system.api("candidates", "POST", "/candidates", json=person)
    assert resp.status_code == 201, resp.text
    cid = resp.json()["id"]
    admitted_on = date(2024, 3, 4) + timedelta(days=n % 200)
    for step in (
        {"to": "trained", "date": "2023-03-01", "training_certificate_number": f"GCN-{n}"},
        {"to": "applied", "date": "2023-09-01", "introducers": [
            {"full_name": "Lê Văn Bình", "official_member": True},
            {"full_name": "Trần Thị Cúc", "official_member": True}]},
        {"to": "proposed", "date": (admitted_on - timedelta(days=20)).isoformat(), "decision_number": f"{n}/NQ-CB"},
        {"to": "admitted", "date": admitted_on.isoformat(), "decision_number": f"{n}-QĐ/ĐU", "deciding_org_code": WARD},
    ):
        resp = system.api("candidates", "POST", f"/candidates/{cid}/transitions", json=step)
        assert resp.status_code == 201, resp.text


def figures(system: System) -> dict:
    out = {}
    for code in (WARD, CELL):
        resp = system.api("quota", "GET", f"/organizations/{code}/progress",
                   params={"period": "2024", "as_of": "2024-12-31"})
        assert resp.status_code == 200, resp.text
        out[code] = {k: v for k, v in resp.json().items() if k not in ("as_of", "generated_at")}
    return out


def ledger_rows(system: System, url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM processed_events WHERE consumer = 'quota-progress'")).scalar()
    finally:
        engine.dispose()


def chitieu(system: System, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, *args], cwd=ROOT, env=system.env, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.mark.parametrize("kind", KINDS)
def test_restore_then_replay_gives_the_figures_after_the_admissions(kind, real_stack, tmp_path):
    env = {"CHITIEU_LOG_LEVEL": "INFO"}
    if kind == "sqlite":
        for svc in ("web", "quota", "candidates", "notifications"):
            env[f"CHITIEU_{svc.upper()}_DATABASE_URL"] = f"sqlite:///{tmp_path}/{svc}.db"
    system = System(log_dir=tmp_path / "logs", env=env)
    quota_url = system.env["CHITIEU_QUOTA_DATABASE_URL"]
    try:
        system.start(only=PROCESSES)
        for code, name, type_, parent in ((WARD, "Đảng bộ phường Sao Lưu", "grassroots", None),
                                          (CELL, "Chi bộ khu phố Sao Lưu", "cell", WARD)):
            resp = system.api("quota", "POST", "/organizations", json={
                "code": code, "name": name, "type": type_, "parent_code": parent, "effective_date": "2020-01-01"})
            assert resp.status_code == 201, resp.text
        for code, target in ((CELL, 150), (WARD, 200)):
            resp = system.api("quota", "PUT", f"/organizations/{code}/quotas/2024", json={"target": target})
            assert resp.status_code in (200, 201), resp.text
        wait_until(lambda: system.api("candidates", "GET", f"/organizations/{CELL}").status_code == 200,
                   timeout=60, message="the candidate service never learnt the cell")
        for n in range(BEFORE):
            admit(system, n)
        wait_until(lambda: figures(system)[WARD]["admitted"] == BEFORE, timeout=60, message="first admissions")

        backups = tmp_path / "backups"
        made = chitieu(system, "-m", "shared.cli", "backup", "create", str(backups))
        backup = backups / made.stdout.strip().splitlines()[-1].rsplit("/", 1)[-1]
        manifest = json.loads((backup / "manifest.json").read_text())
        assert f"{system.namespace}.quota-progress" in manifest["consumer_offsets"]
        assert sorted(manifest["databases"]) == ["candidates", "notifications", "quota", "web"]

        for n in range(BEFORE, BEFORE + AFTER):
            admit(system, n)
        wait_until(lambda: figures(system)[WARD]["admitted"] == BEFORE + AFTER, timeout=120,
                   message="the 100 admissions counted")
        after = figures(system)
        assert after[CELL]["admitted"] == BEFORE + AFTER and ledger_rows(system, quota_url) == BEFORE + AFTER

        # Disaster: everything stops; the databases are put back as they were at the backup.
        for name in list(system.processes):
            system.stop_process(name)
        chitieu(system, "-m", "shared.cli", "backup", "restore", str(backup))
        assert ledger_rows(system, quota_url) == BEFORE  # the restore took the databases back
        rebuilt = chitieu(system, "-m", "services.quota.worker", "rebuild")
        assert "rebuilt" in rebuilt.stdout
        system.start_process("web-api")
        system.start_process("quota-api")
        system.wait_ready()
        assert figures(system)[WARD]["admitted"] == BEFORE  # Redis rebuilt from the restored ledger

        # The consumers resume from the backup's offsets and read the 100 admissions again.
        for name in PROCESSES:
            if name not in system.processes:
                system.start_process(name)
        system.wait_ready()
        wait_until(lambda: figures(system) == after, timeout=120, interval=0.5,
                   message=f"figures back to those after the admissions: {after}")
        wait_until(lambda: ledger_rows(system, quota_url) == BEFORE + AFTER, timeout=30, message="ledger replayed")
        # Nothing more comes: the relays' republished rows and the replay counted nothing twice.
        import time
        time.sleep(5)
        assert figures(system) == after
        assert ledger_rows(system, quota_url) == BEFORE + AFTER
    finally:
        system.stop()
