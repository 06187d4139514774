"""Read endpoints: summary, timeseries, breakdown, runs and export, with their filters."""

from __future__ import annotations

import io
from decimal import Decimal

import httpx
import pyarrow as pa
import pytest

from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer

DAY1, DAY2 = "2026-10-01T09:30:00+00:00", "2026-10-02T18:00:00+00:00"


@pytest.fixture
def seeded(api: ApiServer, user: TestUser) -> TestUser:
    post_events(api, user, [
        make_event(timestamp=DAY1, provider="openai", model="gpt-4o-mini-2024-07-18", customer_id="acme",
                   run_id="r1", run_name="summarise-ticket", latency_ms=100.0),
        make_event(timestamp=DAY1.replace("09:30:00", "09:30:01"), provider="openai",
                   model="gpt-4o-mini-2024-07-18", customer_id="acme",
                   run_id="r1", run_name="summarise-ticket", latency_ms=300.0, status="error", http_status=500,
                   input_tokens=0, output_tokens=0),
        make_event(timestamp=DAY2, provider="anthropic", model="claude-3-5-haiku-20241022", customer_id="globex",
                   input_tokens=2000, output_tokens=500, latency_ms=900.0),
        make_event(timestamp=DAY2, provider="openai", model="mystery-model", customer_id="globex"),
    ])
    return user


