"""Schema migrations applied to a database made by an older version keep what was there working."""

from __future__ import annotations

from pathlib import Path

import duckdb
import httpx

from api.store.duckdb import migrations
from api.store.base import utcnow
from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer


def _database_before_scopes(path: Path) -> None:
    """A database as the version before key scopes left it (migrations up to 8), with a user and a key."""
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    for version, sql in migrations.MIGRATIONS:
        if version >= 9:
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, utcnow()])
    con.close()


def test_a_key_made_before_scopes_existed_keeps_both(tmp_path: Path) -> None:
    from api.accounts import generate_key

    api = ApiServer(tmp_path / "api")
    api.data_dir.mkdir(parents=True)
    _database_before_scopes(api.db_path)
    full_key, prefix, key_hash = generate_key()
    con = duckdb.connect(str(api.db_path))
    now = utcnow()
    con.execute("INSERT INTO users (id, email, source, created_at, updated_at) VALUES ('user_old', 'old@example.com',"
                " 'admin', ?, ?)", [now, now])
    con.execute("INSERT INTO api_keys (id, user_id, name, prefix, key_hash, created_at)"
                " VALUES ('key_old', 'user_old', 'from before', ?, ?, ?)", [prefix, key_hash, now])
    con.close()
    api.start()
    try:
        old = TestUser("user_old", "old@example.com", full_key, "key_old")
        [key] = httpx.get(f"{api.url}/clerk/api-keys", headers=api.admin("user_old")).json()["data"]
        assert (key["id"], key["scopes"]) == ("key_old", ["ingest", "read"])
        assert post_events(api, old, [make_event()]).json()["accepted"] == 1
        assert httpx.get(f"{api.url}/v1/analytics/summary", headers=old.headers).json()["calls"] == 1
    finally:
        api.stop()
