"""Reconciliation over HTTP: traffic the test sent, held against exports built from that same traffic in
the providers' documented shapes (tests/fixtures/provider-exports/)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx

from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer

EXPORTS = Path(__file__).parent.parent.parent / "fixtures" / "provider-exports"
DAY1 = datetime(2025, 11, 30, tzinfo=UTC)
DAY2 = DAY1 + timedelta(days=1)


def load(name: str) -> dict:
    return json.loads((EXPORTS / f"{name}.json").read_text())


def send_traffic(api: ApiServer, user: TestUser, day: datetime, model: str, calls: int, provider: str = "openai",
                 **tokens: int) -> None:
    events = [make_event(provider=provider, model=model, timestamp=(day + timedelta(minutes=7 * i)).isoformat(),
                         **tokens) for i in range(calls)]
    answer = post_events(api, user, events)
    assert answer.json()["accepted"] == calls, answer.text


def openai_usage(rows: list[tuple[datetime, str, int, int, int, int]]) -> dict:
    """An OpenAI usage/completions page in the fixture's shape: (day, model, input, cached, output, requests)."""
    page = load("openai_usage_completions")
    template = page["data"][0]["results"][0]
    page["data"] = []
    for day in sorted({r[0] for r in rows}):
        results = [{**copy.deepcopy(template), "model": m, "input_tokens": i, "input_cached_tokens": c,
                    "output_tokens": o, "num_model_requests": n} for d, m, i, c, o, n in rows if d == day]
        page["data"].append({"object": "bucket", "start_time": int(day.timestamp()),
                             "end_time": int((day + timedelta(days=1)).timestamp()), "results": results})
    return page


def import_export(api: ApiServer, user: TestUser, provider: str, payload: object) -> httpx.Response:
    return httpx.post(f"{api.url}/v1/reconciliation/imports", params={"provider": provider}, json=payload,
                      headers=user.headers)


def rows_of(api: ApiServer, user: TestUser, **params: str) -> list[dict]:
    answer = httpx.get(f"{api.url}/v1/reconciliation", params=params, headers=user.headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]


def test_an_export_of_the_same_traffic_matches_every_row(api: ApiServer, user: TestUser) -> None:
    send_traffic(api, user, DAY1, "gpt-4o-mini-2024-07-18", 12, input_tokens=1000, cached_input_tokens=400,
                 output_tokens=75)
    send_traffic(api, user, DAY2, "gpt-4o-mini-2024-07-18", 5, input_tokens=2000, output_tokens=10)
    export = openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 12_000, 4_800, 900, 12),
                           (DAY2, "gpt-4o-mini-2024-07-18", 10_000, 0, 50, 5)])
    answer = import_export(api, user, "openai", export)
    assert answer.status_code == 200, answer.text
    assert answer.json()["days"] == ["2025-11-30", "2025-12-01"]
    rows = rows_of(api, user)
    assert [(r["day"], r["status"]) for r in rows] == [("2025-11-30", "match"), ("2025-12-01", "match")]
    assert rows[0]["tracked_calls"] == rows[0]["provider_requests"] == 12
    assert rows[0]["tracked_cached_input_tokens"] == rows[0]["provider_cached_input_tokens"] == 4_800
    assert rows[0]["input_diff_pct"] == 0


