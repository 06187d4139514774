"""Tenant-scoped aggregate reads for the dashboard, notebooks and scripts."""

from __future__ import annotations

from typing import Any

from api.store.db import Database
from api.store.filters import EventFilters, where_clause

GROUP_COLUMNS = {"provider": "provider", "model": "model", "customer_id": "customer_id"}
INTERVALS = {"hour": "hour", "day": "day"}

UNPRICED = "pricing_status = 'unpriced'"
COST = "coalesce(sum(cost_usd), 0)"


def summary(db: Database, *, tenant_id: str, filters: EventFilters) -> dict[str, Any]:
    where, params = where_clause(tenant_id, filters)
    rows = db.fetchdicts(
        f"""
        SELECT {COST} AS total_cost_usd, count(*) AS calls,
               coalesce(sum(input_tokens), 0) AS input_tokens,
               coalesce(sum(cached_input_tokens), 0) AS cached_input_tokens,
               coalesce(sum(cache_write_tokens), 0) AS cache_write_tokens,
               coalesce(sum(output_tokens), 0) AS output_tokens,
               coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
               count(*) FILTER ({UNPRICED}) AS unpriced_calls,
               coalesce(sum(input_tokens + output_tokens) FILTER ({UNPRICED}), 0) AS unpriced_tokens,
               count(*) FILTER (status = 'error') AS error_calls,
               count(*) FILTER (status = 'incomplete') AS incomplete_calls,
               count(DISTINCT customer_id) AS customers,
               count(DISTINCT run_id) AS runs,
               avg(latency_ms) AS avg_latency_ms,
               min(timestamp) AS first_event_at, max(timestamp) AS last_event_at
        FROM events WHERE {where}
        """, params)
    return rows[0]


def timeseries(db: Database, *, tenant_id: str, filters: EventFilters, interval: str,
               group_by: str | None) -> list[dict[str, Any]]:
    where, params = where_clause(tenant_id, filters)
    group = GROUP_COLUMNS[group_by] if group_by else "NULL"
    return db.fetchdicts(
        f"""
        SELECT date_trunc('{INTERVALS[interval]}', timestamp) AS bucket, {group} AS "group",
               {COST} AS cost_usd, count(*) AS calls,
               coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
               count(*) FILTER ({UNPRICED}) AS unpriced_calls
        FROM events WHERE {where}
        GROUP BY ALL ORDER BY bucket, "group"
        """, params)


def breakdown(db: Database, *, tenant_id: str, filters: EventFilters, by: str) -> list[dict[str, Any]]:
    where, params = where_clause(tenant_id, filters)
    return db.fetchdicts(
        f"""
        SELECT {GROUP_COLUMNS[by]} AS key, {COST} AS cost_usd, count(*) AS calls,
               coalesce(sum(input_tokens), 0) AS input_tokens,
               coalesce(sum(cached_input_tokens), 0) AS cached_input_tokens,
               coalesce(sum(output_tokens), 0) AS output_tokens,
               count(*) FILTER ({UNPRICED}) AS unpriced_calls,
               coalesce(sum(input_tokens + output_tokens) FILTER ({UNPRICED}), 0) AS unpriced_tokens,
               count(*) FILTER (status = 'error') AS error_calls,
               quantile_cont(latency_ms, 0.5) AS latency_p50_ms,
               quantile_cont(latency_ms, 0.95) AS latency_p95_ms
        FROM events WHERE {where}
        GROUP BY ALL ORDER BY cost_usd DESC, calls DESC
        """, params)


RUN_AGGREGATES = """
    run_id, any_value(run_name) AS run_name, any_value(customer_id) AS customer_id,
    min(timestamp) AS started_at, max(timestamp) AS ended_at,
    date_diff('millisecond', min(timestamp), max(timestamp + to_microseconds(CAST(coalesce(latency_ms, 0) * 1000 AS BIGINT)))) AS duration_ms,
    count(*) AS calls, {cost} AS cost_usd, count(*) FILTER ({unpriced}) AS unpriced_calls,
    coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
    count(*) FILTER (status = 'error') AS error_calls,
    CASE WHEN count(*) FILTER (status = 'error') > 0 THEN 'error'
         WHEN count(*) FILTER (status = 'incomplete') > 0 THEN 'incomplete' ELSE 'ok' END AS status
""".format(cost=COST, unpriced=UNPRICED)


def runs(db: Database, *, tenant_id: str, filters: EventFilters, limit: int) -> list[dict[str, Any]]:
    where, params = where_clause(tenant_id, filters)
    return db.fetchdicts(
        f"SELECT {RUN_AGGREGATES} FROM events WHERE {where} GROUP BY run_id ORDER BY started_at DESC LIMIT ?",
        [*params, limit])


def run_detail(db: Database, *, tenant_id: str, run_id: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    summary_rows = db.fetchdicts(
        f"SELECT {RUN_AGGREGATES} FROM events WHERE tenant_id = ? AND run_id = ? GROUP BY run_id",
        [tenant_id, run_id])
    if not summary_rows:
        return None, []
    events = db.fetchdicts(
        """
        SELECT CAST(id AS VARCHAR) AS id, timestamp, provider, model, operation, customer_id, run_id, run_name,
               input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
               latency_ms, time_to_first_token_ms, stream, status, error_type, http_status, service_tier,
               tags, cost_usd, pricing_status, pricing_source, pricing_version
        FROM events WHERE tenant_id = ? AND run_id = ? ORDER BY timestamp LIMIT 1000
        """, [tenant_id, run_id])
    return summary_rows[0], events
