"""Demo data of the notification service, loaded through its public HTTP API (scripts/demo.py may
call `load` after the quota service's demo). Idempotent: a subscription that exists answers 409
and is skipped, so loading twice changes nothing.

The city committee of TP Thanh Hóa follows its whole subtree in its inbox (every kind, so its
dashboard's live stream shows milestones, met and exceeded quotas, and reminders).
"""
from __future__ import annotations

import time

import requests

from .models import KINDS

SUBSCRIPTIONS = [
    {"org_code": "TP-THANH-HOA", "include_subtree": True, "events": list(KINDS), "channel": "inbox",
     "language": "vi"},
    {"org_code": "TINH-THANH-HOA", "include_subtree": True, "events": ["quota_met", "quota_exceeded"],
     "channel": "inbox", "language": "vi"},
]


def load(*, urls: dict[str, str], token: str, session: requests.Session | None = None,
         wait_for_tree_s: float = 60.0) -> dict[str, int]:
    """Create the demo subscriptions; returns how many were created (0 on a second run)."""
    http = session or requests.Session()
    url = urls["notifications"].rstrip("/") + "/api/v1/subscriptions"
    headers = {"Authorization": f"Bearer {token}"}
    created = 0
    for body in SUBSCRIPTIONS:
        deadline = time.monotonic() + wait_for_tree_s
        while True:
            response = http.post(url, json=body, headers=headers, timeout=30)
            # 422 on org_code: the tree's events from the quota service have not arrived yet.
            if response.status_code == 422 and "org_code" in response.json().get("errors", {}) \
                    and time.monotonic() < deadline:
                time.sleep(0.5)
                continue
            break
        if response.status_code == 201:
            created += 1
        elif response.status_code != 409:
            response.raise_for_status()
            raise RuntimeError(f"subscription refused: {response.status_code} {response.text}")
    return {"subscriptions": created}
