"""What the browser tests share: Debian's Chromium driven by Playwright, one running system for the
whole session (every Procfile process on the real Kafka, Redis and PostgreSQL, tests/system.py, the
Thanh Hóa demo tree loaded once), accounts made as an administrator would and signed in as a person
would, and screenshots. The fixtures are in tests/web/conftest.py; each browser module keeps to its
own organisations and usernames, so the modules can share the system in any order."""
from __future__ import annotations

from datetime import timedelta

import requests

from shared import clock

from shared.config import ROOT
from tests.system import System
from tests.web.conftest import CSRF

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "screenshots"
DESKTOP, PHONE = {"width": 1366, "height": 768}, {"width": 390, "height": 844}


def make_account(system: System, *, username: str, full_name: str, org: str, role: str, by_org: str,
                 password: str) -> str:
    """An account created through the web API by an administrator of `by_org`, its one-time password
    changed to `password` through the pages (as the first sign-in asks); returns the password."""
    web = system.url("web")
    made = requests.post(f"{web}/api/v1/users", headers=system.headers(org=by_org),
                         json={"username": username, "full_name": full_name, "org": org, "role": role}, timeout=30)
    assert made.status_code == 201, made.text
    one_time, http = made.json()["one_time_password"], requests.Session()
    for path, data in (("/login", {"username": username, "password": one_time}),
                       ("/password", {"current_password": one_time, "new_password": password, "confirm": password})):
        csrf = CSRF.search(http.get(f"{web}{path}", timeout=30).text).group(1)
        done = http.post(f"{web}{path}", data={**data, "csrf_token": csrf}, timeout=30)
        assert done.status_code == 200, done.text
    assert done.url == f"{web}/"
    return password


def sign_in(page, web: str, *, username: str, password: str) -> None:
    """Signs in through the sign-in page and waits for the first page."""
    page.goto(f"{web}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{web}/")


def shot(page, name: str) -> None:
    """A full-page screenshot in screenshots/ (git-ignored; the README names the ones to look at)."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def admit_today(system: System, *, cell: str, deciding_org: str, full_name: str, national_id: str,
                gender: str = "male", number: int = 9) -> str:
    """A candidate of `cell` taken through the pipeline to admission today through the candidate
    API (listed, class, application with two official introducers, resolution, the decision of
    `deciding_org`); returns the candidate's id."""
    today = clock.today()
    made = system.api("candidates", "POST", "/candidates", json={
        "full_name": full_name, "date_of_birth": "2000-05-01", "gender": gender,
        "ethnicity": "Kinh", "religion": None, "education_level": "university", "occupation_group": "student",
        "national_id": national_id, "org_code": cell, "listed_on": (today - timedelta(days=700)).isoformat(),
        "youth_union_member": False, "helpers": ["Lê Văn Bình"]})
    assert made.status_code == 201, made.text
    cid = made.json()["id"]
    for step in ({"to": "trained", "date": (today - timedelta(days=600)).isoformat(),
                  "training_certificate_number": f"GCN-{number}"},
                 {"to": "applied", "date": (today - timedelta(days=200)).isoformat(), "introducers": [
                     {"full_name": "Lê Văn Bình", "official_member": True},
                     {"full_name": "Trần Thị Cúc", "official_member": True}]},
                 {"to": "proposed", "date": (today - timedelta(days=20)).isoformat(),
                  "decision_number": f"{number}/NQ-CB"},
                 {"to": "admitted", "date": today.isoformat(), "decision_number": f"{number}-QĐ/ĐU",
                  "deciding_org_code": deciding_org}):
        answer = system.api("candidates", "POST", f"/candidates/{cid}/transitions", json=step)
        assert answer.status_code == 201, answer.text
    return cid
