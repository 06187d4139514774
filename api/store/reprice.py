"""Re-pricing and what-if in SQL: stored events joined against the price tables of api/reprice.py.

One statement prices a whole scope with the same precedence and integer arithmetic as ingest
(api/pricing.py): the client's own cost is kept; else the custom version in force at the event's
timestamp (per-token prices, or a discount off the list cost); else no tokens → $0; else genai-prices'
list cost (exact per event above a tiered model's threshold); else unpriced. Amounts are pico-dollars
in wide integers until the last step. The SQL is shared; the few fragments that differ (the price slot,
the wide integer type, integer division) come from the backend's Dialect, and the scratch tables from
the backend's own bulk path (DuckDB registers Arrow tables, PostgreSQL COPYs them into temp tables).

Apply runs in `Store.rewriting()`: beside the ingest writer (new rows are appends, which never touch
the rows being rewritten), with roll-ups held. The hourly totals of the hours it changes are rebuilt
from the rolled-up events inside the same transaction (DuckDB: flush numbers up to rolled_up_to;
PostgreSQL: transaction ids below rolled_up_below), so analytics show the new totals the moment it
commits, and a failure changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from api.reprice import PriceTables, exact_costs
from api.store import labels
from api.store.base import Queries, Store, Transaction, utcnow
from api.store.filters import EventFilters, where_clause
from api.store.usage import ROLLUP_SELECT, ROLLUP_UPSERT

PICO_TO_USD = "CAST({} AS DECIMAL(38, 0)) * CAST(0.000000000001 AS DECIMAL(18, 12))"


class StalePreview(Exception):
    """The scope's new total is not what the preview said: prices or events changed since."""

    def __init__(self, new_cost_usd: Decimal) -> None:
        super().__init__("stale preview")
        self.new_cost_usd = new_cost_usd


def price_keys(db: Store, *, tenant_id: str, filters: EventFilters) -> list[tuple[str, str, int, str | None]]:
    """Every (provider, model, slot, tier) the scope's events need a list price for."""
    where, params = where_clause(db.dialect, tenant_id, filters, alias="e")
    return [tuple(row) for row in db.fetchall(  # type: ignore[misc]
        f"SELECT DISTINCT e.provider, e.model, {db.dialect.slot('e.timestamp')}, e.service_tier FROM events e "
        f"WHERE {where} AND e.pricing_status <> 'client'", params)]


def slots(db: Store, *, tenant_id: str, filters: EventFilters) -> list[int]:
    where, params = where_clause(db.dialect, tenant_id, filters, alias="e")
    return [row[0] for row in db.fetchall(f"SELECT DISTINCT {db.dialect.slot('e.timestamp')} FROM events e "
                                          f"WHERE {where}", params)]


TIERED = """
    SELECT CAST(e.id AS VARCHAR), e.provider, e.model, {slot}, e.service_tier, e.input_tokens,
           e.cached_input_tokens, e.cache_write_tokens, e.cache_write_1h_tokens, e.output_tokens
    FROM events e JOIN rp_list lp ON lp.provider = e.provider AND lp.model = e.model AND lp.slot = {slot}
                                  AND coalesce(lp.tier, '') = coalesce(e.service_tier, '')
    WHERE {where} AND e.pricing_status <> 'client' AND lp.threshold IS NOT NULL AND e.input_tokens > lp.threshold
"""

