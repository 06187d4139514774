"""Tags and run names as dimensions (DESIGN §13), on both stores.

Tags arrive as a JSON string map on each event; reading them out of JSON at query time costs ~0.5 µs per
call (half a second for a by-tag breakdown over 10M calls), so the roll-up keeps two layouts beside
`usage_hourly`, filled from the same committed events in the same transaction (DuckDB: by flush
number; PostgreSQL: by transaction id below pg_snapshot_xmin, so a replica committing late is never
skipped):

- `usage_labels_hourly`: hourly totals per (tenant, hour, label, value, provider, model, customer, status,
  pricing status), where a label is `tag:<key>` or `run_name`. Totals by tag, and totals under one tag
  filter, read this instead of the calls (the same rows as `usage_hourly`, one set per label).
- `event_labels`: one narrow row per (call, label) with the filter columns and the latency, for
  latency percentiles by tag or run name and for the part-hours at a range's edges.

Calls without the label are not stored here: their group (`null`) is the total less the labelled part.
Labels are named as the API names dimensions: `by=tag:team` reads label `tag:team`. The SQL is shared;
the two fragments that differ (reading one tag, exploding the map) come from the store's Dialect.
"""

from __future__ import annotations

from api.store.base import Dialect, Transaction

TAG = "tag:"
RUN_NAME = "run_name"

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
GROUP = ("tenant_id, date_trunc('hour', timestamp), label, value, provider, model, coalesce(customer_id, ''), "
         "status, pricing_status")
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


def _upsert(d: Dialect, where: str) -> str:
    table = "usage_labels_hourly"
    sums = ",\n".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMMED)
    return f"""
        INSERT INTO {table}
        SELECT {GROUP}, {MEASURES} FROM ({event_label_rows(d, where)}) AS l GROUP BY {GROUP}
        ON CONFLICT (tenant_id, hour, label, value, provider, model, customer_key, status, pricing_status)
        DO UPDATE SET {sums},
            cost_usd = CASE WHEN {table}.cost_usd IS NULL THEN excluded.cost_usd
                            WHEN excluded.cost_usd IS NULL THEN {table}.cost_usd
                            ELSE {table}.cost_usd + excluded.cost_usd END,
            first_at = least({table}.first_at, excluded.first_at),
            last_at = greatest({table}.last_at, excluded.last_at)
    """


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
    tx.execute(_upsert(d, where), [*params, *params])


def rebuild(tx: Transaction, d: Dialect, *, where: str = "TRUE", params: list[object] | None = None) -> None:
    """Recompute both layouts from the events `where` selects (after a bulk load)."""
    tx.execute("DELETE FROM usage_labels_hourly")
    tx.execute("DELETE FROM event_labels")
    roll_up(tx, d, where=where, params=params or [])


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
