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


def test_events_rolled_up_before_the_label_tables_existed_are_in_them(tmp_path: Path) -> None:
    """DuckDB migration 11 fills usage_labels_hourly and event_labels from the events already rolled up;
    12 folds the totals without the customer (two customers' search calls make one row) and adds every
    call under '*' from usage_hourly."""
    import json

    from api.ingest import to_rows, validate_batch
    from api.store import analytics, open_store
    from api.store.filters import EventFilters

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMP)")
    for version, sql in migrations.MIGRATIONS:
        if version >= 11:
            break
        con.execute(sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?)", [version, utcnow()])
    batch = [make_event(tags={"team": "search"}, run_name="nightly"),
             make_event(tags={"team": "search"}, customer_id="cust_2"),
             make_event(tags={"team": "billing", "feature": "x"}), make_event()]
    table, _ = to_rows("old_tenant", validate_batch(json.dumps({"events": batch}).encode(), max_events=10).events)
    pending = table.drop(["cache_savings_usd"])  # the old schema has no such column
    con.register("pending", pending)
    con.execute("INSERT INTO events BY NAME SELECT * EXCLUDE (cost_pico), cost_pico * 0.000000000001 AS cost_usd,"
                " 1 AS flush_seq FROM pending")
    con.execute("""INSERT INTO usage_hourly SELECT tenant_id, date_trunc('hour', timestamp), provider, model,
                   coalesce(customer_id, ''), status, pricing_status, count(*), sum(cost_usd), sum(input_tokens),
                   sum(cached_input_tokens), sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
                   coalesce(sum(latency_ms), 0), count(latency_ms), min(timestamp), max(timestamp),
                   count(*) FILTER (WHERE pricing_fallback IS NOT NULL) FROM events GROUP BY ALL""")
    con.execute("UPDATE usage_state SET rolled_up_to = 1")
    con.close()
    store = open_store(database_url=None, duckdb_path=str(path))
    try:
        rows = store.fetchall("SELECT label, value, calls FROM usage_labels_hourly ORDER BY label, value")
        assert [(label, value, int(calls)) for label, value, calls in rows] == [
            ("*", "", 4), ("run_name", "nightly", 1), ("tag:feature", "x", 1), ("tag:team", "billing", 1), ("tag:team", "search", 2)]
        assert store.fetchone("SELECT count(*) FROM event_labels") == (5,)
        found = analytics.breakdown(store, tenant_id="old_tenant", filters=EventFilters(), by="tag:team")
        assert {row["key"]: row["calls"] for row in found} == {"search": 2, "billing": 1, None: 1}
    finally:
        store.close()
