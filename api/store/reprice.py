"""Re-pricing and what-if in SQL: stored events joined against the price tables of api/reprice.py.

One statement prices a whole scope with the same precedence and integer arithmetic as ingest
(api/pricing.py): the client's own cost is kept; else the custom version in force at the event's
timestamp (per-token prices, or a discount off the list cost); else no tokens → $0; else genai-prices'
list cost (exact per event above a tiered model's threshold); else unpriced. Amounts are pico-dollars
in wide integers until the last step. The SQL is shared; the few fragments that differ (the price slot,
the wide integer type, integer division) come from the backend's Dialect, and the scratch tables from
the backend's own bulk path (DuckDB registers Arrow tables, PostgreSQL COPYs them into temp tables).

Apply runs in `Store.rewriting()`: beside the ingest writer (new rows are appends, which never touch
the rows being rewritten), with roll-ups held. The hourly totals (usage_hourly and the label roll-up)
of the changed, already rolled-up events move from their old values to their new ones inside the same
transaction (api/store/reprice_write.py), so analytics show the new totals the moment it commits, and
a failure changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pyarrow as pa

from api.reprice import PriceTables, exact_costs
from api.store import reprice_write
from api.store.base import Queries, Store, utcnow
from api.store.filters import EventFilters, where_clause

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

# FENCES: each step names its results once, but a planner that merges the steps into one projection
# copies every expression into each use (new_pico into new_cost, and new_cost into `changed`): the
# per-event CASE chains are evaluated several times over. OFFSET 0 keeps a step's results computed once
# (both engines treat it as an optimisation fence); on DuckDB at 2M events this halves the preview.
COMPUTED = """
    WITH ev AS (
        SELECT e.id, e.timestamp, e.provider, e.model, e.cost_usd, e.pricing_status, e.pricing_source,
               e.pricing_version, e.pricing_fallback, e.service_tier, {slot} AS slot, {carried_e}
               {rolled} AS rolled,
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
        FROM joined OFFSET 0  -- a fence: see FENCES
    ), decided AS (
        SELECT listed.*,
               CASE WHEN pricing_status = 'client' THEN 'client'
                    WHEN own_pico IS NOT NULL THEN 'custom'
                    WHEN c_version IS NOT NULL AND list_pico IS NOT NULL THEN 'custom'
                    WHEN list_pico IS NOT NULL THEN 'priced' ELSE 'unpriced' END AS new_status,
               CASE WHEN own_pico IS NOT NULL THEN own_pico
                    WHEN c_version IS NOT NULL THEN {discounted}
                    ELSE list_pico END AS new_pico
        FROM listed OFFSET 0
    ), final AS (
        SELECT id, timestamp, provider, model, cost_usd, pricing_status, pricing_source, pricing_version,
               pricing_fallback, new_status, {carried} rolled,
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


# What apply's writes need of each event beyond its prices; the preview carries none of it through the
# fences (measured ~15% of the preview at 2M events).
CARRIED = ("customer_id", "status", "input_tokens", "cached_input_tokens", "cache_write_tokens", "output_tokens",
           "reasoning_tokens", "latency_ms", "tags", "run_name", "cache_savings_usd")


def _computed(db: Store, tenant_id: str, filters: EventFilters, snapshot_version: str,
              carried: tuple[str, ...] = ()) -> tuple[str, list[Any]]:
    where, params = where_clause(db.dialect, tenant_id, filters, alias="e")
    d = db.dialect
    sql = COMPUTED.format(slot=d.slot("e.timestamp"), wide=d.wide_int, where=where,
                          carried_e="".join(f"e.{c}, " for c in carried), carried="".join(f"{c}, " for c in carried),
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


def apply(db: Store, *, tenant_id: str, filters: EventFilters, tables: PriceTables, run_id: str,
          check: Callable[[Decimal], bool]) -> dict[str, Any]:
    """Re-price the scope in one transaction if `check(new total)` holds (else StalePreview, nothing
    changed); answers the run as stored. The changed events' previous costs go to reprice_old_costs.

    The scope is priced and rewritten one UTC day at a time (api/store/reprice_write.py), all inside the
    one transaction: the scratch table of a day's changed events stays small whatever the scope (at 10M
    events a whole month of them spilled past DuckDB's memory limit). The new total is the current one
    plus the changed events' difference (the same sum the preview adds up per group); when the check
    refuses it, the rollback undoes every day written."""
    with db.rewriting() as tx, db.scratch(tx, {"rp_list": tables.list_prices, "rp_versions": tables.versions}):
        with db.scratch(tx, {"rp_exact": _exact(db, tx, tenant_id, filters)}):
            where, where_params = where_clause(db.dialect, tenant_id, filters, alias="e")
            current = Decimal(tx.fetchone(f"SELECT coalesce(sum(e.cost_usd), 0) FROM events e WHERE {where}",
                                          where_params)[0])  # type: ignore[index]
            old, new, changed = Decimal(0), Decimal(0), 0
            held = [row[0] for row in tx.fetchall(
                f"SELECT DISTINCT CAST(date_trunc('day', e.timestamp) AS DATE) FROM events e WHERE {where}",
                where_params)]
            for part in days(filters, held):
                computed, params = _computed(db, tenant_id, part, tables.snapshot_version, CARRIED)
                part_old, part_new, part_changed = reprice_write.write_part(
                    db, tx, tenant_id=tenant_id, part=part, computed=computed, params=params, run_id=run_id)
                old, new, changed = old + part_old, new + part_new, changed + part_changed
        run = {"id": run_id, "current_cost_usd": current, "new_cost_usd": current - old + new,
               "changed_events": changed}
        if not check(run["new_cost_usd"]):
            raise StalePreview(run["new_cost_usd"])
        scope = {"provider": filters.provider, "model": filters.model, "customer_id": filters.customer_id}
        tx.execute("INSERT INTO reprice_runs (id, tenant_id, created_at, start_at, end_at, filters, current_cost_usd, "
                   "new_cost_usd, changed_events) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   [run_id, tenant_id, utcnow(), filters.start, filters.end, json.dumps(scope),
                    run["current_cost_usd"], run["new_cost_usd"], run["changed_events"]])
    return run


def days(filters: EventFilters, held: list[date]) -> list[EventFilters]:
    """The scope cut at UTC midnights, one part for each day that holds events of the scope (`held`): a
    scope spanning centuries but holding a month of calls is a month of parts, not 36,500 of them. One
    day a part: at 2M events, parts of three days were no faster (measured) and triple the scratch table."""
    assert filters.start is not None and filters.end is not None
    parts = []
    for day in sorted(set(held)):
        lo = max(datetime.combine(day, time()), filters.start)
        hi = min(datetime.combine(day + timedelta(days=1), time()), filters.end)
        if lo < hi:
            parts.append(replace(filters, start=lo, end=hi))
    return parts


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
