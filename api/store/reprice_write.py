"""Re-pricing's writes, one part of the scope (a UTC day) at a time, inside apply's one transaction.

A part's changed events go to a scratch table (`rp_changed`); from it: their previous costs into
reprice_old_costs, the new ones into events, and the hourly totals of those already rolled up moved
from the old values to the new ones, in usage_hourly and in the label roll-up (api/store/labels.py).

The totals move by deltas (minus the old, in the old pricing_status's group; plus the new, in the new
one's), summed per group first so each group is upserted once. They are not recounted from the events:
reading back rows changed in this transaction is slow, and on DuckDB deleting and re-inserting
hundreds of thousands of keyed roll-up rows in one transaction made its COMMIT take 45 s at 2M events.
A group that lost only some of its events to another status keeps a first_at/last_at that may be too
wide: those few groups are recounted from the events.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from api.store import labels
from api.store.base import Store, Transaction
from api.store.filters import EventFilters
from api.store.usage import ROLLUP_SELECT

CHANGED_COLUMNS = ("id, timestamp, provider, model, customer_id, status, input_tokens, cached_input_tokens, "
                   "cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, tags, run_name, cache_savings_usd, "
                   "rolled, cost_usd, pricing_status, pricing_source, pricing_version, pricing_fallback, new_cost, "
                   "new_status, new_source, new_version, new_fallback")
# What moves between groups, beside the pricing status, the cost and the fallback flag.
MOVED = ("timestamp, provider, model, customer_id, status, input_tokens, cached_input_tokens, cache_write_tokens, "
         "output_tokens, reasoning_tokens, latency_ms, cache_savings_usd")
KEY = "date_trunc('hour', timestamp), {label}provider, model, {customer}status, moved_status"
# usage_hourly's groups have the customer; the label roll-up's do not (see labels.py).
CUSTOMER = {"usage_hourly": ("coalesce(customer_id, ''), ", "customer_key, "), "usage_labels_hourly": ("", "")}
# One row per group: the changed, rolled-up events' old values with sign -1 and their new ones with sign 1.
DELTA = """
    SELECT ? AS tenant_id, {key}, sum(sign), sum(sign * cost), sum(sign * input_tokens),
           sum(sign * cached_input_tokens), sum(sign * cache_write_tokens), sum(sign * output_tokens),
           sum(sign * reasoning_tokens), coalesce(sum(sign * latency_ms), 0),
           sum(CASE WHEN latency_ms IS NULL THEN 0 ELSE sign END), min(timestamp), max(timestamp),
           sum(CASE WHEN fallback IS NULL THEN 0 ELSE sign END), coalesce(sum(sign * cache_savings_usd), 0)
    FROM (SELECT {columns}, pricing_status AS moved_status, -1 AS sign, cost_usd AS cost, pricing_fallback AS fallback
          FROM ({source}) AS o
          UNION ALL
          SELECT {columns}, new_status, 1, new_cost, new_fallback FROM ({source}) AS n) AS d
    GROUP BY {key}
"""
SUMMED = ("calls", "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens", "reasoning_tokens",
          "latency_sum", "latency_count", "tier_fallback_calls", "cache_savings_usd")
UPSERT = """
    INSERT INTO {table} {delta}
    ON CONFLICT (tenant_id, hour, {label}provider, model, {customer_key}status, pricing_status) DO UPDATE SET
        {sums},
        cost_usd = CASE WHEN {table}.cost_usd IS NULL THEN excluded.cost_usd
                        WHEN excluded.cost_usd IS NULL THEN {table}.cost_usd
                        ELSE {table}.cost_usd + excluded.cost_usd END,
        first_at = least({table}.first_at, excluded.first_at),
        last_at = greatest({table}.last_at, excluded.last_at)
