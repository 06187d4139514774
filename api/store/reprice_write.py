"""Re-pricing's writes, one part of the scope (a UTC day) at a time, inside apply's one transaction.

A part's changed events go to a scratch table (`rp_changed`); from it: their previous costs into
reprice_old_costs, the new ones into events, and the hourly totals of those already rolled up moved
from the old values to the new ones, in usage_hourly and in the label roll-up (api/store/labels.py).

The totals move by deltas, summed per group first so each group is written once: an event keeping its
pricing status changes only its group's cost and fallback count (a two-column UPDATE); one changing
status moves whole (minus the old, in the old status's group; plus the new, in the new one's: an
upsert). They are not recounted from the events:
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

CHANGED_COLUMNS = ("id, timestamp, provider, model, customer_id, status, tags, run_name, rolled, cost_usd, "
                   "pricing_status, pricing_source, pricing_version, pricing_fallback, new_cost, new_status, new_source, "
                   "new_version, new_fallback")
# What moves between groups, beside the pricing status, the cost and the fallback flag.
MOVED = ("timestamp, provider, model, customer_id, status, input_tokens, cached_input_tokens, cache_write_tokens, "
         "output_tokens, reasoning_tokens, latency_ms, cache_savings_usd")
KEY = "date_trunc('hour', timestamp), {label}provider, model, {customer}status, moved_status"
# usage_hourly's groups have the customer; the label roll-up's do not (see labels.py): per table, the
# customer's part of a group's key (selected, grouped by, matched).
CUSTOMER = {"usage_hourly": ("coalesce(customer_id, ''), ", "customer_key, ",
                             "coalesce(customer_id, '') AS customer_key, ", "AND usage_hourly.customer_key = d.customer_key"),
            "usage_labels_hourly": ("", "", "", "")}
# Most changed events keep their pricing status (a new price, not a newly priced model): in their group
# only the cost and the fallback count change, an UPDATE of two columns (a third of a full upsert's time).
COST_DELTA = """
    SELECT date_trunc('hour', timestamp) AS hour, {label}provider, model, {customer_as}
           status, pricing_status,
           CASE WHEN count(new_cost) + count(cost_usd) = 0 THEN NULL
                ELSE coalesce(sum(new_cost), 0) - coalesce(sum(cost_usd), 0) END AS cost,
           sum(CASE WHEN new_fallback IS NULL THEN 0 ELSE 1 END)
               - sum(CASE WHEN pricing_fallback IS NULL THEN 0 ELSE 1 END) AS fallbacks
    FROM ({source}) AS s WHERE new_status = pricing_status
    GROUP BY date_trunc('hour', timestamp), {label}provider, model, {customer}status, pricing_status
"""
COST_UPDATE = """
    UPDATE {table} SET cost_usd = CASE WHEN {table}.cost_usd IS NULL THEN d.cost WHEN d.cost IS NULL THEN {table}.cost_usd
                                       ELSE {table}.cost_usd + d.cost END,
                       tier_fallback_calls = {table}.tier_fallback_calls + d.fallbacks
    FROM ({delta}) AS d
    WHERE {table}.tenant_id = ? AND {table}.hour >= ? AND {table}.hour < ? AND {table}.hour = d.hour AND {matches} AND {table}.provider = d.provider
      AND {table}.model = d.model {customer_match} AND {table}.status = d.status
      AND {table}.pricing_status = d.pricing_status
