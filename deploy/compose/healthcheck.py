"""Container healthchecks of the chitieu processes (docker-compose.yml `healthcheck:`), stdlib only.

    python deploy/compose/healthcheck.py http http://127.0.0.1:8001/readyz
        healthy when the URL answers 200: an API's /readyz, which answers 200 only while its
        database, Kafka and Redis answer.
    python deploy/compose/healthcheck.py heartbeat /tmp/chitieu-heartbeat 120
        healthy when the worker's heartbeat file (CHITIEU_HEALTH_FILE, touched by its loop on every
        turn, see shared/heartbeat.py) is younger than 120 seconds: the loop still turns. A worker
        that is waiting for a broker or database that is away still turns (it retries), so this
        says "alive and not stuck", which is what a liveness check should say.
Exit status 0 = healthy, 1 = unhealthy, with the reason on stdout (docker inspect shows it).
"""
from __future__ import annotations

import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def check_http(url: str, timeout_s: float = 5.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return response.status == 200, f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"{url} answered {exc.code}: {exc.read(500).decode(errors='replace')}"
    except OSError as exc:
        return False, f"{url} did not answer: {exc}"


def check_heartbeat(path: str, max_age_s: float) -> tuple[bool, str]:
    try:
        age = time.time() - Path(path).stat().st_mtime
    except FileNotFoundError:
        return False, f"no heartbeat yet at {path}"
    return age <= max_age_s, f"last heartbeat {age:.0f}s ago (limit {max_age_s:.0f}s)"


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "http":
        ok, reason = check_http(argv[1])
    elif len(argv) == 3 and argv[0] == "heartbeat":
        ok, reason = check_heartbeat(argv[1], float(argv[2]))
    else:
        print(__doc__)
        return 2
    print(("healthy: " if ok else "unhealthy: ") + reason)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
