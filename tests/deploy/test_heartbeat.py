"""shared/heartbeat.py: the stop event of every worker loop doubles as its liveness heartbeat
(docker-compose.yml sets CHITIEU_HEALTH_FILE; the workers' healthcheck reads the file's age)."""
from __future__ import annotations

import threading

from shared.heartbeat import HeartbeatEvent
from shared.worker import run_until_stopped


def test_asking_whether_to_stop_touches_the_file(tmp_path):
    beat = tmp_path / "heartbeat"
    stop = HeartbeatEvent(beat)
    assert stop.is_set() is False
    assert beat.exists()
    stop.set()
    assert stop.is_set() is True


def test_touches_are_rate_limited(tmp_path):
    beat = tmp_path / "heartbeat"
    stop = HeartbeatEvent(beat, every_s=3600)
    stop.is_set()
    beat.unlink()
    stop.is_set()  # within the same period: no new touch
    assert not beat.exists()


def test_a_long_wait_keeps_beating_and_returns_when_stopped(tmp_path):
    beat = tmp_path / "heartbeat"
    stop = HeartbeatEvent(beat, every_s=0.01)
    beats = []
    original = stop.beat
    stop.beat = lambda: (beats.append(1), original())[1]
    assert stop.wait(0.2) is False  # not stopped: the wait ran out
    assert len(beats) >= 2  # it beat again during the wait, not only at its start
    threading.Timer(0.05, stop.set).start()
    assert stop.wait(60) is True  # a stop ends the wait early


def test_without_a_file_it_is_a_plain_event(tmp_path):
    stop = HeartbeatEvent(None)
    assert stop.is_set() is False and stop.wait(0.01) is False
    assert list(tmp_path.iterdir()) == []


def test_workers_get_the_heartbeat_from_the_environment(tmp_path, monkeypatch):
    beat = tmp_path / "heartbeat"
    monkeypatch.setenv("CHITIEU_HEALTH_FILE", str(beat))
    monkeypatch.setattr("shared.worker.install_sigterm", lambda stop: None)  # keep pytest's signals
    seen = []

    def loop(stop):  # a worker loop: asks once per turn, as the relay and consumers do
        seen.append(type(stop).__name__)
        stop.is_set()

    run_until_stopped(loop)
    assert seen == ["HeartbeatEvent"] and beat.exists()


# --- the watchdog: a stalled loop exits, so docker's restart policy (or supervisord) acts --------
STALLING_WORKER = """
import time
from shared.worker import run_until_stopped

def loop(stop):
    stop.is_set()          # one turn ...
    if {stall}:
        time.sleep(3600)   # ... then stuck in a call that never returns
    while not stop.wait(0.2):  # or a loop that keeps turning, sleeping between turns
        pass

run_until_stopped(loop)
"""


def _run_worker(stall: bool, timeout: float):
    import os
    import subprocess
    import sys

    from shared.config import ROOT
    env = dict(os.environ, CHITIEU_WORKER_STALL_S="1", PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", STALLING_WORKER.format(stall=stall)], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def test_a_worker_whose_loop_stalls_exits_on_its_own():
    import time
    started = time.monotonic()
    worker = _run_worker(stall=True, timeout=20)
    try:
        status = worker.wait(timeout=20)
    finally:
        worker.kill()
    output = worker.stdout.read()
    assert status == 70, output
    assert "stalled" in output
    assert time.monotonic() - started < 10


def test_a_loop_that_keeps_turning_is_left_alone():
    import subprocess
    worker = _run_worker(stall=False, timeout=5)
    try:
        worker.wait(timeout=3)
        raise AssertionError(f"a healthy loop exited: {worker.stdout.read()}")
    except subprocess.TimeoutExpired:
        pass  # still running after three stall limits: the watchdog saw its turns
    finally:
        worker.kill()
        worker.wait()