COMPUTED = """
    WITH ev AS (
        SELECT e.id, e.timestamp, e.provider, e.model, e.cost_usd, e.pricing_status, e.pricing_source,
               e.pricing_version, e.pricing_fallback, e.service_tier, {slot} AS slot, e.customer_id, e.status,
               e.input_tokens, e.cached_input_tokens, e.cache_write_tokens, e.output_tokens, e.reasoning_tokens,
               e.latency_ms, {rolled} AS rolled,
               CAST(e.input_tokens AS {wide}) AS inp, CAST(e.cached_input_tokens AS {wide}) AS cached,
               CAST(e.cache_write_tokens AS {wide}) AS cw, CAST(e.cache_write_1h_tokens AS {wide}) AS cw1h,
               CAST(e.output_tokens AS {wide}) AS outp
        FROM events e WHERE {where}
    ), joined AS (
        SELECT ev.*, v.version AS c_version, v.c_input, v.c_cache_read, v.c_cache_write, v.c_output,
               v.discount_micro, lp.p_input, lp.p_cache_read, lp.p_cache_write, lp.p_cache_write_1h, lp.p_output,
               lp.p_request, lp.fallback AS l_fallback, lp.slot IS NOT NULL AS l_found, x.exact_pico
        FROM ev
        LEFT JOIN rp_versions v ON v.provider = ev.provider AND v.model = ev.model
             AND ev.timestamp >= v.effective_from AND (v.effective_to IS NULL OR ev.timestamp < v.effective_to)
        LEFT JOIN rp_list lp ON lp.provider = ev.provider AND lp.model = ev.model AND lp.slot = ev.slot
             AND coalesce(lp.tier, '') = coalesce(ev.service_tier, '')  -- equality: a hash join
        LEFT JOIN (SELECT CAST(id AS UUID) AS id, exact_pico FROM rp_exact) x ON x.id = ev.id  -- cast the few
    ), listed AS (
        SELECT joined.*,
               CASE WHEN inp = 0 AND outp = 0 THEN 0
                    WHEN exact_pico IS NOT NULL THEN exact_pico
                    WHEN l_found THEN (inp - cached - cw) * p_input + cached * p_cache_read
                                      + (cw - cw1h) * p_cache_write + cw1h * p_cache_write_1h + outp * p_output
                                      + p_request
               END AS list_pico,
               CASE WHEN c_version IS NOT NULL AND discount_micro IS NULL
                    THEN (inp - cached - cw) * c_input + cached * c_cache_read + cw * c_cache_write + outp * c_output
               END AS own_pico
        FROM joined
    ), decided AS (
        SELECT listed.*,
               CASE WHEN pricing_status = 'client' THEN 'client'
                    WHEN own_pico IS NOT NULL THEN 'custom'
                    WHEN c_version IS NOT NULL AND list_pico IS NOT NULL THEN 'custom'
                    WHEN list_pico IS NOT NULL THEN 'priced' ELSE 'unpriced' END AS new_status,
               CASE WHEN own_pico IS NOT NULL THEN own_pico
                    WHEN c_version IS NOT NULL THEN {discounted}
                    ELSE list_pico END AS new_pico
        FROM listed
    ), final AS (
        SELECT id, timestamp, provider, model, cost_usd, pricing_status, pricing_source, pricing_version,
               pricing_fallback, new_status, customer_id, status, input_tokens, cached_input_tokens,
               cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, rolled,
               CASE WHEN new_status = 'client' THEN cost_usd
                    WHEN new_pico IS NOT NULL THEN {new_cost} END AS new_cost,
               CASE new_status WHEN 'client' THEN pricing_source WHEN 'custom' THEN 'custom'
                               WHEN 'priced' THEN 'genai-prices' END AS new_source,
               CASE new_status WHEN 'client' THEN pricing_version WHEN 'custom' THEN c_version
                               WHEN 'priced' THEN CAST(? AS VARCHAR) END AS new_version,
               CASE WHEN new_status = 'client' THEN pricing_fallback
                    WHEN own_pico IS NOT NULL OR new_status = 'unpriced' OR (inp = 0 AND outp = 0) THEN NULL
                    ELSE l_fallback END AS new_fallback
        FROM decided
    )
    SELECT final.*, (new_status <> 'client' AND (new_cost IS DISTINCT FROM cost_usd OR new_status <> pricing_status
               OR (new_status = 'custom' AND new_version IS DISTINCT FROM pricing_version)
               OR new_fallback IS DISTINCT FROM pricing_fallback)) AS changed
    FROM final
"""

GROUPS = """
    SELECT provider, model, CAST(date_trunc('day', timestamp) AS DATE) AS day, count(*) AS events,
           count(*) FILTER (WHERE changed) AS changed_events,
           count(*) FILTER (WHERE changed AND pricing_status = 'unpriced' AND new_status <> 'unpriced')
               AS newly_priced_events,
           sum(cost_usd) AS current_cost_usd,
           sum(CASE WHEN changed THEN new_cost ELSE cost_usd END) AS new_cost_usd
    FROM ({computed}) AS computed GROUP BY provider, model, CAST(date_trunc('day', timestamp) AS DATE)
"""


def _computed(db: Store, tenant_id: str, filters: EventFilters, snapshot_version: str) -> tuple[str, list[Any]]:
    where, params = where_clause(db.dialect, tenant_id, filters, alias="e")
    d = db.dialect
    sql = COMPUTED.format(slot=d.slot("e.timestamp"), wide=d.wide_int, where=where,
                          rolled=f"NOT ({db.unrolled_condition()})",
                          discounted=d.int_div("list_pico * (100000000 - discount_micro) + 50000000", "100000000"),
                          new_cost=PICO_TO_USD.format("new_pico"))
    return sql, [*params, snapshot_version]


