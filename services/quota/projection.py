"""The live figures in Redis: one hash per (organisation, period), `<ns>:progress:<org>:<period>`,
with the fields admitted, student, non_state_enterprise, woman, ethnic_minority, under_30.

An event's increments are applied by one Lua script that first sets a marker keyed by the event
id (`<ns>:progress-applied:<event id>`, kept `MARKER_TTL_S`): a redelivered event, or the same
event projected by two replicas, finds the marker and changes nothing. What to add is read back
from the ledger, so a redelivery after a crash projects exactly what was committed.
`rebuild` recomputes every hash from the database counters (run it with the consumer stopped).
"""
from __future__ import annotations

import redis
from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.config import Settings

from .models import ATTRIBUTES, Admission, ProgressCounter
from .progress import FIELDS, Delta, Key, counted_keys

MARKER_TTL_S = 30 * 24 * 3600

# KEYS: one marker per event, then the hashes. ARGV: ttl, then one word per event:
# "<sign> <hash index> <hash index> ... / <field> <field> ..." (hash indexes count from 1 after
# the markers). The increments of the events whose marker was new are summed, then written once
# per hash field: one call per poll, atomic.
APPLY_ONCE = """
local ttl, n = ARGV[1], #KEYS
local sums, applied, markers = {}, 0, #ARGV - 1
for e = 1, markers do
  if redis.call('SET', KEYS[e], '1', 'NX', 'EX', ttl) then
    applied = applied + 1
    local word = ARGV[e + 1]
    local slash = string.find(word, '/', 1, true)
    local head, tail = string.sub(word, 1, slash - 1), string.sub(word, slash + 1)
    local sign, hashes, fields = nil, {}, {}
    for token in string.gmatch(head, '%S+') do
      if sign == nil then sign = tonumber(token) else hashes[#hashes + 1] = tonumber(token) end
    end
    for f in string.gmatch(tail, '%S+') do fields[#fields + 1] = f end
    for _, k in ipairs(hashes) do
      local row = sums[k]
      if not row then row = {}; sums[k] = row end
      for _, f in ipairs(fields) do row[f] = (row[f] or 0) + sign end
    end
  end
end
for k, row in pairs(sums) do
  for f, v in pairs(row) do
    if v ~= 0 then redis.call('HINCRBY', KEYS[markers + k], f, v) end
  end
end
return applied
"""

# The usual case, a poll of events never projected: KEYS the markers then the hashes, ARGV the
# ttl, the number of markers, then per hash "<field> <amount> <field> <amount> ..." summed by the
# caller. If any marker exists nothing is written and 0 is returned (the caller then uses
# APPLY_ONCE, which sorts it out event by event); otherwise every marker is set and the sums
# added, atomically.
APPLY_ALL_NEW = """
local ttl, markers = ARGV[1], tonumber(ARGV[2])
for e = 1, markers do
  if redis.call('EXISTS', KEYS[e]) == 1 then return 0 end
end
for e = 1, markers do redis.call('SET', KEYS[e], '1', 'EX', ttl) end
for h = markers + 1, #KEYS do
  for f, v in string.gmatch(ARGV[h - markers + 2], '(%S+) (%S+)') do
    redis.call('HINCRBY', KEYS[h], f, v)
  end
end
return markers
"""


def deltas_for(session: Session, event_ids: list[str]) -> list[Delta]:
    """What each event (admission or revocation) added to the counters, read from the ledger."""
    if not event_ids:
        return []
    wanted = set(event_ids)
    out = []
    for admission in session.execute(select(Admission).where(
            Admission.event_id.in_(event_ids) | Admission.revoke_event_id.in_(event_ids))).scalars():
        keys = counted_keys(admission.counted_orgs, admission.counted_periods)
        fields = ["admitted"] + [a for a in ATTRIBUTES if getattr(admission, a)]
        if admission.event_id in wanted:
            out.append(Delta(admission.event_id, 1, keys, fields))
        if admission.revoke_event_id and admission.revoke_event_id in wanted:
            out.append(Delta(admission.revoke_event_id, -1, keys, fields))
    return out


