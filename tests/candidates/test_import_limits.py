"""Imports cannot exhaust the server (issue 8, point 2), through the candidate and tree imports."""
import io
import sqlite3
import time

from services.candidates import views
from tests.candidates.factories import auth, candidate_body, make_app
from tests.spreadsheets import declared_huge

HEADER = list(candidate_body())


def _post(client, content, name, headers):
    return client.post("/api/v1/candidates/import", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(content), name)})


def test_the_hostile_workbook_is_refused_fast(client):
    content = declared_huge(HEADER)
    started = time.monotonic()
    resp = _post(client, content, "hostile.xlsx", {})
    assert resp.status_code == 401 and time.monotonic() - started < 1
    started = time.monotonic()
    resp = _post(client, content, "hostile.xlsx", auth(role="admin"))
    assert resp.status_code == 413 and time.monotonic() - started < 5
    assert "CHITIEU_IMPORT_MAX_ROWS" in resp.json["errors"]["file"][0]


def test_a_csv_with_ten_thousand_columns_is_refused(client):
    resp = _post(client, b",".join(b"c%d" % i for i in range(10_000)) + b"\n", "wide.csv", auth())
    assert resp.status_code == 413 and "CHITIEU_IMPORT_MAX_COLUMNS" in resp.json["errors"]["file"][0]


def test_parsing_holds_no_write_lock(tmp_path, monkeypatch):
    """While the file is parsed, another connection can write: the import has not opened its
    write transaction yet (on SQLite that would be BEGIN IMMEDIATE, blocking every writer; the
    property is SQLite's, whose write lock covers the whole database)."""
    path = tmp_path / "candidates.sqlite"
    app = make_app(f"sqlite:///{path}")
    client = app.test_client()
    written = []
    parse = views.read_table

    def parse_while_another_writes(content, filename):
        other = sqlite3.connect(path, timeout=0.5)
        try:
            other.execute("BEGIN IMMEDIATE")
            other.execute("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
            other.commit()
            written.append(True)
        finally:
            other.close()
        return parse(content, filename)

    monkeypatch.setattr(views, "read_table", parse_while_another_writes)
    body = candidate_body()
    csv = ",".join(HEADER) + "\n" + ",".join(str(body[h]) if not isinstance(body[h], list) else ";".join(body[h])
                                               for h in HEADER) + "\n"
    resp = _post(client, csv.encode(), "one.csv", auth())
    assert written == [True]
    assert resp.status_code == 201, resp.json
    app.extensions["db"].dispose()


def test_the_tree_import_refuses_the_hostile_workbook_fast(tmp_path):
    from services.quota.app import create_app
    from shared.config import Settings
    from tests.keys import test_issuer, token

    app = create_app(Settings(service="quota", database_url=f"sqlite:///{tmp_path}/q.db", **test_issuer().settings()))
    app.extensions["db"].create_all()
    client = app.test_client()
    content = declared_huge(["code", "name", "type", "parent_code"])

    def post(headers):
        return client.post("/api/v1/organizations/import", headers=headers, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(content), "tree.xlsx")})

    started = time.monotonic()
    assert post({}).status_code == 401 and time.monotonic() - started < 1
    admin = {"Authorization": "Bearer " + token(sub="a", org="*", role="admin")}
    started = time.monotonic()
    resp = post(admin)
    assert resp.status_code == 413 and time.monotonic() - started < 5
    app.extensions["db"].dispose()
