"""Building blocks of the candidate tests: an app on a fresh database with the demo tree, tokens,
valid candidate bodies and the evidence each stage needs."""
from __future__ import annotations

import itertools
from datetime import date, timedelta

from tests.keys import test_issuer
from tests.keys import token as issue_token
from tests.support import org_state
from shared.config import Settings
from shared.db import Database
from services.candidates import tree
from services.candidates.app import create_app, open_database
from services.candidates.registry import make_national_id

# The demo tree (figures of TP Thanh Hóa from the domain notes), as organization.created would build it.
TREE = [
    ("TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province", None),
    ("TP-THANH-HOA", "Đảng bộ thành phố Thanh Hóa", "city", "TINH-THANH-HOA"),
    ("P-DONG-SON", "Đảng bộ phường Đông Sơn", "grassroots", "TP-THANH-HOA"),
    ("P-DONG-SON-CB1", "Chi bộ khu phố 1", "cell", "P-DONG-SON"),
    ("P-DONG-SON-CB2", "Chi bộ khu phố 2", "cell", "P-DONG-SON"),
    ("P-QUANG-CAT", "Đảng bộ phường Quảng Cát", "grassroots", "TP-THANH-HOA"),
    ("P-QUANG-CAT-CB1", "Chi bộ thôn 1", "cell", "P-QUANG-CAT"),
    ("P-QUANG-CAT-CB2", "Chi bộ thôn 2", "cell", "P-QUANG-CAT"),
]
_serial = itertools.count(1)


def seed_tree(db: Database) -> None:
    with db.transaction() as session:
        for code, name, type_, parent in TREE:
            tree.REPLICA.apply(session, org_state(code, name, type_, parent))


def make_app(database_url: str, *, namespace: str = "t-candidates", seed: bool = True):
    settings = Settings(service="candidates", database_url=database_url, namespace=namespace, **test_issuer().settings())
    db = open_database(database_url)
    db.create_all()
    if seed:
        seed_tree(db)
    return create_app(settings, db=db)


def token(org: str = "*", role: str = "officer", sub: str = "can-bo-1") -> str:
    return issue_token(sub=sub, org=org, role=role)


def auth(org: str = "*", role: str = "officer", sub: str = "can-bo-1", **extra) -> dict:
    return {"Authorization": f"Bearer {token(org, role, sub)}", **extra}


def candidate_body(*, org_code: str = "P-DONG-SON-CB1", full_name: str = "Nguyễn Văn An",
                   date_of_birth: date = date(2000, 3, 15), gender: str = "male", listed_on: date = date(2022, 1, 10),
                   **overrides) -> dict:
    body = {
        "full_name": full_name,
        "date_of_birth": date_of_birth.isoformat(),
        "gender": gender,
        "ethnicity": "Kinh",
        "religion": None,
        "education_level": "university",
        "occupation_group": "civil_servant",
        "national_id": make_national_id(province=38, gender=gender, date_of_birth=date_of_birth,
                                        serial=next(_serial)),
        "org_code": org_code,
        "listed_on": listed_on.isoformat(),
        "helpers": ["Lê Văn Bình"],
    }
    body.update(overrides)
    return body


INTRODUCERS = [{"full_name": "Lê Văn Bình", "official_member": True},
               {"full_name": "Trần Thị Cúc", "official_member": True}]


def evidence(target: str, on: date, deciding: str = "P-DONG-SON") -> dict:
    """A request that satisfies every rule for `target` on `on` (for a candidate born in 2000)."""
    body = {"to": target, "date": on.isoformat()}
    if target == "trained":
        body["training_certificate_number"] = "GCN-01"
    elif target == "applied":
        body["introducers"] = INTRODUCERS
    elif target == "proposed":
        body["decision_number"] = "NQ-6/CB"
    elif target in ("admitted", "official"):
        body["decision_number"] = f"QĐ-{target}"
        body["deciding_org_code"] = deciding
    elif target == "removed":
        body["decision_number"] = "QĐ-xoa-ten"
    elif target == "revoked":
        body["reason"] = "Quyết định kết nạp nhầm / admitted by mistake"
    return body


# A path through the whole pipeline with dates that satisfy every rule.
HAPPY_PATH = [("trained", date(2022, 3, 1)), ("applied", date(2022, 6, 1)), ("proposed", date(2022, 9, 1)),
              ("admitted", date(2022, 10, 3)), ("official", date(2023, 10, 3))]


def create(client, **overrides) -> dict:
    resp = client.post("/api/v1/candidates", json=candidate_body(**overrides), headers=auth())
    assert resp.status_code == 201, resp.json
    return resp.json


def walk(client, candidate_id: str, until: str, deciding: str = "P-DONG-SON") -> None:
    """Move a candidate along HAPPY_PATH up to and including stage `until`."""
    for target, on in HAPPY_PATH:
        resp = client.post(f"/api/v1/candidates/{candidate_id}/transitions", json=evidence(target, on, deciding),
                           headers=auth())
        assert resp.status_code == 201, resp.json
        if target == until:
            return


def days(n: int) -> timedelta:
    return timedelta(days=n)