def _exact(db: Store, tx: Queries, tenant_id: str, filters: EventFilters) -> pa.Table:
    where, params = where_clause(db.dialect, tenant_id, filters, alias="e")
    return exact_costs(tx.fetchall(TIERED.format(slot=db.dialect.slot("e.timestamp"), where=where), params))


def preview(db: Store, *, tenant_id: str, filters: EventFilters, tables: PriceTables) -> list[dict[str, Any]]:
    """Per (provider, model, day): events, changed, newly priced, current and new cost."""
    with db.reading() as tx, db.scratch(tx, {"rp_list": tables.list_prices, "rp_versions": tables.versions}):
        with db.scratch(tx, {"rp_exact": _exact(db, tx, tenant_id, filters)}):
            computed, params = _computed(db, tenant_id, filters, tables.snapshot_version)
            return tx.fetchdicts(GROUPS.format(computed=computed), params)


CHANGED_COLUMNS = ("id, timestamp, provider, model, customer_id, status, input_tokens, cached_input_tokens, "
                   "cache_write_tokens, output_tokens, reasoning_tokens, latency_ms, rolled, cost_usd, pricing_status, "
                   "pricing_source, pricing_version, pricing_fallback, new_cost, new_status, new_source, new_version, "
                   "new_fallback")


def apply(db: Store, *, tenant_id: str, filters: EventFilters, tables: PriceTables, run_id: str,
          check: Callable[[Decimal], bool]) -> dict[str, Any]:
    """Re-price the scope in one transaction if `check(new total)` holds (else StalePreview, nothing
    changed); answers the run as stored. The changed events' previous costs go to reprice_old_costs.

    One pass prices the scope into a scratch table of the changed events; the new total is the current
    one plus their difference (the same sum the preview adds up per group)."""
    with db.rewriting() as tx, db.scratch(tx, {"rp_list": tables.list_prices, "rp_versions": tables.versions}):
        with db.scratch(tx, {"rp_exact": _exact(db, tx, tenant_id, filters)}):
            computed, params = _computed(db, tenant_id, filters, tables.snapshot_version)
            tx.execute(f"CREATE TEMP TABLE rp_changed AS SELECT {CHANGED_COLUMNS} FROM ({computed}) AS c "
                       "WHERE changed", params)
        try:
            where, where_params = where_clause(db.dialect, tenant_id, filters, alias="e")
            current = tx.fetchone(f"SELECT coalesce(sum(e.cost_usd), 0) FROM events e WHERE {where}",
                                  where_params)[0]  # type: ignore[index]
            old, new, changed = tx.fetchone("SELECT coalesce(sum(cost_usd), 0), coalesce(sum(new_cost), 0), "
                                            "count(*) FROM rp_changed")  # type: ignore[misc]
            run = {"id": run_id, "current_cost_usd": Decimal(current),
                   "new_cost_usd": Decimal(current) - Decimal(old) + Decimal(new), "changed_events": int(changed)}
            if not check(run["new_cost_usd"]):
                raise StalePreview(run["new_cost_usd"])
            _write_changes(db, tx, tenant_id=tenant_id, filters=filters, run=run)
        finally:
            _drop(tx, "rp_changed")
    return run


def _drop(tx: Transaction, table: str) -> None:
    try:
        tx.execute(f"DROP TABLE IF EXISTS {table}")
    except Exception:  # noqa: BLE001 - a failed transaction is rolled back, which drops it too
        pass


def _write_changes(db: Store, tx: Transaction, *, tenant_id: str, filters: EventFilters,
                   run: dict[str, Any]) -> None:
    tx.execute("INSERT INTO reprice_old_costs (run_id, tenant_id, event_id, timestamp, cost_usd, pricing_status, "
               "pricing_source, pricing_version, pricing_fallback) SELECT ?, ?, CAST(id AS VARCHAR), timestamp, "
               "cost_usd, pricing_status, pricing_source, pricing_version, pricing_fallback FROM rp_changed",
               [run["id"], tenant_id])
    tx.execute(
        """
        UPDATE events SET cost_usd = c.new_cost, pricing_status = c.new_status, pricing_source = c.new_source,
                          pricing_version = c.new_version, pricing_fallback = c.new_fallback
        FROM rp_changed c WHERE events.tenant_id = ? AND events.id = c.id AND events.timestamp = c.timestamp
        """, [tenant_id])
    _rebuild_hours(db, tx, tenant_id)
    scope = {"provider": filters.provider, "model": filters.model, "customer_id": filters.customer_id}
    tx.execute("INSERT INTO reprice_runs (id, tenant_id, created_at, start_at, end_at, filters, current_cost_usd, "
               "new_cost_usd, changed_events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
               [run["id"], tenant_id, utcnow(), filters.start, filters.end, json.dumps(scope),
                run["current_cost_usd"], run["new_cost_usd"], run["changed_events"]])


