"""Look-alike organisation codes are one organisation (issue 8, point 10): every code entering a
service is NFC-normalised, in a body, a path, a query and an import file."""
import io
import unicodedata

from tests.quota.conftest import add_org

PRECOMPOSED = unicodedata.normalize("NFC", "ĐÔNG-SƠN")
DECOMPOSED = unicodedata.normalize("NFD", "ĐÔNG-SƠN")


def test_the_two_forms_differ():
    assert PRECOMPOSED != DECOMPOSED and len(DECOMPOSED) > len(PRECOMPOSED)


def test_a_decomposed_code_is_the_same_organisation(client, admin):
    add_org(client, admin, PRECOMPOSED, "Đảng bộ phường Đông Sơn", "grassroots")
    again = client.post("/api/v1/organizations", headers=admin, json={
        "code": DECOMPOSED, "name": "Đảng bộ phường Đông Sơn", "type": "grassroots", "effective_date": "2020-01-01"})
    assert again.status_code == 409 and "code" in again.get_json()["errors"]
    found = client.get(f"/api/v1/organizations/{DECOMPOSED}", headers=admin)
    assert found.status_code == 200 and found.get_json()["code"] == PRECOMPOSED
    child = add_org(client, admin, "CB-1", "Chi bộ 1", "cell", DECOMPOSED)
    assert child["parent_code"] == PRECOMPOSED
    csv = f"code,name,type,parent_code,effective_date\nCB-2,Chi bộ 2,cell,{DECOMPOSED},2020-01-01\n"
    resp = client.post("/api/v1/organizations/import", headers=admin, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(csv.encode()), "tree.csv")})
    assert resp.status_code == 201, resp.get_json()
    kids = client.get(f"/api/v1/organizations/{PRECOMPOSED}/children?as_of=2024-01-01", headers=admin).get_json()["items"]
    assert sorted(k["code"] for k in kids) == ["CB-1", "CB-2"]
