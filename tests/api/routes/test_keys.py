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
