"""cache_savings_usd in the summary and each model's breakdown row (DESIGN §13): the cache-read tokens
at the uncached input price, less what they cost; 0 (not null) where nothing was cached; cache writes
are a cost of their own and not subtracted. Checked against hand computations, on both stores, over
rolled-up hours and calls not rolled up yet."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal

import httpx
from genai_prices import Usage, calc_price

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer

MTOK = Decimal(1_000_000)
DAY = "2026-11-05T{:02d}:15:00+00:00"


def get(api: ApiServer, user: TestUser, path: str, **params: str) -> dict:
    answer = httpx.get(f"{api.url}{path}", headers=user.headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def by_model(api: ApiServer, user: TestUser) -> dict[str, Decimal]:
    rows = get(api, user, "/v1/analytics/breakdown", by="model")["data"]
    return {row["key"]: Decimal(row["cache_savings_usd"]) for row in rows}


def test_custom_prices_savings_by_hand(api: ApiServer) -> None:
    user = create_user(api)
    for model, prices in (("house-gpt", {"input_per_mtok": "2.00", "cached_input_per_mtok": "0.50",
                                         "cache_write_per_mtok": "0", "output_per_mtok": "8.00"}),
                          ("house-claude", {"input_per_mtok": "3.00", "cached_input_per_mtok": "0.30",
                                            "cache_write_per_mtok": "3.75", "output_per_mtok": "15.00"})):
        answer = httpx.put(f"{api.url}/v1/prices/openai/{model}", headers=user.headers,
                           json={**prices, "effective_from": "2026-11-01T00:00:00Z"})
        assert answer.status_code == 200, answer.text
    events = [
        make_event(model="house-gpt", timestamp=DAY.format(9), input_tokens=10_000, cached_input_tokens=4_000),
        make_event(model="house-gpt", timestamp=DAY.format(10), input_tokens=3_000, cached_input_tokens=1_000),
        # cache writes cost their premium (3.75 against 3.00 per Mtok), which is not subtracted here
        make_event(model="house-claude", timestamp=DAY.format(10), input_tokens=20_000, cached_input_tokens=5_000,
                   cache_write_tokens=8_000),
        make_event(model="house-claude", timestamp=DAY.format(11), input_tokens=500, cache_write_tokens=400),
        make_event(model="house-gpt", timestamp=DAY.format(11), input_tokens=900),  # nothing cached
    ]
    assert post_events(api, user, events[:3]).json()["accepted"] == 3
    time.sleep(1.5)  # the first ones are rolled up by now; the next ones may not be
    assert post_events(api, user, events[3:]).json()["accepted"] == 2
    gpt = (4_000 + 1_000) * (Decimal("2.00") - Decimal("0.50")) / MTOK  # $0.0075
    claude = 5_000 * (Decimal("3.00") - Decimal("0.30")) / MTOK  # $0.0135
    assert by_model(api, user) == {"house-gpt": gpt, "house-claude": claude}
    summary = get(api, user, "/v1/analytics/summary")
    assert Decimal(summary["cache_savings_usd"]) == gpt + claude == Decimal("0.021")
    # one hour only (a part of the roll-up), and a filter by model
    hour = get(api, user, "/v1/analytics/summary", start=DAY.format(10).replace("15", "00"),
               end=DAY.format(11).replace("15", "00"))
    assert Decimal(hour["cache_savings_usd"]) == 1_000 * Decimal("1.50") / MTOK + claude


def list_rates(provider: str, model: str, when: datetime) -> tuple[Decimal, Decimal]:
    """(uncached input, cache read) USD per Mtok from genai-prices' own data at that time."""
    price = lambda usage: calc_price(usage, model, provider_id=provider, genai_request_timestamp=when).total_price  # noqa: E731
    base = price(Usage())
    return (price(Usage(input_tokens=1_000_000)) - base,
            price(Usage(input_tokens=1_000_000, cache_read_tokens=1_000_000)) - base)


def test_list_price_savings_by_hand_and_zero_where_nothing_was_cached(api: ApiServer) -> None:
    user = create_user(api)
    when = datetime(2026, 11, 5, 9, 15, tzinfo=UTC)
    events = [
        make_event(timestamp=when.isoformat(), provider="openai", model="gpt-4o-mini-2024-07-18",
                   input_tokens=12_000, cached_input_tokens=10_240, output_tokens=50),
        make_event(timestamp=when.isoformat(), provider="anthropic", model="claude-3-5-haiku-20241022",
                   input_tokens=30_000, cached_input_tokens=20_000, cache_write_tokens=6_000, output_tokens=80),
        make_event(timestamp=when.isoformat(), provider="openai", model="gpt-4o-2024-08-06", input_tokens=700),
        make_event(timestamp=when.isoformat(), provider="openai", model="no-such-model", input_tokens=800,
                   cached_input_tokens=500),  # unpriced: no price, so no saving either (counted as unpriced)
    ]
    assert post_events(api, user, events).json()["accepted"] == 4
    mini_in, mini_cached = list_rates("openai", "gpt-4o-mini-2024-07-18", when)
    haiku_in, haiku_cached = list_rates("anthropic", "claude-3-5-haiku-20241022", when)
    assert mini_cached < mini_in and haiku_cached < haiku_in
    expected = {"gpt-4o-mini-2024-07-18": 10_240 * (mini_in - mini_cached) / MTOK,
                "claude-3-5-haiku-20241022": 20_000 * (haiku_in - haiku_cached) / MTOK,
                "gpt-4o-2024-08-06": Decimal(0), "no-such-model": Decimal(0)}
    rows = get(api, user, "/v1/analytics/breakdown", by="model")["data"]
    assert all(row["cache_savings_usd"] is not None for row in rows)
    assert {row["key"]: Decimal(row["cache_savings_usd"]) for row in rows} == expected
    assert Decimal(get(api, user, "/v1/analytics/summary")["cache_savings_usd"]) == sum(expected.values())


def test_a_tenant_with_no_cache_reads_saves_zero_not_null(api: ApiServer) -> None:
    user = create_user(api)
    assert get(api, user, "/v1/analytics/summary")["cache_savings_usd"] == "0.000000000000"
    post_events(api, user, [make_event()]).raise_for_status()
    assert Decimal(get(api, user, "/v1/analytics/summary")["cache_savings_usd"]) == 0
    assert [Decimal(r["cache_savings_usd"]) for r in get(api, user, "/v1/analytics/breakdown", by="model")["data"]] == [0]
