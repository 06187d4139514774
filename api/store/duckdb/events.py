"""DuckDB's own event paths, run inside the group-commit writer: the Arrow insert, the roll-up by flush
number, purge and the online backup."""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from api.store import labels
from api.store.base import Dialect, Transaction
from api.store.events import credit
from api.store.id_index import IdIndex
from api.store.usage import ROLLUP_SELECT, ROLLUP_UPSERT

# Events not in usage_hourly yet: those of flushes after the last roll-up.
UNROLLED = "flush_seq > (SELECT rolled_up_to FROM usage_state WHERE id = 1)"


def roll_up(dialect: Dialect, tx: Transaction, items: list[None], flush_seq: int) -> list[int]:
    """Take every flush committed before this one into usage_hourly and the label roll-up (how many
    flushes it took in). The writer runs one group at a time, so every earlier flush has committed."""
    done = tx.fetchone("SELECT rolled_up_to FROM usage_state WHERE id = 1")[0]  # type: ignore[index]
    upto = flush_seq - 1
    if upto > done:
        tx.execute(ROLLUP_UPSERT.format(where="flush_seq > ? AND flush_seq <= ?"), [done, upto])
        labels.roll_up(tx, dialect, where="e.flush_seq > ? AND e.flush_seq <= ?", params=[done, upto])
        tx.execute("UPDATE usage_state SET rolled_up_to = ? WHERE id = 1", [upto])
    return [upto - done] * len(items)


def write_batches(index: IdIndex, tx: Transaction, batches: list[pa.Table], flush_seq: int) -> list[tuple[int, int]]:
    """Insert every queued request's events in one statement, skipping ids already stored.

    An id is stored once per tenant whatever timestamp a repeat carries. The writer's in-memory IdIndex
    says which incoming ids may be stored already (usually none); only those are looked up in the table,
    first in the batch's own time range (cheap: zone maps; a retried send keeps its timestamp), then
    everywhere. Repeats within the flush keep their first copy.
    """
    cur = tx.raw
    combined = pa.concat_tables(batches) if len(batches) > 1 else batches[0]
    cur.register("pending", combined)
    try:
        hashes = cur.execute("SELECT hash(tenant_id, CAST(id AS UUID)) AS h FROM pending").fetchnumpy()["h"]
        suspects = index.suspects(hashes)
        stored = _stored_among(cur, combined.take(suspects)) if len(suspects) else set()
        if stored:
            keep = [(t, i) not in stored for t, i in zip(combined["tenant_id"].to_pylist(), combined["id"].to_pylist())]
            cur.unregister("pending")
            cur.register("pending", combined.filter(pa.array(keep)))
        inserted = cur.execute(
            """
            INSERT INTO events BY NAME
            SELECT * EXCLUDE (cost_pico),
                   CAST(CAST(cost_pico AS DECIMAL(19, 0)) * CAST(0.000000000001 AS DECIMAL(19, 12))
                        AS DECIMAL(19, 12)) AS cost_usd,
                   CAST(? AS BIGINT) AS flush_seq
            FROM pending p
            QUALIFY row_number() OVER (PARTITION BY tenant_id, id) = 1
            ORDER BY timestamp  -- keeps the table near time order: tighter zone maps for range reads
            RETURNING tenant_id, CAST(id AS VARCHAR)
            """, [flush_seq]).fetchall()
    finally:
        cur.unregister("pending")
    index.add(hashes)  # a rolled-back flush leaves false suspects only, which cost a lookup, never an event
    return credit(batches, inserted)


def _stored_among(cur: duckdb.DuckDBPyConnection, suspects: pa.Table) -> set[tuple[str, str]]:
    """Which suspect (tenant_id, id) pairs are really stored: in their own time range first, then anywhere."""
    lo, hi = pc.min(suspects["timestamp"]).as_py(), pc.max(suspects["timestamp"]).as_py()
    cur.register("suspects", suspects.select(["tenant_id", "id"]))
    try:
        lookup = """SELECT e.tenant_id, CAST(e.id AS VARCHAR) FROM events e
                    JOIN suspects s ON e.id = CAST(s.id AS UUID) AND e.tenant_id = s.tenant_id"""
        stored = set(cur.execute(lookup + " WHERE e.timestamp BETWEEN ? AND ?", [lo, hi]).fetchall())
        if len(stored) < suspects.num_rows:
            stored |= set(cur.execute(lookup).fetchall())
    finally:
        cur.unregister("suspects")
    return stored


