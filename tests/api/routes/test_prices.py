"""A tenant's own prices override genai-prices, are marked `custom`, and stay the tenant's own."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx

from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer


def run_event(api: ApiServer, user: TestUser, **fields: object) -> dict:
    run_id = f"run-{uuid.uuid4()}"
    assert post_events(api, user, [make_event(run_id=run_id, **fields)]).status_code == 200
    [event] = httpx.get(f"{api.url}/v1/runs/{run_id}", headers=user.headers).json()["events"]
    return event


def test_a_custom_price_prices_a_model_genai_prices_does_not_know(api: ApiServer, user: TestUser) -> None:
    answer = httpx.put(f"{api.url}/v1/prices/openai/ft:gpt-4o-mini:acme:v7", headers=user.headers,
                       json={"input_per_mtok": "0.3", "cached_input_per_mtok": "0.15", "output_per_mtok": "1.2"})
    assert answer.status_code == 200, answer.text
    event = run_event(api, user, model="ft:gpt-4o-mini:acme:v7", input_tokens=1000, cached_input_tokens=400,
                      output_tokens=100)
    assert event["pricing_status"] == "custom"
    expected = (Decimal(600) * Decimal("0.3") + 400 * Decimal("0.15") + 100 * Decimal("1.2")) / 1_000_000
    assert Decimal(event["cost_usd"]) == expected


def test_a_custom_price_overrides_the_list_price_until_removed(api: ApiServer, user: TestUser) -> None:
    path = f"{api.url}/v1/prices/openai/gpt-4o-mini-2024-07-18"
    httpx.put(path, headers=user.headers, json={"input_per_mtok": "0", "output_per_mtok": "0"})
    assert run_event(api, user)["pricing_status"] == "custom"
    assert httpx.delete(path, headers=user.headers).status_code == 200
    assert run_event(api, user)["pricing_status"] == "priced"
    assert httpx.delete(path, headers=user.headers).status_code == 404


def test_custom_prices_are_per_tenant(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    httpx.put(f"{api.url}/v1/prices/openai/gpt-4o-mini-2024-07-18", headers=user.headers,
              json={"input_per_mtok": "1", "output_per_mtok": "1"})
    assert httpx.get(f"{api.url}/v1/prices", headers=other_user.headers).json() == []
    assert run_event(api, other_user)["pricing_status"] == "priced"


def test_a_negative_price_is_refused(api: ApiServer, user: TestUser) -> None:
    answer = httpx.put(f"{api.url}/v1/prices/openai/x", headers=user.headers,
                       json={"input_per_mtok": "-1", "output_per_mtok": "1"})
    assert answer.status_code == 422
