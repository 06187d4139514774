"""Tenant-scoped aggregate reads for the dashboard, notebooks and scripts.

Totals come from the hourly rollup (see usage.py); percentiles and runs need the calls themselves.
SQL both engines speak; the fragments that differ come from `db.dialect`."""

from __future__ import annotations

from typing import Any

from api.store.base import Store
from api.store.filters import EventFilters, where_clause
from api.store.usage import usage_source

GROUP_COLUMNS = {"provider": "provider", "model": "model", "customer_id": "customer_id"}
INTERVALS = {"hour": "hour", "day": "day"}

UNPRICED = "pricing_status = 'unpriced'"
COST = "coalesce(sum(cost_usd), CAST(0 AS DECIMAL(38, 12)))"  # "0.000000000000" on both engines


def total(expr: str, where: str | None = None) -> str:
    """sum(expr) as a whole number, 0 when there are no rows (PostgreSQL's sum of BIGINT is NUMERIC)."""
    aggregate = f"sum({expr}) FILTER (WHERE {where})" if where else f"sum({expr})"
    return f"CAST(coalesce({aggregate}, 0) AS BIGINT)"


UNPRICED_CALLS = total("calls", UNPRICED)
UNPRICED_TOKENS = total("input_tokens + output_tokens", UNPRICED)


def summary(db: Store, *, tenant_id: str, filters: EventFilters) -> dict[str, Any]:
    source, params = usage_source(db, tenant_id, filters)
    rows = db.fetchdicts(
        f"""
        SELECT {COST} AS total_cost_usd, {total('calls')} AS calls,
               {total('input_tokens')} AS input_tokens,
               {total('cached_input_tokens')} AS cached_input_tokens,
               {total('cache_write_tokens')} AS cache_write_tokens,
               {total('output_tokens')} AS output_tokens,
               {total('reasoning_tokens')} AS reasoning_tokens,
               {UNPRICED_CALLS} AS unpriced_calls, {UNPRICED_TOKENS} AS unpriced_tokens,
               {total('calls', "status = 'error'")} AS error_calls,
               {total('calls', "status = 'incomplete'")} AS incomplete_calls,
               {total('tier_fallback_calls')} AS tier_fallback_calls,
               sum(latency_sum) / nullif(sum(latency_count), 0) AS avg_latency_ms,
               min(first_at) AS first_event_at, max(last_at) AS last_event_at
        FROM ({source}) AS u
        """, params)
    # A DISTINCT aggregate beside the others makes DuckDB take a much slower plan: ask for it apart.
    customers = db.fetchone(f"SELECT count(DISTINCT customer_id) FROM ({source}) AS u", params)
    return {**rows[0], "customers": customers[0] if customers else 0}


def timeseries(db: Store, *, tenant_id: str, filters: EventFilters, interval: str,
               group_by: str | None) -> list[dict[str, Any]]:
    source, params = usage_source(db, tenant_id, filters)
    group = GROUP_COLUMNS[group_by] if group_by else "CAST(NULL AS VARCHAR)"
    return db.fetchdicts(
        f"""
        SELECT date_trunc('{INTERVALS[interval]}', ts) AS bucket, {group} AS "group",
               {COST} AS cost_usd, {total('calls')} AS calls,
               {total('input_tokens')} AS input_tokens, {total('output_tokens')} AS output_tokens,
               {UNPRICED_CALLS} AS unpriced_calls
        FROM ({source}) AS u
        GROUP BY 1, 2 ORDER BY bucket, "group"
        """, params)


# Above this many calls in the period, latency percentiles come from a 10% block sample: a sort of
# every latency costs ~0.3 s at 10M calls, and a million samples estimate p50/p95 well within 1%.
EXACT_QUANTILES_UP_TO = 1_000_000


def breakdown(db: Store, *, tenant_id: str, filters: EventFilters, by: str) -> list[dict[str, Any]]:
    source, source_params = usage_source(db, tenant_id, filters)
    column = GROUP_COLUMNS[by]
    rows = db.fetchdicts(
        f"""
        SELECT {column} AS key, {COST} AS cost_usd, {total('calls')} AS calls,
               {total('input_tokens')} AS input_tokens, {total('cached_input_tokens')} AS cached_input_tokens,
               {total('output_tokens')} AS output_tokens,
               {UNPRICED_CALLS} AS unpriced_calls, {UNPRICED_TOKENS} AS unpriced_tokens,
               {total('calls', "status = 'error'")} AS error_calls
        FROM ({source}) AS u
        GROUP BY 1 ORDER BY cost_usd DESC, calls DESC
        """, source_params)
    where, params = where_clause(tenant_id, filters)
    sample = db.dialect.sample(10) if sum(r["calls"] for r in rows) > EXACT_QUANTILES_UP_TO else ""
    # one quantile call with a list sorts once instead of twice
    quantiles = dict(db.fetchall(
        f"SELECT {column}, {db.dialect.quantiles('latency_ms', (0.5, 0.95))} FROM events {sample} WHERE {where}"
        " GROUP BY 1", params))
    for row in rows:
        row["latency_p50_ms"], row["latency_p95_ms"] = quantiles.get(row["key"]) or (None, None)
    return rows


