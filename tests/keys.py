"""The tests' token issuer: one Ed25519 key pair per test session, written to a temporary folder as
the private key file (CHITIEU_JWT_PRIVATE_KEY_FILE) and the JWK Set file the APIs read (CHITIEU_JWKS).

    from tests.keys import test_issuer, token
    settings = Settings(..., **test_issuer().settings())
    headers = {"Authorization": "Bearer " + token(sub="t", org="*", role="admin")}
"""
from __future__ import annotations

import atexit
import json
import shutil
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from shared.auth import ACCESS_TOKEN_TTL, mint_token
from shared.keys import SigningKey, generate_signing_key, jwks_document, write_private_key


@dataclass(frozen=True)
class Issuer:
    key: SigningKey
    private_key_file: str
    jwks_file: str

    def settings(self) -> dict[str, str]:
        """The Settings fields that make a service trust (and the CLI sign with) this key."""
        return {"jwks": self.jwks_file, "jwt_private_key_file": self.private_key_file}

    def env(self) -> dict[str, str]:
        return {"CHITIEU_JWKS": self.jwks_file, "CHITIEU_JWT_PRIVATE_KEY_FILE": self.private_key_file}


@lru_cache(maxsize=1)
def test_issuer() -> Issuer:
    folder = Path(tempfile.mkdtemp(prefix="chitieu-keys-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    key = generate_signing_key()
    write_private_key(folder / "issuer.pem", key)
    (folder / "jwks.json").write_text(json.dumps(jwks_document([key.jwk])))
    return Issuer(key=key, private_key_file=str(folder / "issuer.pem"), jwks_file=str(folder / "jwks.json"))


test_issuer.__test__ = False  # not a test, whatever its name


def token(*, sub: str, org: str, role: str, ttl: timedelta = ACCESS_TOKEN_TTL) -> str:
    """A bearer token signed by the tests' issuer."""
    return mint_token(key=test_issuer().key, sub=sub, org=org, role=role, ttl=ttl)
