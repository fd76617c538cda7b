"""Demo data of the candidate service, loaded through its public HTTP API (scripts/demo.py calls `load`).

Waits until the candidate service knows the demo cells (the quota service's demo creates the tree;
its organization.created events reach this service through Kafka), then lists candidates and moves
them along the pipeline. Every creating request carries an Idempotency-Key derived from the person and
the step, so loading twice changes nothing.

2024 admissions follow the real figures of the domain notes: phường Đông Sơn admitted 14 (plan 13),
Quảng Cát 13 (plan 10); the rest of TP Thanh Hóa's 2021, 2023 and 2024 results are published as
admission events by demo_history.py (`history=True`). Those admitted before 2024-11 were recognised official 12 months later. Around
them: candidates at every other stage, closed ones, and one cell reporting only 2 official members.
"""
from __future__ import annotations

import time
from datetime import date, timedelta

import requests

from shared import clock
from shared.contracts.candidates import MEMBER_STAGES, OPEN_STAGES

from .registry import make_national_id

CELLS = ("P-DONG-SON-CB1", "P-DONG-SON-CB2", "P-QUANG-CAT-CB1", "P-QUANG-CAT-CB2")
WARD = {"P-DONG-SON-CB1": "P-DONG-SON", "P-DONG-SON-CB2": "P-DONG-SON",
        "P-QUANG-CAT-CB1": "P-QUANG-CAT", "P-QUANG-CAT-CB2": "P-QUANG-CAT"}
OFFICIAL_MEMBERS = {"P-DONG-SON-CB1": 24, "P-DONG-SON-CB2": 17, "P-QUANG-CAT-CB1": 15, "P-QUANG-CAT-CB2": 2}
ADMITTED_2024 = {"P-DONG-SON-CB1": 8, "P-DONG-SON-CB2": 6, "P-QUANG-CAT-CB1": 7, "P-QUANG-CAT-CB2": 6}
# Per cell, besides the 2024 admissions: the final stage of each other candidate and how many days
# before ANCHOR its last step happened. Fixed dates, so that every load sends the same requests (the
# Idempotency-Keys would otherwise refuse a second day's load); chosen so that the reminders show:
# a decision overdue (resolution in April 2026) and a probation ended unrecognised (November 2026).
ANCHOR = date(2026, 9, 1)
OTHERS = (("source", 20), ("source", 35), ("trained", 60), ("applied", 90), ("proposed", 100), ("admitted", 290),
          ("withdrawn", 120), ("rejected", 130))

FAMILY = ("Nguyễn", "Lê", "Trần", "Phạm", "Hoàng", "Vũ", "Đỗ", "Bùi", "Đặng", "Lường")
MIDDLE_F, MIDDLE_M = ("Thị", "Ngọc", "Thu"), ("Văn", "Đức", "Minh")
GIVEN_F, GIVEN_M = ("Hoa", "Lan", "Hương", "Ngân", "Thảo"), ("An", "Bình", "Cường", "Dũng", "Hải")
ETHNICITIES = ("Kinh", "Kinh", "Kinh", "Mường", "Thái")
OCCUPATIONS = ("student", "civil_servant", "non_state_enterprise", "farmer", "state_enterprise", "armed_forces",
               "other")
PIPELINE = OPEN_STAGES[1:] + MEMBER_STAGES  # the steps after listing, in order