def stored_hashes(cur: duckdb.DuckDBPyConnection) -> np.ndarray:
    """The hashes of every stored (tenant, id), for the writer's IdIndex (~1 s at 10M events)."""
    return cur.execute("SELECT hash(tenant_id, id) AS h FROM events").fetchnumpy()["h"]


def rebuild_usage_hourly(dialect: Dialect, tx: Transaction) -> None:
    tx.execute("DELETE FROM usage_hourly")
    tx.execute("INSERT INTO usage_hourly " + ROLLUP_SELECT.format(where="TRUE"))
    labels.rebuild(tx, dialect)
    tx.execute("UPDATE usage_state SET rolled_up_to = (SELECT coalesce(max(flush_seq), 0) FROM events)")


def purge(tx: Transaction, tenant_ids: list[str], flush_seq: int) -> list[int]:
    """Runs in the writer, so it cannot collide with an insert or a roll-up of the same tenant."""
    counts = []
    for tenant_id in tenant_ids:
        counts.append(int(tx.fetchone("SELECT count(*) FROM events WHERE tenant_id = ?", [tenant_id])[0]))  # type: ignore[index]
        tx.execute("DELETE FROM events WHERE tenant_id = ?", [tenant_id])
        tx.execute("DELETE FROM usage_hourly WHERE tenant_id = ?", [tenant_id])
        labels.purge(tx, tenant_id=tenant_id)
    return counts


def backup(tx: Transaction, targets: list[str], flush_seq: int) -> list[str]:
    """Copy the whole database into a new file, inside the writer (so no write is half in, half out)."""
    source = tx.fetchone("SELECT current_database()")[0]  # type: ignore[index]
    for target in targets:
        tx.execute(f"ATTACH '{target}' AS backup_target")
        try:
            tx.execute(f'COPY FROM DATABASE "{source}" TO backup_target')
        finally:
            tx.execute("DETACH backup_target")
    return targets


def settle_relink(dialect: Dialect, index: IdIndex, tx: Transaction, moves: list[tuple[str, str]],
                  flush_seq: int) -> list[None]:
    """After a relink committed: a roll-up that was running beside it read the events under the old id and
    may have added hourly rows for it (DuckDB sees no conflict between inserting those and the relink's
    update). Run by the writer, so every such roll-up has committed: recount the new id's rolled-up
    totals from its events, always (recounting only when old-id rows were left still lost a call about
    once in four full runs; a recount from the events does not depend on what the roll-up left), drop
    the old id's, and teach the id index the events' new (tenant, id). A relink is rare (an operator-made
    user signs up once), so one tenant's recount is affordable."""
    cur = tx.raw
    for old_id, new_id in moves:
        done = tx.fetchone("SELECT rolled_up_to FROM usage_state WHERE id = 1")[0]  # type: ignore[index]
        for table in ("usage_hourly", "usage_labels_hourly", "event_labels"):
            tx.execute(f"DELETE FROM {table} WHERE tenant_id IN (?, ?)", [old_id, new_id])
        tx.execute("INSERT INTO usage_hourly " + ROLLUP_SELECT.format(where="tenant_id = ? AND flush_seq <= ?"),
                   [new_id, done])
        labels.roll_up(tx, dialect, where="e.tenant_id = ? AND e.flush_seq <= ?", params=[new_id, done])
        hashes = cur.execute("SELECT hash(tenant_id, CAST(id AS UUID)) AS h FROM events WHERE tenant_id = ?",
                             [new_id]).fetchnumpy()["h"]
        if len(hashes):
            index.add(hashes)
    return [None] * len(moves)
