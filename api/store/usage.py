"""The `usage` source the aggregate reads share, exact for any range:

- hourly totals (usage_hourly) for the whole hours inside the requested range,
- plus the calls in those hours that the writer has not rolled up yet (at most ~1 s of traffic),
- plus the calls in the part-hours at the range's edges.

One statement reads all three in one snapshot, so a roll-up running meanwhile cannot count a call
twice or miss it. ~1 row per group-hour instead of one per call."""

from __future__ import annotations

from datetime import datetime, timedelta

from api.store.base import Store
from api.store.filters import EventFilters, where_clause
from api.store.labels import ALL, TAG, raw_expression

HOUR = timedelta(hours=1)

# The roll-up's aggregation, in SQL both engines speak; each backend chooses which events it takes
# (`{where}`: DuckDB by flush number, PostgreSQL by transaction id; see docs/architecture.md).
ROLLUP_SELECT = """
    SELECT tenant_id, date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status,
           pricing_status, count(*), sum(cost_usd), sum(input_tokens), sum(cached_input_tokens),
           sum(cache_write_tokens), sum(output_tokens), sum(reasoning_tokens), coalesce(sum(latency_ms), 0),
           count(latency_ms), min(timestamp), max(timestamp), count(*) FILTER (WHERE pricing_fallback IS NOT NULL), coalesce(sum(cache_savings_usd), 0)
    FROM events WHERE {where}
    GROUP BY tenant_id, date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status,
             pricing_status
"""
# Adds the selected events to the hourly totals (summed on conflict).
ROLLUP_UPSERT = "INSERT INTO usage_hourly " + ROLLUP_SELECT + """
    ON CONFLICT (tenant_id, hour, provider, model, customer_key, status, pricing_status) DO UPDATE SET
        calls = usage_hourly.calls + excluded.calls,
        cost_usd = CASE WHEN usage_hourly.cost_usd IS NULL THEN excluded.cost_usd
                        WHEN excluded.cost_usd IS NULL THEN usage_hourly.cost_usd
                        ELSE usage_hourly.cost_usd + excluded.cost_usd END,
        input_tokens = usage_hourly.input_tokens + excluded.input_tokens,
        cached_input_tokens = usage_hourly.cached_input_tokens + excluded.cached_input_tokens,
        cache_write_tokens = usage_hourly.cache_write_tokens + excluded.cache_write_tokens,
        output_tokens = usage_hourly.output_tokens + excluded.output_tokens,
        reasoning_tokens = usage_hourly.reasoning_tokens + excluded.reasoning_tokens,
        latency_sum = usage_hourly.latency_sum + excluded.latency_sum,
        latency_count = usage_hourly.latency_count + excluded.latency_count,
        first_at = least(usage_hourly.first_at, excluded.first_at),
        last_at = greatest(usage_hourly.last_at, excluded.last_at),
        tier_fallback_calls = usage_hourly.tier_fallback_calls + excluded.tier_fallback_calls,
        cache_savings_usd = usage_hourly.cache_savings_usd + excluded.cache_savings_usd
"""

ROLLUP_COLUMNS = """
    hour AS ts, provider, model, nullif(customer_key, '') AS customer_id, status, pricing_status, calls, cost_usd,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens, latency_sum,
    latency_count, first_at, last_at, tier_fallback_calls, cache_savings_usd
"""
# The label roll-up has no customer (see labels.py); usage_source never uses it where one is asked for.
LABEL_ROLLUP_COLUMNS = ROLLUP_COLUMNS.replace("nullif(customer_key, '') AS customer_id", "CAST(NULL AS VARCHAR) AS customer_id")
RAW_COLUMNS = """
    timestamp AS ts, provider, model, customer_id, status, pricing_status, 1 AS calls, cost_usd,
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, reasoning_tokens,
    coalesce(latency_ms, 0) AS latency_sum, CASE WHEN latency_ms IS NULL THEN 0 ELSE 1 END AS latency_count,
    timestamp AS first_at, timestamp AS last_at,
    CASE WHEN pricing_fallback IS NULL THEN 0 ELSE 1 END AS tier_fallback_calls,
    coalesce(cache_savings_usd, 0) AS cache_savings_usd
"""


def _floor_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(value: datetime) -> datetime:
    floor = _floor_hour(value)
    return floor if floor == value else floor + HOUR


