"""Keys of the bearer tokens: the issuer signs with an Ed25519 private key (EdDSA); every API
verifies with the public keys of a JWK Set and never holds a key that could sign.

- The issuer's key is a PEM file (CHITIEU_JWT_PRIVATE_KEY_FILE), read by the web service and by
  `chitieu token` on the server; nothing else needs it.
- A key's `kid` is its RFC 7638 thumbprint, so it follows from the key and needs no setting.
- Verifiers read the JWK Set from CHITIEU_JWKS: an http(s) URL (the web service's
  /.well-known/jwks.json) or a file path. It is cached for `cache_s` seconds, and a token with a
  kid not in the cache makes it read again (at most every `refresh_s` seconds), so a new key is
  accepted as soon as the issuer publishes it.
"""
from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from jwt import PyJWK

ALGORITHM = "EdDSA"
log = logging.getLogger("chitieu.keys")


class KeysUnavailable(Exception):
    """The JWK Set could not be read (the issuer does not answer, the file is missing)."""


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def public_jwk(public_key: Ed25519PublicKey) -> dict:
    x = _b64url(public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))
    # RFC 7638: SHA-256 of the required members in lexicographic order, no whitespace.
    thumbprint = _b64url(hashlib.sha256(json.dumps({"crv": "Ed25519", "kty": "OKP", "x": x},
                                                   separators=(",", ":"), sort_keys=True).encode()).digest())
    return {"kty": "OKP", "crv": "Ed25519", "x": x, "kid": thumbprint, "alg": ALGORITHM, "use": "sig"}


@dataclass(frozen=True)
class SigningKey:
    private_key: Ed25519PrivateKey

    @property
    def jwk(self) -> dict:
        return public_jwk(self.private_key.public_key())

    @property
    def kid(self) -> str:
        return self.jwk["kid"]

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption())

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def generate_signing_key() -> SigningKey:
    return SigningKey(Ed25519PrivateKey.generate())


def load_signing_key(path: str | Path) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except FileNotFoundError as exc:
        raise KeysUnavailable(f"no private key at {path} (CHITIEU_JWT_PRIVATE_KEY_FILE); "
                              f"make one with: chitieu keys generate {path}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} is not an Ed25519 private key")
    return SigningKey(key)


def load_public_jwk(path: str | Path) -> dict:
    """The JWK of a PEM file holding an Ed25519 public key, or a private key (its public half)."""
    data = Path(path).read_bytes()
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).jwk
    key = serialization.load_pem_public_key(data)
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError(f"{path} is not an Ed25519 public key")
    return public_jwk(key)


def write_private_key(path: str | Path, key: SigningKey) -> None:
    """Write a PEM private key readable by its owner only (created 0600, never world-readable)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key.private_pem())


def jwks_document(jwks: list[dict]) -> dict:
    """A JWK Set with each kid once, in the order given (the current signing key first)."""
    seen, keys = set(), []
    for jwk in jwks:
        if jwk["kid"] not in seen:
            seen.add(jwk["kid"])
            keys.append(jwk)
    return {"keys": keys}


class KeySet:
    """The public keys a verifier trusts, by kid, read from a URL or a file (or given)."""

    def __init__(self, source: str = "", *, document: dict | None = None, cache_s: float = 300,
                 refresh_s: float = 10, timeout_s: float = 5):
        self.source = source
        self.cache_s, self.refresh_s, self.timeout_s = cache_s, refresh_s, timeout_s
        self._lock = threading.Lock()
        self._keys: dict[str, PyJWK] = {}
        self._read_at = float("-inf")
        if document is not None:
            self._keys = self._parse(document)
            self._read_at = float("inf")  # given, never read again

    def key(self, kid: str) -> PyJWK | None:
        """The key with this kid, reading the set again if it is stale or the kid is new to it."""
        with self._lock:
            age = time.monotonic() - self._read_at
            if age > self.cache_s or (kid not in self._keys and age > self.refresh_s):
                self._read()
            return self._keys.get(kid)

    def _read(self) -> None:
        try:
            if self.source.startswith(("http://", "https://")):
                response = requests.get(self.source, timeout=self.timeout_s)
                response.raise_for_status()
                document = response.json()
            else:
                document = json.loads(Path(self.source).read_text())
            self._keys = self._parse(document)
        except (OSError, ValueError, requests.RequestException) as exc:
            if not self._keys:
                raise KeysUnavailable(f"cannot read the JWK Set from {self.source!r}: {type(exc).__name__}") from exc
            # Keep the keys we have: the issuer being away must not sign everyone out.
            log.warning("JWK Set unreadable, keeping the cached keys",
                        extra={"source": self.source, "error": type(exc).__name__})
        self._read_at = time.monotonic()

    @staticmethod
    def _parse(document: dict) -> dict[str, PyJWK]:
        keys = {}
        for data in document.get("keys", []):
            # Only Ed25519 signing keys: a published RSA or symmetric ("oct") key is never trusted.
            if data.get("kty") == "OKP" and data.get("crv") == "Ed25519" and data.get("kid"):
                keys[data["kid"]] = PyJWK(data, algorithm=ALGORITHM)
        return keys
