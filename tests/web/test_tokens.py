"""Tokens only the issuer can mint: the web service signs (EdDSA, with a kid) and publishes its
public keys; the three APIs verify with the public key only, so HS256 tokens (the old shared
secret) and tokens signed by any other key are refused by all of them. API clients get tokens by
the OAuth 2.0 client-credentials grant and lose them when revoked."""
from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import jwt
import pytest
import requests

from shared.auth import decode_token
from shared.config import Settings
from shared.keys import KeySet, generate_signing_key
from tests.keys import test_issuer
from tests.web.conftest import add_user, bearer, sign_in

pytestmark = pytest.mark.integration

OLD_SECRET = "chitieu-dev-secret-change-me-in-production"


def _claims():
    now = datetime.now(timezone.utc)
    return {"sub": "ke-gia-mao", "org": "*", "role": "admin", "iat": now, "exp": now + timedelta(minutes=5)}


def forged_tokens() -> dict[str, str]:
    stranger = generate_signing_key()
    return {
        "hs256-old-secret": jwt.encode(_claims(), OLD_SECRET, algorithm="HS256"),
        "hs256-with-issuer-kid": jwt.encode(_claims(), OLD_SECRET, algorithm="HS256",
                                            headers={"kid": test_issuer().key.kid}),
        "other-ed25519-key": jwt.encode(_claims(), stranger.private_key, algorithm="EdDSA",
                                        headers={"kid": stranger.kid}),
        "other-key-issuer-kid": jwt.encode(_claims(), stranger.private_key, algorithm="EdDSA",
                                           headers={"kid": test_issuer().key.kid}),
        "unsigned": jwt.encode(_claims(), None, algorithm="none"),
    }


def all_apis(web):
    from services.candidates.app import create_app as candidates_app
    from services.notifications.app import create_app as notifications_app
    from services.quota.app import create_app as quota_app

    apps = {name: factory(Settings(service=name, database_url="sqlite://", log_level="WARNING",
                                   **test_issuer().settings()))
            for name, factory in (("quota", quota_app), ("candidates", candidates_app),
                                  ("notifications", notifications_app))}
    apps["web"] = web
    return apps


PATHS = {"quota": "/api/v1/organizations/P-DONG-SON", "candidates": "/api/v1/candidates?org=P-DONG-SON",
         "notifications": "/api/v1/subscriptions?org=P-DONG-SON", "web": "/api/v1/users"}


