"""POST /v1/events: per-event validation, idempotency, limits, and prices on what is stored."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from api.pricing import reference_cost
from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer


def summary(api: ApiServer, user: TestUser, **params: str) -> dict:
    answer = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_good_batch_is_stored_and_counted(api: ApiServer, user: TestUser) -> None:
    answer = post_events(api, user, [make_event(), make_event()])
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert summary(api, user)["calls"] == 2


@pytest.mark.parametrize(
    ("bad", "field", "words"),
    [
        ({"cached_input_tokens": 2000}, None, "exceed input_tokens"),
        ({"input_tokens": -1}, "input_tokens", "greater than or equal to 0"),
        ({"timestamp": "yesterday-ish"}, "timestamp", "datetime"),
        ({"output_tokens": "12"}, "output_tokens", "integer"),
        ({"stream": "yes"}, "stream", "boolean"),
        ({"id": "not-a-uuid"}, "id", "UUID"),
        ({"status": "great"}, "status", "'ok'"),
        ({"tags": {"team": 5}}, "tags.team", "string"),
    ],
)
def test_one_bad_event_is_rejected_by_index_and_field_and_the_rest_are_kept(
    api: ApiServer, user: TestUser, bad: dict, field: str | None, words: str
) -> None:
    answer = post_events(api, user, [make_event(), make_event(**bad), make_event()])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    [rejected] = body["rejected"]
    assert rejected["index"] == 1
    assert rejected["field"] == field
    assert words in rejected["reason"]
    assert summary(api, user)["calls"] == 2


@pytest.mark.parametrize(
    ("timestamp", "bound"),
    [
        ("0001-01-01T00:00:00Z", "2020-01-01"),
        ("2019-12-31T23:59:59Z", "2020-01-01"),
        ("9999-12-31T23:59:59Z", "24 h ahead"),
        ((datetime.now(UTC) + timedelta(hours=25)).isoformat(), "24 h ahead"),
    ],
)
def test_a_call_dated_out_of_bounds_is_rejected_naming_the_bound(
    api: ApiServer, user: TestUser, timestamp: str, bound: str
) -> None:
    answer = post_events(api, user, [make_event(), make_event(timestamp=timestamp)])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert (rejected["index"], rejected["field"]) == (1, "timestamp")
    assert bound in rejected["reason"]
    assert summary(api, user)["calls"] == 1


def test_calls_just_inside_the_bounds_are_kept(api: ApiServer, user: TestUser) -> None:
    inside = [make_event(timestamp="2020-01-01T00:00:00Z"),
              make_event(timestamp=(datetime.now(UTC) + timedelta(hours=23)).isoformat())]
    assert post_events(api, user, inside).json() == {"accepted": 2, "duplicates": 0, "rejected": []}


def test_a_missing_required_field_names_the_field(api: ApiServer, user: TestUser) -> None:
    event = make_event()
    del event["model"]
    body = post_events(api, user, [event]).json()
    assert body["rejected"] == [{"index": 0, "field": "model", "reason": "Field required"}]


def test_a_batch_where_every_event_is_bad_answers_422_with_the_reasons(api: ApiServer, user: TestUser) -> None:
    answer = post_events(api, user, [make_event(input_tokens=-5), make_event(timestamp="nope")])
    assert answer.status_code == 422
    assert [r["index"] for r in answer.json()["rejected"]] == [0, 1]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "not valid JSON"),
        (b"[1, 2]", '{"events": [ ... ]}'),
        (b'{"evnts": []}', '{"events": [ ... ]}'),
        (b'{"events": {"a": 1}}', "must be a list"),
    ],
)
def test_a_broken_envelope_answers_400_saying_what_is_wrong(
    api: ApiServer, user: TestUser, body: bytes, words: str
) -> None:
    answer = httpx.post(f"{api.url}/v1/events", headers={**user.headers, "Content-Type": "application/json"},
                        content=body)
    assert answer.status_code == 400
    assert words in answer.json()["detail"]


def test_a_body_over_the_limit_gets_a_readable_413(api: ApiServer, user: TestUser) -> None:
    huge = {"events": [make_event(run_name="x" * 200) for _ in range(25_000)]}
    answer = httpx.post(f"{api.url}/v1/events", headers=user.headers, json=huge, timeout=60)
    assert answer.status_code == 413
    assert "too large" in answer.json()["detail"]


@pytest.mark.parametrize("authorization", [None, "Bearer llmo_unknown_key_0000000000000000000000", "Basic abc"])
def test_without_a_valid_key_ingest_answers_401(api: ApiServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = httpx.post(f"{api.url}/v1/events", headers=headers, json={"events": [make_event()]})
    assert answer.status_code == 401
    assert answer.json()["detail"]


def test_a_resent_event_is_stored_once(api: ApiServer, user: TestUser) -> None:
    event = make_event()
    assert post_events(api, user, [event]).json()["accepted"] == 1
    again = post_events(api, user, [event, event]).json()
    assert again == {"accepted": 0, "duplicates": 2, "rejected": []}
    assert summary(api, user)["calls"] == 1


def test_the_same_id_twice_in_one_batch_is_stored_once(api: ApiServer, user: TestUser) -> None:
    event = make_event()
    assert post_events(api, user, [event, event]).json() == {"accepted": 1, "duplicates": 1, "rejected": []}


def test_prices_equal_genai_prices_for_openai_and_anthropic_with_cached_tokens(
    api: ApiServer, user: TestUser
) -> None:
    when = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    calls = [
        dict(provider="openai", model="gpt-4o-mini-2024-07-18", input_tokens=1149, cached_input_tokens=1024,
             output_tokens=353),
        dict(provider="anthropic", model="claude-3-5-sonnet-20240620", input_tokens=1167, cached_input_tokens=1163,
             output_tokens=202),
        dict(provider="anthropic", model="claude-3-5-sonnet-20240620", input_tokens=1167, cache_write_tokens=1163,
             output_tokens=187),
    ]
    for call in calls:
        post_events(api, user, [make_event(timestamp=when.isoformat(), customer_id=None, **call)])
    rows = httpx.get(f"{api.url}/v1/analytics/breakdown", headers=user.headers, params={"by": "model"}).json()["data"]
    stored = {row["key"]: Decimal(row["cost_usd"]) for row in rows}
    expected: dict[str, Decimal] = {}
    for call in calls:
        expected[call["model"]] = expected.get(call["model"], Decimal(0)) + reference_cost(timestamp=when, **call)
    assert stored == expected
    assert stored["gpt-4o-mini-2024-07-18"] == Decimal("0.00030735")  # 125×0.15 + 1024×0.075 + 353×0.6 per M


def test_an_unknown_model_is_unpriced_not_free(api: ApiServer, user: TestUser) -> None:
    post_events(api, user, [make_event(model="our-own-finetune-v7", input_tokens=500, output_tokens=20)])
    body = summary(api, user)
    assert body["unpriced_calls"] == 1
    assert body["unpriced_tokens"] == 520
    assert Decimal(body["total_cost_usd"]) == 0


def test_an_event_without_tokens_costs_exactly_zero_whatever_the_model(api: ApiServer, user: TestUser) -> None:
    post_events(api, user, [make_event(model="our-own-finetune-v7", input_tokens=0, output_tokens=0,
                                       status="error", http_status=400)])
    body = summary(api, user)
    assert body["unpriced_calls"] == 0
    assert body["error_calls"] == 1
    assert Decimal(body["total_cost_usd"]) == 0


def test_a_failed_call_that_consumed_tokens_is_priced(api: ApiServer, user: TestUser) -> None:
    post_events(api, user, [make_event(status="incomplete", stream=True, input_tokens=1000, output_tokens=50)])
    assert Decimal(summary(api, user)["total_cost_usd"]) > 0


def test_a_cost_sent_by_the_client_is_kept_and_marked_client(api: ApiServer, user: TestUser) -> None:
    run_id = f"run-{uuid.uuid4()}"
    post_events(api, user, [make_event(cost_usd="0.125", run_id=run_id)])
    [event] = httpx.get(f"{api.url}/v1/runs/{run_id}", headers=user.headers).json()["events"]
    assert (event["cost_usd"], event["pricing_status"]) == ("0.125000000000", "client")


def test_each_stored_event_keeps_its_pricing_source_and_version(api: ApiServer, user: TestUser) -> None:
    import genai_prices

    run_id = f"run-{uuid.uuid4()}"
    post_events(api, user, [make_event(run_id=run_id)])
    [event] = httpx.get(f"{api.url}/v1/runs/{run_id}", headers=user.headers).json()["events"]
    assert event["pricing_status"] == "priced"
    assert (event["pricing_source"], event["pricing_version"]) == ("genai-prices", genai_prices.__version__)


def test_an_id_sent_without_hyphens_or_in_capitals_is_the_same_event(api: ApiServer, user: TestUser) -> None:
    event_id, sent = uuid.uuid4(), datetime.now(UTC).isoformat()  # a re-sent event keeps its timestamp
    assert post_events(api, user, [make_event(id=str(event_id), timestamp=sent)]).json()["accepted"] == 1
    again = [make_event(id=event_id.hex, timestamp=sent), make_event(id=str(event_id).upper(), timestamp=sent),
             make_event()]
    assert post_events(api, user, again).json() == {"accepted": 1, "duplicates": 2, "rejected": []}


@pytest.mark.parametrize("path", ["/v1/events/export", "/v1/analytics/summary", "/v1/analytics/breakdown?by=model",
                                  "/v1/runs"])
@pytest.mark.parametrize("name", ["model", "provider", "customer_id"])
def test_a_nul_character_in_a_read_filter_answers_422_naming_the_parameter(
        api: ApiServer, user: TestUser, path: str, name: str) -> None:
    separator = "&" if "?" in path else "?"
    response = httpx.get(f"{api.url}{path}{separator}{name}=gpt%00x", headers=user.headers)
    assert response.status_code == 422, response.text
    assert name in response.json()["detail"] and "NUL" in response.json()["detail"]
