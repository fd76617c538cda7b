"""The quota consumer as it runs in production (`python -m services.quota.worker consume`, polls
applied by a child process): killed with SIGKILL, it leaves no process behind."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import ROOT
from tests.support import wait_until

pytestmark = pytest.mark.integration


def children(pid: int) -> list[int]:
    """The processes whose parent is `pid`, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        if ppid == pid:
            found.append(int(stat.parent.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_consumer_killed_with_sigkill_leaves_no_apply_process_behind(settings, db):
    env = dict(os.environ, CHITIEU_QUOTA_DATABASE_URL=settings.database_url, CHITIEU_NAMESPACE=settings.namespace,
               CHITIEU_KAFKA_BOOTSTRAP=settings.kafka_bootstrap, CHITIEU_REDIS_URL=settings.redis_url)
    worker = subprocess.Popen([sys.executable, "-m", "services.quota.worker", "consume"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    kids: list[int] = []
    try:
        wait_until(lambda: any("spawn_main" in cmdline(pid) for pid in children(worker.pid)), timeout=60,
                   message="the apply process did not start")
        kids[:] = children(worker.pid)
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        wait_until(lambda: not any(alive(pid) for pid in kids), timeout=15,
                   message=f"processes {kids} outlived their killed parent")
    finally:
        worker.kill()
        for pid in kids + children(worker.pid):
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
