"""The national tree and a ledger of admissions, written straight into a quota database with bulk
inserts (the API's per-row checks are not what these benchmarks measure): Trung ương, 34 provinces,
3,321 communes and about 250,000 cells, as DOMAIN.md puts the country's scale."""
from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

from services.quota.counters import FIELDS
from services.quota.models import (Admission, DailyCounter, Organization, OrganizationName, OrganizationParent,
                                   ProgressCounter, TreeVersion)
from services.quota.periods import periods_of
from shared.bulk import insert_many
from shared.db import Database

ROOT = "TW"
FOUNDED = date(2020, 1, 1)
CHUNK = 20_000


@dataclass(frozen=True)
class Tree:
    orgs: list[tuple[str, str, str, str | None]]  # code, name, type, parent
    provinces: list[str]
    communes: list[str]
    cells: list[tuple[str, str]]  # (cell, its commune)


def national_tree(*, cells: int = 250_000, provinces: int = 34, communes: int = 3321) -> Tree:
    """The organisations (not yet written): cell i sits in commune i mod `communes`."""
    prov = [f"P{p:02d}" for p in range(provinces)]
    comm = [f"{prov[c % provinces]}-X{c:04d}" for c in range(communes)]
    pairs = [(f"{comm[i % communes]}-C{i:06d}", comm[i % communes]) for i in range(cells)]
    orgs = [(ROOT, "Ban Chấp hành Trung ương", "central", None)]
    orgs += [(p, f"Đảng bộ tỉnh {p}", "province", ROOT) for p in prov]
    orgs += [(c, f"Đảng bộ xã {c}", "grassroots", c.split("-")[0]) for c in comm]
    orgs += [(cell, f"Chi bộ {cell}", "cell", commune) for cell, commune in pairs]
    return Tree(orgs, prov, comm, pairs)


def insert_tree(db: Database, orgs: list[tuple[str, str, str, str | None]]) -> None:
    """Organisations, their parent and name histories from FOUNDED, and the tree's version row."""
    with db.transaction() as session:
        for i in range(0, len(orgs), CHUNK):
            chunk = orgs[i:i + CHUNK]
            insert_many(session, Organization.__table__, [
                {"code": c, "name": n, "type": t, "status": "active", "parent_code": p, "founded_on": FOUNDED}
                for c, n, t, p in chunk])
            insert_many(session, OrganizationParent.__table__, [
                {"code": c, "parent_code": p, "valid_from": FOUNDED} for c, _, _, p in chunk])
            insert_many(session, OrganizationName.__table__, [
                {"code": c, "name": n, "valid_from": FOUNDED} for c, n, _, _ in chunk])
        insert_many(session, TreeVersion.__table__, [{"id": 1, "version": 1}])


def insert_admissions(db: Database, tree: Tree, *, n: int, first: date, last: date, daily: bool = False,
                      seed: int = 9) -> int:
    """`n` admissions on random days from `first` to `last` in random cells, with the counters they
    add up to (each ancestor, each period; and the day counters if `daily`), as the quota consumer
    would have written them; returns the number of period counters."""
    rng = random.Random(seed)
    span = (last - first).days + 1
    sums: dict[tuple[str, str], dict[str, int]] = {}
    days: dict[tuple[str, date], dict[str, int]] = {}
    rows = []
    for i in range(n):
        cell, commune = rng.choice(tree.cells)
        day = first + timedelta(days=rng.randrange(span))
        orgs, periods = [cell, commune, commune.split("-")[0], ROOT], periods_of(day)
        flags = {a: rng.random() < 0.3 for a in FIELDS[1:]}
        rows.append({"event_id": str(uuid.UUID(int=rng.getrandbits(128))), "candidate_id": f"c{i}",
                     "org_code": cell, "admission_date": day, "counted_orgs": json.dumps(orgs),
                     "counted_periods": json.dumps(periods), **flags})
        for org in orgs:
            targets = [sums.setdefault((org, p), dict.fromkeys(FIELDS, 0)) for p in periods]
            if daily:
                targets.append(days.setdefault((org, day), dict.fromkeys(FIELDS, 0)))
            for target in targets:
                target["admitted"] += 1
                for a, on in flags.items():
                    target[a] += on
    counters = [{"org_code": o, "period": p, **v} for (o, p), v in sums.items()]
    daily_rows = [{"org_code": o, "day": d, **v} for (o, d), v in days.items()]
    with db.transaction() as session:
        for table, batch in ((Admission.__table__, rows), (ProgressCounter.__table__, counters),
                             (DailyCounter.__table__, daily_rows)):
            for i in range(0, len(batch), CHUNK):
                insert_many(session, table, batch[i:i + CHUNK])
    return len(counters)
