"""PostgreSQL's own event paths, run inside the group-commit writer: COPY into a staging table and one
INSERT … ON CONFLICT DO NOTHING; the roll-up by transaction id; purge.

Why transaction ids and not a counter: with several replicas, "everything after number N" misses a row
whose transaction took a number before N but committed after the roll-up read. Rows carry the id of
the transaction that inserted them; pg_snapshot_xmin(pg_current_snapshot()) is the oldest transaction
still running, so every row with a smaller id is committed (or never will be) and visible. The roll-up
takes [rolled_up_below, xmin) and moves rolled_up_below to xmin, in one transaction."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.csv as pacsv

from api.store import labels
from api.store.base import Transaction
from api.store.events import credit
from api.store.postgres.dialect import DIALECT
from api.store.postgres.migrations import ROLLUP_LOCK
from api.store.usage import ROLLUP_SELECT, ROLLUP_UPSERT

UNROLLED = "xid >= (SELECT rolled_up_below FROM usage_state WHERE id = 1)"
XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"

# Per writer connection: the events table's columns, with cost_pico beside cost_usd; emptied at commit.
STAGING = """
    CREATE TEMP TABLE IF NOT EXISTS pending_events (LIKE events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
    ALTER TABLE pending_events ADD COLUMN IF NOT EXISTS cost_pico BIGINT;
"""
CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed")


def write_batches(tx: Transaction, batches: list[pa.Table], flush_seq: int) -> list[tuple[int, int]]:
    """COPY every queued request's events (CSV straight from Arrow, no Python per row), then insert the
    new ones. Ordered by (tenant, id) so two replicas inserting the same ids lock them in one order
    (no deadlock); a concurrent copy of an id waits for the first and is then skipped."""
    combined = pa.concat_tables(batches) if len(batches) > 1 else batches[0]
    names = combined.column_names
    sink = pa.BufferOutputStream()
    pacsv.write_csv(combined, sink, CSV)
    conn = tx.raw
    with conn.cursor() as cur:
        with cur.copy(f"COPY pending_events ({', '.join(names)}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(sink.getvalue().to_pybytes())
        columns = [n for n in names if n != "cost_pico"]
        cur.execute(
            f"""
            INSERT INTO events ({', '.join(columns)}, cost_usd)
            SELECT {', '.join(columns)}, cost_pico * 0.000000000001 FROM pending_events ORDER BY tenant_id, id
            ON CONFLICT (tenant_id, id) DO NOTHING
            RETURNING tenant_id, id::text
            """)
        inserted = cur.fetchall()
    return credit(batches, inserted)


def take_rollup_lock(tx: Transaction, *, wait: bool) -> bool:
    if wait:
        tx.execute("SELECT pg_advisory_xact_lock(?)", [ROLLUP_LOCK])
        return True
    return bool(tx.fetchone("SELECT pg_try_advisory_xact_lock(?)", [ROLLUP_LOCK])[0])  # type: ignore[index]


def roll_up(tx: Transaction, items: list[None], flush_seq: int) -> list[int]:
    """One replica at a time (the others skip this round); how many transaction ids it moved past."""
    if not take_rollup_lock(tx, wait=False):
        return [0] * len(items)
    lo = tx.fetchone("SELECT rolled_up_below FROM usage_state WHERE id = 1")[0]  # type: ignore[index]
    hi = tx.fetchone(XMIN)[0]  # type: ignore[index]
    if hi > lo:
        tx.execute(ROLLUP_UPSERT.format(where="xid >= ? AND xid < ?"), [lo, hi])
        labels.roll_up(tx, DIALECT, where="e.xid >= ? AND e.xid < ?", params=[lo, hi])
        tx.execute("UPDATE usage_state SET rolled_up_below = ? WHERE id = 1", [hi])
    return [max(hi - lo, 0)] * len(items)


def rebuild_usage_hourly(tx: Transaction) -> None:
    take_rollup_lock(tx, wait=True)
    hi = tx.fetchone(XMIN)[0]  # type: ignore[index]
    tx.execute("DELETE FROM usage_hourly")
    tx.execute("INSERT INTO usage_hourly " + ROLLUP_SELECT.format(where="xid < ?"), [hi])
    labels.rebuild(tx, DIALECT, where="e.xid < ?", params=[hi])
    tx.execute("UPDATE usage_state SET rolled_up_below = ? WHERE id = 1", [hi])


def purge(tx: Transaction, tenant_ids: list[str], flush_seq: int) -> list[int]:
    """Holds the roll-up lock: a roll-up running beside it could re-add rows it has just deleted."""
    take_rollup_lock(tx, wait=True)
    counts = []
    for tenant_id in tenant_ids:
        deleted = tx.fetchone("WITH d AS (DELETE FROM events WHERE tenant_id = ? RETURNING 1) SELECT count(*) FROM d",
                              [tenant_id])
        counts.append(int(deleted[0]))  # type: ignore[index]
        tx.execute("DELETE FROM usage_hourly WHERE tenant_id = ?", [tenant_id])
        labels.purge(tx, tenant_id=tenant_id)
    return counts
