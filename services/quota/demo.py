"""Demo data of the quota service, loaded through its public HTTP API (scripts/demo.py calls
`load`). Idempotent: what exists is skipped, so loading twice changes nothing.

The tree (codes shared with the candidate service's demo) and the real quotas of TP Thanh Hóa
(2021: 202, 2023: 714, 2024: 712, whose published results 206 = 102%, 735 = 103%, 762 = 107% the
demo's admissions reproduce) and of its wards Đông Sơn (13) and Quảng Cát (10), with three more of
its wards, whose admissions make up the rest of the city's, the 2025 target of the city and a
2020-2025 term quota.
"""
from __future__ import annotations

import requests

FOUNDED = "2020-01-01"
TREE = [
    ("TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province", None),
    ("TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city", "TINH-THANH-HOA"),
    ("P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", "TP-THANH-HOA"),
    ("P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON"),
    ("P-DONG-SON-CB2", "Chi bộ khu phố 2", "cell", "P-DONG-SON"),
    ("P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA"),
    ("P-QUANG-CAT-CB1", "Chi bộ thôn 1", "cell", "P-QUANG-CAT"),
    ("P-QUANG-CAT-CB2", "Chi bộ thôn 2", "cell", "P-QUANG-CAT"),
    # The city's other wards (the candidate service's demo admits the rest of the city's figures there).
    ("P-DIEN-BIEN", "Đảng bộ phường Điện Biên", "grassroots", "TP-THANH-HOA"),
    ("P-DIEN-BIEN-CB1", "Chi bộ khu phố 1", "cell", "P-DIEN-BIEN"),
    ("P-HAM-RONG", "Đảng bộ phường Hàm Rồng", "grassroots", "TP-THANH-HOA"),
    ("P-HAM-RONG-CB1", "Chi bộ khu phố Hàm Rồng", "cell", "P-HAM-RONG"),
    ("P-DONG-THO", "Đảng bộ phường Đông Thọ", "grassroots", "TP-THANH-HOA"),
    ("P-DONG-THO-CB1", "Chi bộ khu phố 3", "cell", "P-DONG-THO"),
]
STUDENTS_AND_PRIVATE = [{"attribute": "student", "min_share": "10"},
                        {"attribute": "non_state_enterprise", "min_share": "2"}]
QUOTAS = [
    ("TP-THANH-HOA", "2021", 202, STUDENTS_AND_PRIVATE),
    ("TP-THANH-HOA", "2023", 714, STUDENTS_AND_PRIVATE),
    ("TP-THANH-HOA", "2024", 712, STUDENTS_AND_PRIVATE),
    ("TP-THANH-HOA", "2025", 1100, STUDENTS_AND_PRIVATE),
    ("TP-THANH-HOA", "2020-2025", 2800, []),
    ("P-DONG-SON", "2024", 13, []),
    ("P-DONG-SON-CB1", "2024", 7, []),
    ("P-DONG-SON-CB2", "2024", 6, []),
    ("P-QUANG-CAT", "2024", 10, []),
    ("P-QUANG-CAT-CB1", "2024", 5, []),
    ("P-QUANG-CAT-CB2", "2024", 5, []),
    ("P-DIEN-BIEN", "2024", 240, []),
    ("P-HAM-RONG", "2024", 230, []),
    ("P-DONG-THO", "2024", 219, []),
]


def load(*, urls: dict[str, str], token: str, session: requests.Session | None = None) -> dict[str, int]:
    """Create the demo tree and quotas; returns how many of each were created (0 on a second run)."""
    http = session or requests.Session()
    base = urls["quota"].rstrip("/") + "/api/v1/organizations"
    headers = {"Authorization": f"Bearer {token}"}
    created = {"organizations": 0, "quotas": 0}
    for code, name, type_, parent in TREE:
        if http.get(f"{base}/{code}", headers=headers, timeout=30).status_code == 200:
            continue
        resp = http.post(base, json={"code": code, "name": name, "type": type_, "parent_code": parent,
                                     "effective_date": FOUNDED}, headers=headers, timeout=30)
        if resp.status_code != 409:  # 409: created meanwhile by another loader
            resp.raise_for_status()
            created["organizations"] += 1
    for code, period, target, composition in QUOTAS:
        existing = http.get(f"{base}/{code}/quotas", headers=headers, timeout=30)
        existing.raise_for_status()
        if any(q["period"] == period and q["target"] == target for q in existing.json()):
            continue
        http.put(f"{base}/{code}/quotas/{period}", json={"target": target, "composition": composition},
                 headers=headers, timeout=30).raise_for_status()
        created["quotas"] += 1
    return created
