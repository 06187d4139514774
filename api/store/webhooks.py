"""Processed webhook deliveries, so a retried Svix delivery (same svix-id) is handled once."""

from __future__ import annotations

import duckdb

from api.store.db import utcnow

# Two transactions writing the same key (the same svix-id, or the same new user id) at once: DuckDB refuses
# the second, at its insert or at its commit. Nothing was written; the caller retries and sees the winner.
WRITE_CONFLICTS: tuple[type[Exception], ...] = (duckdb.TransactionException, duckdb.ConstraintException)


def claim_delivery(cur: duckdb.DuckDBPyConnection, *, svix_id: str, event_type: str) -> bool:
    """Record the delivery inside the caller's transaction; False when it was already processed."""
    seen = cur.execute("SELECT 1 FROM webhook_deliveries WHERE svix_id = ?", [svix_id]).fetchone()
    if seen:
        return False
    cur.execute("INSERT INTO webhook_deliveries VALUES (?, ?, ?)", [svix_id, event_type, utcnow()]).fetchall()
    return True