def get(api: ApiServer, user: TestUser, path: str, **params: str) -> dict:
    answer = httpx.get(f"{api.url}{path}", headers=user.headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_summary_counts_calls_tokens_errors_and_unpriced_apart(api: ApiServer, seeded: TestUser) -> None:
    body = get(api, seeded, "/v1/analytics/summary")
    assert body["calls"] == 4
    assert body["input_tokens"] == 1000 + 2000 + 1000
    assert body["error_calls"] == 1
    assert (body["unpriced_calls"], body["unpriced_tokens"]) == (1, 1100)
    by_model = get(api, seeded, "/v1/analytics/breakdown", by="model")["data"]
    assert Decimal(body["total_cost_usd"]) == sum(Decimal(r["cost_usd"]) for r in by_model) > 0


def test_filters_narrow_every_read(api: ApiServer, seeded: TestUser) -> None:
    assert get(api, seeded, "/v1/analytics/summary", provider="anthropic")["calls"] == 1
    assert get(api, seeded, "/v1/analytics/summary", customer_id="acme")["calls"] == 2
    assert get(api, seeded, "/v1/analytics/summary", status="error")["calls"] == 1
    assert get(api, seeded, "/v1/analytics/summary", start="2026-10-02T00:00:00Z")["calls"] == 2
    assert get(api, seeded, "/v1/analytics/summary", end="2026-10-02T00:00:00Z")["calls"] == 2
    assert get(api, seeded, "/v1/analytics/summary", model="mystery-model")["unpriced_calls"] == 1


def test_timeseries_buckets_by_day_and_groups(api: ApiServer, seeded: TestUser) -> None:
    points = get(api, seeded, "/v1/analytics/timeseries", interval="day", group_by="provider")["data"]
    assert {(p["bucket"][:10], p["group"], p["calls"]) for p in points} == {
        ("2026-10-01", "openai", 2), ("2026-10-02", "anthropic", 1), ("2026-10-02", "openai", 1)}
    hourly = get(api, seeded, "/v1/analytics/timeseries", interval="hour")["data"]
    assert [p["bucket"] for p in hourly] == ["2026-10-01T09:00:00", "2026-10-02T18:00:00"]


def test_breakdown_has_latency_percentiles(api: ApiServer, seeded: TestUser) -> None:
    rows = {r["key"]: r for r in get(api, seeded, "/v1/analytics/breakdown", by="customer_id")["data"]}
    assert rows["acme"]["latency_p50_ms"] == pytest.approx(200.0)
    assert rows["acme"]["latency_p95_ms"] == pytest.approx(290.0)
    assert rows["acme"]["error_calls"] == 1


def test_runs_group_calls_and_a_call_outside_a_run_is_its_own_run(api: ApiServer, seeded: TestUser) -> None:
    runs = get(api, seeded, "/v1/runs")["data"]
    assert len(runs) == 3
    named = next(r for r in runs if r["run_id"] == "r1")
    assert (named["run_name"], named["calls"], named["status"]) == ("summarise-ticket", 2, "error")
    detail = get(api, seeded, "/v1/runs/r1")
    assert [e["latency_ms"] for e in detail["events"]] == [100.0, 300.0]


def test_an_unknown_run_answers_404_naming_the_id(api: ApiServer, seeded: TestUser) -> None:
    answer = httpx.get(f"{api.url}/v1/runs/run-that-never-was", headers=seeded.headers)
    assert answer.status_code == 404
    assert answer.json() == {"detail": "run run-that-never-was not found"}


def test_export_as_csv_and_arrow(api: ApiServer, seeded: TestUser) -> None:
    csv = httpx.get(f"{api.url}/v1/events/export", headers=seeded.headers, params={"format": "csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 1 + 4
    assert "E-" not in csv.text  # costs as plain decimals, not 5.2E-7
    arrow = httpx.get(f"{api.url}/v1/events/export", headers=seeded.headers,
                      params={"format": "arrow", "customer_id": "globex"})
    table = pa.ipc.open_stream(io.BytesIO(arrow.content)).read_all()
    assert table.num_rows == 2
    assert set(table.column("customer_id").to_pylist()) == {"globex"}


def test_bad_filters_are_422_not_500(api: ApiServer, seeded: TestUser) -> None:
    for params in ({"start": "last tuesday"}, {"status": "meh"}, {"start": "2026-10-02", "end": "2026-10-01"}):
        answer = httpx.get(f"{api.url}/v1/analytics/summary", headers=seeded.headers, params=params)
        assert answer.status_code == 422, params
    answer = httpx.get(f"{api.url}/v1/analytics/breakdown", headers=seeded.headers, params={"by": "tenant_id"})
    assert answer.status_code == 422


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        ("2026-10-01T09:30:00Z", None),            # starts at a call, mid-hour
        ("2026-10-01T09:30:00.000001Z", None),     # just after it
        (None, "2026-10-02T18:00:00Z"),            # ends exactly at a call (end is exclusive)
        ("2026-10-01T09:10:00Z", "2026-10-01T09:50:00Z"),  # inside one hour
        ("2026-10-01T00:00:00Z", "2026-10-03T00:00:00Z"),  # whole hours only
        ("2026-10-01T09:45:00+02:00", "2026-10-02T18:30:00Z"),  # offsets are converted to UTC
    ],
)
def test_totals_match_the_calls_themselves_for_any_range(api: ApiServer, seeded: TestUser, start: str | None,
                                                         end: str | None) -> None:
    params = {k: v for k, v in {"start": start, "end": end}.items() if v}
    body = get(api, seeded, "/v1/analytics/summary", **params)
    arrow = httpx.get(f"{api.url}/v1/events/export", headers=seeded.headers, params={"format": "arrow", **params})
    calls = pa.ipc.open_stream(io.BytesIO(arrow.content)).read_all().to_pylist()
    assert body["calls"] == len(calls)
    assert Decimal(body["total_cost_usd"]) == sum((c["cost_usd"] or Decimal(0) for c in calls), Decimal(0))
    assert body["input_tokens"] == sum(c["input_tokens"] for c in calls)


def test_a_resent_batch_does_not_count_twice_in_totals(api: ApiServer, user: TestUser) -> None:
    batch = [make_event(timestamp=DAY1), make_event(timestamp=DAY2)]
    post_events(api, user, batch)
    post_events(api, user, batch)
    assert get(api, user, "/v1/analytics/summary")["calls"] == 2
    assert sum(p["calls"] for p in get(api, user, "/v1/analytics/timeseries")["data"]) == 2


def test_calls_without_a_customer_are_grouped_as_none(api: ApiServer, user: TestUser) -> None:
    post_events(api, user, [make_event(customer_id=None), make_event(customer_id="acme")])
    rows = {r["key"]: r["calls"] for r in get(api, user, "/v1/analytics/breakdown", by="customer_id")["data"]}
    assert rows == {None: 1, "acme": 1}
    assert get(api, user, "/v1/analytics/summary", customer_id="acme")["calls"] == 1


def test_totals_stay_exact_before_and_after_the_writer_rolls_calls_up(api: ApiServer, user: TestUser) -> None:
    import time

    post_events(api, user, [make_event(timestamp=DAY1), make_event(timestamp=DAY2)])
    before = get(api, user, "/v1/analytics/summary")
    time.sleep(1.5)  # the API rolls new calls into the hourly totals every second
    post_events(api, user, [make_event(timestamp=DAY2)])  # not rolled up yet
    after = get(api, user, "/v1/analytics/summary")
    assert (before["calls"], after["calls"]) == (2, 3)
    assert Decimal(after["total_cost_usd"]) == Decimal(before["total_cost_usd"]) * 3 / 2
    by_day = get(api, user, "/v1/analytics/timeseries", interval="day")["data"]
    assert [p["calls"] for p in by_day] == [1, 2]