def _run_aggregates(db: Store) -> str:
    d = db.dialect
    return f"""
    run_id, {d.any_value('run_name')} AS run_name, {d.any_value('customer_id')} AS customer_id,
    min(timestamp) AS started_at, max(timestamp) AS ended_at,
    max({d.epoch_ms('timestamp')} + coalesce(latency_ms, 0)) - min({d.epoch_ms('timestamp')}) AS duration_ms,
    count(*) AS calls, {COST} AS cost_usd, count(*) FILTER (WHERE {UNPRICED}) AS unpriced_calls,
    {total('input_tokens')} AS input_tokens, {total('output_tokens')} AS output_tokens,
    count(*) FILTER (WHERE status = 'error') AS error_calls,
    CASE WHEN count(*) FILTER (WHERE status = 'error') > 0 THEN 'error'
         WHEN count(*) FILTER (WHERE status = 'incomplete') > 0 THEN 'incomplete' ELSE 'ok' END AS status
"""


# Runs are found among the tenant's most recent calls: a run's latest call in range is the first of its
# calls met going back in time, so the first `limit` distinct runs met are exactly the most recent ones.
# The window starts at RUN_LOOKBACK_CALLS calls per run wanted and doubles until it holds enough runs
# (a 1,000-call run must not push older runs out), instead of grouping every run ever.
RUN_LOOKBACK_CALLS = 20


def _recent_run_ids(db: Store, where: str, params: list[object], limit: int) -> list[str]:
    window = limit * RUN_LOOKBACK_CALLS
    while True:
        rows = db.fetchall(
            f"""SELECT run_id, max(timestamp) AS last, sum(count(*)) OVER () AS seen
                FROM (SELECT run_id, timestamp FROM events WHERE {where} ORDER BY timestamp DESC LIMIT ?) AS recent
                GROUP BY run_id ORDER BY last DESC, run_id""", [*params, window])
        if len(rows) >= limit or not rows or rows[0][2] < window:
            return [row[0] for row in rows[:limit]]
        window *= 4


def runs(db: Store, *, tenant_id: str, filters: EventFilters, limit: int) -> list[dict[str, Any]]:
    """The most recent runs in range (latest call first), each with all of its calls and its whole cost,
    the same figures as run_detail."""
    where, params = where_clause(tenant_id, filters)
    run_ids = _recent_run_ids(db, where, params, limit)
    if not run_ids:
        return []
    rows = db.fetchdicts(
        f"SELECT {_run_aggregates(db)} FROM events WHERE tenant_id = ? AND run_id IN ({', '.join('?' * len(run_ids))})"
        " GROUP BY run_id", [tenant_id, *run_ids])
    order = {run_id: position for position, run_id in enumerate(run_ids)}
    return sorted(rows, key=lambda row: order[row["run_id"]])


def run_detail(db: Store, *, tenant_id: str, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    summary_rows = db.fetchdicts(
        f"SELECT {_run_aggregates(db)} FROM events WHERE tenant_id = ? AND run_id = ? GROUP BY run_id",
        [tenant_id, run_id])
    if not summary_rows:
        return None, []
    events = db.fetchdicts(
        """
        SELECT CAST(id AS VARCHAR) AS id, timestamp, provider, model, operation, customer_id, run_id, run_name,
               input_tokens, cached_input_tokens, cache_write_tokens, cache_write_1h_tokens, output_tokens,
               reasoning_tokens, latency_ms, time_to_first_token_ms, stream, status, error_type, http_status, service_tier,
               tags, cost_usd, pricing_status, pricing_source, pricing_version, pricing_fallback
        FROM events WHERE tenant_id = ? AND run_id = ? ORDER BY timestamp LIMIT 1000
        """, [tenant_id, run_id])
    return summary_rows[0], events
