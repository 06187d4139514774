"""SDK budget enforcement (opt-in): the real openai client, the real API, and a fake provider that must
see no request when a budget refuses the call."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import openai
import pytest

import llmobserve
from llmobserve._call import CONFIG
from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer

from .fakes import FakeProvider, dead_url

MSG = [{"role": "user", "content": "hi"}]


def enforced_budget(api: ApiServer, user: TestUser, *, amount: str = "1", enforce: bool = True, **scope: str) -> dict:
    answer = httpx.post(f"{api.url}/v1/budgets", headers=user.headers, json={
        "name": f"cap {scope}", "amount_usd": amount, "period": "day", "enforce": enforce, "scope": scope})
    assert answer.status_code == 201, answer.text
    return answer.json()


@pytest.fixture
def tenant(api: ApiServer) -> TestUser:
    user = create_user(api)
    now = datetime.now(UTC).isoformat()
    post_events(api, user, [make_event(customer_id="capped", cost_usd="5", timestamp=now),
                            make_event(customer_id="tagged", cost_usd="5", timestamp=now, tags={"feature": "search"}),
                            make_event(customer_id="dated", cost_usd="5", timestamp=now,
                                       model="gpt-4o-mini-2024-07-18")])
    return user


@pytest.fixture
def enforcing(api: ApiServer, tenant: TestUser, provider_server: FakeProvider) -> Iterator[openai.OpenAI]:
    """The SDK observing into the real API with enforce_budgets=True, after its first status refresh."""
    provider_server.reset()
    llmobserve.observe(api_key=tenant.api_key, endpoint=api.url, enforce_budgets=True, flush_interval=0.05)
    yield openai.OpenAI(api_key="sk-test", base_url=provider_server.url + "/v1", max_retries=0)
    llmobserve.shutdown(timeout=2)


def refresh() -> None:
    """What the background poller does every few seconds, done now."""
    CONFIG.before_call.__self__.refresh()


def test_exceeded_enforced_budget_refuses_the_call_before_the_provider(api, tenant, enforcing, provider_server) -> None:
    budget = enforced_budget(api, tenant, customer_id="capped")
    refresh()
    with llmobserve.customer("capped"), pytest.raises(llmobserve.BudgetExceeded) as refused:
        enforcing.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert provider_server.requests == []  # nothing was sent
    exc = refused.value
    assert (exc.budget_id, exc.name, exc.spent_usd, exc.amount_usd) == (budget["id"], budget["name"], Decimal("5"),
                                                                        Decimal("1"))
    assert budget["id"] in str(exc) and "$5" in str(exc)
    with llmobserve.customer("someone-else"):
        enforcing.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert len(provider_server.requests) == 1


def test_an_alias_matches_the_dated_model_and_tags_match_the_block(api, tenant, enforcing, provider_server) -> None:
    enforced_budget(api, tenant, model="gpt-4o-mini-2024-07-18", customer_id="dated")
    enforced_budget(api, tenant, tag="feature:search")
    refresh()
    with llmobserve.customer("dated"), pytest.raises(llmobserve.BudgetExceeded):
        enforcing.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    with llmobserve.customer("dated"):
        enforcing.chat.completions.create(model="gpt-4o", messages=MSG)  # another model: not in scope
    with llmobserve.tags(feature="search"), pytest.raises(llmobserve.BudgetExceeded):
        enforcing.chat.completions.create(model="gpt-4o", messages=MSG)
    with llmobserve.tags(feature="chat"):
        enforcing.chat.completions.create(model="gpt-4o", messages=MSG)
    assert len(provider_server.requests) == 2


def test_a_budget_not_enforced_or_raised_lets_calls_through(api, tenant, enforcing, provider_server) -> None:
    soft = enforced_budget(api, tenant, customer_id="capped", enforce=False)
    refresh()
    with llmobserve.customer("capped"):
        enforcing.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    hard = enforced_budget(api, tenant, customer_id="capped")
    refresh()
    with llmobserve.customer("capped"), pytest.raises(llmobserve.BudgetExceeded):
        enforcing.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    httpx.patch(f"{api.url}/v1/budgets/{hard['id']}", headers=tenant.headers, json={"amount_usd": 100})
    refresh()
    with llmobserve.customer("capped"):
        enforcing.chat.completions.create(model="gpt-4o-mini", messages=MSG)
    assert len(provider_server.requests) == 2 and soft["status"] == "exceeded"


def test_the_poller_refreshes_by_itself_within_ten_seconds(api, tenant, enforcing) -> None:
    guard = CONFIG.before_call.__self__
    assert guard._refresh_s <= 10
    enforced_budget(api, tenant, customer_id="capped")
    guard.refreshed.clear()
    assert guard.refreshed.wait(timeout=guard._refresh_s + 5)
    assert [r.customer_id for r in guard.rules] == ["capped"]


def test_api_down_fails_open_and_says_so_once(provider_server, caplog) -> None:
    provider_server.reset()
    caplog.set_level(logging.WARNING, logger="llmobserve")
    llmobserve.observe(api_key="llmo_x", endpoint=dead_url(), enforce_budgets=True)
    try:
        CONFIG.before_call.__self__.refreshed.wait(5)
        refresh()
        client = openai.OpenAI(api_key="sk-test", base_url=provider_server.url + "/v1", max_retries=0)
        with llmobserve.customer("capped"):
            for _ in range(3):
                client.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        assert len(provider_server.requests) == 3
        lines = [r.getMessage() for r in caplog.records if "budget status unavailable" in r.getMessage()]
        assert len(lines) == 1 and "calls go through" in lines[0]
    finally:
        llmobserve.shutdown(timeout=1)


def test_enforcement_is_off_unless_asked(provider_server, ingest_server) -> None:
    llmobserve.observe(api_key="llmo_x", endpoint=ingest_server.url)
    try:
        assert CONFIG.before_call is None
    finally:
        llmobserve.shutdown(timeout=1)
    llmobserve.observe(api_key="llmo_x", endpoint=ingest_server.url, enforce_budgets=True)
    llmobserve.observe(api_key="llmo_x", endpoint=ingest_server.url)  # reconfigured without it: off again
    try:
        assert CONFIG.before_call is None
    finally:
        llmobserve.shutdown(timeout=1)


async def test_async_client_and_anthropic_stream_helper_are_refused_too(api, tenant, provider_server) -> None:
    import anthropic

    provider_server.reset()
    post_events(api, tenant, [make_event(customer_id="claude-user", provider="anthropic",
                                         model="claude-3-5-haiku-20241022", cost_usd="9")])
    enforced_budget(api, tenant, customer_id="claude-user", provider="anthropic")
    enforced_budget(api, tenant, customer_id="capped")
    llmobserve.observe(api_key=tenant.api_key, endpoint=api.url, enforce_budgets=True)
    try:
        refresh()
        ant = anthropic.Anthropic(api_key="sk-ant", base_url=provider_server.url, max_retries=0)
        with llmobserve.customer("claude-user"), pytest.raises(llmobserve.BudgetExceeded):
            with ant.messages.stream(model="claude-3-5-haiku-20241022", max_tokens=10, messages=MSG) as stream:
                stream.get_final_message()
        aoai = openai.AsyncOpenAI(api_key="sk-test", base_url=provider_server.url + "/v1", max_retries=0)
        with llmobserve.customer("capped"), pytest.raises(llmobserve.BudgetExceeded):
            await aoai.chat.completions.create(model="gpt-4o-mini", messages=MSG)
        assert provider_server.requests == []
    finally:
        llmobserve.shutdown(timeout=1)