class ProgressStore:
    def __init__(self, client: redis.Redis, settings: Settings):
        self.redis = client
        self.settings = settings
        self._apply = client.register_script(APPLY_ONCE)
        self._apply_all_new = client.register_script(APPLY_ALL_NEW)

    def key(self, org_code: str, period: str) -> str:
        return self.settings.redis_key("progress", org_code, period)

    def marker(self, event_id: str) -> str:
        return self.settings.redis_key("progress-applied", event_id)

    def apply(self, deltas: list[Delta], *, chunk: int = 2000) -> int:
        """Apply each delta once (by event id), atomically per chunk; returns how many were new."""
        applied = 0
        for i in range(0, len(deltas), chunk):
            part = deltas[i:i + chunk]
            markers = [self.marker(d.event_id) for d in part]
            if len(set(markers)) == len(markers):  # the summed form needs each event once
                done = self._apply_summed(part, markers)
                if done:
                    applied += done
                    continue
            applied += self._apply_each(part, markers)
        return applied

    def _apply_summed(self, part: list[Delta], markers: list[str]) -> int:
        # Deltas sharing one key list (the same chain and periods) are summed first.
        by_list: dict[int, tuple[list[Key], dict[str, int]]] = {}
        for d in part:
            entry = by_list.get(id(d.keys))
            if entry is None:
                entry = by_list[id(d.keys)] = (d.keys, {})
            sums = entry[1]
            for field in d.fields:
                sums[field] = sums.get(field, 0) + d.sign
        totals: dict[Key, dict[str, int]] = {}
        for keys, sums in by_list.values():
            for key in keys:
                row = totals.setdefault(key, {})
                for field, value in sums.items():
                    row[field] = row.get(field, 0) + value
        hashes, args = [], [MARKER_TTL_S, len(markers)]
        for key, row in totals.items():
            hashes.append(self.key(*key))
            args.append(" ".join(f"{field} {value}" for field, value in row.items() if value))
        return int(self._apply_all_new(keys=markers + hashes, args=args) or 0)

    def _apply_each(self, part: list[Delta], markers: list[str]) -> int:
        index: dict[tuple[str, str], int] = {}
        args: list = [MARKER_TTL_S]
        for d in part:
            hashes = " ".join(str(index.setdefault(k, len(index) + 1)) for k in d.keys)
            args.append(f"{d.sign} {hashes} / {' '.join(d.fields)}")
        keys = markers + [self.key(o, p) for o, p in index]
        return int(self._apply(keys=keys, args=args) or 0)

    def figures(self, keys: list[Key]) -> list[dict[str, int]]:
        pipe = self.redis.pipeline(transaction=False)
        for org, period in keys:
            pipe.hgetall(self.key(org, period))
        return [{f: int(v) for f, v in h.items()} for h in pipe.execute()]

    def rebuild(self, session: Session, *, chunk: int = 5000) -> int:
        """Recompute every hash from the database counters; returns the number of hashes."""
        # The markers go too: after a restore from backup, an event marked before the disaster is no
        # longer in the ledger, and its replay must be projected again.
        for pattern in (self.settings.redis_key("progress", "*"), self.marker("*")):
            for batch in _batched(self.redis.scan_iter(match=pattern, count=5000), chunk):
                self.redis.delete(*batch)
        written = 0
        pipe = self.redis.pipeline(transaction=False)
        for org, period, *values in session.execute(select(
                ProgressCounter.org_code, ProgressCounter.period, *[getattr(ProgressCounter, f) for f in FIELDS])):
            pipe.hset(self.key(org, period), mapping=dict(zip(FIELDS, values)))
            written += 1
            if written % chunk == 0:
                pipe.execute()
        # Mark every event of the ledger as projected: a late redelivery must not add it again.
        n = 0
        for event_id, revoke_event_id in session.execute(select(Admission.event_id, Admission.revoke_event_id)):
            pipe.set(self.marker(event_id), "1", ex=MARKER_TTL_S)
            if revoke_event_id:
                pipe.set(self.marker(revoke_event_id), "1", ex=MARKER_TTL_S)
            n += 1
            if n % chunk == 0:
                pipe.execute()
        pipe.execute()
        return written

    def copy_period(self, session: Session, period: str) -> None:
        """Write the database counters of one period to Redis (after a term was back-filled)."""
        pipe = self.redis.pipeline(transaction=False)
        for org, *values in session.execute(select(
                ProgressCounter.org_code, *[getattr(ProgressCounter, f) for f in FIELDS])
                .where(ProgressCounter.period == period)):
            pipe.hset(self.key(org, period), mapping=dict(zip(FIELDS, values)))
        pipe.execute()


def _batched(iterable, size):
    batch = []
    for item in iterable:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
