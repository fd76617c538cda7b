"""Demo accounts of the web service (scripts/demo.py calls `load`), made as a person would: an
administrator's token creates each account through the API, then the account signs in through
the sign-in page with its one-time password and sets the demo password (CSRF token and all).
Idempotent: an account that exists is left as it is.

    python -m services.web.demo     prints the demo accounts (make run does)
"""
from __future__ import annotations

import re

import requests

# The Thanh Hóa demo tree (services/quota/demo.py): the province, a ward of the city, a cell of it.
ACCOUNTS = [
    ("tinh-uy-thanh-hoa", "Nguyễn Văn Tỉnh", "TINH-THANH-HOA", "admin", "ThanhHoa@2024-quantri"),
    ("can-bo-dong-son", "Lê Thị Hoa", "P-DONG-SON", "officer", "DongSon@2024-canbo"),
    ("bi-thu-khu-pho-1", "Trần Văn Bình", "P-DONG-SON-CB1", "officer", "KhuPho1@2024-bithu"),
]
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def load(*, urls: dict[str, str], token: str) -> dict[str, int]:
    base = urls["web"].rstrip("/")
    headers = {"Authorization": f"Bearer {token}"}
    created = 0
    for username, full_name, org, role, password in ACCOUNTS:
        if requests.get(f"{base}/api/v1/users/{username}", headers=headers, timeout=30).status_code == 200:
            continue
        made = requests.post(f"{base}/api/v1/users", json={"username": username, "full_name": full_name,
                                                           "org": org, "role": role}, headers=headers, timeout=30)
        made.raise_for_status()
        _set_password(base, username, made.json()["one_time_password"], password)
        created += 1
    return {"accounts": created}


def _set_password(base: str, username: str, one_time: str, password: str) -> None:
    browser = requests.Session()
    signed_in = browser.post(f"{base}/login", data={"username": username, "password": one_time,
                                                     "csrf_token": _csrf(browser, f"{base}/login")}, timeout=30)
    signed_in.raise_for_status()
    changed = browser.post(f"{base}/password", data={"current_password": one_time, "new_password": password,
                                                      "confirm": password,
                                                      "csrf_token": _csrf(browser, f"{base}/password")}, timeout=30)
    if changed.status_code != 200 or not changed.history:  # a success redirects to the first page
        raise RuntimeError(f"setting the demo password of {username} failed ({changed.status_code})")


def _csrf(browser: requests.Session, url: str) -> str:
    page = browser.get(url, timeout=30)
    page.raise_for_status()
    return CSRF.search(page.text).group(1)


def describe(url: str) -> str:
    lines = [f"  {'username':<20} {'password':<24} who"]
    for username, full_name, org, role, password in ACCOUNTS:
        lines.append(f"  {username:<20} {password:<24} {full_name}, {role} of {org}")
    return f"Demo accounts (sign in at {url}/login):\n" + "\n".join(lines)


if __name__ == "__main__":
    from shared.config import Settings

    print(describe(Settings.from_env("demo").service_urls.get("web", "http://127.0.0.1:8000")))