def _dimensions(filters: EventFilters, customer_column: str) -> tuple[list[str], list[object]]:
    clauses, params = [], []
    for column, value in (("provider", filters.provider), ("model", filters.model), ("status", filters.status)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if filters.customer_id == "":  # no customer: NULL in events, '' in the rollup's key column
        clauses.append(f"{customer_column} = ''" if customer_column == "customer_key" else f"{customer_column} IS NULL")
    elif filters.customer_id is not None:
        clauses.append(f"{customer_column} = ?")
        params.append(filters.customer_id)
    return clauses, params


def split_range(start: datetime | None, end: datetime | None
                ) -> tuple[bool, datetime | None, datetime | None, list[tuple[datetime, datetime]]]:
    """(whether whole hours lie inside, their bounds lo..hi, the part-hour ranges at the edges)."""
    lo = _ceil_hour(start) if start else None
    hi = _floor_hour(end) if end else None
    raw_ranges: list[tuple[datetime, datetime]] = []
    use_rollup = not (lo and hi and lo >= hi)
    if not use_rollup:  # no whole hour inside the range
        raw_ranges.append((start, end))  # type: ignore[arg-type]
    else:
        if start and start < lo:  # type: ignore[operator]
            raw_ranges.append((start, lo))  # type: ignore[arg-type]
        if end and hi < end:  # type: ignore[operator]
            raw_ranges.append((hi, end))  # type: ignore[arg-type]
    return use_rollup, lo, hi, raw_ranges


def usage_source(db: Store, tenant_id: str, filters: EventFilters, label: str | None = None, *,
                 customers: bool = False) -> tuple[str, list[object]]:
    """A subquery (SQL, params) with the columns of ROLLUP_COLUMNS, always scoped to one tenant, for the
    calls that match every filter. With `label` (`tag:<key>` or `run_name`) only the calls carrying that
    label, with its value as one more column, `label_value`. `customers`: the caller reads customer_id
    (else it may be NULL under a label or tag filter).

    Tag filters: one is answered from the label roll-up (the calls carrying that tag value); several, or
    one beside a different label, from the calls themselves (exact, slower: the tags are read as JSON).
    The label roll-up has no customer (see labels.py): by label for one customer reads the calls too.
    Why several tags cannot use it: it keeps each label's totals apart, so how many calls carry two tag
    values at once is not in it, for whole hours or any other."""
    tags = filters.tags
    per_customer = customers or filters.customer_id is not None
    if not tags:
        if label is not None and per_customer:
            return _calls_source(db, tenant_id, filters, label)
        if label is None and not per_customer:  # every call, without the customer: ~100× fewer rows
            return _rolled_source(db, tenant_id, filters, ALL, "")
        return _rolled_source(db, tenant_id, filters, label, None)
    [(key, value), *more] = tags
    if not more and label in (None, TAG + key) and not per_customer:
        return _rolled_source(db, tenant_id, filters.without_tags(), TAG + key, value)
    return _calls_source(db, tenant_id, filters, label)


def _calls_source(db: Store, tenant_id: str, filters: EventFilters, label: str | None) -> tuple[str, list[object]]:
    where, params = where_clause(db.dialect, tenant_id, filters)
    columns = RAW_COLUMNS
    if label is not None:
        expression = raw_expression(db.dialect, label)
        columns += f", {expression} AS label_value"
        where += f" AND {expression} IS NOT NULL"
    return f"SELECT {columns} FROM events WHERE {where}", params


def _rolled_source(db: Store, tenant_id: str, filters: EventFilters, label: str | None,
                   value: str | None) -> tuple[str, list[object]]:
    """Roll-up rows for the whole hours in range, plus the calls of the part-hours at its edges and those
    not rolled up yet. With a label: usage_labels_hourly, and the label read from each raw call; with
    ALL, usage_labels_hourly's every-call rows (no customer)."""
    use_rollup, lo, hi, raw_ranges = split_range(filters.start, filters.end)
    rollup_table, rollup_columns, raw_columns = "usage_hourly", ROLLUP_COLUMNS, RAW_COLUMNS
    rollup_label: list[str] = []
    rollup_label_params: list[object] = []
    raw_label: list[str] = []
    raw_label_params: list[object] = []
    if label == ALL:  # every call: the raw parts need no label
        rollup_table, rollup_columns = "usage_labels_hourly", LABEL_ROLLUP_COLUMNS
        rollup_label, rollup_label_params = ["label = ?", "value = ?"], [ALL, ""]
    elif label is not None:
        expression = raw_expression(db.dialect, label)
        rollup_table, rollup_columns = "usage_labels_hourly", LABEL_ROLLUP_COLUMNS + ", value AS label_value"
        raw_columns = RAW_COLUMNS + f", {expression} AS label_value"
        rollup_label, rollup_label_params = ["label = ?"], [label]
        raw_label = [f"{expression} IS NOT NULL"]
        if value is not None:
            rollup_label.append("value = ?")
            rollup_label_params.append(value)
            raw_label.append(f"{expression} = ?")
            raw_label_params.append(value)

    parts, params = [], []
    if use_rollup:
        clauses, dim_params = _dimensions(filters, "customer_key")
        clauses = ["tenant_id = ?", *rollup_label, *clauses]
        part_params: list[object] = [tenant_id, *rollup_label_params, *dim_params]
        if lo:
            clauses.append("hour >= ?")
            part_params.append(lo)
        if hi:
            clauses.append("hour < ?")
            part_params.append(hi)
        parts.append(f"SELECT {rollup_columns} FROM {rollup_table} WHERE {' AND '.join(clauses)}")
        params += part_params
        recent, recent_params = _dimensions(filters, "customer_id")
        recent = ["tenant_id = ?", *raw_label, *recent, db.unrolled_condition()]
        recent_params = [tenant_id, *raw_label_params, *recent_params]
        for clause, bound in (("timestamp >= ?", lo), ("timestamp < ?", hi)):
            if bound:
                recent.append(clause)
                recent_params.append(bound)
        parts.append(f"SELECT {raw_columns} FROM events WHERE {' AND '.join(recent)}")
        params += recent_params
    if raw_ranges:
        clauses, dim_params = _dimensions(filters, "customer_id")
        ranges = " OR ".join("(timestamp >= ? AND timestamp < ?)" for _ in raw_ranges)
        parts.append(f"SELECT {raw_columns} FROM events "
                     f"WHERE {' AND '.join(['tenant_id = ?', *raw_label, *clauses, f'({ranges})'])}")
        params += [tenant_id, *raw_label_params, *dim_params, *[bound for pair in raw_ranges for bound in pair]]
    return " UNION ALL ".join(parts), params


dimension_clauses = _dimensions  # the dimension filters (provider, model, customer, status), for other store modules