# One group's totals from the changed events already rolled up: their old values with sign -1 (taken
# out of the group they were in), or their new ones with sign 1 (added to the group they move to).
DELTA_SELECT = """
    SELECT ? AS tenant_id, date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status, {status},
           {sign} * count(*), {sign} * sum({cost}), {sign} * sum(input_tokens), {sign} * sum(cached_input_tokens),
           {sign} * sum(cache_write_tokens), {sign} * sum(output_tokens), {sign} * sum(reasoning_tokens),
           {sign} * coalesce(sum(latency_ms), 0), {sign} * count(latency_ms), min(timestamp), max(timestamp),
           {sign} * count(*) FILTER (WHERE {fallback} IS NOT NULL),
           CAST(0 AS DECIMAL(38, 12))  -- cache savings: kept as computed at ingest (docs/api.md)
    FROM rp_changed WHERE rolled
    GROUP BY date_trunc('hour', timestamp), provider, model, coalesce(customer_id, ''), status, {status}
"""
UPSERT_TAIL = ROLLUP_UPSERT[len("INSERT INTO usage_hourly " + ROLLUP_SELECT):]


def _rebuild_hours(db: Store, tx: Transaction, tenant_id: str) -> None:
    """Move the changed, already rolled-up events' totals in usage_hourly from their old values to their
    new ones: minus the old (in the old pricing_status's group), plus the new (in the new one's). Roll-ups
    are held, so the rolled-up set stays put; later events are rolled up with their new cost.

    Reading the events back after the UPDATE would be slow (every row changed in this transaction), so
    the deltas come from the scratch table. A group that lost only some of its events to another status
    keeps a first_at/last_at that may be too wide: those few groups are recounted from the events."""
    for sign, status, cost, fallback in ((-1, "pricing_status", "cost_usd", "pricing_fallback"),
                                         (1, "new_status", "new_cost", "new_fallback")):
        tx.execute("INSERT INTO usage_hourly " + DELTA_SELECT.format(sign=sign, status=status, cost=cost,
                                                                     fallback=fallback) + UPSERT_TAIL, [tenant_id])
    tx.execute("DELETE FROM usage_hourly WHERE tenant_id = ? AND calls = 0", [tenant_id])
    thinned = tx.fetchall(
        "SELECT DISTINCT u.hour, u.provider, u.model, u.customer_key, u.status, u.pricing_status FROM usage_hourly u "
        "JOIN rp_changed c ON u.hour = date_trunc('hour', c.timestamp) AND u.provider = c.provider "
        "AND u.model = c.model AND u.customer_key = coalesce(c.customer_id, '') AND u.status = c.status "
        "AND u.pricing_status = c.pricing_status WHERE u.tenant_id = ? AND c.rolled AND c.new_status <> c.pricing_status",
        [tenant_id])
    rolled = f"NOT ({db.unrolled_condition()})"
    for hour, provider, model, customer_key, status, pricing_status in thinned:
        key = [tenant_id, hour, provider, model, customer_key, status, pricing_status]
        tx.execute("DELETE FROM usage_hourly WHERE tenant_id = ? AND hour = ? AND provider = ? AND model = ? "
                   "AND customer_key = ? AND status = ? AND pricing_status = ?", key)
        where = (f"tenant_id = ? AND {rolled} AND timestamp >= ? AND timestamp < ? AND provider = ? AND model = ? "
                 "AND coalesce(customer_id, '') = ? AND status = ? AND pricing_status = ?")
        tx.execute("INSERT INTO usage_hourly " + ROLLUP_SELECT.format(where=where),
                   [tenant_id, hour, hour + timedelta(hours=1), provider, model, customer_key, status, pricing_status])
    _recount_labels(db, tx, tenant_id)