"""


def write_part(db: Store, tx: Transaction, *, tenant_id: str, part: EventFilters, computed: str, params: list[Any],
               run_id: str) -> tuple[Decimal, Decimal, int]:
    """Rewrite one part's changed events; answers (their old total, their new total, how many)."""
    tx.execute(f"CREATE TEMP TABLE rp_changed AS SELECT {CHANGED_COLUMNS} FROM ({computed}) AS c WHERE changed",
               params)
    try:
        old, new, changed = tx.fetchone("SELECT coalesce(sum(cost_usd), 0), coalesce(sum(new_cost), 0), count(*) "
                                        "FROM rp_changed")  # type: ignore[misc]
        if changed:
            _write_changes(db, tx, tenant_id=tenant_id, part=part, run_id=run_id)
    finally:
        _drop(tx, "rp_changed")
    return Decimal(old), Decimal(new), int(changed)


def _drop(tx: Transaction, table: str) -> None:
    try:
        tx.execute(f"DROP TABLE IF EXISTS {table}")
    except Exception:  # noqa: BLE001 - a failed transaction is rolled back, which drops it too
        pass


def _write_changes(db: Store, tx: Transaction, *, tenant_id: str, part: EventFilters, run_id: str) -> None:
    tx.execute("INSERT INTO reprice_old_costs (run_id, tenant_id, event_id, timestamp, cost_usd, pricing_status, "
               "pricing_source, pricing_version, pricing_fallback) SELECT ?, ?, CAST(id AS VARCHAR), timestamp, "
               "cost_usd, pricing_status, pricing_source, pricing_version, pricing_fallback FROM rp_changed",
               [run_id, tenant_id])
    # The part's time range beside the id: the scan reads only that day's blocks (DuckDB's zone maps,
    # PostgreSQL's (tenant_id, timestamp) index) instead of every stored event once per day.
    tx.execute(
        """
        UPDATE events SET cost_usd = c.new_cost, pricing_status = c.new_status, pricing_source = c.new_source,
                          pricing_version = c.new_version, pricing_fallback = c.new_fallback
        FROM rp_changed c WHERE events.tenant_id = ? AND events.timestamp >= ? AND events.timestamp < ?
                          AND events.id = c.id AND events.timestamp = c.timestamp
        """, [tenant_id, part.start, part.end])
    _move_totals(db, tx, tenant_id)


def _upsert(table: str, *, source: str, columns: str, label: str = "") -> str:
    customer, customer_key = CUSTOMER[table]
    delta = DELTA.format(key=KEY.format(label=label, customer=customer), columns=columns, source=source)
    sums = ",\n        ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMMED)
    return UPSERT.format(table=table, delta=delta, label=label, customer_key=customer_key, sums=sums)


def _label_rows(db: Store) -> str:
    """The changed, rolled-up events once per label they carry, and once under ALL (as labels.total_rows)."""
    each, key, value = db.dialect.json_each_text("c.tags")
    columns = ("c.timestamp, c.provider, c.model, c.customer_id, c.status, c.input_tokens, c.cached_input_tokens, "
               "c.cache_write_tokens, c.output_tokens, c.reasoning_tokens, c.latency_ms, c.cache_savings_usd, "
               "c.cost_usd, c.pricing_status, c.pricing_fallback, c.new_cost, c.new_status, c.new_fallback")
    return f"""
        SELECT {columns}, '{labels.TAG}' || {key} AS label, {value} AS value
        FROM rp_changed c, {each} WHERE c.rolled AND c.tags IS NOT NULL
        UNION ALL
        SELECT {columns}, '{labels.RUN_NAME}' AS label, c.run_name AS value FROM rp_changed c
        WHERE c.rolled AND c.run_name IS NOT NULL
        UNION ALL
        SELECT {columns}, '{labels.ALL}' AS label, '' AS value FROM rp_changed c WHERE c.rolled
    """


