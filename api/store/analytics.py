"""Tenant-scoped aggregate reads for the dashboard, notebooks and scripts.

Totals come from the hourly rollup (see usage.py); percentiles and runs need the calls themselves.
SQL both engines speak; the fragments that differ come from `db.dialect`."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from api.store import latency
from api.store.base import Store
from api.store.filters import EventFilters, where_clause
from api.store.labels import TAG
from api.store.usage import dimension_clauses, split_range, usage_source

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


SAVINGS = "coalesce(sum(cache_savings_usd), CAST(0 AS DECIMAL(38, 12)))"


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
               min(first_at) AS first_event_at, max(last_at) AS last_event_at,
               {SAVINGS} AS cache_savings_usd
        FROM ({source}) AS u
        """, params)
    # A DISTINCT aggregate beside the others makes DuckDB take a much slower plan: ask for it apart.
    customers = db.fetchone(*_customers(db, tenant_id, filters))
    return {**rows[0], "customers": customers[0] if customers else 0}


def _customers(db: Store, tenant_id: str, filters: EventFilters) -> tuple[str, list[object]]:
    """How many distinct customers: from usage_hourly (it has them), except under one tag filter, which
    that cannot answer: then event_labels (the same rolled-up calls, one row per call and label, with its
    customer) plus the calls not rolled up yet."""
    if len(filters.tags) != 1 or filters.customer_id is not None:
        source, params = usage_source(db, tenant_id, filters, customers=True)
        return f"SELECT count(DISTINCT customer_id) FROM ({source}) AS u", params
    [(key, value)] = filters.tags
    d = db.dialect
    where, where_params = where_clause(d, tenant_id, filters.without_tags())
    raw_where, raw_params = where_clause(d, tenant_id, filters)
    return (f"""SELECT count(DISTINCT customer_id) FROM (
                    SELECT customer_id FROM event_labels WHERE {where} AND label = ? AND value = ?
                    UNION ALL
                    SELECT customer_id FROM events WHERE {raw_where} AND {db.unrolled_condition()}) AS u""",
            [*where_params, TAG + key, value, *raw_params])


def _dimension(by: str | None) -> tuple[str, str | None]:
    """(the usage source's column to group by, the label that source needs): `tag:<key>` and `run_name`
    come from the label roll-up (see labels.py), the rest are columns of every source."""
    if by is None:
        return "CAST(NULL AS VARCHAR)", None
    if by in GROUP_COLUMNS:
        return GROUP_COLUMNS[by], None
    return "label_value", by


TIMESERIES_MEASURES = f"""
    {COST} AS cost_usd, {total('calls')} AS calls, {total('input_tokens')} AS input_tokens,
    {total('output_tokens')} AS output_tokens, {UNPRICED_CALLS} AS unpriced_calls
"""


def timeseries(db: Store, *, tenant_id: str, filters: EventFilters, interval: str,
               group_by: str | None) -> list[dict[str, Any]]:
    column, label = _dimension(group_by)
    source, params = usage_source(db, tenant_id, filters, label, customers=column == "customer_id")
    bucket = f"date_trunc('{INTERVALS[interval]}', ts)"
    rows = db.fetchdicts(
        f"""SELECT {bucket} AS bucket, {column} AS "group", {TIMESERIES_MEASURES}
            FROM ({source}) AS u GROUP BY 1, 2 ORDER BY bucket, "group" """, params)
    if label is None:
        return rows
    source, params = usage_source(db, tenant_id, filters)
    totals = db.fetchdicts(f"SELECT {bucket} AS bucket, {TIMESERIES_MEASURES} FROM ({source}) AS u GROUP BY 1", params)
    rows += unlabelled(rows, totals, key="bucket", group="group")
    return sorted(rows, key=lambda r: (r["bucket"], r["group"] is None, r["group"] or ""))


def unlabelled(labelled: list[dict[str, Any]], totals: list[dict[str, Any]], *, key: str | None,
               group: str) -> list[dict[str, Any]]:
    """The calls without the label (group None): each total less the labelled rows of the same `key`
    (a bucket, or everything when key is None). Every measure is a sum, so this is exact."""
    sums: dict[Any, dict[str, Any]] = {}
    for row in labelled:
        acc = sums.setdefault(row[key] if key else None, {})
        for name, value in row.items():
            if name not in (key, group) and isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                acc[name] = acc.get(name, 0) + value
    rest = []
    for totals_row in totals:
        done = sums.get(totals_row[key] if key else None, {})
        row = {name: value - done.get(name, 0) if isinstance(value, (int, Decimal)) and name != key else value
               for name, value in totals_row.items()}
        if row["calls"]:
            rest.append({**row, group: None})
    return rest


