from __future__ import annotations

import httpx

from tests.factories import create_user
from tests.server import ApiServer


def test_admin_creates_a_user_with_an_initial_key(api: ApiServer) -> None:
    answer = httpx.post(f"{api.url}/admin/users", headers=api.admin(),
                        json={"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    assert answer.status_code == 201
    body = answer.json()
    assert body["user"]["id"].startswith("user_")
    assert body["user"]["user_type"] == "individual"
    assert body["api_key"].startswith("llmo_")
    assert f"Created user ada@example.com with API key {body['api_key'][:9]}…" in api.log()
    assert body["api_key"] not in api.log()


def test_the_same_email_cannot_be_created_twice(api: ApiServer) -> None:
    user = create_user(api)
    again = httpx.post(f"{api.url}/admin/users", headers=api.admin(), json={"email": user.email.upper()})
    assert again.status_code == 409


def test_admin_endpoints_need_the_admin_token(api: ApiServer) -> None:
    user = create_user(api)
    for headers in ({}, user.headers, {"Authorization": "Bearer wrong-token"}):
        assert httpx.post(f"{api.url}/admin/users", headers=headers, json={"email": "x@y.z"}).status_code == 401


def test_an_operator_can_purge_a_users_events(api: ApiServer) -> None:
    from tests.factories import make_event, post_events

    user = create_user(api)
    post_events(api, user, [make_event(), make_event()])
    purged = httpx.delete(f"{api.url}/admin/users/{user.id}/events", headers=api.admin())
    assert purged.json() == {"deleted": 2}
    assert httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers).json()["calls"] == 0


def test_an_online_backup_is_a_complete_database_file(fresh_api: ApiServer) -> None:
    import duckdb

    from tests.factories import make_event, post_events

    user = create_user(fresh_api)
    post_events(fresh_api, user, [make_event(), make_event()])
    answer = httpx.post(f"{fresh_api.url}/admin/backup", headers=fresh_api.admin())
    if fresh_api.backend == "postgresql":  # PostgreSQL is backed up with its own tools, and says so
        assert answer.status_code == 501 and "pg_dump" in answer.json()["detail"]
        return
    assert answer.status_code == 201
    backup = answer.json()["path"]
    assert backup.startswith(str(fresh_api.data_dir))
    assert post_events(fresh_api, user, [make_event()]).status_code == 200  # the API goes on writing
    with duckdb.connect(backup, read_only=True) as copy:  # another file: no lock conflict with the API
        assert copy.execute("SELECT count(*) FROM events").fetchone() == (2,)
        assert copy.execute("SELECT email FROM users").fetchall() == [(user.email,)]
