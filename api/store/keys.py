"""API keys: only a hash and a display prefix are stored (plus, until its single reveal, the initial key
encrypted with the server's secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import duckdb

from api.store.db import Database, utcnow

KEY_COLUMNS = "id, user_id, name, prefix, created_at, last_used_at, revoked_at, revoked_at IS NOT NULL AS revoked"


def insert_key(cur: duckdb.DuckDBPyConnection, *, key_id: str, user_id: str, name: str, prefix: str,
               key_hash: str, reveal_ciphertext: str | None = None) -> datetime:
    now = utcnow()
    cur.execute(
        "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, reveal_ciphertext, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [key_id, user_id, name, prefix, key_hash, reveal_ciphertext, now],
    ).fetchall()
    return now


def list_keys(db: Database, *, user_id: str) -> list[dict[str, Any]]:
    return db.fetchdicts(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ? ORDER BY created_at", [user_id])


def get_key(db: Database, *, user_id: str, key_id: str) -> dict[str, Any] | None:
    rows = db.fetchdicts(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ? AND id = ?", [user_id, key_id])
    return rows[0] if rows else None


def revoke_key(db: Database, *, user_id: str, key_id: str) -> None:
    db.execute("UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND id = ? AND revoked_at IS NULL",
               [utcnow(), user_id, key_id])


def revoke_all_keys(cur: duckdb.DuckDBPyConnection, *, user_id: str) -> None:
    cur.execute("UPDATE api_keys SET revoked_at = ?, reveal_ciphertext = NULL WHERE user_id = ? AND revoked_at IS NULL",
                [utcnow(), user_id]).fetchall()


def all_key_hashes(db: Database) -> list[tuple[str, str, str, bool]]:
    """(hash, key id, user id, usable) for every key, to fill the in-memory auth cache at start."""
    return db.fetchall(
        "SELECT k.key_hash, k.id, k.user_id, k.revoked_at IS NULL AND u.active FROM api_keys k"
        " JOIN users u ON u.id = k.user_id")


def take_initial_key(db: Database, *, user_id: str) -> tuple[str | None, str | None, bool]:
    """Return the encrypted initial key and forget it in the same transaction: it can be read once."""
    with db.transaction() as cur:
        row = cur.execute(
            "SELECT id, prefix, reveal_ciphertext FROM api_keys WHERE user_id = ? ORDER BY created_at LIMIT 1",
            [user_id]).fetchone()
        if row is None:
            return None, None, False
        key_id, prefix, ciphertext = row
        if ciphertext is not None:
            cur.execute("UPDATE api_keys SET reveal_ciphertext = NULL WHERE id = ?", [key_id]).fetchall()
    return ciphertext, prefix, ciphertext is None


def save_last_used(db: Database, *, last_used: dict[str, datetime]) -> None:
    """Write the in-memory last-use times in one statement (not one write per request)."""
    if not last_used:
        return
    cur = db.cursor()
    cur.executemany("UPDATE api_keys SET last_used_at = ? WHERE id = ?",
                    [[when, key_id] for key_id, when in last_used.items()])
