"""Event writes (group-committed, de-duplicated, engine-specific: see each backend's events.py), the
roll-up, and raw exports (shared SQL)."""

from __future__ import annotations

from concurrent.futures import Future

import pyarrow as pa

from api.store.base import Store
from api.store.filters import EventFilters, where_clause

EXPORT_COLUMNS = (
    "CAST(id AS VARCHAR) AS id, timestamp, provider, model, operation, customer_id, run_id, run_name, "
    "input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens, reasoning_tokens, "
    "latency_ms, time_to_first_token_ms, stream, status, error_type, http_status, service_tier, tags, sdk_version, "
    "cost_usd, pricing_status, pricing_source, pricing_version, pricing_fallback, received_at"
)


def credit(batches: list[pa.Table], inserted: list[tuple[str, str]]) -> list[tuple[int, int]]:
    """(accepted, duplicates) per request, given the (tenant, id) pairs the insert stored."""
    if len(inserted) == sum(b.num_rows for b in batches):  # the common case: nothing was a repeat
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


def insert_events(db: Store, *, batch: pa.Table) -> Future:
    """Queue one request's events; the future gives (accepted, duplicates) once they are committed.

    `batch` has the events table's columns (tenant_id included) with `cost_pico` in place of `cost_usd`.
    """
    return db.insert_events(batch)


def roll_up(db: Store) -> Future:
    """Queue a roll-up of everything committed so far into usage_hourly. Reads stay exact meanwhile:
    they add the calls not rolled up yet."""
    return db.roll_up()


def rebuild_usage_hourly(db: Store) -> None:
    """Recompute the hourly totals from the events (after a bulk load straight into the events table)."""
    db.rebuild_usage_hourly()


def export_events(db: Store, *, tenant_id: str, filters: EventFilters, limit: int | None = None,
                  cost_as_text: bool = False) -> pa.Table:
    """The tenant's events as an Arrow table (no UUID objects: they are slow to convert).

    `cost_as_text` writes costs as plain decimals ("0.000000520000"), for CSV: Arrow's own text form of
    a decimal is scientific ("5.20000E-7"), which spreadsheets misread."""
    where, params = where_clause(db.dialect, tenant_id, filters)
    columns = EXPORT_COLUMNS.replace("cost_usd,", "CAST(cost_usd AS VARCHAR) AS cost_usd,") if cost_as_text \
        else EXPORT_COLUMNS
    sql = f"SELECT {columns} FROM events WHERE {where} ORDER BY timestamp"
    if limit:
        sql += f" LIMIT {int(limit)}"
    return db.fetch_arrow(sql, params)


def purge_tenant_events(db: Store, *, tenant_id: str) -> Future:
    """Delete every event of one tenant (an operator's explicit purge); the future gives how many.
    Runs in the writer, so it cannot collide with an insert or a roll-up of the same tenant."""
    return db.purge_tenant_events(tenant_id)
