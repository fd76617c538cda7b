"""The token issuer: the web service signs every access token (signed-in people, API clients)
with its Ed25519 key and publishes the public keys at /.well-known/jwks.json.

The published set is the signing key's public key followed by the extra public keys of
CHITIEU_JWT_EXTRA_PUBLIC_KEYS (rotation: README of this service).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.auth import mint_token
from shared.config import Settings
from shared.keys import KeySet, SigningKey, jwks_document, load_public_jwk, load_signing_key

from .settings import WebSettings


@dataclass(frozen=True)
class Issuer:
    signing_key: SigningKey
    extra_jwks: tuple[dict, ...] = ()
    ttl: timedelta = timedelta(minutes=10)

    @classmethod
    def from_settings(cls, settings: Settings, web: WebSettings) -> "Issuer":
        return cls(signing_key=load_signing_key(settings.jwt_private_key_file),
                   extra_jwks=tuple(load_public_jwk(p) for p in web.extra_public_keys),
                   ttl=timedelta(minutes=web.access_token_minutes))

    def jwks(self) -> dict:
        return jwks_document([self.signing_key.jwk, *self.extra_jwks])

    def key_set(self) -> KeySet:
        """What this service verifies its own API's tokens with: the keys it publishes."""
        return KeySet(document=self.jwks())

    def access_token(self, *, sub: str, org: str, role: str) -> str:
        return mint_token(key=self.signing_key, sub=sub, org=org, role=role, ttl=self.ttl)