"""
# The others move to another group: one row per group: the changed, rolled-up events' old values with sign -1 and their new ones with sign 1.
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
            _write_changes(db, tx, tenant_id=tenant_id, part=part, computed=computed, params=params, run_id=run_id)
    finally:
        _drop(tx, "rp_changed")
    return Decimal(old), Decimal(new), int(changed)


def _drop(tx: Transaction, table: str) -> None:
    try:
        tx.execute(f"DROP TABLE IF EXISTS {table}")
    except Exception:  # noqa: BLE001 - a failed transaction is rolled back, which drops it too
        pass


def _write_changes(db: Store, tx: Transaction, *, tenant_id: str, part: EventFilters, computed: str,
                   params: list[Any], run_id: str) -> None:
    tx.execute("INSERT INTO reprice_old_costs (run_id, tenant_id, event_id, timestamp, cost_usd, pricing_status, "
               "pricing_source, pricing_version, pricing_fallback) SELECT ?, ?, CAST(id AS VARCHAR), timestamp, "
               "cost_usd, pricing_status, pricing_source, pricing_version, pricing_fallback FROM rp_changed",
               [run_id, tenant_id])
    [(moved,)] = tx.fetchall("SELECT count(*) FROM rp_changed WHERE rolled AND new_status <> pricing_status")
    if moved:  # the events moving to another group, with every measure (read before they are rewritten)
        tx.execute(f"CREATE TEMP TABLE rp_moved AS SELECT {MOVED}, tags, run_name, rolled, cost_usd, pricing_status, "
                   f"pricing_fallback, new_cost, new_status, new_fallback FROM ({computed}) AS c "
                   "WHERE changed AND rolled AND new_status <> pricing_status", params)
    try:
        # The part's time range beside the id: the scan reads only that day's blocks (DuckDB's zone maps,
        # PostgreSQL's (tenant_id, timestamp) index) instead of every stored event once per day.
        tx.execute(
            """
            UPDATE events SET cost_usd = c.new_cost, pricing_status = c.new_status, pricing_source = c.new_source,
                              pricing_version = c.new_version, pricing_fallback = c.new_fallback
            FROM rp_changed c WHERE events.tenant_id = ? AND events.timestamp >= ? AND events.timestamp < ?
                              AND events.id = c.id AND events.timestamp = c.timestamp
            """, [tenant_id, part.start, part.end])
        _move_costs(db, tx, tenant_id, part)
        if moved:
            _move_groups(db, tx, tenant_id)
    finally:
        _drop(tx, "rp_moved")


def _upsert(table: str, *, source: str, columns: str, label: str = "") -> str:
    customer, customer_key, _, _ = CUSTOMER[table]
    delta = DELTA.format(key=KEY.format(label=label, customer=customer), columns=columns, source=source)
    sums = ",\n        ".join(f"{c} = {table}.{c} + excluded.{c}" for c in SUMMED)
    return UPSERT.format(table=table, delta=delta, label=label, customer_key=customer_key, sums=sums)


def _cost_update(table: str, *, source: str, label: str = "") -> str:
    matches = f"{table}.label = d.label AND {table}.value = d.value" if label else "TRUE"
    customer, _, customer_as, customer_match = CUSTOMER[table]
    delta = COST_DELTA.format(label=label, source=source, customer=customer, customer_as=customer_as)
    return COST_UPDATE.format(table=table, delta=delta, matches=matches, customer_match=customer_match)


def _label_rows(db: Store, table: str, columns: str) -> str:
    """The rolled-up events of `table` once per label they carry, and once under ALL (as labels.total_rows)."""
    each, key, value = db.dialect.json_each_text("c.tags")
    return f"""
        SELECT {columns}, '{labels.TAG}' || {key} AS label, {value} AS value
        FROM {table} c, {each} WHERE c.rolled AND c.tags IS NOT NULL
        UNION ALL
        SELECT {columns}, '{labels.RUN_NAME}' AS label, c.run_name AS value FROM {table} c
        WHERE c.rolled AND c.run_name IS NOT NULL
        UNION ALL
        SELECT {columns}, '{labels.ALL}' AS label, '' AS value FROM {table} c WHERE c.rolled
    """


STATUSES = "c.cost_usd, c.pricing_status, c.pricing_fallback, c.new_cost, c.new_status, c.new_fallback"


def _move_costs(db: Store, tx: Transaction, tenant_id: str, part: EventFilters) -> None:
    """The cost and fallback count of the changed, rolled-up events that keep their group. The part's
    hours bound the groups read (PostgreSQL otherwise scans the tenant's whole label roll-up per day)."""
    assert part.start is not None and part.end is not None
    hours = [tenant_id, part.start.replace(minute=0, second=0, microsecond=0), part.end]
    tx.execute(_cost_update("usage_hourly", source="SELECT * FROM rp_changed WHERE rolled"), hours)
    label_columns = f"c.timestamp, c.provider, c.model, c.customer_id, c.status, {STATUSES}"
    tx.execute(_cost_update("usage_labels_hourly", source=_label_rows(db, "rp_changed", label_columns),
                            label="label, value, "), hours)


def _move_groups(db: Store, tx: Transaction, tenant_id: str) -> None:
    """The events of rp_moved out of their old group into their new one. Roll-ups are held, so the
    rolled-up set stays put; later events are rolled up with their new values."""
    tx.execute(_upsert("usage_hourly", source="SELECT * FROM rp_moved", columns=MOVED), [tenant_id])
    moved_columns = ", ".join(f"c.{column.strip()}" for column in MOVED.split(",")) + f", {STATUSES}"
    tx.execute(_upsert("usage_labels_hourly", source=_label_rows(db, "rp_moved", moved_columns),
                       columns=f"label, value, {MOVED}", label="label, value, "), [tenant_id])
    for table in ("usage_hourly", "usage_labels_hourly"):
        tx.execute(f"DELETE FROM {table} WHERE tenant_id = ? AND calls = 0", [tenant_id])
    thinned = tx.fetchall(
        "SELECT DISTINCT u.hour, u.provider, u.model, u.customer_key, u.status, u.pricing_status "
        "FROM usage_hourly u JOIN rp_moved c ON u.hour = date_trunc('hour', c.timestamp) "
        "AND u.provider = c.provider AND u.model = c.model AND u.customer_key = coalesce(c.customer_id, '') "
        "AND u.status = c.status AND u.pricing_status = c.pricing_status WHERE u.tenant_id = ?", [tenant_id])
    for group in thinned:
        _recount(db, tx, tenant_id, group)
    # The label roll-up's groups have no customer: one thinned where its every-call (ALL) row did, which
    # can outlive a customer's usage_hourly group that lost all its calls.
    thinned_labels = tx.fetchall(
        "SELECT DISTINCT u.hour, u.provider, u.model, u.status, u.pricing_status FROM usage_labels_hourly u "
        "JOIN rp_moved c ON u.hour = date_trunc('hour', c.timestamp) AND u.provider = c.provider "
        "AND u.model = c.model AND u.status = c.status AND u.pricing_status = c.pricing_status "
        "WHERE u.tenant_id = ? AND u.label = ?",
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
