"""Re-pricing stored events: preview, apply (guarded, atomic, beside live ingest), history."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from api.pricing import reference_cost
from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import BACKENDS, ApiServer

MINI, NANO = "gpt-4o-mini-2024-07-18", "gpt-4.1-nano-2025-04-14"
PRICES_FILE = Path(__file__).parent.parent.parent / "fixtures" / "prices" / "data.json"
DAY0 = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=4)


def send(api: ApiServer, user: TestUser, events: list[dict]) -> None:
    for start in range(0, len(events), 500):
        answer = post_events(api, user, events[start:start + 500])
        assert answer.json()["accepted"] == len(events[start:start + 500]), answer.text


def traffic(day: int, model: str, calls: int, **fields: object) -> list[dict]:
    return [make_event(model=model, timestamp=(DAY0 + timedelta(days=day, minutes=11 * i)).isoformat(),
                       input_tokens=1000 + i, output_tokens=100 + i, **fields) for i in range(calls)]


def listed(events: list[dict]) -> Decimal:
    return sum((reference_cost(provider=e["provider"], model=e["model"], timestamp=datetime.fromisoformat(e["timestamp"]),
                               input_tokens=e["input_tokens"], cached_input_tokens=e.get("cached_input_tokens", 0),
                               output_tokens=e["output_tokens"]) for e in events), Decimal(0))


def scope(**extra: object) -> dict:
    return {"start": DAY0.isoformat(), "end": (DAY0 + timedelta(days=4)).isoformat(), **extra}


def preview(api: ApiServer, user: TestUser, **extra: object) -> dict:
    answer = httpx.post(f"{api.url}/v1/reprice/preview", json=scope(**extra), headers=user.headers, timeout=60)
    assert answer.status_code == 200, answer.text
    return answer.json()


def apply(api: ApiServer, user: TestUser, expected: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{api.url}/v1/reprice", json=scope(expected_new_cost_usd=expected, **extra),
                      headers=user.headers, timeout=120)


def summary(api: ApiServer, user: TestUser, **params: str) -> dict:
    return httpx.get(f"{api.url}/v1/analytics/summary", params={"start": DAY0.isoformat(), **params},
                     headers=user.headers).json()


def test_a_back_dated_price_re_prices_exactly_the_events_after_it(api: ApiServer, user: TestUser) -> None:
    old_mini, new_mini, nano = traffic(0, MINI, 5), traffic(2, MINI, 6), traffic(2, NANO, 4)
    send(api, user, old_mini + new_mini + nano)
    before = Decimal(summary(api, user)["total_cost_usd"])
    assert before == listed(old_mini + new_mini + nano)
    version = httpx.put(f"{api.url}/v1/prices/openai/{MINI}", headers=user.headers, json={
        "input_per_mtok": "0.1", "output_per_mtok": "0.2", "effective_from": (DAY0 + timedelta(days=1)).isoformat()
    }).json()["version"]
    assert Decimal(summary(api, user)["total_cost_usd"]) == before  # setting a price changes no stored cost
    time.sleep(1.5)  # let the roll-up take the events in: re-pricing must correct the hourly totals too

    custom = sum((Decimal(e["input_tokens"]) * Decimal("0.1") + e["output_tokens"] * Decimal("0.2")) / 1_000_000
                 for e in new_mini)
    expected = listed(old_mini + nano) + custom
    shown = preview(api, user)
    assert (shown["events"], shown["changed_events"], shown["newly_priced_events"]) == (15, 6, 0)
    assert Decimal(shown["current_cost_usd"]) == before
    assert Decimal(shown["new_cost_usd"]) == expected
    assert Decimal(shown["difference_usd"]) == expected - before
    by_model = {m["model"]: m for m in shown["by_model"]}
    assert Decimal(by_model[NANO]["new_cost_usd"]) == Decimal(by_model[NANO]["current_cost_usd"])
    assert [Decimal(d["new_cost_usd"]) - Decimal(d["current_cost_usd"]) != 0 for d in shown["by_day"]] == [False, True]

    answer = apply(api, user, shown["new_cost_usd"])
    assert answer.status_code == 200, answer.text
    run = answer.json()
    assert (run["changed_events"], Decimal(run["new_cost_usd"])) == (6, expected)
    assert Decimal(summary(api, user)["total_cost_usd"]) == expected  # at once, roll-up included
    days = httpx.get(f"{api.url}/v1/analytics/timeseries", params={"start": DAY0.isoformat(), "interval": "day"},
                     headers=user.headers).json()["data"]
    assert sum(Decimal(d["cost_usd"]) for d in days) == expected
    export = httpx.get(f"{api.url}/v1/events/export", params={"model": MINI}, headers=user.headers).text
    assert export.count(version) == 6
    again = preview(api, user)
    assert (again["changed_events"], again["new_cost_usd"]) == (0, again["current_cost_usd"])
    [listed_run] = httpx.get(f"{api.url}/v1/reprice/history", headers=user.headers).json()["data"]
    assert listed_run["id"] == run["id"] and listed_run["filters"] == {"provider": None, "model": None,
                                                                       "customer_id": None}


def test_a_stale_preview_is_refused_and_changes_nothing(api: ApiServer, user: TestUser) -> None:
    send(api, user, traffic(1, MINI, 3))
    httpx.put(f"{api.url}/v1/prices/openai/{MINI}", headers=user.headers,
              json={"discount_percent": "50", "effective_from": DAY0.isoformat()})
    shown = preview(api, user, model=MINI)
    httpx.put(f"{api.url}/v1/prices/openai/{MINI}", headers=user.headers,
              json={"discount_percent": "40", "effective_from": DAY0.isoformat()})
    answer = apply(api, user, shown["new_cost_usd"], model=MINI)
    assert answer.status_code == 409 and "preview again" in answer.json()["detail"]
    assert Decimal(summary(api, user)["total_cost_usd"]) == Decimal(shown["current_cost_usd"])
    assert httpx.get(f"{api.url}/v1/reprice/history", headers=user.headers).json()["data"] == []
    fresh = preview(api, user, model=MINI)
    assert apply(api, user, fresh["new_cost_usd"], model=MINI).status_code == 200
    assert Decimal(summary(api, user)["total_cost_usd"]) == Decimal(fresh["current_cost_usd"]) * Decimal("0.6")


def test_unknown_body_fields_are_refused(api: ApiServer, user: TestUser) -> None:
    answer = httpx.post(f"{api.url}/v1/reprice/preview", json=scope(modell=MINI), headers=user.headers)
    assert answer.status_code == 422 and "modell" in answer.text
    backwards = {"start": DAY0.isoformat(), "end": (DAY0 - timedelta(days=1)).isoformat()}
    assert httpx.post(f"{api.url}/v1/reprice/preview", json=backwards, headers=user.headers).status_code == 422


def test_ingest_flows_during_an_apply_and_nothing_is_lost_or_priced_twice(api: ApiServer) -> None:
    user = create_user(api)
    history = [e for day in range(4) for e in traffic(day, MINI, 120)] * 1
    send(api, user, history)
    time.sleep(1.5)
    httpx.put(f"{api.url}/v1/prices/openai/{MINI}", headers=user.headers,
              json={"input_per_mtok": "1", "output_per_mtok": "1", "effective_from": DAY0.isoformat()})
    shown = preview(api, user)
    live: list[dict] = []
    stop = threading.Event()

    def ingest() -> None:  # today's traffic, outside the re-priced range, while the apply runs
        while not stop.is_set():
            batch = [make_event(model=NANO) for _ in range(50)]
            assert post_events(api, user, batch).json()["accepted"] == 50
            live.extend(batch)

    sender = threading.Thread(target=ingest)
    sender.start()
    try:
        time.sleep(0.3)
        answer = apply(api, user, shown["new_cost_usd"])
    finally:
        stop.set()
        sender.join()
    assert answer.status_code == 200, answer.text
    assert answer.json()["changed_events"] == len(history)
    time.sleep(1.5)
    repriced = sum((Decimal(e["input_tokens"] + e["output_tokens"])) / 1_000_000 for e in history)
    assert Decimal(summary(api, user, end=(DAY0 + timedelta(days=4)).isoformat())["total_cost_usd"]) == repriced
    everything = summary(api, user)
    assert everything["calls"] == len(history) + len(live)
    assert Decimal(everything["total_cost_usd"]) == repriced + listed(live)
    rows = httpx.get(f"{api.url}/v1/events/export", headers=user.headers).text.strip().splitlines()
    assert len(rows) - 1 == len(history) + len(live)


def test_a_tiered_model_is_re_priced_exactly_above_its_threshold(api: ApiServer, user: TestUser) -> None:
    model = "claude-sonnet-4-5-20250929"
    events = [make_event(provider="anthropic", model=model, input_tokens=inp, cached_input_tokens=cached,
                         output_tokens=2_000, timestamp=(DAY0 + timedelta(hours=i + 1)).isoformat())
              for i, (inp, cached) in enumerate([(300_000, 100_000), (150_000, 0), (250_000, 0)])]
    send(api, user, events)
    httpx.put(f"{api.url}/v1/prices/anthropic/{model}", headers=user.headers,
              json={"discount_percent": "12.5", "effective_from": DAY0.isoformat()})
    shown = preview(api, user)
    assert apply(api, user, shown["new_cost_usd"]).status_code == 200
    expected = listed(events) * Decimal("0.875")
    assert Decimal(summary(api, user)["total_cost_usd"]) == expected.quantize(Decimal("1e-12"))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_newer_price_file_turns_unpriced_events_into_priced(tmp_path: Path, backend: str) -> None:
    first = ApiServer(tmp_path / "api", backend=backend).start()
    try:
        user = create_user(first)
        events = traffic(1, "acme-brand-new", 4, cached_input_tokens=200)
        send(first, user, events)
        assert summary(first, user)["unpriced_calls"] == 4
    finally:
        first.stop()
    second = ApiServer(tmp_path / "api", backend=backend, database_url=first.database_url,
                       admin_token=first.admin_token, secret_key=first.secret_key,
                       extra_env={"LLMOBSERVE_PRICES_FILE": str(PRICES_FILE)}).start()
    try:
        shown = preview(second, user)
        assert (shown["changed_events"], shown["newly_priced_events"]) == (4, 4)
        assert apply(second, user, shown["new_cost_usd"]).status_code == 200
        after = summary(second, user)
        assert after["unpriced_calls"] == 0
        expected = sum(((e["input_tokens"] - 200) * Decimal("1.5") + 200 * Decimal("0.5")
                        + e["output_tokens"] * Decimal(6)) / 1_000_000 for e in events)
        assert Decimal(after["total_cost_usd"]) == expected
        catalog = httpx.get(f"{second.url}/v1/prices/catalog", params={"q": "acme"}, headers=user.headers).json()
        assert catalog["snapshot_version"].startswith("data sha256:")
        assert [m["model"] for m in catalog["data"]] == ["acme-brand-new"]
        export = httpx.get(f"{second.url}/v1/events/export", headers=user.headers).text
        assert export.count(catalog["snapshot_version"]) == 4  # events record the snapshot's version
    finally:
        second.stop()


def test_a_bad_price_file_stops_the_start_with_a_reason(tmp_path: Path) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text('{"not": "a list"}')
    server = ApiServer(tmp_path / "api", extra_env={"LLMOBSERVE_PRICES_FILE": str(bad)})
    with pytest.raises(RuntimeError):
        server.start()
    server.stop()
    assert "is not a genai-prices data file" in server.log()


def test_re_pricing_with_unchanged_prices_changes_nothing_whatever_the_shape(api: ApiServer, user: TestUser) -> None:
    """The SQL re-pricing and ingest's pricing agree to the pico-dollar: fees per call, batch and priority
    tiers, 1-hour cache writes, tiered long contexts, unknown models, no tokens at all."""
    at = lambda hours: (DAY0 + timedelta(hours=hours)).isoformat()  # noqa: E731
    shapes = [
        make_event(provider="perplexity", model="sonar", input_tokens=1200, output_tokens=300, timestamp=at(1)),
        make_event(model="gpt-4o-mini-2024-07-18", service_tier="batch", timestamp=at(2)),
        make_event(model="gpt-5-2025-08-07", service_tier="priority", timestamp=at(3)),
        make_event(provider="anthropic", model="claude-sonnet-4-5-20250929", input_tokens=260_000,
                   cached_input_tokens=10_000, cache_write_tokens=20_000, cache_write_1h_tokens=5_000,
                   output_tokens=900, timestamp=at(4)),
        make_event(provider="anthropic", model="claude-3-5-haiku-20241022", input_tokens=5000, cache_write_tokens=3000,
                   cache_write_1h_tokens=3000, output_tokens=50, timestamp=at(5)),
        make_event(model="in-house-llm", timestamp=at(6)),
        make_event(model="in-house-llm", input_tokens=0, output_tokens=0, timestamp=at(7)),
        make_event(cost_usd="0.5", timestamp=at(8)),
    ]
    send(api, user, shapes)
    shown = preview(api, user)
    assert (shown["events"], shown["changed_events"]) == (len(shapes), 0), shown
    assert shown["new_cost_usd"] == shown["current_cost_usd"]


def test_a_re_price_moves_the_by_tag_totals_too(api: ApiServer, user: TestUser) -> None:
    """The label roll-up (by=tag:<key>, by=run_name) is recounted with usage_hourly: a by-tag breakdown
    sums to the re-priced total at once."""
    import time

    events = traffic(0, "house-model-tags", 6, tags={"team": "search"}) + traffic(1, "house-model-tags", 4)
    send(api, user, events)
    time.sleep(1.5)  # rolled up, so the re-price must recount the rolled-up hours
    answer = httpx.put(f"{api.url}/v1/prices/openai/house-model-tags", headers=user.headers,
                       json={"input_per_mtok": "2", "output_per_mtok": "8", "effective_from": DAY0.isoformat()})
    assert answer.status_code == 200, answer.text
    expected = preview(api, user, model="house-model-tags")["new_cost_usd"]
    assert apply(api, user, expected, model="house-model-tags").status_code == 200
    rows = httpx.get(f"{api.url}/v1/analytics/breakdown", headers=user.headers,
                     params={"by": "tag:team", "model": "house-model-tags"}).json()["data"]
    by_hand = {key: sum((Decimal(e["input_tokens"]) * 2 + Decimal(e["output_tokens"]) * 8) / 1_000_000
                        for e in events if (e.get("tags") or {}).get("team") == key) for key in ("search", None)}
    assert {r["key"]: Decimal(r["cost_usd"]) for r in rows} == by_hand
    assert sum(by_hand.values()) == Decimal(expected)


def test_a_scope_spanning_centuries_re_prices_its_few_days_at_once(api: ApiServer, user: TestUser) -> None:
    """The apply walks the days that hold calls, not every day of the scope (a fuzzed scope of 8,000
    years once held the writer for minutes, and every request behind it)."""
    send(api, user, traffic(1, MINI, 3) + traffic(3, MINI, 2))
    httpx.put(f"{api.url}/v1/prices/openai/{MINI}", headers=user.headers,
              json={"discount_percent": "50", "effective_from": DAY0.isoformat()}).raise_for_status()
    wide = {"start": "1000-01-01T00:00:00Z", "end": "9000-01-01T00:00:00Z", "model": MINI}
    shown = httpx.post(f"{api.url}/v1/reprice/preview", json=wide, headers=user.headers, timeout=60).json()
    started = time.monotonic()
    answer = httpx.post(f"{api.url}/v1/reprice", json={**wide, "expected_new_cost_usd": shown["new_cost_usd"]},
                        headers=user.headers, timeout=120)
    assert answer.status_code == 200, answer.text
    assert time.monotonic() - started < 20
    assert answer.json()["changed_events"] == 5
    assert Decimal(answer.json()["new_cost_usd"]) == Decimal(shown["current_cost_usd"]) * Decimal("0.5")
