"""Idempotency-Key on creating requests, so an integrating system can retry safely.

The first request with a key runs and its response is stored in the SAME transaction as its effect;
a retry with the same key and the same request gets the stored response and writes nothing; the same
key with a different request is refused (422). A request that failed stored nothing, so its retry runs
again. Keys belong to the caller (token `sub`): two systems may choose the same key.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Callable

from sqlalchemy.exc import IntegrityError

from shared.db import Database
from shared.problems import Problem

from .models import IdempotencyKey

HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, as in the IETF draft's examples


def request_hash(*parts: Any) -> str:
    """A stable digest of what was asked (canonical JSON of the body, or the bytes of an upload)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, bytes):
            digest.update(part)
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str, ensure_ascii=False).encode())
        digest.update(b"\x00")
    return digest.hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY.match(key):
        raise Problem(400, "Bad Request", "the Idempotency-Key header must be 1-200 visible ASCII characters",
                      errors={f"headers.{HEADER}": ["1-200 ký tự ASCII nhìn thấy được. / 1-200 visible ASCII "
                                                    "characters."]})
    return key


def run(db: Database, *, key: str | None, principal: str, endpoint: str, fingerprint: str,
        action: Callable[[Any], tuple[int, dict]]) -> tuple[int, dict, bool]:
    """Run `action(session)` once per key; returns (status, body, replayed)."""
    key = check_key(key)
    for attempt in (1, 2):
        try:
            with db.transaction() as session:
                if key is not None:
                    stored = session.get(IdempotencyKey, (principal, key))
                    if stored is not None:
                        if stored.endpoint != endpoint or stored.request_hash != fingerprint:
                            raise Problem(422, "Idempotency-Key reused",
                                          "this Idempotency-Key was already used for a different request",
                                          errors={f"headers.{HEADER}": [
                                              "Khóa đã dùng cho một yêu cầu khác. / The key was already used "
                                              "for a different request."]})
                        return stored.status, stored.response, True
                    # Claim the key before acting: a twin request sent at the same moment waits on
                    # this row's primary key until we commit, then replays our answer.
                    claim = IdempotencyKey(principal=principal, key=key, endpoint=endpoint,
                                           request_hash=fingerprint, status=0, response={})
                    session.add(claim)
                    session.flush()
                status, body = action(session)
                if key is not None:
                    claim.status, claim.response = status, body
                    session.flush()
                return status, body, False
        except IntegrityError:
            # The same key arrived twice at once: the other request claimed it first and has committed
            # by now; its stored answer is read on retry.
            if key is None or attempt == 2:
                raise
    raise AssertionError("unreachable")
