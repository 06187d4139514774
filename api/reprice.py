"""Re-pricing and what-if (DESIGN §10): the pure core.

Pricing 10M stored events one by one in Python would take minutes, so the prices in force are laid out
as small tables the store joins against in one SQL pass:

- `list_price_table`: genai-prices' unit prices (pico-dollars per token, a fee per call) for every
  (provider, model, tier, 15-minute slot) the events have, resolved once per distinct price;
- `version_table`: the tenant's custom price versions, each with its [effective_from, effective_to);
- `exact_costs`: the few events above a tiered model's first threshold (long-context rates), priced
  one by one with genai-prices itself, exactly as ingest does.

The store's SQL applies the same precedence and the same integer arithmetic as ingest
(api/pricing.py), so an event re-priced with unchanged prices keeps its cost to the pico-dollar.
No FastAPI, no database here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa

from api.pricing import PICO, price_event, unit_prices_many
from api.price_data import snapshot_version

LIST_SCHEMA = pa.schema([
    ("provider", pa.string()), ("model", pa.string()), ("tier", pa.string()), ("slot", pa.int64()),
    ("p_input", pa.int64()), ("p_cache_read", pa.int64()), ("p_cache_write", pa.int64()),
    ("p_cache_write_1h", pa.int64()), ("p_output", pa.int64()), ("p_request", pa.int64()),
    ("threshold", pa.int64()), ("fallback", pa.string()),
])
VERSION_SCHEMA = pa.schema([
    ("provider", pa.string()), ("model", pa.string()), ("effective_from", pa.timestamp("us")),
    ("effective_to", pa.timestamp("us")), ("version", pa.string()),
    ("c_input", pa.int64()), ("c_cache_read", pa.int64()), ("c_cache_write", pa.int64()),
    ("c_output", pa.int64()), ("discount_micro", pa.int64()),
])
EXACT_SCHEMA = pa.schema([("id", pa.string()), ("exact_pico", pa.int64())])

Key = tuple[str, str, int, str | None]  # provider, model, slot, tier


def _per_token(per_mtok: Decimal | None) -> int | None:
    return None if per_mtok is None else int((per_mtok / 1_000_000 * PICO).to_integral_value())


def discount_micro(percent: Decimal | None) -> int | None:
    """A discount in millionths of a percent: costs are discounted in integers, the same everywhere."""
    return None if percent is None else int((percent * 1_000_000).to_integral_value())


def list_price_table(keys: list[Key]) -> pa.Table:
    """genai-prices' unit prices for each key it knows (keys it does not know are left out: unpriced)."""
    found = [(key, answer) for key, answer in unit_prices_many(keys).items() if answer is not None]
    def column(get):  # type: ignore[no-untyped-def]
        return [get(key, prices, fallback) for key, (prices, fallback) in found]
    return pa.table({
        "provider": column(lambda k, p, f: k[0]), "model": column(lambda k, p, f: k[1]),
        "tier": column(lambda k, p, f: k[3]), "slot": column(lambda k, p, f: k[2]),
        "p_input": column(lambda k, p, f: p.input), "p_cache_read": column(lambda k, p, f: p.cache_read),
        "p_cache_write": column(lambda k, p, f: p.cache_write),
        "p_cache_write_1h": column(lambda k, p, f: getattr(p, "cache_write_1h", p.cache_write)),
        "p_output": column(lambda k, p, f: p.output), "p_request": column(lambda k, p, f: getattr(p, "request", 0)),
        "threshold": column(lambda k, p, f: p.tier_threshold),
        "fallback": column(lambda k, p, f: "service_tier" if f else None),
    }, schema=LIST_SCHEMA)


def version_table(versions: list[dict[str, Any]]) -> pa.Table:
    """The tenant's versions as rows of VERSION_SCHEMA (a custom price has one cache-write rate)."""
    return pa.table({
        "provider": [v["provider"] for v in versions], "model": [v["model"] for v in versions],
        "effective_from": [v["effective_from"] for v in versions],
        "effective_to": [v["effective_to"] for v in versions], "version": [v["version"] for v in versions],
        "c_input": [_per_token(v["input_per_mtok"]) for v in versions],
        "c_cache_read": [_per_token(v["cached_input_per_mtok"]) for v in versions],
        "c_cache_write": [_per_token(v["cache_write_per_mtok"]) for v in versions],
        "c_output": [_per_token(v["output_per_mtok"]) for v in versions],
        "discount_micro": [discount_micro(v["discount_percent"]) for v in versions],
    }, schema=VERSION_SCHEMA)


def exact_costs(rows: list[tuple[Any, ...]]) -> pa.Table:
    """List costs of events above a tiered model's threshold: (id, provider, model, slot, tier, input,
    cached, cache_write, cache_write_1h, output) → genai-prices' exact answer, in pico-dollars."""
    ids, picos = [], []
    for event_id, provider, model, slot, tier, inp, cached, write, write_1h, out in rows:
        extra = {"cache_write_1h_tokens": write_1h} if write_1h else {}
        priced = price_event(provider=provider, model=model, slot=slot, service_tier=tier, input_tokens=inp,
                             cached_input_tokens=cached, cache_write_tokens=write, output_tokens=out, **extra)
        ids.append(event_id)
        picos.append(priced.cost_pico)
    return pa.table({"id": ids, "exact_pico": picos}, schema=EXACT_SCHEMA)


@dataclass(frozen=True)
class PriceTables:
    """Everything the store needs to price a scope of events with what is in force now."""

    list_prices: pa.Table
    versions: pa.Table
    snapshot_version: str


def price_tables(keys: list[Key], versions: list[dict[str, Any]]) -> PriceTables:
    return PriceTables(list_price_table(keys), version_table(versions), snapshot_version())


# -- answers -------------------------------------------------------------------------------------------
ZERO = Decimal(0)


def preview_answer(groups: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold per-(provider, model, day) sums into the preview's answer: totals, by_model, by_day."""
    totals = {"events": 0, "changed_events": 0, "newly_priced_events": 0, "current_cost_usd": ZERO,
              "new_cost_usd": ZERO}
    by_model: dict[tuple[str, str], dict[str, Any]] = {}
    by_day: dict[date, dict[str, Any]] = {}
    for g in groups:
        current, new = Decimal(g["current_cost_usd"] or 0), Decimal(g["new_cost_usd"] or 0)
        for name in ("events", "changed_events", "newly_priced_events"):
            totals[name] += int(g[name])
        totals["current_cost_usd"] += current
        totals["new_cost_usd"] += new
        model = by_model.setdefault((g["provider"], g["model"]), {
            "provider": g["provider"], "model": g["model"], "current_cost_usd": ZERO, "new_cost_usd": ZERO,
            "events": 0})
        model["current_cost_usd"] += current
        model["new_cost_usd"] += new
        model["events"] += int(g["events"])
        day = g["day"].date() if isinstance(g["day"], datetime) else g["day"]
        entry = by_day.setdefault(day, {"day": day, "current_cost_usd": ZERO, "new_cost_usd": ZERO})
        entry["current_cost_usd"] += current
        entry["new_cost_usd"] += new
    return {**totals, "difference_usd": totals["new_cost_usd"] - totals["current_cost_usd"],
            "by_model": sorted(by_model.values(), key=lambda m: (m["provider"], m["model"])),
            "by_day": [by_day[d] for d in sorted(by_day)]}

