"""api/cache_savings.py, the pure core: the same call priced as if nothing came from the cache, less the
call as it was, with the pricing its cost uses (checked against genai-prices itself and by hand)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from genai_prices import Usage, calc_price

from api.cache_savings import savings_column, savings_pico
from api.ingest import _epoch_us, _prices
from api.pricing import CustomPrice, Timeline

WHEN = datetime(2026, 11, 5, 9, 15, tzinfo=UTC)


def saving(event: dict, custom: dict | None = None) -> Decimal:
    [pico] = savings_pico([event], lambda some: _prices(some, [_epoch_us(e["timestamp"]) for e in some], custom))
    return Decimal(pico) / 10**12


def event(**fields: object) -> dict:
    return {"timestamp": WHEN, "provider": "anthropic", "model": "claude-sonnet-4-20250514", "input_tokens": 0,
            "cached_input_tokens": 0, "cache_write_tokens": 0, "output_tokens": 10, **fields}


def genai(usage: Usage) -> Decimal:
    return calc_price(usage, "claude-sonnet-4-20250514", provider_id="anthropic", genai_request_timestamp=WHEN).total_price


def test_above_a_price_tier_the_saving_is_genai_prices_own_difference() -> None:
    # 250k input tokens: above Sonnet 4's 200k tier, where every input rate is higher
    call = event(input_tokens=250_000, cached_input_tokens=150_000, cache_write_tokens=20_000)
    uncached = genai(Usage(input_tokens=250_000, cache_write_tokens=20_000, output_tokens=10))
    actual = genai(Usage(input_tokens=250_000, cache_read_tokens=150_000, cache_write_tokens=20_000, output_tokens=10))
    assert saving(call) == uncached - actual > 0


def test_a_custom_price_saves_at_its_own_rates_and_writes_are_not_subtracted() -> None:
    custom = {("anthropic", "claude-sonnet-4-20250514"): Timeline.of([CustomPrice.per_mtok(
        version="v1", effective_from_us=0, input_per_mtok=Decimal("3"), cached_input_per_mtok=Decimal("0.3"),
        cache_write_per_mtok=Decimal("3.75"), output_per_mtok=Decimal("15"))])}
    call = event(input_tokens=10_000, cached_input_tokens=4_000, cache_write_tokens=5_000)
    assert saving(call, custom) == 4_000 * Decimal("2.7") / 1_000_000


def test_no_cache_reads_or_no_price_save_zero_and_a_client_cost_does_not_hide_the_saving() -> None:
    assert saving(event(input_tokens=5_000, cache_write_tokens=5_000)) == 0
    assert saving(event(model="no-such-model", input_tokens=5_000, cached_input_tokens=4_000)) == 0
    with_client_cost = event(input_tokens=5_000, cached_input_tokens=4_000, cost_usd=Decimal("1"))
    assert saving(with_client_cost) == saving({**with_client_cost, "cost_usd": None}) > 0


def test_the_column_is_exact() -> None:
    column = savings_column([0, 123_456_789, 1])
    assert column.to_pylist() == [Decimal("0E-12"), Decimal("0.000123456789"), Decimal("0.000000000001")]
    assert savings_column([0, 0]).to_pylist() == [Decimal(0), Decimal(0)]