def test_other_keys_and_hs256_are_refused_by_every_api(web):
    apps = all_apis(web)
    for kind, token in forged_tokens().items():
        for name, app in apps.items():
            response = app.test_client().get(PATHS[name], headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, (kind, name, response.get_json())


def test_the_session_token_is_the_issuers_and_the_apis_accept_it(web, quota_url):
    from services.web.current import access_token

    add_user(web, "can-bo", org="P-DONG-SON", role="officer")
    client = web.test_client()
    sign_in(client, "can-bo")
    with client:  # the request's context stays open: the token the page would call the APIs with
        assert client.get("/").status_code == 200
        token = access_token()
    header, claims = jwt.get_unverified_header(token), jwt.decode(token, options={"verify_signature": False})
    assert header["alg"] == "EdDSA" and header["kid"] == test_issuer().key.kid
    assert (claims["sub"], claims["org"], claims["role"]) == ("can-bo", "P-DONG-SON", "officer")
    assert timedelta(minutes=9) < timedelta(seconds=claims["exp"] - claims["iat"]) <= timedelta(minutes=10)
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{quota_url}/api/v1/organizations/P-DONG-SON-CB1", headers=auth, timeout=10).status_code == 200
    assert requests.get(f"{quota_url}/api/v1/organizations/P-QUANG-CAT", headers=auth, timeout=10).status_code == 403


def test_jwks_publishes_the_signing_key_and_the_extra_ones(make_web, tmp_path):
    extra = generate_signing_key()
    path = tmp_path / "next.pem"
    path.write_bytes(extra.public_pem())
    web = make_web(extra_public_keys=(str(path),))
    document = web.test_client().get("/.well-known/jwks.json").get_json()
    assert [k["kid"] for k in document["keys"]] == [test_issuer().key.kid, extra.kid]
    assert all(k["kty"] == "OKP" and k["crv"] == "Ed25519" and "d" not in k for k in document["keys"])
    # What an API reads from it verifies the issuer's tokens.
    keys = KeySet(document=document)
    assert keys.key(test_issuer().key.kid) is not None and keys.key(extra.kid) is not None


def _basic(client_id: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def test_client_credentials_token_works_in_scope_until_revoked(web, quota_url):
    client = web.test_client()
    admin = bearer(sub="quan-tri-tinh", org="TINH-THANH-HOA", role="admin")
    made = client.post("/api/v1/clients", json={"name": "Phần mềm phường Đông Sơn", "org": "P-DONG-SON",
                                                "role": "viewer"}, headers=admin)
    assert made.status_code == 201, made.get_json()
    registered = made.get_json()
    client_id, secret = registered["client_id"], registered["client_secret"]
    assert registered["token_url"].endswith("/oauth/token")
    listed = client.get("/api/v1/clients?org=P-DONG-SON", headers=admin).get_json()
    assert [c["client_id"] for c in listed] == [client_id] and "client_secret" not in listed[0]

    answer = client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic(client_id, secret))
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["token_type"].lower() == "bearer" and body["expires_in"] == 600
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert (claims["sub"], claims["org"], claims["role"]) == (f"client:{client_id}", "P-DONG-SON", "viewer")
    auth = {"Authorization": f"Bearer {body['access_token']}"}
    assert requests.get(f"{quota_url}/api/v1/organizations/P-DONG-SON/progress?period=2024", headers=auth,
                        timeout=10).status_code == 200
    assert requests.get(f"{quota_url}/api/v1/organizations/P-QUANG-CAT/progress?period=2024", headers=auth,
                        timeout=10).status_code == 403
    # The secret in the form works too; a wrong secret does not.
    posted = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": client_id,
                                               "client_secret": secret})
    assert posted.status_code == 200
    wrong = client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic(client_id, "sai"))
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"

    officer = bearer(org="P-DONG-SON", role="officer")
    assert client.post(f"/api/v1/clients/{client_id}/revoke", headers=officer).status_code == 403
    revoked = client.post(f"/api/v1/clients/{client_id}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.get_json()["revoked_by"] == "quan-tri-tinh"
    again = client.post("/oauth/token", data={"grant_type": "client_credentials"}, headers=_basic(client_id, secret))
    assert again.status_code == 401 and again.get_json()["error"] == "invalid_client"


def test_clients_are_registered_by_administrators_in_their_subtree(web):
    client = web.test_client()
    body = {"name": "Hệ thống", "org": "P-QUANG-CAT", "role": "viewer"}
    assert client.post("/api/v1/clients", json=body, headers=bearer(org="P-QUANG-CAT", role="officer")).status_code == 403
    assert client.post("/api/v1/clients", json=body, headers=bearer(org="P-DONG-SON", role="admin")).status_code == 403
    assert client.post("/api/v1/clients", json=body, headers=bearer(org="TP-THANH-HOA", role="admin")).status_code == 201


def test_chitieu_token_signs_with_the_issuer_key(tmp_path, monkeypatch, capsys):
    from shared.cli import main

    key_file = tmp_path / "keys" / "issuer.pem"
    main(["keys", "generate", str(key_file)])
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    main(["keys", "generate", str(key_file), "--if-missing"])  # kept as it is
    main(["keys", "jwks", str(key_file)])
    document = json.loads(capsys.readouterr().out)
    monkeypatch.setenv("CHITIEU_JWT_PRIVATE_KEY_FILE", str(key_file))
    main(["token", "--sub", "admin", "--org", "*", "--role", "admin", "--minutes", "5"])
    token = capsys.readouterr().out.strip()
    assert decode_token(token, keys=KeySet(document=document)).role == "admin"
