"""The HTTP API: validation with nothing written, search, scope, idempotency, transfer, funnel."""
from datetime import date

from sqlalchemy import func, select

from services.candidates.models import Candidate, IdempotencyKey, Transfer, outbox
from tests.candidates.factories import auth, candidate_body, create, evidence, walk


def count(db, table):
    with db.transaction() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_create_validates_and_writes_nothing_on_error(client, db):
    bad = dict(candidate_body(), national_id="12345", gender="robot", date_of_birth="2000-02-30")
    resp = client.post("/api/v1/candidates", json=bad, headers=auth())
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    assert {"national_id", "gender", "date_of_birth"} <= set(resp.json["errors"])
    assert count(db, Candidate) == 0 and count(db, outbox) == 0


def test_national_id_must_match_the_person(client, db):
    body = candidate_body(date_of_birth=date(2000, 3, 15), gender="male")
    body["national_id"] = "038" + "1" + "00" + "123456"  # a woman's code
    resp = client.post("/api/v1/candidates", json=body, headers=auth())
    assert resp.status_code == 422 and "national_id" in resp.json["errors"]
    body["national_id"] = "038" + "0" + "99" + "123456"  # born in 1999
    assert client.post("/api/v1/candidates", json=body, headers=auth()).status_code == 422
    body["national_id"] = "038" + "2" + "00" + "123456"  # 2000, male
    assert client.post("/api/v1/candidates", json=body, headers=auth()).status_code == 201
    # The same person cannot be listed twice while open.
    again = client.post("/api/v1/candidates", json=dict(body, listed_on="2022-02-01"), headers=auth())
    assert again.status_code == 409 and "national_id" in again.json["errors"]
    assert "123456" not in again.get_data(as_text=True)


def test_a_candidate_belongs_to_a_known_cell(client, db):
    for code, status in (("KHONG-CO", 422), ("P-DONG-SON", 422), ("P-DONG-SON-CB2", 201)):
        resp = client.post("/api/v1/candidates", json=candidate_body(org_code=code), headers=auth())
        assert resp.status_code == status, (code, resp.json)
        if status == 422:
            assert "org_code" in resp.json["errors"]


def test_name_search_with_or_without_diacritics(client):
    create(client, full_name="Nguyễn Văn An")
    create(client, full_name="Trần Thị Bích Ngọc", gender="female")
    create(client, full_name="Đặng  Văn   Đức")
    for query, names in (("nguyen van an", ["Nguyễn Văn An"]), ("Nguyễn", ["Nguyễn Văn An"]),
                         ("NGOC", ["Trần Thị Bích Ngọc"]), ("dang van duc", ["Đặng Văn Đức"]),
                         ("văn", ["Đặng Văn Đức", "Nguyễn Văn An"]), ("xyz", [])):
        resp = client.get("/api/v1/candidates", query_string={"q": query}, headers=auth(role="viewer"))
        assert [c["full_name"] for c in resp.json["items"]] == names, query


def test_filters_and_scope(client):
    a = create(client, org_code="P-DONG-SON-CB1", occupation_group="student")["id"]
    b = create(client, org_code="P-QUANG-CAT-CB1", occupation_group="farmer")["id"]
    walk(client, b, "trained")

    def ids(headers, **query):
        resp = client.get("/api/v1/candidates", query_string=query, headers=headers)
        assert resp.status_code == 200, resp.json
        return {c["id"] for c in resp.json["items"]}

    assert ids(auth()) == {a, b}
    assert ids(auth(), org="TP-THANH-HOA") == {a, b}
    assert ids(auth(), org="P-QUANG-CAT") == {b}
    assert ids(auth(), stage="trained") == {b}
    assert ids(auth(), occupation_group="student") == {a}
    # A ward's viewer sees only its subtree, by default and when asking.
    dong_son = auth(org="P-DONG-SON", role="viewer")
    assert ids(dong_son) == {a}
    assert client.get("/api/v1/candidates", query_string={"org": "P-QUANG-CAT"}, headers=dong_son).status_code == 403
    assert client.get(f"/api/v1/candidates/{b}", headers=dong_son).status_code == 403
    assert client.get(f"/api/v1/candidates/{a}", headers=dong_son).status_code == 200


