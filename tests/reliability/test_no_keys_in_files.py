"""No issued API key is ever written down by the API: not in the database file, not in its WAL, not in
any other file of its data directory, not in its log (DESIGN §1: the log shows `llmo_` + 4 characters).

Keys come from every path that issues one — POST /admin/users, the Clerk webhook (revealed once through
/v1/me/initial-key), POST /clerk/api-keys with the admin token and with a Clerk session JWT — and are
then used (ingest, reads, last-use times, a revocation). The scan is twice over: raw bytes of every file
(after kill -9, so the WAL is still there; and after a clean stop), and, because DuckDB compresses
strings on disk, every text column of every table read back through DuckDB itself.
"""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import duckdb
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.factories import clerk_event, create_user, make_event, post_events, send_clerk_event
from tests.server import ApiServer

PREFIX = "llmo_"
DISPLAY = 9  # "llmo_" + 4 characters: what the log and the key list may show


@pytest.fixture(scope="module")
def clerk_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(params=[signal.SIGKILL, signal.SIGTERM], ids=["kill-9-wal-kept", "clean-stop"])
def stopped_with(request: pytest.FixtureRequest) -> signal.Signals:
    return request.param


@pytest.fixture
def key_api(tmp_path: Path, clerk_key: rsa.RSAPrivateKey) -> Iterator[ApiServer]:
    pem = clerk_key.public_key().public_bytes(serialization.Encoding.PEM,
                                              serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    server = ApiServer(tmp_path / "api", extra_env={"CLERK_JWT_KEY": pem}).start()
    yield server
    server.stop()


def session_token(key: rsa.RSAPrivateKey, sub: str) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "nbf": now - 5, "exp": now + 60}, key, algorithm="RS256")


def issue_keys_every_way(api: ApiServer, clerk_key: rsa.RSAPrivateKey) -> list[str]:
    keys = []
    operator_made = create_user(api)
    keys.append(operator_made.api_key)

    event = clerk_event("user.created")
    assert send_clerk_event(api, event).json()["status"] == "created"
    clerk_id = event["data"]["id"]
    revealed = httpx.post(f"{api.url}/v1/me/initial-key", headers=api.admin(clerk_id)).json()["api_key"]
    assert revealed and revealed.startswith(PREFIX)
    keys.append(revealed)

    by_dashboard = httpx.post(f"{api.url}/clerk/api-keys", headers=api.admin(operator_made.id),
                              json={"name": "dashboard", "scopes": ["ingest", "read"]}).json()
    keys.append(by_dashboard["api_key"])
    by_session = httpx.post(f"{api.url}/clerk/api-keys", json={"name": "browser", "scopes": ["ingest", "read"]},
                            headers={"Authorization": f"Bearer {session_token(clerk_key, clerk_id)}"})
    assert by_session.status_code == 201, by_session.text
    keys.append(by_session.json()["api_key"])

    for key in keys:  # use every key: ingest, reads, last-use bookkeeping
        headers = {"Authorization": f"Bearer {key}"}
        assert httpx.post(f"{api.url}/v1/events", headers=headers, json={"events": [make_event()]}).status_code == 200
        assert httpx.get(f"{api.url}/v1/analytics/summary", headers=headers).status_code == 200
    assert httpx.delete(f"{api.url}/clerk/api-keys/{by_dashboard['id']}",
                        headers=api.admin(operator_made.id)).status_code == 200
    assert post_events(api, operator_made, [make_event()]).status_code == 200
    assert len(set(keys)) == 4
    return keys


def needles(key: str) -> list[bytes]:
    """The key, its secret part after `llmo_`, and that part after the 4 characters the UI may show."""
    return [key.encode(), key[len(PREFIX):].encode(), key[DISPLAY:].encode()]


def text_columns_containing(db_copy: Path, secrets_: list[str]) -> list[str]:
    """Every VARCHAR cell of every table, read through DuckDB (on-disk strings may be compressed)."""
    hits = []
    with duckdb.connect(str(db_copy), read_only=True) as con:
        columns = con.execute("SELECT table_name, column_name FROM information_schema.columns "
                              "WHERE data_type = 'VARCHAR' AND table_schema = 'main'").fetchall()
        for table_name, column in columns:
            for secret in secrets_:
                found = con.execute(f'SELECT count(*) FROM "{table_name}" WHERE contains("{column}", ?)',
                                    [secret]).fetchone()[0]
                if found:
                    hits.append(f"{table_name}.{column}")
    return hits


def test_no_issued_key_is_in_any_file_of_the_data_dir_or_the_log(key_api: ApiServer, clerk_key: rsa.RSAPrivateKey,
                                                                 stopped_with: signal.Signals,
                                                                 tmp_path: Path) -> None:
    keys = issue_keys_every_way(key_api, clerk_key)
    key_api.stop(stopped_with)

    files = [p for p in key_api.data_dir.rglob("*") if p.is_file()]
    names = {p.name for p in files}
    assert "llmobserve.duckdb" in names and any(n.endswith(".log") for n in names)
    if stopped_with == signal.SIGKILL:
        assert "llmobserve.duckdb.wal" in names, "expected the WAL to survive kill -9 (else this scan is weaker)"
    for path in files:
        raw = path.read_bytes()
        for key in keys:
            for needle in needles(key):
                assert needle not in raw, f"{path.name} holds (part of) key {key[:DISPLAY]}…"

    log = key_api.log()
    assert "Created user" in log and "Received event: user.created" in log  # the log is the real one
    assert not any(key[DISPLAY:] in log for key in keys)

    copy = tmp_path / "copy"
    shutil.copytree(key_api.data_dir, copy)  # read a copy: opening replays (and may checkpoint) the WAL
    secrets_ = [key[DISPLAY:] for key in keys]
    assert not text_columns_containing(copy / "llmobserve.duckdb", secrets_)
    assert "api_keys.prefix" in text_columns_containing(copy / "llmobserve.duckdb", [keys[0][:DISPLAY]])  # it can see
    with duckdb.connect(str(copy / "llmobserve.duckdb"), read_only=True) as con:  # the scan looked at real rows
        assert con.execute("SELECT count(*) FROM api_keys").fetchone()[0] == 4
        assert con.execute("SELECT count(*) FROM events").fetchone()[0] == 5
