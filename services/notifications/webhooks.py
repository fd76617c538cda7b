"""Webhook delivery: an HTTP(S) POST of a JSON body, signed so the receiver can check who sent it.

Headers of every request (documented in the OpenAPI description too):
    X-Chitieu-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
    X-Chitieu-Delivery-Id: <uuid, the same on every attempt and resend: de-duplicate on it>
    X-Chitieu-Event: <kind, e.g. quota_met>
A receiver recomputes the HMAC over the timestamp, a ".", and the raw body bytes with the
subscription's secret, compares in constant time, and rejects old timestamps (replays).
"""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import time
from dataclasses import dataclass

from shared import tracing

from . import targets

SIGNATURE_HEADER = "X-Chitieu-Signature"
DELIVERY_HEADER = "X-Chitieu-Delivery-Id"
EVENT_HEADER = "X-Chitieu-Event"
DEFAULT_TOLERANCE_S = 300


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str | None = None


def body_of(payload: dict) -> bytes:
    """The exact bytes sent (and signed): compact UTF-8 JSON, keys in a stable order."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), sort_keys=True).encode("utf-8")


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, tolerance_s: int = DEFAULT_TOLERANCE_S,
           now: float | None = None) -> bool:
    """What a receiver does: True if `header` signs `body` with `secret` and is recent enough."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance_s:
        return False
    expected = signature(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)


def send(*, url: str, secret: str, payload: dict, delivery_id: str, kind: str, timeout_s: float,
         trace: tracing.TraceContext | None = None) -> SendResult:
    """One attempt, ended within `timeout_s` in all (targets.post). Only the status and a short
    reason of our own are kept: never the receiver's answer, which a target inside a network
    could use to read it through the API."""
    body = body_of(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "chitieu-notifications/1",
        SIGNATURE_HEADER: signature(secret, body, int(time.time())),
        DELIVERY_HEADER: delivery_id,
        EVENT_HEADER: kind,
        # W3C Trace Context: the receiver can join the trace of the admission that caused it.
        **(trace.headers() if trace is not None else {}),
    }
    # Redirects are not followed (http.client never does): a signed body goes only where it was registered.
    try:
        status = targets.post(url, body=body, headers=headers, deadline_s=timeout_s)
    except targets.TargetRefused as exc:
        return SendResult(ok=False, error=str(exc)[:200])
    except targets.AnswerTooLong:
        return SendResult(ok=False, error=f"câu trả lời quá dài / answer longer than {targets.MAX_ANSWER_BYTES} bytes")
    except TimeoutError:
        return SendResult(ok=False, error=f"quá thời hạn {timeout_s:g} giây / no answer within {timeout_s:g} s")
    except (OSError, http.client.HTTPException) as exc:
        return SendResult(ok=False, error=f"lỗi kết nối / connection failed ({type(exc).__name__})")
    if 200 <= status < 300:
        return SendResult(ok=True, status_code=status)
    return SendResult(ok=False, status_code=status, error=f"HTTP {status}")
