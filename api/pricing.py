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
from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import genai_prices
from genai_prices import Usage, calc_price, data_snapshot
from genai_prices.types import TieredPrices, TimeOfDateConstraint

from api.price_data import snapshot_version

PRICING_SOURCE = "genai-prices"
PRICING_VERSION = genai_prices.__version__  # the bundled snapshot's; see current_version()
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
    fallback: str | None = None  # "service_tier": the tier had no rate, the standard one was used


UNPRICED = Priced(None, "unpriced", None, None)


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


_seen_snapshot: list[object] = [None]


def current_version() -> str:
    """The version of the price data in force. When genai-prices' snapshot was replaced (a prices file,
    an UpdatePrices fetch), the cached unit prices are dropped first: one identity check per batch."""
    snapshot = data_snapshot.get_snapshot()
    if snapshot is not _seen_snapshot[0]:
        unit_prices.cache_clear()
        tier_fallback.cache_clear()
        _seen_snapshot[0] = snapshot
    return snapshot_version(snapshot)


@lru_cache(maxsize=65_536)
def tier_fallback(provider: str, model: str, slot: int, tier: str | None) -> str | None:
    """"service_tier" when the call's tier has no rate of its own at that time (priced at the standard
    rate instead), else None."""
    if not tier or tier in STANDARD_TIERS:
        return None
    resolved = _model_price(provider, model, slot, tier)
    return "service_tier" if resolved is not None and resolved[1] else None


def price_event(*, provider: str, model: str, slot: int, service_tier: str | None, input_tokens: int,
                cached_input_tokens: int, cache_write_tokens: int, output_tokens: int,
                cache_write_1h_tokens: int = 0) -> Priced:
    """Cost of one call started in `slot` (epoch seconds // SLOT_SECONDS). No tokens → exactly $0, whatever the model;
    a model genai-prices does not know → unpriced (never $0)."""
    if input_tokens == 0 and output_tokens == 0:
        return Priced(0, "priced", PRICING_SOURCE, current_version())
    prices = unit_prices(provider, model, slot, service_tier)
    if prices is None:
        return UNPRICED
    if prices.tier_threshold is not None and input_tokens > prices.tier_threshold:
        when = datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)
        exact = _calc(provider, model, when, service_tier,
                      _usage(input_tokens, cached_input_tokens, cache_write_tokens, output_tokens,
                             cache_write_1h_tokens))
        return Priced(_to_pico(exact.total_price), "priced", PRICING_SOURCE, current_version())
    cost = _linear(prices, input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, cache_write_1h_tokens)
    return Priced(cost, "priced", PRICING_SOURCE, current_version())


@dataclass(frozen=True)
class CustomPrice:
    """One version of a tenant's own price for a provider and model: per-token prices, or a discount off
    the list price (in millionths of a percent, so it is applied in integers)."""

    version: str
    effective_from_us: int  # epoch µs
    units: UnitPrices | None
    discount_micro: int | None = None

    @staticmethod
    def per_mtok(*, version: str, effective_from_us: int, input_per_mtok: Decimal, cached_input_per_mtok: Decimal,
                 cache_write_per_mtok: Decimal, output_per_mtok: Decimal) -> CustomPrice:
        per_token = lambda mtok: _to_pico(mtok / 1_000_000)  # noqa: E731
        # A custom price has one cache-write rate: 1-hour writes are charged at it too; no fee per call.
        write = per_token(cache_write_per_mtok)
        units = UnitPrices(input=per_token(input_per_mtok), cache_read=per_token(cached_input_per_mtok),
                           cache_write=write, cache_write_1h=write, output=per_token(output_per_mtok), request=0,
                           model_ref="custom", tier_threshold=None)
        return CustomPrice(version, effective_from_us, units)


def discounted(list_pico: int, discount_micro: int) -> int:
    """A list cost less a discount, rounded half up to the pico-dollar (re-pricing's SQL does the same)."""
    return (list_pico * (100_000_000 - discount_micro) + 50_000_000) // 100_000_000


@dataclass(frozen=True)
class Timeline:
    """A model's custom versions in effective_from order: the one in force at an instant is the last that
    started at or before it (so each runs until the next begins); before the first, the list price."""

    starts: tuple[int, ...]
    prices: tuple[CustomPrice, ...]

    @staticmethod
    def of(prices: list[CustomPrice]) -> Timeline:
        ordered = sorted(prices, key=lambda p: p.effective_from_us)
        return Timeline(tuple(p.effective_from_us for p in ordered), tuple(ordered))

    def at(self, epoch_us: int) -> CustomPrice | None:
        index = bisect_right(self.starts, epoch_us) - 1
        return self.prices[index] if index >= 0 else None


def _linear(prices: UnitPrices, inp: int, cached: int, write: int, out: int, write_1h: int = 0) -> int:
    return ((inp - cached - write) * prices.input + cached * prices.cache_read
            + (write - write_1h) * prices.cache_write + write_1h * prices.cache_write_1h
            + out * prices.output + prices.request)


SLOT_US = SLOT_SECONDS * 1_000_000
# provider, model, epoch µs, tier, input, cached, cache_write, output, cache_write_1h, client cost
Call = tuple[str, str, int, str | None, int, int, int, int, int, Decimal | None]


