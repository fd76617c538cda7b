"""With Redis away, the progress endpoint answers 503 problem+json, not 500 (issue 8, point 10)."""
import pytest

from services.quota.app import create_app
from tests.quota.conftest import add_org


@pytest.fixture
def app(make_settings, db):
    return create_app(make_settings("quota", redis_url="redis://127.0.0.1:1/0"), db=db)


def test_progress_without_redis_is_503(client, admin):
    add_org(client, admin, "TINH-THANH-HOA", "Đảng bộ tỉnh Thanh Hóa", "province")
    resp = client.get("/api/v1/organizations/TINH-THANH-HOA/progress", query_string={"period": "2024"},
                      headers=admin)
    assert resp.status_code == 503 and resp.mimetype == "application/problem+json"
    assert "Redis" in resp.json["detail"] and resp.headers["Retry-After"]
