"""A poll applies many admissions at once; each milestone event it writes carries the W3C trace of
the admission that reached it (the CloudEvents traceparent attribute), not the poll's."""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from services.quota import organizations, quotas
from services.quota.ledger import AdmissionChange, apply_changes
from services.quota.models import ATTRIBUTES, outbox
from shared import tracing

NO_FLAGS = {a: False for a in ATTRIBUTES}


def test_each_milestone_is_announced_in_the_trace_of_the_admission_that_reached_it(db):
    with db.transaction() as s:
        organizations.create_organization(s, code="P", name="Tỉnh", type="province", parent_code=None,
                                          effective_date=date(2020, 1, 1))
        for cell in ("C1", "C2"):
            organizations.create_organization(s, code=cell, name=cell, type="cell", parent_code="P",
                                              effective_date=date(2020, 1, 1))
            quotas.set_quota(s, org_code=cell, period="2024", target=1, composition=[], assigner_org_code="P")
    first, second = tracing.parse(f"00-{'1' * 32}-{'1' * 16}-01"), tracing.parse(f"00-{'2' * 32}-{'2' * 16}-01")
    with db.transaction() as s:
        apply_changes(s, changes=[AdmissionChange("e1", "cand-1", "C1", date(2024, 3, 1), NO_FLAGS, first),
                                  AdmissionChange("e2", "cand-2", "C2", date(2024, 4, 1), NO_FLAGS, second)])
    with db.reading() as conn:
        values = [json.loads(bytes(v)) for v in conn.execute(select(outbox.c.value).where(
            outbox.c.event_type == "vn.chitieu.quota.met.v1").order_by(outbox.c.seq)).scalars()]
    assert [(v["data"]["org_code"], tracing.parse(v["traceparent"]).trace_id) for v in values] == [
        ("C1", "1" * 32), ("C2", "2" * 32)]