BREAKDOWN_MEASURES = f"""
    {COST} AS cost_usd, {total('calls')} AS calls, {total('input_tokens')} AS input_tokens,
    {total('cached_input_tokens')} AS cached_input_tokens, {total('output_tokens')} AS output_tokens,
    {UNPRICED_CALLS} AS unpriced_calls, {UNPRICED_TOKENS} AS unpriced_tokens,
    {total('calls', "status = 'error'")} AS error_calls, {SAVINGS} AS cache_savings_usd
"""


def breakdown(db: Store, *, tenant_id: str, filters: EventFilters, by: str) -> list[dict[str, Any]]:
    column, label = _dimension(by)
    source, params = usage_source(db, tenant_id, filters, label, customers=column == "customer_id")
    rows = db.fetchdicts(f"SELECT {column} AS key, {BREAKDOWN_MEASURES} FROM ({source}) AS u GROUP BY 1", params)
    if label is not None:
        source, params = usage_source(db, tenant_id, filters)
        rows += unlabelled(rows, db.fetchdicts(f"SELECT {BREAKDOWN_MEASURES} FROM ({source}) AS u", params),
                           key=None, group="key")
    rows.sort(key=lambda r: (-r["cost_usd"], -r["calls"], r["key"] is None, r["key"] or ""))
    found = latency.quantiles(db, tenant_id=tenant_id, filters=filters, column=column, label=label,
                              calls=sum(r["calls"] for r in rows))
    for row in rows:
        row["latency_p50_ms"], row["latency_p95_ms"] = found.get(row["key"]) or (None, None)
    return rows


def tag_keys(db: Store, *, tenant_id: str, filters: EventFilters) -> list[dict[str, Any]]:
    """Every tag key in the period: how many distinct values, and how many calls carry it. Whole hours
    from the label roll-up, part-hours from event_labels, the calls not rolled up yet from their JSON;
    under a tag filter or for one customer, from the calls' JSON alone (the roll-up cannot intersect tags
    and has no customer)."""
    d = db.dialect
    each, key, value = d.json_each_text("e.tags")
    where, params = where_clause(d, tenant_id, filters)
    calls_only = bool(filters.tags) or filters.customer_id is not None
    not_rolled = "" if calls_only else " AND " + db.unrolled_condition()
    # The calls chosen in a subquery first: with the filter beside the lateral json_each, DuckDB exploded
    # every tagged call's JSON before dropping the rolled-up ones (0.6 s at 1M calls, 6 s at 10M).
    parts = [f"""SELECT '{TAG}' || {key} AS label, {value} AS value, 1 AS calls
                 FROM (SELECT tags FROM events WHERE tags IS NOT NULL AND {where}{not_rolled}) AS e, {each}"""]
    all_params: list[object] = list(params)
    if not calls_only:
        use_rollup, lo, hi, edges = split_range(filters.start, filters.end)
        if use_rollup:
            dims, dim_params = dimension_clauses(filters, "customer_key")
            clauses = ["tenant_id = ?", f"starts_with(label, '{TAG}')", *dims]
            rollup_params: list[object] = [tenant_id, *dim_params]
            for clause, bound in (("hour >= ?", lo), ("hour < ?", hi)):
                if bound:
                    clauses.append(clause)
                    rollup_params.append(bound)
            parts.append(f"SELECT label, value, calls FROM usage_labels_hourly WHERE {' AND '.join(clauses)}")
            all_params += rollup_params
        if edges:
            edge_where, edge_params = where_clause(d, tenant_id, replace(filters, start=None, end=None))
            ranges = " OR ".join("(timestamp >= ? AND timestamp < ?)" for _ in edges)
            parts.append(f"SELECT label, value, 1 AS calls FROM event_labels WHERE {edge_where}"
                         f" AND starts_with(label, '{TAG}') AND ({ranges})")
            all_params += [*edge_params, *[bound for pair in edges for bound in pair]]
    rows = db.fetchall(
        f"""SELECT substr(label, {len(TAG) + 1}) AS key, count(DISTINCT value), {total('calls')}
            FROM ({' UNION ALL '.join(parts)}) AS labelled GROUP BY label ORDER BY 3 DESC, 1""", all_params)
    return [{"key": k, "values": values, "calls": calls} for k, values, calls in rows]


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
    where, params = where_clause(db.dialect, tenant_id, filters)
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