def _person(n: int, cell: str, listed_on: date) -> dict:
    female = n % 2 == 0
    gender = "female" if female else "male"
    born = date(1990 + n % 12, 1 + n % 12, 1 + n % 27)
    name = " ".join((FAMILY[n % len(FAMILY)], (MIDDLE_F if female else MIDDLE_M)[n % 3],
                     (GIVEN_F if female else GIVEN_M)[(n // 2) % 5]))
    return {"full_name": name, "date_of_birth": born.isoformat(), "gender": gender,
            "ethnicity": ETHNICITIES[n % len(ETHNICITIES)], "religion": None,
            "education_level": ("upper_secondary", "college", "university")[n % 3],
            "occupation_group": OCCUPATIONS[n % len(OCCUPATIONS)],
            "national_id": make_national_id(province=38, gender=gender, date_of_birth=born, serial=700000 + n),
            "org_code": cell, "listed_on": listed_on.isoformat(), "youth_union_member": n % 3 == 0,
            "helpers": ["Lê Văn Bình"]}


def _steps(cell: str, admitted_on: date, until: str) -> list[dict]:
    """The requests that take a candidate from source to `until`, dated back from `admitted_on`."""
    ward = WARD[cell]
    dates = {"trained": admitted_on - timedelta(days=300), "applied": admitted_on - timedelta(days=150),
             "proposed": admitted_on - timedelta(days=40), "admitted": admitted_on,
             "official": date(admitted_on.year + 1, admitted_on.month, admitted_on.day)}
    steps = []
    for target in PIPELINE:
        body = {"to": target, "date": dates[target].isoformat()}
        if target == "trained":
            body["training_certificate_number"] = f"GCN-{cell}-{dates[target]:%Y%m%d}"
        elif target == "applied":
            body["introducers"] = [{"full_name": "Lê Văn Bình", "official_member": True},
                                   {"full_name": "Trần Thị Cúc", "official_member": True}]
        elif target == "proposed":
            body["decision_number"] = f"{dates[target]:%d}/NQ-CB"
        else:
            body["decision_number"] = f"{dates[target]:%d%m}-QĐ/ĐU"
            body["deciding_org_code"] = ward
        steps.append(body)
        if target == until:
            break
    return steps


def plan(today: date | None = None) -> list[tuple[str, dict, list[dict]]]:
    """(key, candidate body, transition bodies) of every demo candidate."""
    today = today or clock.today()
    people, n = [], 0
    for cell in CELLS:
        for i in range(ADMITTED_2024[cell]):
            admitted_on = date(2024, 1 + (i * 11) // max(ADMITTED_2024[cell] - 1, 1), 10 + i)
            official = date(admitted_on.year + 1, admitted_on.month, admitted_on.day) <= today
            listed = admitted_on - timedelta(days=400)
            people.append((f"demo-{cell}-{n}", _person(n, cell, listed),
                           _steps(cell, admitted_on, "official" if official else "admitted")))
            n += 1
        for until, days_before in OTHERS:
            pivot = min(today, ANCHOR) - timedelta(days=days_before)
            listed = pivot - timedelta(days=420)
            steps = [] if until == "source" else _steps(cell, pivot, until)
            if until in ("withdrawn", "rejected"):
                steps = _steps(cell, pivot, "applied") + [{"to": until, "date": pivot.isoformat(),
                                                           "reason": "Không đủ điều kiện / not eligible"}]
            people.append((f"demo-{cell}-{n}", _person(n, cell, listed), steps))
            n += 1
    return people


def _wait_for_cells(http: requests.Session, base: str, headers: dict, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    missing = list(CELLS)
    while missing:
        missing = [c for c in missing if http.get(f"{base}/organizations/{c}", headers=headers,
                                                  timeout=30).status_code != 200]
        if not missing:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the candidate service does not know the cells {missing} after {timeout:.0f}s: "
                               "is the quota demo loaded and the candidates-consumer running?")
        time.sleep(1)


def load(*, urls: dict[str, str], token: str, session: requests.Session | None = None,
         timeout: float = 180, history: bool = True) -> dict[str, int]:
    """Load the demo candidates; returns how many requests wrote something (0 on a second run).
    With `history`, also publish the city's other admissions (demo_history.py) to Kafka."""
    http = session or requests.Session()
    base = urls["candidates"].rstrip("/") + "/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    _wait_for_cells(http, base, headers, timeout)
    for cell, members in OFFICIAL_MEMBERS.items():
        http.put(f"{base}/organizations/{cell}/official-members",
                 json={"official_members": members, "as_of": "2024-01-01"}, headers=headers,
                 timeout=30).raise_for_status()
    written = {"candidates": 0, "transitions": 0}
    for key, person, steps in plan():
        resp = http.post(f"{base}/candidates", json=person, headers={**headers, "Idempotency-Key": key}, timeout=30)
        _check(resp, key)
        written["candidates"] += resp.headers.get("Idempotent-Replayed") != "true"
        cid = resp.json()["id"]
        for step in steps:
            step_key = f"{key}-{step['to']}"
            resp = http.post(f"{base}/candidates/{cid}/transitions", json=step,
                             headers={**headers, "Idempotency-Key": step_key}, timeout=30)
            _check(resp, step_key)
            written["transitions"] += resp.headers.get("Idempotent-Replayed") != "true"
    if history:
        from shared.config import Settings

        from . import demo_history
        demo_history.publish(Settings.from_env("candidates"))
    return written


def _check(resp: requests.Response, key: str) -> None:
    if resp.status_code >= 400:
        raise RuntimeError(f"demo request {key} failed: {resp.status_code} {resp.text[:500]}")
