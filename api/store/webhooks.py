"""Processed webhook deliveries, so a retried Svix delivery (same svix-id) is handled once."""

from __future__ import annotations

from api.store.base import Queries, utcnow


def claim_delivery(db: Queries, *, svix_id: str, event_type: str) -> bool:
    """Record the delivery inside the caller's transaction; False when it was already processed.

    ON CONFLICT DO NOTHING: on PostgreSQL a concurrent claim of the same id waits for the first
    transaction and then claims nothing (the first committed) or claims it (the first rolled back);
    DuckDB's transactions in one process are serialised by the store, so there is no race to lose."""
    claimed = db.fetchall("INSERT INTO webhook_deliveries (svix_id, event_type, received_at) VALUES (?, ?, ?)"
                          " ON CONFLICT DO NOTHING RETURNING svix_id", [svix_id, event_type, utcnow()])
    return bool(claimed)
