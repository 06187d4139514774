"""Prices usage with genai-prices, at each event's own timestamp and service tier.

`calc_price` costs ~80 µs, too slow for every event at ingest rates, so unit prices are resolved once
per (provider, model, 15-minute slot, service tier) and applied to whole batches as integer
pico-dollars (1e-12 USD): exact for every price with up to six decimals per million tokens. A fee per
request (Perplexity's per-1,000-requests price) is resolved apart and charged once per call, never per
token. Models whose price has tiers (a different rate above N input tokens) are priced exactly per event
above the first threshold. Pure functions: no FastAPI or DuckDB here.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import genai_prices
from genai_prices import Usage, calc_price
from genai_prices.types import TieredPrices

PRICING_SOURCE = "genai-prices"
PRICING_VERSION = genai_prices.__version__
PICO = Decimal(10) ** 12
# The most one event may cost: the store holds every cost up to here exactly (DESIGN §15).
MAX_COST_PICO = 10**6 * 10**12
SLOT_SECONDS = 15 * 60  # fine enough for time-of-day prices (e.g. off-peak windows starting on the half hour)

# Our provider labels that genai-prices names differently.
PROVIDER_IDS = {"azure": "azure", "together": "together", "fireworks": "fireworks", "gemini": "google"}


@dataclass(frozen=True)
class UnitPrices:
    """Pico-dollars per token for each bucket, plus where linear pricing stops holding."""

    input: int
    cache_read: int
    cache_write: int
    cache_write_1h: int
    output: int
    request: int  # a fee per call (genai-prices' requests_kcount / 1000), 0 for most models
    model_ref: str
    tier_threshold: int | None  # above this many input tokens, price the event exactly


@dataclass(frozen=True)
class Priced:
    cost_pico: int | None
    status: str  # priced | unpriced | client | custom
    source: str | None
    version: str | None


UNPRICED = Priced(None, "unpriced", None, None)
FREE = Priced(0, "priced", PRICING_SOURCE, PRICING_VERSION)


def _usage(input_tokens: int, cached: int, cache_write: int, output: int, cache_write_1h: int = 0) -> Usage:
    """genai-prices' usage: cache_write_tokens is every cache write, cache_write_1h_tokens the 1-hour part."""
    return Usage(input_tokens=input_tokens, cache_read_tokens=cached, cache_write_tokens=cache_write,
                 cache_write_1h_tokens=cache_write_1h, output_tokens=output)


def price_context(tier: str | None) -> dict[str, str] | None:
    """genai-prices keys the batch discount as processing=batch; every other tier as service_tier."""
    if not tier:
        return None
    return {"processing": "batch"} if tier == "batch" else {"service_tier": tier}


def _calc(provider: str, model: str, when: datetime, tier: str | None, usage: Usage):  # type: ignore[no-untyped-def]
    context = price_context(tier)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calc_price(usage, model, provider_id=PROVIDER_IDS.get(provider, provider),
                          genai_request_timestamp=when, price_context=context)


def _to_pico(value: Decimal) -> int:
    return int((value * PICO).to_integral_value())


@lru_cache(maxsize=65_536)
def unit_prices(provider: str, model: str, slot: int, tier: str | None) -> UnitPrices | None:
    """Unit prices for one slot, or None when genai-prices knows no price for this model."""
    when = datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)
    try:
        base = _calc(provider, model, when, tier, _usage(0, 0, 0, 0))
    except LookupError:
        return None
    # Each bucket's price is one token's cost less the zero-token call's (which is the per-request fee).
    fee = base.total_price
    per_token = lambda *usage: _to_pico(_calc(provider, model, when, tier, _usage(*usage)).total_price - fee)  # noqa: E731
    thresholds = [t.start for p in base.model_price.__dict__.values() if isinstance(p, TieredPrices) for t in p.tiers]
    return UnitPrices(
        input=per_token(1, 0, 0, 0), cache_read=per_token(1, 1, 0, 0), cache_write=per_token(1, 0, 1, 0),
        cache_write_1h=per_token(1, 0, 1, 0, 1), output=per_token(0, 0, 0, 1), request=_to_pico(fee),
        model_ref=base.model.id, tier_threshold=min(thresholds) if thresholds else None,
    )