def test_a_two_percent_gap_is_a_mismatch_and_billed_traffic_we_never_saw_is_untracked(
        api: ApiServer, user: TestUser) -> None:
    send_traffic(api, user, DAY1, "gpt-4o-mini-2024-07-18", 10, input_tokens=1000, output_tokens=100)
    send_traffic(api, user, DAY1, "gpt-4o-2024-08-06", 2, input_tokens=10, output_tokens=1)
    export = openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 10_204, 0, 1000, 10),  # we tracked 2% less
                           (DAY1, "gpt-4.1-2025-04-14", 300_000, 0, 45_000, 150)])
    assert import_export(api, user, "openai", export).status_code == 200
    rows = {r["model"]: r for r in rows_of(api, user, start="2025-11-30T00:00:00Z", end="2025-12-01T00:00:00Z")}
    assert rows["gpt-4o-mini-2024-07-18"]["status"] == "mismatch"
    assert round(rows["gpt-4o-mini-2024-07-18"]["input_diff_pct"], 2) == -2.0
    assert rows["gpt-4.1-2025-04-14"]["status"] == "untracked"
    assert rows["gpt-4.1-2025-04-14"]["tracked_calls"] == 0
    assert rows["gpt-4o-2024-08-06"]["status"] == "not_in_export"
    assert rows["gpt-4o-2024-08-06"]["provider_input_tokens"] == 0


def test_re_importing_a_day_replaces_it_and_mismatch_becomes_match(api: ApiServer, user: TestUser) -> None:
    send_traffic(api, user, DAY1, "gpt-4o-mini-2024-07-18", 4, input_tokens=500, output_tokens=50)
    import_export(api, user, "openai", openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 2500, 0, 200, 5)]))
    assert [r["status"] for r in rows_of(api, user)] == ["mismatch"]
    import_export(api, user, "openai", openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 2000, 0, 200, 4)]))
    [row] = rows_of(api, user)
    assert (row["status"], row["provider_input_tokens"], row["provider_requests"]) == ("match", 2000, 4)


def test_anthropic_usage_and_cost_reports(api: ApiServer, user: TestUser) -> None:
    # Our input_tokens is the total: uncached + cache reads + cache writes, as Anthropic's buckets add up.
    send_traffic(api, user, DAY1, "claude-sonnet-4-20250514", 10, provider="anthropic", input_tokens=100_000,
                 cached_input_tokens=40_000, cache_write_tokens=10_000, output_tokens=7_000)
    assert import_export(api, user, "anthropic", load("anthropic_usage_report_messages")).status_code == 200
    assert import_export(api, user, "anthropic", load("anthropic_cost_report")).status_code == 200
    rows = rows_of(api, user, provider="anthropic")
    sonnet = next(r for r in rows if r["model"] == "claude-sonnet-4-20250514")
    assert sonnet["status"] == "match"
    assert sonnet["provider_input_tokens"] == sonnet["tracked_input_tokens"] == 1_000_000
    assert Decimal(sonnet["provider_cost_usd"]) == Decimal("2.55")
    assert Decimal(sonnet["tracked_cost_usd"]) > 0
    haiku = next(r for r in rows if r["model"] == "claude-3-5-haiku-20241022")
    assert haiku["status"] == "untracked"
    assert haiku["provider_cost_usd"] is None  # no cost report covers that day


def test_a_bad_export_is_refused_with_where_and_changes_nothing(api: ApiServer, user: TestUser) -> None:
    good = openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 100, 0, 10, 1)])
    assert import_export(api, user, "openai", good).status_code == 200
    bad = openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 999, 0, 10, 1), (DAY2, "gpt-4o-mini-2024-07-18", -5, 0, 1, 1)])
    answer = import_export(api, user, "openai", bad)
    assert answer.status_code == 422
    assert "page 0, bucket 1 (data[1]), result 0, field input_tokens" in answer.json()["detail"]
    [row] = rows_of(api, user)
    assert row["provider_input_tokens"] == 100
    garbage = httpx.post(f"{api.url}/v1/reconciliation/imports?provider=openai", content=b"{not json",
                         headers=user.headers)
    assert garbage.status_code == 400 and "not valid JSON" in garbage.json()["detail"]
    assert import_export(api, user, "gemini", good).status_code == 422


def test_imports_are_the_tenants_own(api: ApiServer, user: TestUser, other_user: TestUser) -> None:
    import_export(api, user, "openai", openai_usage([(DAY1, "gpt-4o-mini-2024-07-18", 100, 0, 10, 1)]))
    assert rows_of(api, other_user) == []