def _recount_labels(db: Store, tx: Transaction, tenant_id: str) -> None:
    """The label roll-up (api/store/labels.py) of every hour holding a changed, rolled-up event, recounted
    from the events (it has no pricing status to move deltas between; only labelled events are read)."""
    lo, hi = tx.fetchone("SELECT min(timestamp), max(timestamp) FROM rp_changed WHERE rolled")  # type: ignore[misc]
    if lo is None:
        return
    hours = "SELECT DISTINCT date_trunc('hour', timestamp) FROM rp_changed WHERE rolled"
    tx.execute(f"DELETE FROM usage_labels_hourly WHERE tenant_id = ? AND hour IN ({hours})", [tenant_id])
    start = lo.replace(minute=0, second=0, microsecond=0)
    where = (f"e.tenant_id = ? AND NOT (e.{db.unrolled_condition()}) AND e.timestamp >= ? AND e.timestamp < ? "
             f"AND date_trunc('hour', e.timestamp) IN ({hours})")
    labels.add_totals(tx, db.dialect, where=where, params=[tenant_id, start, hi + timedelta(hours=1)])


def history(db: Store, *, tenant_id: str, limit: int = 100) -> list[dict[str, Any]]:
    rows = db.fetchdicts(
        "SELECT id, created_at, start_at AS start, end_at AS \"end\", filters, current_cost_usd, new_cost_usd, "
        "changed_events FROM reprice_runs WHERE tenant_id = ? ORDER BY created_at DESC LIMIT ?", [tenant_id, limit])
    for row in rows:
        row["filters"] = json.loads(row["filters"])
    return rows


WHATIF = """
    SELECT count(*) AS calls, coalesce(sum(e.cost_usd), 0) AS current_cost_usd,
           coalesce(sum(CASE WHEN e.input_tokens = 0 AND e.output_tokens = 0 THEN 0
                             WHEN x.exact_pico IS NOT NULL THEN {exact}
                             WHEN lp.slot IS NOT NULL THEN {linear} END), 0) AS target_cost_usd,
           count(*) FILTER (WHERE lp.slot IS NULL AND NOT (e.input_tokens = 0 AND e.output_tokens = 0))
               AS unpriceable_calls
    FROM events e
    LEFT JOIN rp_list lp ON lp.slot = {slot}
    LEFT JOIN (SELECT CAST(id AS UUID) AS id, exact_pico FROM rp_exact) x ON x.id = e.id
    WHERE {where}
"""
WHATIF_TIERED = """
    SELECT CAST(e.id AS VARCHAR), lp.provider, lp.model, lp.slot, NULL, e.input_tokens, e.cached_input_tokens,
           e.cache_write_tokens, e.cache_write_1h_tokens, e.output_tokens
    FROM events e JOIN rp_list lp ON lp.slot = {slot}
    WHERE {where} AND lp.threshold IS NOT NULL AND e.input_tokens > lp.threshold
"""


def whatif(db: Store, *, tenant_id: str, filters: EventFilters, list_prices: pa.Table) -> dict[str, Any]:
    """The scope's calls at one target model's list prices (`list_prices`: that model's rows per slot)."""
    where, params = where_clause(db.dialect, tenant_id, filters, alias="e")
    slot = db.dialect.slot("e.timestamp")
    wide = db.dialect.wide_int
    tokens = {"inp": f"CAST(e.input_tokens AS {wide})", "cached": f"CAST(e.cached_input_tokens AS {wide})",
              "cw": f"CAST(e.cache_write_tokens AS {wide})", "cw1h": f"CAST(e.cache_write_1h_tokens AS {wide})",
              "outp": f"CAST(e.output_tokens AS {wide})"}
    linear = ("({inp} - {cached} - {cw}) * lp.p_input + {cached} * lp.p_cache_read + ({cw} - {cw1h}) * "
              "lp.p_cache_write + {cw1h} * lp.p_cache_write_1h + {outp} * lp.p_output + lp.p_request").format(**tokens)
    with db.reading() as tx, db.scratch(tx, {"rp_list": list_prices}):
        exact = exact_costs(tx.fetchall(WHATIF_TIERED.format(slot=slot, where=where), params))
        with db.scratch(tx, {"rp_exact": exact}):
            [row] = tx.fetchdicts(WHATIF.format(slot=slot, where=where, exact=PICO_TO_USD.format("x.exact_pico"),
                                                linear=PICO_TO_USD.format(linear)), params)
            return row
