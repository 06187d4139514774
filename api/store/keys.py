"""API keys: only a hash and a display prefix are stored (plus, until its single reveal, the initial key
encrypted with the server's secret)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.store.base import Queries, Store, utcnow

KEY_COLUMNS = ("id, user_id, name, prefix, scopes, created_at, last_used_at, revoked_at,"
               " revoked_at IS NOT NULL AS revoked")


def _scopes_text(scopes: tuple[str, ...] | list[str]) -> str:
    return ",".join(sorted(set(scopes)))


def _with_scopes(row: dict[str, Any]) -> dict[str, Any]:
    """Scopes are stored as 'ingest,read'; callers get a sorted list."""
    return {**row, "scopes": row["scopes"].split(",")}


def insert_key(db: Queries, *, key_id: str, user_id: str, name: str, prefix: str,
               key_hash: str, scopes: tuple[str, ...] | list[str], reveal_ciphertext: str | None = None) -> datetime:
    now = utcnow()
    db.execute(
        "INSERT INTO api_keys (id, user_id, name, prefix, key_hash, scopes, reveal_ciphertext, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [key_id, user_id, name, prefix, key_hash, _scopes_text(scopes), reveal_ciphertext, now],
    )
    return now


def list_keys(db: Queries, *, user_id: str) -> list[dict[str, Any]]:
    rows = db.fetchdicts(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ? ORDER BY created_at", [user_id])
    return [_with_scopes(row) for row in rows]


def get_key(db: Queries, *, user_id: str, key_id: str) -> dict[str, Any] | None:
    rows = db.fetchdicts(f"SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ? AND id = ?", [user_id, key_id])
    return _with_scopes(rows[0]) if rows else None


def revoke_key(db: Queries, *, user_id: str, key_id: str) -> None:
    db.execute("UPDATE api_keys SET revoked_at = ? WHERE user_id = ? AND id = ? AND revoked_at IS NULL",
               [utcnow(), user_id, key_id])


def revoke_all_keys(db: Queries, *, user_id: str) -> None:
    db.execute("UPDATE api_keys SET revoked_at = ?, reveal_ciphertext = NULL WHERE user_id = ? AND revoked_at IS NULL",
               [utcnow(), user_id])


def all_key_hashes(db: Queries) -> list[tuple[str, str, str, bool, tuple[str, ...]]]:
    """(hash, key id, user id, usable, scopes) for every key, to fill the in-memory auth cache at start."""
    rows = db.fetchall(
        "SELECT k.key_hash, k.id, k.user_id, k.revoked_at IS NULL AND u.active, k.scopes FROM api_keys k"
        " JOIN users u ON u.id = k.user_id")
    return [(*row[:4], tuple(row[4].split(","))) for row in rows]


def key_owner(db: Queries, *, key_hash: str) -> tuple[str, str, bool, tuple[str, ...]] | None:
    """(key id, user id, usable, scopes) of one key, for a replica that has not loaded it yet."""
    rows = db.fetchall(
        "SELECT k.id, k.user_id, k.revoked_at IS NULL AND u.active, k.scopes FROM api_keys k"
        " JOIN users u ON u.id = k.user_id WHERE k.key_hash = ?", [key_hash])
    return (*rows[0][:3], tuple(rows[0][3].split(","))) if rows else None


def take_initial_key(db: Store, *, user_id: str) -> tuple[str | None, str | None, bool]:
    """Return the encrypted initial key and forget it in the same transaction: it can be read once
    (the row is locked while read where replicas share the store)."""
    with db.transaction() as tx:
        row = tx.fetchone(
            "SELECT id, prefix, reveal_ciphertext FROM api_keys WHERE user_id = ? ORDER BY created_at LIMIT 1"
            + db.dialect.for_update, [user_id])
        if row is None:
            return None, None, False
        key_id, prefix, ciphertext = row
        if ciphertext is not None:
            tx.execute("UPDATE api_keys SET reveal_ciphertext = NULL WHERE id = ?", [key_id])
    return ciphertext, prefix, ciphertext is None


def save_last_used(db: Queries, *, last_used: dict[str, datetime]) -> None:
    """Write the in-memory last-use times in one statement (not one write per request)."""
    if not last_used:
        return
    # never backwards: another replica may have saved a later use of the same key
    db.executemany("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)",
                   [[when, key_id, when] for key_id, when in last_used.items()])