def _list_price(local: dict, call: Call, version: str) -> Priced:
    provider, model, micros, tier, inp, cached, write, out, write_1h, _ = call
    if inp == 0 and out == 0:
        return Priced(0, "priced", PRICING_SOURCE, version)
    key = (provider, model, micros // SLOT_US, tier)
    if key not in local:
        local[key] = unit_prices(*key), tier_fallback(*key)
    prices, fallback = local[key]
    if prices is None:
        return UNPRICED
    if prices.tier_threshold is not None and inp > prices.tier_threshold:
        cost = price_event(provider=provider, model=model, slot=key[2], service_tier=tier, input_tokens=inp,
                           cached_input_tokens=cached, cache_write_tokens=write, output_tokens=out,
                           cache_write_1h_tokens=write_1h).cost_pico
    else:
        cost = _linear(prices, inp, cached, write, out, write_1h)
    return Priced(cost, "priced", PRICING_SOURCE, version, fallback)


def price_batch(calls: list[Call], custom: dict[tuple[str, str], Timeline] | None = None) -> list[Priced]:
    """Price many calls (see Call).

    Precedence: the client's own cost; then the tenant's custom version in force at the call's time
    (per-token prices, or a discount off the list cost); then genai-prices. Same answers as price_event,
    with the unit-price lookup done once per distinct (provider, model, slot, tier).
    """
    version = current_version()
    local: dict[tuple[str, str, int, str | None], tuple[UnitPrices | None, str | None]] = {}
    answers: list[Priced] = []
    append = answers.append
    for call in calls:
        provider, model, micros, tier, inp, cached, write, out, write_1h, client_cost = call
        if client_cost is not None:
            append(client_price(client_cost))
            continue
        own = timeline.at(micros) if custom and (timeline := custom.get((provider, model))) else None
        if own is None:
            append(_list_price(local, call, version))
        elif own.units is not None:
            append(Priced(_linear(own.units, inp, cached, write, out, write_1h), "custom", "custom", own.version))
        else:
            listed = _list_price(local, call, version)
            append(UNPRICED if listed.cost_pico is None else Priced(
                discounted(listed.cost_pico, own.discount_micro or 0), "custom", "custom", own.version,
                listed.fallback))
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


# -- many slots at once (re-pricing, what-if) ------------------------------------------------------------
STANDARD_TIERS = frozenset({"default", "standard", "auto"})  # the standard rate by another name


def _model_price(provider: str, model: str, slot: int, tier: str | None) -> tuple[object, bool] | None:
    """(what the unit prices depend on, whether the tier fell back to the standard rate), or None when
    genai-prices knows no such model. ~10-80 µs, against ~400 µs for the unit prices themselves."""
    snapshot = data_snapshot.get_snapshot()
    try:
        found, info = snapshot.find_provider_model(model, None, PROVIDER_IDS.get(provider, provider), None)
    except LookupError:
        return None
    when = datetime.fromtimestamp(slot * SLOT_SECONDS, UTC)
    context = price_context(tier)
    own_model = any(info is m for m in found.models)  # a model borrowed from another provider has no variants
    resolved = info.get_prices(when, context if own_model else None)
    fallback = bool(context) and tier not in STANDARD_TIERS and not (own_model and any(
        (v.constraint is None or v.constraint.active(when)) and all(context.get(k) == x for k, x in v.when.items())
        for v in info.price_variants or ()))
    return (info.id, repr(sorted(resolved.__dict__.items()))), fallback


SLOTS_PER_DAY = 86_400 // SLOT_SECONDS


def _varies_within_a_day(provider: str, model: str) -> bool:
    """Whether any of the model's prices depends on the time of day (else only on the UTC date)."""
    try:
        _, info = data_snapshot.get_snapshot().find_provider_model(model, None, PROVIDER_IDS.get(provider, provider),
                                                                   None)
    except LookupError:
        return False
    conditions = [getattr(p, "constraint", None) for p in (info.prices if isinstance(info.prices, list) else [])]
    conditions += [v.constraint for v in info.price_variants or ()]
    return any(isinstance(c, TimeOfDateConstraint) for c in conditions)


def unit_prices_many(keys: list[tuple[str, str, int, str | None]]
                     ) -> dict[tuple[str, str, int, str | None], tuple[UnitPrices, bool] | None]:
    """Unit prices (and the tier-fallback flag) for many (provider, model, slot, tier) keys, resolved once
    per UTC day for models whose prices do not change within a day (genai-prices' start dates are UTC
    dates), once per slot for the few with time-of-day prices, and once per distinct price in force."""
    intraday: dict[tuple[str, str], bool] = {}
    by_slot: dict[tuple[str, str, int, str | None], tuple[UnitPrices, bool] | None] = {}
    by_price: dict[object, UnitPrices | None] = {}
    answers: dict[tuple[str, str, int, str | None], tuple[UnitPrices, bool] | None] = {}
    for key in keys:
        provider, model, slot, tier = key
        if (provider, model) not in intraday:
            intraday[(provider, model)] = _varies_within_a_day(provider, model)
        probe = key if intraday[(provider, model)] else (provider, model, slot - slot % SLOTS_PER_DAY, tier)
        if probe not in by_slot:
            resolved = _model_price(*probe)
            if resolved is None:
                by_slot[probe] = None
            else:
                fingerprint, fallback = resolved
                if fingerprint not in by_price:
                    by_price[fingerprint] = unit_prices(*probe)
                prices = by_price[fingerprint]
                by_slot[probe] = (prices, fallback) if prices is not None else None
        answers[key] = by_slot[probe]
    return answers