def price_event(*, provider: str, model: str, slot: int, service_tier: str | None, input_tokens: int,
                cached_input_tokens: int, cache_write_tokens: int, output_tokens: int,
                cache_write_1h_tokens: int = 0) -> Priced:
    """Cost of one call started in `slot` (epoch seconds // SLOT_SECONDS). No tokens → exactly $0, whatever the model;
    a model genai-prices does not know → unpriced (never $0)."""
    if input_tokens == 0 and output_tokens == 0:
        return FREE
    prices = unit_prices(provider, model, slot, service_tier)
    if prices is None:
        return UNPRICED
    if prices.tier_threshold is not None and input_tokens > prices.tier_threshold:
        when = datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)
        exact = _calc(provider, model, when, service_tier,
                      _usage(input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                             cache_write_1h_tokens))
        return Priced(_to_pico(exact.total_price), "priced", PRICING_SOURCE, PRICING_VERSION)
    cost = _linear(prices, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cache_write_1h_tokens)
    return Priced(cost, "priced", PRICING_SOURCE, PRICING_VERSION)


@dataclass(frozen=True)
class CustomPrice:
    """A tenant's own price for one provider and model, in USD per million tokens."""

    input_per_mtok: Decimal
    cached_input_per_mtok: Decimal
    cache_write_per_mtok: Decimal
    output_per_mtok: Decimal
    version: str  # when it was set, so each event records which price it got

    def unit_prices(self) -> UnitPrices:
        per_token = lambda mtok: _to_pico(mtok / 1_000_000)  # noqa: E731
        # A custom price has one cache-write rate: 1-hour writes are charged at it too.
        write = per_token(self.cache_write_per_mtok)
        return UnitPrices(input=per_token(self.input_per_mtok), cache_read=per_token(self.cached_input_per_mtok),
                          cache_write=write, cache_write_1h=write, output=per_token(self.output_per_mtok),
                          request=0, model_ref="custom", tier_threshold=None)


def _linear(prices: UnitPrices, inp: int, cached: int, write: int, out: int, write_1h: int = 0) -> int:
    return ((inp - cached - write) * prices.input + cached * prices.cache_read
            + (write - write_1h) * prices.cache_write + write_1h * prices.cache_write_1h
            + out * prices.output + prices.request)


Call = tuple[str, str, int, str | None, int, int, int, int, int, Decimal | None]


def price_batch(calls: list[Call], custom: dict[tuple[str, str], CustomPrice] | None = None) -> list[Priced]:
    """Price many calls: (provider, model, slot, tier, input, cached, cache_write, output, cache_write_1h,
    client cost).

    Precedence: the client's own cost, then the tenant's custom price for (provider, model), then
    genai-prices. Same answers as price_event, with the unit-price lookup done once per distinct key.
    """
    local: dict[tuple[str, str, int, str | None], UnitPrices | None] = {}
    custom_units = {key: (price.unit_prices(), price.version) for key, price in (custom or {}).items()}
    answers: list[Priced] = []
    append = answers.append
    for provider, model, slot, tier, inp, cached, write, out, write_1h, client_cost in calls:
        if client_cost is not None:
            append(client_price(client_cost))
            continue
        own = custom_units.get((provider, model)) if custom_units else None
        if own is not None:
            append(Priced(_linear(own[0], inp, cached, write, out, write_1h), "custom", "custom", own[1]))
            continue
        if inp == 0 and out == 0:
            append(FREE)
            continue
        key = (provider, model, slot, tier)
        prices = local[key] if key in local else local.setdefault(key, unit_prices(*key))
        if prices is None:
            append(UNPRICED)
        elif prices.tier_threshold is not None and inp > prices.tier_threshold:
            append(price_event(provider=provider, model=model, slot=slot, service_tier=tier, input_tokens=inp,
                               cached_input_tokens=cached, cache_write_tokens=write, output_tokens=out,
                               cache_write_1h_tokens=write_1h))
        else:
            append(Priced(_linear(prices, inp, cached, write, out, write_1h), "priced", PRICING_SOURCE,
                          PRICING_VERSION))
    return answers


def client_price(cost_usd: Decimal) -> Priced:
    """The client sent its own cost (e.g. a negotiated price): keep it, and say so."""
    return Priced(_to_pico(cost_usd), "client", "client", None)


def reference_cost(*, provider: str, model: str, timestamp: datetime, service_tier: str | None = None,
                   input_tokens: int, cached_input_tokens: int = 0, cache_write_tokens: int = 0,
                   output_tokens: int = 0, cache_write_1h_tokens: int = 0) -> Decimal:
    """genai-prices' own answer for one call, for checking the fast path against."""
    when = timestamp if timestamp.tzinfo else timestamp.replace(tzinfo=UTC)
    return _calc(provider, model, when, service_tier,
                 _usage(input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                        cache_write_1h_tokens)).total_price
