"""Users: created by the Clerk webhook or an operator, and the dashboard's login state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.store.base import Queries, utcnow

USER_COLUMNS = ("id, email, first_name, last_name, user_type, active, password_hash, failed_logins, "
                "first_failed_login_at, locked_until, source, clerk_updated_at, created_at, updated_at, deactivated_at")


def insert_user(cur: Queries, *, user_id: str, email: str | None, first_name: str | None,
                last_name: str | None, user_type: str, source: str, clerk_updated_at: int | None = None) -> None:
    now = utcnow()
    cur.execute(
        "INSERT INTO users (id, email, first_name, last_name, user_type, source, clerk_updated_at, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [user_id, email, first_name, last_name, user_type, source, clerk_updated_at, now, now])


def get_user(db: Queries, *, user_id: str) -> dict[str, Any] | None:
    rows = db.fetchdicts(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", [user_id])
    return rows[0] if rows else None


def get_user_by_email(db: Queries, *, email: str) -> dict[str, Any] | None:
    # An active account wins over a deactivated one with the same email (deleted in Clerk, then signed up again).
    rows = db.fetchdicts(f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower(?)"
                      " ORDER BY active DESC, created_at", [email])
    return rows[0] if rows else None


def get_linkable_user(cur: Queries, *, email: str) -> dict[str, Any] | None:
    """The active operator-created user a Clerk sign-up with this email should take over, if any."""
    rows = cur.fetchdicts(f"SELECT {USER_COLUMNS} FROM users WHERE lower(email) = lower(?) AND source = 'admin'"
                       " AND active ORDER BY created_at LIMIT 1", [email])
    return rows[0] if rows else None


def list_users(db: Queries) -> list[dict[str, Any]]:
    return db.fetchdicts(f"SELECT {USER_COLUMNS} FROM users ORDER BY created_at")


def update_profile(cur: Queries, *, user_id: str, email: str | None, first_name: str | None,
                   last_name: str | None, user_type: str, clerk_updated_at: int | None) -> None:
    cur.execute(
        "UPDATE users SET email = ?, first_name = ?, last_name = ?, user_type = ?, clerk_updated_at = ?,"
        " updated_at = ? WHERE id = ?",
        [email, first_name, last_name, user_type, clerk_updated_at, utcnow(), user_id],
    )


def relink_user_id(cur: Queries, *, old_id: str, new_id: str) -> None:
    """An operator-created user signs up through Clerk: adopt the Clerk id everywhere."""
    cur.execute("UPDATE api_keys SET user_id = ? WHERE user_id = ?", [new_id, old_id])
    cur.execute("UPDATE events SET tenant_id = ? WHERE tenant_id = ?", [new_id, old_id])
    for table in ("usage_hourly", "usage_labels_hourly", "event_labels"):
        cur.execute(f"UPDATE {table} SET tenant_id = ? WHERE tenant_id = ?", [new_id, old_id])
    cur.execute("UPDATE users SET id = ?, source = 'clerk' WHERE id = ?", [new_id, old_id])


def deactivate_user(cur: Queries, *, user_id: str) -> None:
    now = utcnow()
    cur.execute("UPDATE users SET active = FALSE, deactivated_at = ?, updated_at = ? WHERE id = ?",
                [now, now, user_id])


def set_password_hash(db: Queries, *, user_id: str, password_hash: str) -> None:
    db.execute("UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ?", [password_hash, utcnow(), user_id])


def record_login(db: Queries, *, user_id: str, success: bool, window_start: datetime,
                 max_failures: int, locked_until_if_exceeded: datetime) -> dict[str, Any]:
    """Count a login attempt inside a sliding window; lock the account when failures exceed the limit."""
    if success:
        db.execute("UPDATE users SET failed_logins = 0, first_failed_login_at = NULL, locked_until = NULL"
                   " WHERE id = ?", [user_id])
    else:
        db.execute(
            """
            UPDATE users SET
              failed_logins = CASE WHEN first_failed_login_at IS NULL OR first_failed_login_at < ?
                                   THEN 1 ELSE failed_logins + 1 END,
              first_failed_login_at = CASE WHEN first_failed_login_at IS NULL OR first_failed_login_at < ?
                                           THEN ? ELSE first_failed_login_at END
            WHERE id = ?
            """, [window_start, window_start, utcnow(), user_id])
        db.execute("UPDATE users SET locked_until = ? WHERE id = ? AND failed_logins >= ?",
                   [locked_until_if_exceeded, user_id, max_failures])
    user = get_user(db, user_id=user_id)
    assert user is not None
    return user
