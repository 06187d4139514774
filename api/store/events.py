"""Event writes (group-committed, de-duplicated) and raw exports."""

from __future__ import annotations

from concurrent.futures import Future
from functools import lru_cache, partial
from typing import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from api.store.db import Database
from api.store.filters import EventFilters, where_clause
from api.store.id_index import IdIndex

EXPORT_COLUMNS = (
    "CAST(id AS VARCHAR) AS id, timestamp, provider, model, operation, customer_id, run_id, run_name, "
    "input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, "
    "latency_ms, "
    "time_to_first_token_ms, stream, status, error_type, http_status, service_tier, tags, sdk_version, "
    "cost_usd, pricing_status, pricing_source, pricing_version, received_at"
)


# Adds every event committed since the last roll-up to the hourly totals (summed on conflict).
ROLLUP_UPSERT = """
    INSERT INTO usage_hourly
    SELECT tenant_id, date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status,
           pricing_status, count(*), sum(cost_usd), sum(input_tokens), sum(cached_input_tokens),
           sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), coalesce(sum(latency_ms), 0),
           count(latency_ms), min(timestamp), max(timestamp)
    FROM events WHERE flush_seq > ? AND flush_seq <= ?
    GROUP BY ALL
    ON CONFLICT DO UPDATE SET
        calls = calls + excluded.calls,
        cost_usd = CASE WHEN cost_usd IS NULL THEN excluded.cost_usd
                        WHEN excluded.cost_usd IS NULL THEN cost_usd ELSE cost_usd + excluded.cost_usd END,
        input_tokens = input_tokens + excluded.input_tokens,
        cached_input_tokens = cached_input_tokens + excluded.cached_input_tokens,
        cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
        output_tokens = output_tokens + excluded.output_tokens,
        reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        latency_sum = latency_sum + excluded.latency_sum,
        latency_count = latency_count + excluded.latency_count,
        first_at = least(first_at, excluded.first_at),
        last_at = greatest(last_at, excluded.last_at)
"""


def roll_up(db: Database) -> Future:
    """Queue a roll-up of everything committed so far into usage_hourly (the future gives how many
    flushes it took in). Reads stay exact meanwhile: they add the calls not rolled up yet."""
    return db.submit(_roll_up, None)


def _roll_up(cur: duckdb.DuckDBPyConnection, items: list[None], flush_seq: int) -> list[int]:
    done = cur.execute("SELECT rolled_up_to FROM usage_state WHERE id = 1").fetchone()[0]
    upto = flush_seq - 1  # the writer runs one group at a time: every earlier flush has committed
    if upto > done:
        cur.execute(ROLLUP_UPSERT, [done, upto]).fetchall()
        cur.execute("UPDATE usage_state SET rolled_up_to = ? WHERE id = 1", [upto]).fetchall()
    return [upto - done] * len(items)


def insert_events(db: Database, *, batch: pa.Table) -> Future:
    """Queue one request's events; the future gives (accepted, duplicates) once they are committed.

    `batch` has the events table's columns (tenant_id included) with `cost_pico` in place of `cost_usd`.
    """
    return db.submit(_writer_for(db), batch)


def _write_batches(index: IdIndex, cur: duckdb.DuckDBPyConnection, batches: list[pa.Table],
                   flush_seq: int) -> list[tuple[int, int]]:
    """Insert every queued request's events in one statement, skipping ids already stored.

    An id is stored once per tenant whatever timestamp a repeat carries. The writer's in-memory IdIndex
    says which incoming ids may be stored already (usually none); only those are looked up in the table,
    first in the batch's own time range (cheap: zone maps; a retried send keeps its timestamp), then
    everywhere. Repeats within the flush keep their first copy.
    """
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
    if len(inserted) == combined.num_rows:  # the common case: nothing was a repeat
        return [(b.num_rows, 0) for b in batches]
    fresh = set(inserted)
    results = []
    for batch in batches:
        accepted = 0
        for key in zip(batch["tenant_id"].to_pylist(), batch["id"].to_pylist()):
            if key in fresh:  # credit each stored event to the first request that carried it
                fresh.discard(key)
                accepted += 1
        results.append((accepted, batch.num_rows - accepted))
    return results


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


@lru_cache(maxsize=None)
def _writer_for(db: Database) -> Callable[[duckdb.DuckDBPyConnection, list[pa.Table], int], list[tuple[int, int]]]:
    """One writer per database (the group commit batches requests by writer), bound to its id index."""
    return partial(_write_batches, db.id_index)


def rebuild_usage_hourly(db: Database) -> None:
    """Recompute the hourly totals from the events (after a bulk load straight into the events table)."""
    with db.transaction() as cur:
        cur.execute("DELETE FROM usage_hourly").fetchall()
        cur.execute(
            """
            INSERT INTO usage_hourly
            SELECT tenant_id, date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status,
                   pricing_status, count(*), sum(cost_usd), sum(input_tokens), sum(cached_input_tokens),
                   sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens),
                   coalesce(sum(latency_ms), 0), count(latency_ms), min(timestamp), max(timestamp)
            FROM events GROUP BY ALL
            """).fetchall()
        cur.execute("UPDATE usage_state SET rolled_up_to = (SELECT coalesce(max(flush_seq), 0) FROM events)").fetchall()
        db.id_index.reset(cur.execute("SELECT hash(tenant_id, id) AS h FROM events").fetchnumpy()["h"])


def export_events(db: Database, *, tenant_id: str, filters: EventFilters, limit: int | None = None,
                  cost_as_text: bool = False) -> pa.Table:
    """The tenant's events as an Arrow table (no UUID objects: they are slow to convert).

    `cost_as_text` writes costs as plain decimals ("0.000000520000"), for CSV: Arrow's own text form of
    a decimal is scientific ("5.20000E-7"), which spreadsheets misread."""
    where, params = where_clause(tenant_id, filters)
    columns = EXPORT_COLUMNS.replace("cost_usd,", "CAST(cost_usd AS VARCHAR) AS cost_usd,") if cost_as_text \
        else EXPORT_COLUMNS
    sql = f"SELECT {columns} FROM events WHERE {where} ORDER BY timestamp"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return db.cursor().execute(sql, params).to_arrow_table()


def purge_tenant_events(db: Database, *, tenant_id: str) -> Future:
    """Delete every event of one tenant (an operator's explicit purge); the future gives how many.
    Runs in the writer, so it cannot collide with an insert or a roll-up of the same tenant."""
    return db.submit(_purge, tenant_id)


def _purge(cur: duckdb.DuckDBPyConnection, tenant_ids: list[str], flush_seq: int) -> list[int]:
    counts = []
    for tenant_id in tenant_ids:
        counts.append(int(cur.execute("SELECT count(*) FROM events WHERE tenant_id = ?", [tenant_id]).fetchone()[0]))
        cur.execute("DELETE FROM events WHERE tenant_id = ?", [tenant_id]).fetchall()
        cur.execute("DELETE FROM usage_hourly WHERE tenant_id = ?", [tenant_id]).fetchall()
    return counts
