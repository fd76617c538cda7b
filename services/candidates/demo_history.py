"""The demo's earlier and city-wide admissions, published as the candidate service publishes them
(candidate.admitted on its topic), so that TP Thanh Hóa shows its published results: 2021 206
(102% of 202), 2023 735 (103% of 714), 2024 762 (107% of 712), of which the candidate demo's own
people in phường Đông Sơn (14) and Quảng Cát (13); the rest were admitted in the city's other
wards. Spread over the months as the year's ceremonies spread them, so that the pace chart and
the year-on-year curve have a shape. Only what the quota service counts travels: no person's
record is kept for them here. Event ids are fixed (uuid5), so publishing again counts nothing twice.
"""
from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import date

from shared.config import Settings
from shared.contracts import CANDIDATE_ADMITTED, Event, build_event, to_message

CELLS = ("P-DIEN-BIEN-CB1", "P-HAM-RONG-CB1", "P-DONG-THO-CB1")
CITY_RESULTS = {2021: 206, 2023: 735, 2024: 762}
IN_THE_CANDIDATE_DEMO = {2024: 14 + 13}  # Đông Sơn and Quảng Cát, admitted through the API
# Per mille of a year's admissions by month: ceremonies around 3 February, 19 May, 2 September
# and before the year-end review.
PROFILE = (30, 90, 60, 70, 130, 80, 60, 70, 100, 80, 90, 140)
NAMESPACE = uuid.UUID("6f1c1f0e-3b7d-4d5e-9a51-1d1b2c3a4e50")


def by_month(total: int) -> list[int]:
    """`total` split on PROFILE (largest remainders), adding up exactly."""
    raw = [total * w / sum(PROFILE) for w in PROFILE]
    counts = [int(r) for r in raw]
    for i in sorted(range(12), key=lambda i: raw[i] - counts[i], reverse=True)[:total - sum(counts)]:
        counts[i] += 1
    return counts


def events() -> list[Event]:
    out = []
    for year, result in CITY_RESULTS.items():
        n = 0
        for month, count in enumerate(by_month(result - IN_THE_CANDIDATE_DEMO.get(year, 0)), start=1):
            for i in range(count):
                key = f"demo-history-{year}-{n:04d}"
                cell = CELLS[n % len(CELLS)]
                event = build_event(CANDIDATE_ADMITTED, {
                    "candidate_id": key, "org_code": cell, "admission_date": date(year, month, 1 + (i * 7) % 28),
                    "decision_number": f"{n + 1}-QĐ/ĐU", "deciding_org_code": cell.rsplit("-CB", 1)[0],
                    "attributes": {"gender": "female" if n % 5 < 2 else "male", "ethnic_minority": n % 17 == 0,
                                   "occupation_group": ("student", "civil_servant", "farmer", "other", "student",
                                                        "state_enterprise", "non_state_enterprise", "other")[n % 8],
                                   "age_years": 19 + (n * 7) % 30, "education_level": "university",
                                   "youth_union_member": n % 8 < 5, "religious_follower": n % 20 == 0}},
                    source="/candidates", subject=key)
                out.append(replace(event, id=str(uuid.uuid5(NAMESPACE, key))))
                n += 1
    return out


def publish(settings: Settings) -> int:
    """Publish every history event to the candidates topic; returns how many."""
    from shared.kafka import ensure_topics, make_producer

    ensure_topics(settings)
    producer = make_producer(settings, linger_ms=20)
    topic = settings.topic("candidates")
    sent = events()
    try:
        for event in sent:
            message = to_message(event)
            producer.send(topic, key=message.key.encode(), value=message.value, headers=list(message.headers.items()))
        producer.flush(timeout=60)
    finally:
        producer.close()
    return len(sent)
