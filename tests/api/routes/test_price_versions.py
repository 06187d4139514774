"""Effective-dated custom prices: each event is priced with the version in force at its own timestamp."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from api.pricing import reference_cost
from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer

MODEL = "gpt-4o-mini-2024-07-18"


def put_price(api: ApiServer, user: TestUser, body: dict, model: str = MODEL) -> httpx.Response:
    return httpx.put(f"{api.url}/v1/prices/openai/{model}", headers=user.headers, json=body)


def event_at(api: ApiServer, user: TestUser, when: datetime, **fields: object) -> dict:
    run_id = f"run-{uuid.uuid4()}"
    sent = post_events(api, user, [make_event(run_id=run_id, timestamp=when.isoformat(), **fields)])
    assert sent.json()["accepted"] == 1, sent.text
    [event] = httpx.get(f"{api.url}/v1/runs/{run_id}", headers=user.headers).json()["events"]
    return event


def test_each_event_gets_the_version_in_force_at_its_time(api: ApiServer, user: TestUser) -> None:
    now = datetime.now(UTC)
    first = put_price(api, user, {"input_per_mtok": "1", "output_per_mtok": "2",
                                  "effective_from": (now - timedelta(days=10)).isoformat()}).json()
    second = put_price(api, user, {"input_per_mtok": "3", "output_per_mtok": "4",
                                   "effective_from": (now - timedelta(days=5)).isoformat()}).json()
    before = event_at(api, user, now - timedelta(days=20))
    in_first = event_at(api, user, now - timedelta(days=7))
    in_second = event_at(api, user, now - timedelta(hours=1))
    assert before["pricing_status"] == "priced"  # before the first version: the list price
    assert (in_first["pricing_status"], in_first["pricing_version"]) == ("custom", first["version"])
    assert Decimal(in_first["cost_usd"]) == (1000 * Decimal(1) + 100 * Decimal(2)) / 1_000_000
    assert (in_second["pricing_status"], in_second["pricing_version"]) == ("custom", second["version"])
    assert Decimal(in_second["cost_usd"]) == (1000 * Decimal(3) + 100 * Decimal(4)) / 1_000_000


def test_versions_list_with_their_end_and_an_out_of_order_version_splits_the_interval(
        api: ApiServer, user: TestUser) -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    put_price(api, user, {"input_per_mtok": "1", "output_per_mtok": "1", "effective_from": t0.isoformat()})
    put_price(api, user, {"input_per_mtok": "3", "output_per_mtok": "3",
                          "effective_from": (t0 + timedelta(days=20)).isoformat()})
    # set last, starts in between: it runs from its own start until the next version's
    put_price(api, user, {"discount_percent": "10", "effective_from": (t0 + timedelta(days=10)).isoformat()})
    versions = httpx.get(f"{api.url}/v1/prices", headers=user.headers).json()
    spans = [(v["effective_from"][:10], (v["effective_to"] or "")[:10], v["discount_percent"]) for v in versions]
    assert spans == [("2026-01-01", "2026-01-11", None), ("2026-01-11", "2026-01-21", "10.000000"),
                     ("2026-01-21", "", None)]
    # same effective_from again: replaced, under a new version name
    replaced = put_price(api, user, {"discount_percent": "20", "effective_from": (t0 + timedelta(days=10)).isoformat()})
    versions = httpx.get(f"{api.url}/v1/prices", headers=user.headers).json()
    assert len(versions) == 3 and versions[1]["version"] == replaced.json()["version"]
    assert versions[1]["discount_percent"] == "20.000000"


def test_a_discount_is_off_the_list_price_at_the_events_time(api: ApiServer, user: TestUser) -> None:
    when = datetime.now(UTC) - timedelta(minutes=5)
    put_price(api, user, {"discount_percent": "25", "effective_from": (when - timedelta(days=1)).isoformat()})
    event = event_at(api, user, when, input_tokens=10_000, cached_input_tokens=2_000, output_tokens=500)
    listed = reference_cost(provider="openai", model=MODEL, timestamp=when, input_tokens=10_000,
                            cached_input_tokens=2_000, output_tokens=500)
    assert event["pricing_status"] == "custom"
    assert Decimal(event["cost_usd"]) == listed * Decimal("0.75")


def test_unknown_and_contradictory_fields_are_refused(api: ApiServer, user: TestUser) -> None:
    typo = put_price(api, user, {"input_per_mtok": "1", "output_per_mtok": "1", "efective_from": "2026-01-01"})
    assert typo.status_code == 422 and "efective_from" in typo.text
    both = put_price(api, user, {"input_per_mtok": "1", "output_per_mtok": "1", "discount_percent": "5"})
    assert both.status_code == 422 and "not both" in both.text
    assert put_price(api, user, {"discount_percent": "150"}).status_code == 422
    assert put_price(api, user, {"output_per_mtok": "1"}).status_code == 422
    assert httpx.get(f"{api.url}/v1/prices", headers=user.headers).json() == []


def test_one_version_can_be_removed_by_name(api: ApiServer, user: TestUser) -> None:
    old = put_price(api, user, {"input_per_mtok": "1", "output_per_mtok": "1", "effective_from": "2026-01-01"}).json()
    put_price(api, user, {"input_per_mtok": "2", "output_per_mtok": "2", "effective_from": "2026-02-01"})
    path = f"{api.url}/v1/prices/openai/{MODEL}"
    assert httpx.delete(path, params={"version": old["version"]}, headers=user.headers).status_code == 200
    assert [v["effective_from"][:10] for v in httpx.get(f"{api.url}/v1/prices", headers=user.headers).json()] == [
        "2026-02-01"]
    assert httpx.delete(path, params={"version": old["version"]}, headers=user.headers).status_code == 404


def test_the_catalog_lists_known_models_with_list_prices(api: ApiServer, user: TestUser) -> None:
    answer = httpx.get(f"{api.url}/v1/prices/catalog", params={"provider": "openai", "q": "gpt-4o-mini"},
                       headers=user.headers)
    assert answer.status_code == 200
    body = answer.json()
    assert body["snapshot_version"]
    mini = next(m for m in body["data"] if m["model"] == "gpt-4o-mini")
    assert Decimal(mini["input_per_mtok"]) > 0 and Decimal(mini["output_per_mtok"]) > 0
    assert all(m["provider"] == "openai" for m in body["data"])
