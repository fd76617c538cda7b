"""Bearer tokens and scope, checked through a small app built with the shared web factory."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from flask_smorest import Blueprint

from shared.auth import mint_token, require_scope
from shared.config import Settings
from shared.keys import generate_signing_key
from shared.web import create_app
from tests.keys import test_issuer

OLD_SECRET = "chitieu-dev-secret-change-me-in-production"  # the HS256 secret of before
STRANGER = generate_signing_key()  # a well-formed Ed25519 key the issuer never published
TREE = {"CB1": "WARD", "WARD": "CITY", "CITY": None, "OTHER": None}


def is_within(code, ancestor):
    while code is not None:
        if code == ancestor:
            return True
        code = TREE.get(code)
    return False


@pytest.fixture
def client():
    blp = Blueprint("things", __name__, url_prefix="/things")

    @blp.route("/<code>", methods=["GET"])
    def read(code):
        require_scope(code, role="viewer", is_within=is_within)
        return {"code": code}

    @blp.route("/<code>", methods=["POST"])
    def write(code):
        require_scope(code, role="officer", is_within=is_within)
        return {"code": code}

    app = create_app(settings=Settings(service="t", database_url="sqlite://", **test_issuer().settings()),
                     title="t", description="t", readiness={}, blueprints=[blp])
    return app.test_client()


def bearer(org="WARD", role="officer", key=None, ttl=timedelta(hours=1)):
    token = mint_token(key=key or test_issuer().key, sub="u1", org=org, role=role, ttl=ttl)
    return {"Authorization": f"Bearer {token}"}


def hs256(secret=OLD_SECRET):
    now = datetime.now(timezone.utc)
    claims = {"sub": "u1", "org": "*", "role": "admin", "iat": now, "exp": now + timedelta(hours=1)}
    return {"Authorization": "Bearer " + jwt.encode(claims, secret, algorithm="HS256")}


def forged_kid():
    """Signed by a stranger's key but claiming the issuer's kid."""
    now = datetime.now(timezone.utc)
    claims = {"sub": "u1", "org": "*", "role": "admin", "exp": now + timedelta(hours=1)}
    token = jwt.encode(claims, STRANGER.private_key, algorithm="EdDSA", headers={"kid": test_issuer().key.kid})
    return {"Authorization": f"Bearer {token}"}


def test_missing_token_is_401_problem(client):
    resp = client.get("/api/v1/things/CB1")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.json["title"] == "Unauthorized"


@pytest.mark.parametrize("headers", [
    {"Authorization": "Bearer not-a-jwt"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    bearer(key=STRANGER),
    forged_kid(),
    hs256(),
    bearer(ttl=timedelta(seconds=-10)),
], ids=["not-a-jwt", "basic", "other-key", "other-key-issuer-kid", "hs256-old-secret", "expired"])
def test_bad_tokens_are_401(client, headers):
    assert client.get("/api/v1/things/CB1", headers=headers).status_code == 401


def test_subtree_is_allowed_and_outside_is_403(client):
    assert client.get("/api/v1/things/CB1", headers=bearer(org="WARD")).status_code == 200
    assert client.get("/api/v1/things/WARD", headers=bearer(org="WARD")).status_code == 200
    resp = client.get("/api/v1/things/CITY", headers=bearer(org="WARD"))
    assert resp.status_code == 403 and "outside your scope" in resp.json["detail"]
    assert client.get("/api/v1/things/OTHER", headers=bearer(org="WARD")).status_code == 403


def test_whole_country_token_reaches_everything(client):
    assert client.get("/api/v1/things/OTHER", headers=bearer(org="*", role="viewer")).status_code == 200


def test_role_too_low_is_403(client):
    assert client.post("/api/v1/things/CB1", headers=bearer(role="viewer")).status_code == 403
    assert client.post("/api/v1/things/CB1", headers=bearer(role="officer")).status_code == 200
    assert client.post("/api/v1/things/CB1", headers=bearer(role="admin")).status_code == 200


def test_token_command_mints_an_admin_token(monkeypatch, capsys):
    from shared.auth import decode_token
    from shared.cli import main

    from shared.keys import KeySet

    monkeypatch.setenv("CHITIEU_JWT_PRIVATE_KEY_FILE", test_issuer().private_key_file)
    main(["token", "--sub", "admin", "--org", "*", "--role", "admin"])
    token = capsys.readouterr().out.strip()
    principal = decode_token(token, keys=KeySet(test_issuer().jwks_file))
    assert (principal.sub, principal.org, principal.role) == ("admin", "*", "admin")
    assert jwt.get_unverified_header(token)["kid"] == test_issuer().key.kid


def test_a_new_key_is_trusted_once_published(tmp_path):
    """Rotation: a token with a kid the verifier has not seen makes it read the JWK Set again."""
    import json

    from shared.auth import decode_token
    from shared.keys import KeySet, jwks_document

    old, new = generate_signing_key(), generate_signing_key()
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(jwks_document([old.jwk])))
    keys = KeySet(str(path), refresh_s=0)
    assert decode_token(mint_token(key=old, sub="a", org="*", role="admin"), keys=keys).sub == "a"
    with pytest.raises(Exception, match="unknown key"):
        decode_token(mint_token(key=new, sub="b", org="*", role="admin"), keys=keys)
    path.write_text(json.dumps(jwks_document([new.jwk, old.jwk])))
    assert decode_token(mint_token(key=new, sub="b", org="*", role="admin"), keys=keys).sub == "b"
    assert decode_token(mint_token(key=old, sub="a", org="*", role="admin"), keys=keys).sub == "a"



def test_a_token_verified_once_is_served_from_the_cache_only_while_it_holds():
    """The verified-token cache (shared/auth.py) answers only for the key set whose key verified
    the token and only before the token's `exp`; otherwise the token is checked in full again."""
    from shared import auth
    from shared.auth import Principal, decode_token
    from shared.keys import KeySet, jwks_document

    key, other = generate_signing_key(), generate_signing_key()
    keys, others = KeySet(document=jwks_document([key.jwk])), KeySet(document=jwks_document([other.jwk]))
    token = mint_token(key=key, sub="a", org="*", role="admin", ttl=timedelta(minutes=5))
    assert decode_token(token, keys=keys).sub == "a"
    principal, exp, kid, verified_by = auth._VERIFIED[token]
    assert (principal.sub, kid, verified_by) == ("a", key.kid, keys.key(key.kid))
    with pytest.raises(Exception, match="unknown key"):
        decode_token(token, keys=others)  # another key set does not trust it, cached or not
    # A cache entry is what it says only until `exp`: a marked entry is served before, not after.
    marked = Principal(sub="from-the-cache", org="*", role="admin")
    auth._VERIFIED[token] = (marked, exp, kid, verified_by)
    assert decode_token(token, keys=keys) is marked
    auth._VERIFIED[token] = (marked, datetime.now(timezone.utc).timestamp() - 1, kid, verified_by)
    assert decode_token(token, keys=keys).sub == "a"
