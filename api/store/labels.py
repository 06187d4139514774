"""Tags and run names as dimensions (DESIGN §13), on both stores.

Tags arrive as a JSON string map on each event; reading them out of JSON at query time costs ~0.5 µs per
call (half a second for a by-tag breakdown over 10M calls), so the roll-up keeps two layouts beside
`usage_hourly`, filled from the same committed events in the same transaction (DuckDB: by flush
number; PostgreSQL: by transaction id below pg_snapshot_xmin, so a replica committing late is never
skipped):

- `usage_labels_hourly`: hourly totals per (tenant, hour, label, value, provider, model, status, pricing
  status), where a label is `tag:<key>` or `run_name`. Totals by tag, and totals under one tag filter,
  read this instead of the calls. No customer in the key: with it an hour of many customers' traffic
  hardly folds (1M calls over 500 customers made 1.1M rows); a by-tag read for one customer reads that
  customer's calls (see usage.py).
- the same table under label `*` (ALL, value ''): every call, labelled or not.
- `event_labels`: one narrow row per (call, label) with the filter columns and the latency, for
  latency percentiles by tag or run name and for the part-hours at a range's edges.

Calls without the label are not stored here: their group (`null`) is the total less the labelled part.
Labels are named as the API names dimensions: `by=tag:team` reads label `tag:team`. The SQL is shared;
the two fragments that differ (reading one tag, exploding the map) come from the store's Dialect.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from api.store.base import Dialect, Transaction

TAG = "tag:"
RUN_NAME = "run_name"
# Every call, under one more label: the totals of usage_hourly without the customer, ~100× fewer rows
# (one per hour, model, status and pricing status). By-tag reads take their "no such tag" remainder
# from it, and any total that needs no customer reads it instead of usage_hourly (see usage.py).
ALL = "*"
HOUR = timedelta(hours=1)

# Measures summed per group, in usage_hourly's column order.
MEASURES = """
    count(*), sum(cost_usd), sum(input_tokens), sum(cached_input_tokens), sum(cache_write_tokens),
    sum(output_tokens), sum(reasoning_tokens), coalesce(sum(latency_ms), 0), count(latency_ms),
    min(timestamp), max(timestamp), count(*) FILTER (WHERE pricing_fallback IS NOT NULL),
    coalesce(sum(cache_savings_usd), 0)
"""
COLUMNS = ("e.tenant_id, e.timestamp, e.provider, e.model, e.customer_id, e.status, e.pricing_status, e.cost_usd, "
           "e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens, "
           "e.latency_ms, e.pricing_fallback, e.cache_savings_usd")
GROUP = "tenant_id, date_trunc('hour', timestamp), label, value, provider, model, status, pricing_status"
SUMMED = ("calls", "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
          "latency_sum", "latency_count", "tier_fallback_calls", "cache_savings_usd")


def event_label_rows(d: Dialect, where: str) -> str:
    """Every (call, label) pair of the events matching `where` (on alias `e`; its parameters are needed
    twice): one row per tag, plus one for the run name."""
    each, key, value = d.json_each_text("e.tags")
    return f"""
        SELECT {COLUMNS}, '{TAG}' || {key} AS label, {value} AS value
        FROM events e, {each} WHERE e.tags IS NOT NULL AND {where}
        UNION ALL
        SELECT {COLUMNS}, '{RUN_NAME}' AS label, e.run_name AS value FROM events e
        WHERE e.run_name IS NOT NULL AND {where}
    """


def total_rows(d: Dialect, where: str) -> str:
    """The rows usage_labels_hourly sums (its parameters are needed three times): every (call, label)
    pair, plus one row per call under ALL."""
    return f"""{event_label_rows(d, where)}
        UNION ALL
        SELECT {COLUMNS}, '{ALL}' AS label, '' AS value FROM events e WHERE {where}
    """


def _upsert(d: Dialect, where: str) -> str:
    table = "usage_labels_hourly"
    sums = ",\n".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMMED)
    return f"""
        INSERT INTO {table}
        SELECT {GROUP}, {MEASURES} FROM ({total_rows(d, where)}) AS l GROUP BY {GROUP}
        ON CONFLICT (tenant_id, hour, label, value, provider, model, status, pricing_status)
        DO UPDATE SET {sums},
            cost_usd = CASE WHEN {table}.cost_usd IS NULL THEN excluded.cost_usd
                            WHEN excluded.cost_usd IS NULL THEN {table}.cost_usd
                            ELSE {table}.cost_usd + excluded.cost_usd END,
            first_at = least({table}.first_at, excluded.first_at),
            last_at = greatest({table}.last_at, excluded.last_at)
    """


def _insert_totals(d: Dialect, where: str) -> str:
    """Plain insert, for a rebuild: every group it writes is new (the table was emptied, chunks never meet)."""
    return f"INSERT INTO usage_labels_hourly SELECT {GROUP}, {MEASURES} FROM ({total_rows(d, where)}) AS l GROUP BY {GROUP}"


def _insert_event_labels(d: Dialect, where: str) -> str:
    return f"""
        INSERT INTO event_labels (tenant_id, timestamp, label, value, provider, model, customer_id, status, latency_ms)
        SELECT tenant_id, timestamp, label, value, provider, model, customer_id, status, latency_ms
        FROM ({event_label_rows(d, where)}) AS l ORDER BY timestamp
    """


def roll_up(tx: Transaction, d: Dialect, *, where: str, params: list[object]) -> None:
    """Add the labels of the events `where` selects (alias `e`); called by each backend's roll-up inside
    its own transaction, with the same selection as usage_hourly's, so both advance together."""
    add_totals(tx, d, where=where, params=params)
    tx.execute(_insert_event_labels(d, where), [*params, *params])