def _move_totals(db: Store, tx: Transaction, tenant_id: str) -> None:
    """Move the changed, already rolled-up events' totals from their old values to their new ones. Roll-ups
    are held, so the rolled-up set stays put; later events are rolled up with their new cost."""
    tx.execute(_upsert("usage_hourly", source="SELECT * FROM rp_changed WHERE rolled", columns=MOVED), [tenant_id])
    tx.execute(_upsert("usage_labels_hourly", source=_label_rows(db), columns=f"label, value, {MOVED}",
                       label="label, value, "), [tenant_id])
    for table in ("usage_hourly", "usage_labels_hourly"):
        tx.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND calls = 0", [tenant_id])
    thinned = tx.fetchall(
        "SELECT DISTINCT u.hour, u.provider, u.model, u.customer_key, u.status, u.pricing_status FROM usage_hourly u "
        "JOIN rp_changed c ON u.hour = date_trunc('hour', c.timestamp) AND u.provider = c.provider "
        "AND u.model = c.model AND u.customer_key = coalesce(c.customer_id, '') AND u.status = c.status "
        "AND u.pricing_status = c.pricing_status WHERE u.tenant_id = ? AND c.rolled AND c.new_status <> c.pricing_status",
        [tenant_id])
    for group in thinned:
        _recount(db, tx, tenant_id, group)
    # The label roll-up's groups have no customer: one thinned where its every-call (ALL) row did, which
    # can outlive a customer's usage_hourly group that lost all its calls.
    thinned_labels = tx.fetchall(
        "SELECT DISTINCT u.hour, u.provider, u.model, u.status, u.pricing_status FROM usage_labels_hourly u "
        "JOIN rp_changed c ON u.hour = date_trunc('hour', c.timestamp) AND u.provider = c.provider "
        "AND u.model = c.model AND u.status = c.status AND u.pricing_status = c.pricing_status "
        "WHERE u.tenant_id = ? AND u.label = ? AND c.rolled AND c.new_status <> c.pricing_status",
        [tenant_id, labels.ALL])
    for group in thinned_labels:
        _recount_labels(db, tx, [tenant_id, *group])


def _recount(db: Store, tx: Transaction, tenant_id: str, group: tuple[Any, ...]) -> None:
    """One hourly group's totals recounted from its rolled-up events."""
    hour, provider, model, customer_key, status, pricing_status = group
    key = [tenant_id, hour, provider, model, customer_key, status, pricing_status]
    tx.execute("DELETE FROM usage_hourly WHERE tenant_id = ? AND hour = ? AND provider = ? AND model = ? "
               "AND customer_key = ? AND status = ? AND pricing_status = ?", key)
    params = [tenant_id, hour, hour + timedelta(hours=1), provider, model, status, pricing_status, customer_key]
    where = _group_where(db, "") + " AND coalesce(customer_id, '') = ?"
    tx.execute("INSERT INTO usage_hourly " + ROLLUP_SELECT.format(where=where), params)


def _recount_labels(db: Store, tx: Transaction, key: list[Any]) -> None:
    """One label-roll-up group (every label of one hour, provider, model, status and pricing status)
    recounted from its rolled-up events."""
    tenant_id, hour, provider, model, status, pricing_status = key
    tx.execute("DELETE FROM usage_labels_hourly WHERE tenant_id = ? AND hour = ? AND provider = ? AND model = ? "
               "AND status = ? AND pricing_status = ?", key)
    labels.add_totals(tx, db.dialect, where=_group_where(db, "e."),
                      params=[tenant_id, hour, hour + timedelta(hours=1), provider, model, status, pricing_status])


def _group_where(db: Store, p: str) -> str:
    """The rolled-up events of one hour, provider, model, status and pricing status (columns prefixed
    with `p`); usage_hourly's groups add the customer."""
    return (f"{p}tenant_id = ? AND NOT ({p}{db.unrolled_condition()}) AND {p}timestamp >= ? AND {p}timestamp < ? "
            f"AND {p}provider = ? AND {p}model = ? AND {p}status = ? AND {p}pricing_status = ?")
