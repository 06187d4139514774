"""DESIGN §15, every dollar right: each miscount found from outside, checked the way it was found (over HTTP,
against genai-prices' own answer or the raw export)."""

from __future__ import annotations

import io
import time
import uuid
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest
from genai_prices import Usage, calc_price

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer

WHEN = datetime(2026, 11, 20, 10, 7, tzinfo=UTC)


def genai_price(model: str, provider: str, context: dict | None = None, **usage: int) -> Decimal:
    """What genai-prices itself answers for the whole call: the reference every cost must equal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calc_price(Usage(**usage), model, provider_id=provider, genai_request_timestamp=WHEN,
                          price_context=context).total_price


def get(api: ApiServer, user: TestUser, path: str, **params: str) -> dict:
    answer = httpx.get(f"{api.url}{path}", headers=user.headers, params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def exported(api: ApiServer, user: TestUser, **params: str) -> pa.Table:
    answer = httpx.get(f"{api.url}/v1/events/export", headers=user.headers, params={"format": "arrow", **params},
                       timeout=30)
    assert answer.status_code == 200, answer.text
    return pa.ipc.open_stream(io.BytesIO(answer.content)).read_all()


def stored_cost(api: ApiServer, user: TestUser, **event_fields: object) -> Decimal:
    """Post one call and answer the cost the API stored for it."""
    run_id = f"run-{uuid.uuid4()}"
    answer = post_events(api, user, [make_event(run_id=run_id, timestamp=WHEN.isoformat(), **event_fields)])
    assert answer.json()["accepted"] == 1, answer.text
    [event] = get(api, user, f"/v1/runs/{run_id}")["events"]
    return Decimal(event["cost_usd"])


# 1 -------------------------------------------------------------------------------------------------------
def test_events_after_a_restart_that_followed_idle_time_are_all_counted(fresh_api: ApiServer) -> None:
    user = create_user(fresh_api)
    post_events(fresh_api, user, [make_event()])
    time.sleep(4)  # idle: the once-a-second roll-up keeps running (and numbering) meanwhile
    fresh_api.stop()
    fresh_api.start()
    post_events(fresh_api, user, [make_event(), make_event(), make_event()])
    time.sleep(2.5)  # past the next roll-up, so both the roll-up and the raw tail are exercised
    exported_cost = sum(Decimal(str(c)) for c in exported(fresh_api, user).column("cost_usd").to_pylist())
    summary = get(fresh_api, user, "/v1/analytics/summary")
    assert (summary["calls"], Decimal(summary["total_cost_usd"])) == (4, exported_cost)
    [row] = get(fresh_api, user, "/v1/analytics/breakdown", by="model")["data"]
    assert row["calls"] == 4
    series = get(fresh_api, user, "/v1/analytics/timeseries", interval="hour")["data"]
    assert sum(point["calls"] for point in series) == 4


# 2 -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["sonar", "sonar-pro", "sonar-reasoning-pro"])
def test_a_per_request_fee_is_charged_once_per_call_not_per_token(api: ApiServer, user: TestUser, model: str) -> None:
    cost = stored_cost(api, user, provider="perplexity", model=model, input_tokens=1000, output_tokens=100)
    assert cost == genai_price(model, "perplexity", input_tokens=1000, output_tokens=100)
    assert cost < Decimal("0.05")  # $13.2011 for sonar before the fix


# 3 -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("provider", "model"), [("openai", "gpt-5"), ("anthropic", "claude-sonnet-4-5")])
def test_the_batch_tier_is_priced_at_the_batch_rate(api: ApiServer, user: TestUser, provider: str, model: str) -> None:
    tokens = dict(input_tokens=20_000, output_tokens=3_000)
    batch = stored_cost(api, user, provider=provider, model=model, service_tier="batch", **tokens)
    assert batch == genai_price(model, provider, {"processing": "batch"}, **tokens)
    assert batch * 2 == genai_price(model, provider, **tokens)


# 4 -------------------------------------------------------------------------------------------------------
def test_one_hour_cache_writes_are_priced_at_the_one_hour_rate_stored_and_exported(
    api: ApiServer, user: TestUser
) -> None:
    tokens = dict(input_tokens=3000, cache_write_tokens=2500, cache_write_1h_tokens=2000, output_tokens=40)
    cost = stored_cost(api, user, provider="anthropic", model="claude-sonnet-4-5", **tokens)
    assert cost == genai_price("claude-sonnet-4-5", "anthropic", cache_write_tokens=2500, input_tokens=3000,
                               cache_write_1h_tokens=2000, output_tokens=40)
    five_minute = genai_price("claude-sonnet-4-5", "anthropic", input_tokens=3000, cache_write_tokens=2500,
                              output_tokens=40)
    assert cost > five_minute
    table = exported(api, user, start=WHEN.isoformat(), end=(WHEN + timedelta(seconds=1)).isoformat())
    assert 2000 in table.column("cache_write_1h_tokens").to_pylist()


@pytest.mark.parametrize(("tokens", "words"), [
    (dict(input_tokens=100, cache_write_tokens=50, cache_write_1h_tokens=60), "cache_write_1h_tokens exceed"),
    (dict(input_tokens=100, cache_write_tokens=50, cache_write_1h_tokens=-1), "greater than or equal to 0"),
])
def test_one_hour_writes_beyond_the_cache_writes_are_rejected(api: ApiServer, user: TestUser, tokens: dict,
                                                             words: str) -> None:
    body = post_events(api, user, [make_event(), make_event(provider="anthropic", **tokens)]).json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert rejected["index"] == 1 and words in rejected["reason"]


# 5 -------------------------------------------------------------------------------------------------------
def test_an_empty_customer_is_no_customer_before_and_after_the_roll_up(api: ApiServer, user: TestUser) -> None:
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    at = lambda minute: (hour + timedelta(minutes=minute)).isoformat()  # noqa: E731 - inside one whole hour
    post_events(api, user, [make_event(customer_id="", timestamp=at(1)), make_event(customer_id="", timestamp=at(2)),
                            make_event(customer_id=None, timestamp=at(3)), make_event(customer_id="c1", timestamp=at(4))])
    window = dict(start=hour.isoformat(), end=(hour + timedelta(hours=1)).isoformat())

    def views() -> tuple:
        nobody = get(api, user, "/v1/analytics/summary", customer_id="", **window)["calls"]
        by_customer = {row["key"]: row["calls"] for row in
                       get(api, user, "/v1/analytics/breakdown", by="customer_id", **window)["data"]}
        customers = get(api, user, "/v1/analytics/summary", **window)["customers"]
        raw = len(exported(api, user, customer_id="", **window))
        return nobody, by_customer, customers, raw

    before = views()
    time.sleep(2.5)  # the roll-up has now folded them into the hourly totals
    assert before == views() == (3, {None: 3, "c1": 1}, 1, 3)
    assert set(exported(api, user, **window).column("customer_id").to_pylist()) == {None, "c1"}


# 6 -------------------------------------------------------------------------------------------------------
def test_the_same_id_with_another_timestamp_is_a_duplicate(api: ApiServer, user: TestUser) -> None:
    event = make_event(timestamp=(datetime.now(UTC) - timedelta(days=3)).isoformat())
    assert post_events(api, user, [event]).json()["accepted"] == 1
    later = {**event, "timestamp": datetime.now(UTC).isoformat()}
    assert post_events(api, user, [later]).json() == {"accepted": 0, "duplicates": 1, "rejected": []}
    assert get(api, user, "/v1/analytics/summary")["calls"] == 1


def test_an_id_stays_stored_once_across_a_restart(fresh_api: ApiServer) -> None:
    user = create_user(fresh_api)
    event = make_event(timestamp=(datetime.now(UTC) - timedelta(hours=5)).isoformat())
    post_events(fresh_api, user, [event])
    fresh_api.stop()
    fresh_api.start()
    moved = {**event, "timestamp": datetime.now(UTC).isoformat()}
    assert post_events(fresh_api, user, [moved, make_event()]).json() == {"accepted": 1, "duplicates": 1,
                                                                         "rejected": []}


def test_another_tenant_may_use_the_same_id(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    event = make_event()
    assert post_events(api, user, [event]).json()["accepted"] == 1
    assert post_events(api, other_user, [{**event, "timestamp": WHEN.isoformat()}]).json()["accepted"] == 1


# 7 -------------------------------------------------------------------------------------------------------
def test_runs_lists_every_recent_run_even_behind_a_long_one_and_each_whole(api: ApiServer) -> None:
    user = create_user(api)
    now = datetime.now(UTC)
    older = [f"older-{n}" for n in range(5)]
    spanning = [make_event(run_id="two-days", timestamp=(now - timedelta(days=2, hours=1)).isoformat()),
                make_event(run_id="two-days", timestamp=(now - timedelta(minutes=50)).isoformat())]
    events = spanning + [make_event(run_id=run, timestamp=(now - timedelta(minutes=40 - n)).isoformat())
                         for n, run in enumerate(older)]
    long_run = [make_event(run_id="long", timestamp=(now - timedelta(seconds=600 - n / 10)).isoformat())
                for n in range(1000)]
    for chunk in (events, long_run[:500], long_run[500:]):
        assert post_events(api, user, chunk).json()["accepted"] == len(chunk)
    listed = get(api, user, "/v1/runs", limit="50")["data"]
    assert [run["run_id"] for run in listed] == ["long", *reversed(older), "two-days"]
    for run in listed:
        detail = get(api, user, f"/v1/runs/{run['run_id']}")["run"]
        assert (run["calls"], run["cost_usd"]) == (detail["calls"], detail["cost_usd"])
    assert {run["run_id"]: run["calls"] for run in listed}["two-days"] == 2


# 8 -------------------------------------------------------------------------------------------------------
def test_a_cost_of_a_million_dollars_is_stored_exactly(api: ApiServer, user: TestUser) -> None:
    assert stored_cost(api, user, cost_usd="1000000") == Decimal("1000000")
    assert stored_cost(api, user, cost_usd="999999.999999999999") == Decimal("999999.999999999999")


def test_a_computed_cost_above_a_million_dollars_is_rejected_per_event_naming_the_bound(
    api: ApiServer, user: TestUser
) -> None:
    huge = make_event(provider="openai", model="gpt-4o", input_tokens=10**12, output_tokens=10**11)
    answer = post_events(api, user, [make_event(), huge])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, "cost_usd") and "$1,000,000" in rejected["reason"]


def test_a_client_cost_above_a_million_dollars_is_rejected_per_event(api: ApiServer, user: TestUser) -> None:
    body = post_events(api, user, [make_event(cost_usd="1000000.01")]).json()
    [rejected] = body["rejected"]
    assert rejected["field"] == "cost_usd" and "1000000" in rejected["reason"]