def add_totals(tx: Transaction, d: Dialect, *, where: str, params: list[object]) -> None:
    """Add the events `where` selects to usage_labels_hourly only (re-pricing recounts the hours whose
    costs it changed; event_labels holds no cost)."""
    tx.execute(_upsert(d, where), [*params, *params, *params])


# A rebuild reads the events some hours at a time, up to about this many calls per statement: one statement
# over every call (each exploded into ~2 label rows, then grouped and sorted) ran past DuckDB's 512 MB
# memory limit at 1M calls, and so did 1M-call chunks inside the rebuild's transaction; 100k-call chunks
# peak well below it. Whole hours, so the chunks' hourly totals never meet (plain inserts, no upsert).
REBUILD_CHUNK_CALLS = 100_000


def rebuild(tx: Transaction, d: Dialect, *, where: str = "TRUE", params: list[object] | None = None) -> None:
    """Recompute both layouts from the events `where` selects (after a bulk load, a copy, a migration),
    some hours at a time, in one transaction: readers see the old totals or the new, never a part."""
    params = params or []
    tx.execute("DELETE FROM usage_labels_hourly")
    tx.execute("DELETE FROM event_labels")
    hours = tx.fetchall(f"SELECT date_trunc('hour', e.timestamp) AS hour, count(*) FROM events e WHERE {where} "
                        "GROUP BY 1 ORDER BY 1", params)
    for lo, hi in hour_chunks(hours, REBUILD_CHUNK_CALLS):
        chunk = f"({where}) AND e.timestamp >= ? AND e.timestamp < ?"
        chunk_params = [*params, lo, hi]
        tx.execute(_insert_totals(d, chunk), [*chunk_params, *chunk_params, *chunk_params])
        tx.execute(_insert_event_labels(d, chunk), [*chunk_params, *chunk_params])


def hour_chunks(hours: list[tuple[datetime, int]], calls: int) -> list[tuple[datetime, datetime]]:
    """[lo, hi) ranges of whole hours, consecutive hours (with calls) joined while they hold at most
    `calls` calls (a single hour above it is a chunk of its own)."""
    chunks: list[tuple[datetime, datetime]] = []
    lo, held = None, 0
    for hour, count in hours:
        if lo is not None and held + count > calls:
            chunks.append((lo, hour))
            lo, held = None, 0
        if lo is None:
            lo = hour
        held += count
    if lo is not None:
        chunks.append((lo, hours[-1][0] + HOUR))
    return chunks


def purge(tx: Transaction, *, tenant_id: str) -> None:
    tx.execute("DELETE FROM usage_labels_hourly WHERE tenant_id = ?", [tenant_id])
    tx.execute("DELETE FROM event_labels WHERE tenant_id = ?", [tenant_id])


def raw_expression(d: Dialect, label: str, alias: str = "") -> str:
    """The label's value read from an events row (NULL when the call does not carry it)."""
    p = f"{alias}." if alias else ""
    if label == RUN_NAME:
        return f"{p}run_name"
    return d.json_text_at(f"{p}tags", label[len(TAG):])


def tag_predicates(d: Dialect, tags: tuple[tuple[str, str], ...], alias: str = "") -> tuple[list[str], list[object]]:
    """`tag=key:value` filters on events rows: every one must hold."""
    clauses, params = [], []
    for key, value in tags:
        clauses.append(f"{raw_expression(d, TAG + key, alias)} = ?")
        params.append(value)
    return clauses, params
