"""Each API's Swagger UI is served by the API itself (no CDN), and behind the proxy's path prefix
(X-Forwarded-Prefix: /quota) the page, its assets and the spec's server all carry that prefix."""
from __future__ import annotations

import re

import pytest

from services.candidates.app import create_app as candidates_app
from services.notifications.app import create_app as notifications_app
from services.quota.app import create_app as quota_app
from shared.config import Settings
from tests.keys import test_issuer

APPS = {"quota": quota_app, "candidates": candidates_app, "notifications": notifications_app}
# What the compose file's Caddy sends to an API it serves under /quota (deploy/Caddyfile).
PROXIED = {"X-Forwarded-Prefix": "/quota", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "chitieu.example.vn",
           "X-Forwarded-For": "203.0.113.7"}


def make(service: str, tmp_path, *, proxy_hops: int = 0):
    settings = Settings(service=service, database_url=f"sqlite:///{tmp_path / service}.db", proxy_hops=proxy_hops,
                        log_level="WARNING", **test_issuer().settings())
    return APPS[service](settings)


def asset_urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.mark.parametrize("service", sorted(APPS))
def test_each_api_serves_its_swagger_ui_and_every_asset_itself(service, tmp_path):
    client = make(service, tmp_path).test_client()
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "SwaggerUIBundle" in html and 'url: "/openapi.json"' in html
    assert not re.search(r"https?://", html), "the page names an external URL"
    urls = asset_urls(html)
    assert sorted(urls) == ["docs/assets/swagger-ui-bundle.js", "docs/assets/swagger-ui-standalone-preset.js",
                            "docs/assets/swagger-ui.css"]
    for url in urls:
        asset = client.get("/" + url)  # relative to the page at /docs
        assert asset.status_code == 200, url
        assert len(asset.data) > 10_000, url
    assert client.get("/docs/assets/../../app.py").status_code == 404  # no way out of the asset folder
    # Without a proxy the spec names no server: the API's own origin and root.
    assert "servers" not in client.get("/openapi.json").json


@pytest.mark.parametrize("service", sorted(APPS))
def test_behind_the_proxy_the_spec_names_the_prefix_as_its_server(service, tmp_path):
    client = make(service, tmp_path, proxy_hops=1).test_client()
    spec = client.get("/openapi.json", headers=PROXIED).json
    assert spec["servers"] == [{"url": "/quota"}]
    assert any(path.startswith("/api/v1/") for path in spec["paths"])
    html = client.get("/docs", headers=PROXIED).get_data(as_text=True)
    assert 'url: "/quota/openapi.json"' in html


def test_untrusted_forwarded_headers_change_nothing(tmp_path):
    """CHITIEU_PROXY_HOPS=0 (the default, APIs reached directly): a client cannot move the server."""
    client = make("quota", tmp_path).test_client()
    assert "servers" not in client.get("/openapi.json", headers=PROXIED).json
    assert 'url: "/openapi.json"' in client.get("/docs", headers=PROXIED).get_data(as_text=True)
