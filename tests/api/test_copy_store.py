"""`python -m api.cli copy-store`: a DuckDB store with users, keys, events, deliveries and prices,
moved into PostgreSQL, answers the same through an API on the new store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.factories import clerk_event, create_user, make_event, post_events, send_clerk_event
from tests.server import BACKENDS, ROOT, ApiServer

pytestmark = pytest.mark.skipif("postgresql" not in BACKENDS, reason="copies into PostgreSQL")


def copy_store(source: Path, target: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "api.cli", "copy-store", "--from", str(source), "--to", target],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_duckdb_store_moves_to_postgresql_unchanged(tmp_path: Path) -> None:
    from tests.postgres import shared_server

    old = ApiServer(tmp_path / "duck").start()
    user = create_user(old)
    httpx.put(f"{old.url}/v1/prices/openai/house-model", headers=user.headers,
              json={"input_per_mtok": "1.5", "output_per_mtok": "2"}).raise_for_status()
    post_events(old, user, [make_event() for _ in range(30)] + [make_event(model="house-model")]
                + [make_event(model="unknown-finetune")]).raise_for_status()
    delivery = clerk_event("user.created")
    send_clerk_event(old, delivery, msg_id="msg_copied").raise_for_status()
    before = {path: httpx.get(f"{old.url}{path}", headers=user.headers).json()
              for path in ("/v1/analytics/summary", "/v1/analytics/breakdown?by=model", "/v1/prices")}
    exported = httpx.get(f"{old.url}/v1/events/export?format=csv", headers=user.headers).text
    old.stop()

    url = shared_server().create_database()
    done = copy_store(old.db_path, url)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    for table in ("users", "api_keys", "events", "webhook_deliveries", "custom_price_versions"):
        assert lines[table][0] == lines[table][1] != "0", done.stdout  # rows on both sides, equal
    assert lines["events"] == ["32", "32"] and lines["users"] == ["2", "2"]

    new = ApiServer(tmp_path / "pg", backend="postgresql", database_url=url, admin_token=old.admin_token,
                    webhook_secret=old.webhook_secret, secret_key=(old.data_dir / "secret_key").read_text().strip())
    new.start()
    try:
        assert httpx.get(f"{new.url}/health").json()["store"] == "postgresql"
        after = {path: httpx.get(f"{new.url}{path}", headers=user.headers).json() for path in before}
        assert after == before  # the old key still works; costs, prices and totals unchanged
        moved = httpx.get(f"{new.url}/v1/events/export?format=csv", headers=user.headers).text
        assert sorted(moved.splitlines()[1:]) == sorted(exported.splitlines()[1:])
        assert send_clerk_event(new, delivery, msg_id="msg_copied").json()["status"] == "duplicate"
        revealed = httpx.post(f"{new.url}/v1/me/initial-key", headers=new.admin(delivery["data"]["id"])).json()
        assert revealed["api_key"].startswith("llmo_")  # encrypted with the secret key that came along
    finally:
        new.stop()

    again = copy_store(old.db_path, url)
    assert again.returncode != 0 and "already holds events" in again.stderr
