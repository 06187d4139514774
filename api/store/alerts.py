"""Alert channels, the once-per-period record of fired alerts, deliveries with their attempts, and
the lease that elects one alert worker among replicas."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from api.store.base import Queries, Store, utcnow

CHANNEL_COLUMNS = "id, tenant_id, type, url_ciphertext, url_display, secret_ciphertext, created_at"
DELIVERY_COLUMNS = ("id, tenant_id, channel_id, budget_id, type, body, status, attempts, next_attempt_at, created_at, "
                    "first_attempt_at, last_attempt_at, last_status_code, last_error")


# -- channels -------------------------------------------------------------------------------------
def insert_channel(db: Store, *, channel_id: str, tenant_id: str, type: str, url_ciphertext: str,
                   url_display: str, secret_ciphertext: str | None) -> dict[str, Any]:
    db.execute(f"INSERT INTO alert_channels ({CHANNEL_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
               [channel_id, tenant_id, type, url_ciphertext, url_display, secret_ciphertext, utcnow()])
    channel = get_channel(db, tenant_id=tenant_id, channel_id=channel_id)
    assert channel is not None
    return channel


def get_channel(db: Store, *, tenant_id: str, channel_id: str) -> dict[str, Any] | None:
    rows = db.fetchdicts(f"SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE tenant_id = ? AND id = ?",
                         [tenant_id, channel_id])
    return rows[0] if rows else None


def list_channels(db: Store, *, tenant_id: str) -> list[dict[str, Any]]:
    return db.fetchdicts(f"SELECT {CHANNEL_COLUMNS} FROM alert_channels WHERE tenant_id = ? ORDER BY created_at, id",
                         [tenant_id])


def delete_channel(db: Store, *, tenant_id: str, channel_id: str) -> bool:
    """Remove the channel; its pending deliveries fail at once (there is nowhere to send them)."""
    with db.transaction() as cur:
        found = cur.fetchone("SELECT count(*) FROM alert_channels WHERE tenant_id = ? AND id = ?",
                             [tenant_id, channel_id])[0]  # type: ignore[index]
        cur.execute("DELETE FROM alert_channels WHERE tenant_id = ? AND id = ?", [tenant_id, channel_id])
        cur.execute("UPDATE alert_deliveries SET status = 'failed', next_attempt_at = NULL, "
                    "last_error = 'channel deleted' WHERE tenant_id = ? AND channel_id = ? AND status = 'pending'",
                    [tenant_id, channel_id])
    return bool(found)


# -- fired alerts and new deliveries --------------------------------------------------------------
def fired_in_period(db: Store, *, budget_id: str, period_start: datetime) -> set[tuple[str, float]]:
    rows = db.fetchall("SELECT type, threshold_percent FROM alerts_fired WHERE budget_id = ? AND period_start = ?",
                       [budget_id, period_start])
    return {(kind, float(threshold)) for kind, threshold in rows}


def fire(db: Store, *, tenant_id: str, budget_id: str, period_start: datetime, type: str,
         threshold_percent: float, deliveries: list[dict[str, Any]], now: datetime) -> bool:
    """Record the alert as fired for this period and queue its deliveries (due at `now`), in one
    transaction; False (and nothing queued) when it had fired already."""
    with db.transaction() as cur:
        seen = cur.fetchone("SELECT count(*) FROM alerts_fired WHERE budget_id = ? AND period_start = ? AND type = ? "
                            "AND threshold_percent = ?", [budget_id, period_start, type, threshold_percent])[0]  # type: ignore[index]
        if seen:
            return False
        cur.execute("INSERT INTO alerts_fired VALUES (?, ?, ?, ?, ?, ?)",
                    [tenant_id, budget_id, period_start, type, threshold_percent, now])
        for d in deliveries:
            _insert_delivery(cur, tenant_id=tenant_id, budget_id=budget_id, type=type, now=now, **d)
    return True


def _insert_delivery(cur: Queries, *, delivery_id: str, tenant_id: str, channel_id: str, budget_id: str | None,
                     type: str, body: str, now: datetime) -> None:
    cur.execute(f"INSERT INTO alert_deliveries ({DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, "
                "NULL, NULL, NULL, NULL)", [delivery_id, tenant_id, channel_id, budget_id, type, body, now, now])


def queue_delivery(db: Store, *, delivery_id: str, tenant_id: str, channel_id: str, budget_id: str | None,
                   type: str, body: str) -> None:
    _insert_delivery(db, delivery_id=delivery_id, tenant_id=tenant_id, channel_id=channel_id,
                     budget_id=budget_id, type=type, body=body, now=utcnow())


# -- delivering -----------------------------------------------------------------------------------
def due_deliveries(db: Store, *, now: datetime, limit: int = 100) -> list[dict[str, Any]]:
    """Pending deliveries whose next attempt is due, oldest first, with their channel (any tenant)."""
    return db.fetchdicts(
        f"""SELECT {', '.join('d.' + c.strip() for c in DELIVERY_COLUMNS.split(','))},
                   c.type AS channel_type, c.url_ciphertext, c.secret_ciphertext
            FROM alert_deliveries d JOIN alert_channels c ON c.id = d.channel_id AND c.tenant_id = d.tenant_id
            WHERE d.status = 'pending' AND d.next_attempt_at <= ?
            ORDER BY d.next_attempt_at, d.id LIMIT ?""", [now, limit])


def get_delivery(db: Store, *, tenant_id: str, delivery_id: str) -> dict[str, Any] | None:
    rows = db.fetchdicts(f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE tenant_id = ? AND id = ?",
                         [tenant_id, delivery_id])
    return rows[0] if rows else None


def record_attempt(db: Store, *, delivery: dict[str, Any], attempted_at: datetime, status_code: int | None,
                   error: str | None, duration_ms: float, outcome: str, next_attempt_at: datetime | None) -> None:
    """Log one attempt and move the delivery on: `outcome` is delivered, pending (retry at
    next_attempt_at) or failed (given up)."""
    attempt = delivery["attempts"] + 1
    with db.transaction() as cur:
        cur.execute("INSERT INTO alert_attempts VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [delivery["id"], delivery["tenant_id"], attempt, attempted_at, status_code, error,
                     duration_ms])
        cur.execute("""UPDATE alert_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,
                           first_attempt_at = coalesce(first_attempt_at, ?), last_attempt_at = ?,
                           last_status_code = ?, last_error = ?
                       WHERE id = ? AND status = 'pending'""",
                    [outcome, attempt, next_attempt_at, attempted_at, attempted_at, status_code, error,
                     delivery["id"]])


def list_deliveries(db: Store, *, tenant_id: str, limit: int) -> list[dict[str, Any]]:
    """The tenant's latest deliveries, newest first, each with its attempts in order."""
    deliveries = db.fetchdicts(
        f"SELECT {DELIVERY_COLUMNS} FROM alert_deliveries WHERE tenant_id = ? ORDER BY created_at DESC, id LIMIT ?",
        [tenant_id, limit])
    if not deliveries:
        return []
    ids = [d["id"] for d in deliveries]
    attempts = db.fetchdicts(
        f"""SELECT delivery_id, attempt, attempted_at, status_code, error, duration_ms FROM alert_attempts
            WHERE tenant_id = ? AND delivery_id IN ({', '.join('?' for _ in ids)}) ORDER BY delivery_id, attempt""",
        [tenant_id, *ids])
    by_delivery: dict[str, list[dict[str, Any]]] = {}
    for a in attempts:
        by_delivery.setdefault(a.pop("delivery_id"), []).append(a)
    for d in deliveries:
        d["attempts"] = by_delivery.get(d["id"], [])
    return deliveries


# -- one worker among replicas --------------------------------------------------------------------
def take_lease(db: Store, *, holder: str, now: datetime, until: datetime) -> bool:
    """Hold (or renew) the alert-worker lease until `until`; False while another live holder has it.
    One conditional UPDATE of one row: on PostgreSQL concurrent replicas serialise on its row lock."""
    db.execute("UPDATE alert_worker_lease SET holder = ?, expires_at = ? "
               "WHERE id = 1 AND (holder IS NULL OR holder = ? OR expires_at < ?)", [holder, until, holder, now])
    row = db.fetchone("SELECT holder FROM alert_worker_lease WHERE id = 1")
    return bool(row and row[0] == holder)


def release_lease(db: Store, *, holder: str) -> None:
    db.execute("UPDATE alert_worker_lease SET holder = NULL, expires_at = NULL WHERE id = 1 AND holder = ?", [holder])
