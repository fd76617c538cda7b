"""Signing of webhook bodies (unit tests)."""
import hashlib
import hmac

from services.notifications.webhooks import body_of, signature, verify


def test_signature_is_hmac_sha256_over_timestamp_dot_body():
    body = body_of({"text": "Đảng bộ phường Đông Sơn", "n": 14})
    header = signature("s3cret-s3cret-s3cret", body, 1_700_000_000)
    expected = hmac.new(b"s3cret-s3cret-s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert verify("s3cret-s3cret-s3cret", body, header, now=1_700_000_010)


def test_tampered_wrong_key_or_old_signatures_fail():
    body = body_of({"admitted": 14})
    header = signature("key-one-key-one-key", body, 1_700_000_000)
    assert not verify("key-one-key-one-key", body_of({"admitted": 15}), header, now=1_700_000_000)
    assert not verify("another-key-another", body, header, now=1_700_000_000)
    assert not verify("key-one-key-one-key", body, header, now=1_700_000_000 + 3600)
    assert not verify("key-one-key-one-key", body, "garbage", now=1_700_000_000)


def test_body_is_utf8_json_with_stable_bytes():
    assert body_of({"b": 1, "a": "Đông Sơn"}) == '{"a":"Đông Sơn","b":1}'.encode("utf-8")