def test_roles(client, db):
    viewer = auth(org="P-DONG-SON", role="viewer")
    assert client.post("/api/v1/candidates", json=candidate_body(), headers=viewer).status_code == 403
    other_ward = auth(org="P-QUANG-CAT", role="officer")
    assert client.post("/api/v1/candidates", json=candidate_body(), headers=other_ward).status_code == 403
    assert client.post("/api/v1/candidates", json=candidate_body()).status_code == 401
    assert count(db, Candidate) == 0
    cid = create(client)["id"]
    resp = client.post(f"/api/v1/candidates/{cid}/transitions", json=evidence("trained", date(2022, 3, 1)),
                       headers=other_ward)
    assert resp.status_code == 403
    ward = auth(org="P-DONG-SON", role="officer")
    assert client.post(f"/api/v1/candidates/{cid}/transitions", json=evidence("trained", date(2022, 3, 1)),
                       headers=ward).status_code == 201


def test_idempotency_key_replays_and_refuses_a_different_body(client, db):
    body = candidate_body()
    headers = auth(**{"Idempotency-Key": "import-42"})
    first = client.post("/api/v1/candidates", json=body, headers=headers)
    again = client.post("/api/v1/candidates", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json == again.json and again.headers["Idempotent-Replayed"] == "true"
    assert count(db, Candidate) == 1 and count(db, outbox) == 1
    other = client.post("/api/v1/candidates", json=candidate_body(), headers=headers)
    assert other.status_code == 422 and "headers.Idempotency-Key" in other.json["errors"]
    assert count(db, Candidate) == 1
    # Keys belong to the caller: another system's same key is a new request.
    theirs = client.post("/api/v1/candidates", json=candidate_body(), headers=auth(sub="he-thong-khac",
                                                                               **{"Idempotency-Key": "import-42"}))
    assert theirs.status_code == 201 and count(db, IdempotencyKey) == 2


def test_idempotent_transition_is_written_once(client, db):
    cid = create(client)["id"]
    headers = auth(**{"Idempotency-Key": f"{cid}-trained"})
    url = f"/api/v1/candidates/{cid}/transitions"
    first = client.post(url, json=evidence("trained", date(2022, 3, 1)), headers=headers)
    second = client.post(url, json=evidence("trained", date(2022, 3, 1)), headers=headers)
    assert first.status_code == second.status_code == 201 and first.json == second.json
    assert len(client.get(f"/api/v1/candidates/{cid}", headers=auth()).json["history"]["transitions"]) == 2
    # A refused request stored nothing: the same key may be retried after fixing nothing, and is refused again.
    bad = auth(**{"Idempotency-Key": "bad-1"})
    assert client.post(url, json=evidence("official", date(2022, 4, 1)), headers=bad).status_code == 409
    assert client.post(url, json=evidence("official", date(2022, 4, 1)), headers=bad).status_code == 409


def test_bad_idempotency_key_is_refused(client, db):
    resp = client.post("/api/v1/candidates", json=candidate_body(), headers=auth(**{"Idempotency-Key": "x" * 201}))
    assert resp.status_code == 400 and count(db, Candidate) == 0


def test_transfer_keeps_the_history(client, db):
    cid = create(client)["id"]
    walk(client, cid, "applied")
    resp = client.post(f"/api/v1/candidates/{cid}/transfer",
                       json={"to_org_code": "P-QUANG-CAT-CB2", "date": "2022-07-01", "decision_number": "QĐ-CT/1"},
                       headers=auth(org="TP-THANH-HOA"))  # the city holds both wards
    assert resp.status_code == 201 and resp.json["candidate"]["org_code"] == "P-QUANG-CAT-CB2"
    detail = client.get(f"/api/v1/candidates/{cid}", headers=auth()).json
    assert len(detail["history"]["transitions"]) == 3
    assert {t["org_code"] for t in detail["history"]["transitions"]} == {"P-DONG-SON-CB1"}
    assert detail["history"]["transfers"][0]["to_org_code"] == "P-QUANG-CAT-CB2"
    # Now the old ward no longer sees the candidate; the new one does.
    assert client.get(f"/api/v1/candidates/{cid}", headers=auth(org="P-DONG-SON", role="viewer")).status_code == 403
    assert client.get(f"/api/v1/candidates/{cid}", headers=auth(org="P-QUANG-CAT", role="viewer")).status_code == 200
    with db.transaction() as s:
        assert s.scalar(select(func.count()).select_from(Transfer)) == 1
        types = s.execute(select(outbox.c.event_type)).scalars().all()
    changes = [t for t in types if t != "vn.chitieu.candidate.record_read.v1"]
    assert changes[-1] == "vn.chitieu.candidate.transferred.v1"
    assert types.count("vn.chitieu.candidate.record_read.v1") == 2  # the two reads answered, not the refused one


def test_transfer_refusals(client, db):
    cid = create(client)["id"]
    url = f"/api/v1/candidates/{cid}/transfer"
    for body, field in (({"to_org_code": "P-DONG-SON-CB1", "date": "2022-07-01"}, "to_org_code"),
                        ({"to_org_code": "P-QUANG-CAT", "date": "2022-07-01"}, "to_org_code"),
                        ({"to_org_code": "P-QUANG-CAT-CB1", "date": "2021-07-01"}, "date")):
        resp = client.post(url, json=body, headers=auth())
        assert resp.status_code == 422 and field in resp.json["errors"], body
    assert count(db, Transfer) == 0


def test_funnel_counts_each_stage_in_the_subtree(client):
    for until in ("source", "trained", "trained", "admitted"):
        cid = create(client)["id"]
        if until != "source":
            walk(client, cid, until)
    create(client, org_code="P-QUANG-CAT-CB1")
    resp = client.get("/api/v1/organizations/P-DONG-SON/funnel", headers=auth(role="viewer"))
    assert resp.status_code == 200
    assert resp.json["stages"] == {"source": 1, "trained": 2, "applied": 0, "proposed": 0, "admitted": 1,
                                   "official": 0, "withdrawn": 0, "rejected": 0, "removed": 0}
    assert resp.json["total"] == 4 and resp.json["in_pipeline"] == 3
    assert client.get("/api/v1/organizations/TP-THANH-HOA/funnel", headers=auth()).json["total"] == 5
    assert client.get("/api/v1/organizations/NOWHERE/funnel", headers=auth()).status_code == 404


def test_organization_and_reported_strength(client):
    resp = client.get("/api/v1/organizations/P-DONG-SON-CB1", headers=auth(role="viewer"))
    assert resp.json["official_members"] is None and resp.json["parent_code"] == "P-DONG-SON"
    assert client.put("/api/v1/organizations/P-DONG-SON/official-members", json={"official_members": 40},
                      headers=auth()).status_code == 422  # a ward is not a cell
    assert client.put("/api/v1/organizations/P-DONG-SON-CB1/official-members", json={"official_members": 7},
                      headers=auth(role="viewer")).status_code == 403
    ok = client.put("/api/v1/organizations/P-DONG-SON-CB1/official-members", json={"official_members": 7},
                    headers=auth())
    assert ok.status_code == 200 and ok.json["official_members"] == 7


def test_the_same_key_sent_twice_at_once_writes_once(app, db):
    import threading

    body = candidate_body()
    headers = auth(**{"Idempotency-Key": "cung-luc"})
    barrier, answers = threading.Barrier(4), []

    def send():
        client = app.test_client()
        barrier.wait()
        answers.append(client.post("/api/v1/candidates", json=body, headers=headers))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [a.status_code for a in answers] == [201] * 4
    assert len({a.json["id"] for a in answers}) == 1
    assert count(db, Candidate) == 1 and count(db, outbox) == 1


def test_one_open_record_per_person_even_at_once(app, db):
    import threading

    body = candidate_body()
    barrier, answers = threading.Barrier(4), []

    def send(n):
        client = app.test_client()
        barrier.wait()
        # Different keys (or none): four separate requests for the same person.
        headers = auth(**({"Idempotency-Key": f"k-{n}"} if n % 2 else {}))
        answers.append(client.post("/api/v1/candidates", json=body, headers=headers).status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201, 409, 409, 409]
    assert count(db, Candidate) == 1


def test_a_closed_candidate_may_be_listed_again(client, db):
    body = candidate_body()
    first = client.post("/api/v1/candidates", json=body, headers=auth()).json["id"]
    assert client.post(f"/api/v1/candidates/{first}/transitions", json={"to": "withdrawn", "date": "2022-02-01"},
                       headers=auth()).status_code == 201
    again = client.post("/api/v1/candidates", json=dict(body, listed_on="2023-01-05"), headers=auth())
    assert again.status_code == 201 and again.json["id"] != first
