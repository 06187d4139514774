"""/clerk/api-keys: list, issue (shown once), revoke (effective at once); keys stored only as hashes."""

from __future__ import annotations

import httpx

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer


def test_a_new_key_is_shown_once_and_works(api: ApiServer, user: TestUser) -> None:
    created = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id), json={"name": "ci"})
    assert created.status_code == 201
    key = created.json()
    assert key["api_key"].startswith("llmo_") and len(key["api_key"]) >= 5 + 32
    assert key["prefix"] == key["api_key"][:9]
    listed = httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(user.id)).json()["data"]
    assert {k["name"] for k in listed} == {"default", "ci"}
    assert key["api_key"] not in httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(user.id)).text
    new_user = TestUser(user.id, user.email, key["api_key"], key["id"])
    assert post_events(api, new_user, [make_event()]).status_code == 200


def test_a_revoked_key_is_refused_on_the_next_request(api: ApiServer, user: TestUser) -> None:
    assert post_events(api, user, [make_event()]).status_code == 200
    revoked = httpx.delete(f"{api.url}/clerk/api-keys/{user.key_id}", headers=api.admin(user.id))
    assert revoked.status_code == 200 and revoked.json()["revoked"] is True
    assert post_events(api, user, [make_event()]).status_code == 401


def test_last_used_is_reported_after_use(api: ApiServer, user: TestUser) -> None:
    post_events(api, user, [make_event()])
    [key] = httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(user.id)).json()["data"]
    assert key["last_used_at"] is not None


def test_an_api_key_cannot_mint_more_keys(api: ApiServer, user: TestUser) -> None:
    answer = httpx.post(f"{api.url}/clerk/api-keys", headers=user.headers, json={"name": "stolen"})
    assert answer.status_code == 403


def test_the_initial_key_is_revealed_exactly_once(api: ApiServer) -> None:
    fresh = create_user(api)
    first = httpx.post(f"{api.url}/v1/me/initial-key", headers=api.admin(fresh.id)).json()
    second = httpx.post(f"{api.url}/v1/me/initial-key", headers=api.admin(fresh.id)).json()
    assert first == {"api_key": fresh.api_key, "prefix": fresh.api_key[:9], "already_revealed": False}
    assert second == {"api_key": None, "prefix": fresh.api_key[:9], "already_revealed": True}


def test_no_issued_key_is_ever_in_the_database_file(fresh_api: ApiServer) -> None:
    owner = create_user(fresh_api)
    extra = httpx.post(f"{fresh_api.url}/clerk/api-keys", headers=fresh_api.admin(owner.id),
                       json={"name": "second"}).json()["api_key"]
    post_events(fresh_api, owner, [make_event()])
    fresh_api.stop()  # checkpoint: everything is in the main file now
    raw = b"".join(p.read_bytes() for p in fresh_api.data_dir.glob("llmobserve.duckdb*"))
    for key in (owner.api_key, extra):
        assert key.encode() not in raw
        assert key[9:].encode() not in raw  # not even the secret part without its prefix


# -- scopes (DESIGN §13) ------------------------------------------------------------------------------
def _new_key(api: ApiServer, user: TestUser, **body: object) -> httpx.Response:
    return httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(user.id), json={"name": "scoped", **body})


def test_a_new_key_may_only_ingest_by_default_and_a_read_is_refused_naming_the_scope(
        api: ApiServer, user: TestUser) -> None:
    key = _new_key(api, user).json()
    assert key["scopes"] == ["ingest"]
    listed = {k["id"]: k["scopes"] for k in httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(user.id)).json()["data"]}
    assert listed == {user.key_id: ["ingest", "read"], key["id"]: ["ingest"]}
    ingest_only = TestUser(user.id, user.email, key["api_key"], key["id"])
    assert post_events(api, ingest_only, [make_event()]).json()["accepted"] == 1
    for path in ("/v1/analytics/summary", "/v1/analytics/breakdown", "/v1/runs", "/v1/events/export"):
        answer = httpx.get(f"{api.url}{path}", headers=ingest_only.headers)
        assert answer.status_code == 403, path
        assert answer.json()["detail"].startswith("this API key lacks the 'read' scope (it has: ingest)")
    # the owner's initial key, which has both, reads what the ingest-only key sent
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["calls"] == 1


def test_a_read_only_key_reads_but_cannot_send_events(api: ApiServer, user: TestUser) -> None:
    post_events(api, user, [make_event()])
    key = _new_key(api, user, scopes=["read"]).json()
    assert key["scopes"] == ["read"]
    reader = TestUser(user.id, user.email, key["api_key"], key["id"])
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=reader.headers).json()["calls"] == 1
    answer = post_events(api, reader, [make_event()])
    assert answer.status_code == 403
    assert "lacks the 'ingest' scope (it has: read)" in answer.json()["detail"]
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=reader.headers).json()["calls"] == 1


def test_a_key_with_both_scopes_does_both(api: ApiServer, user: TestUser) -> None:
    key = _new_key(api, user, scopes=["read", "ingest", "read"]).json()
    assert key["scopes"] == ["ingest", "read"]
    both = TestUser(user.id, user.email, key["api_key"], key["id"])
    assert post_events(api, both, [make_event()]).json()["accepted"] == 1
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=both.headers).json()["calls"] == 1


def test_scopes_must_be_a_non_empty_subset_of_ingest_and_read(api: ApiServer, user: TestUser) -> None:
    for scopes in ([], ["admin"], "read", ["ingest", None]):
        answer = _new_key(api, user, scopes=scopes)
        assert answer.status_code == 422, scopes
        assert "scopes" in answer.text


def test_the_initial_sign_up_key_has_both_scopes(api: ApiServer) -> None:
    fresh = create_user(api)
    [key] = httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin(fresh.id)).json()["data"]
    assert key["scopes"] == ["ingest", "read"]
    assert post_events(api, fresh, [make_event()]).status_code == 200
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=fresh.headers).json()["calls"] == 1
