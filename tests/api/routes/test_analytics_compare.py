"""GET /v1/analytics/summary?compare=previous (DESIGN §13): the same figures for the period of equal
length just before start; with no end, the current period runs from start to now."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx

from tests.factories import TestUser, create_user, make_event, post_events
from tests.server import ApiServer


def summary(api: ApiServer, user: TestUser, **params: str) -> httpx.Response:
    return httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers, params=params)


def cost_of(api: ApiServer, user: TestUser, start: str, end: str) -> Decimal:
    """The stored cost of the calls in [start, end), summed by hand from the export."""
    answer = httpx.get(f"{api.url}/v1/events/export", headers=user.headers,
                       params={"start": start, "end": end, "format": "csv"})
    return sum((Decimal(row["cost_usd"] or 0) for row in csv.DictReader(io.StringIO(answer.text))), Decimal(0))


def test_previous_is_the_period_of_equal_length_before_start(api: ApiServer) -> None:
    user = create_user(api)
    at = lambda day, hour=12: f"2026-11-{day:02d}T{hour:02d}:00:00+00:00"  # noqa: E731
    post_events(api, user, [
        make_event(timestamp=at(7, 23)),                       # before both periods
        make_event(timestamp=at(8, 0)), make_event(timestamp=at(9), input_tokens=5000),  # previous
        make_event(timestamp=at(9, 23), status="error"),        # previous, at its very end
        make_event(timestamp=at(10, 0)), make_event(timestamp=at(11)),  # current
        make_event(timestamp=at(12, 0)),                        # after: end is exclusive
    ]).raise_for_status()
    body = summary(api, user, start=at(10, 0), end=at(12, 0), compare="previous").json()
    assert body["calls"] == 2
    previous = body["previous"]
    assert (previous["start"], previous["end"]) == ("2026-11-08T00:00:00", "2026-11-10T00:00:00")
    assert (previous["calls"], previous["error_calls"], previous["input_tokens"]) == (3, 1, 1000 + 5000 + 1000)
    assert Decimal(previous["total_cost_usd"]) == cost_of(api, user, at(8, 0), at(10, 0)) > 0
    assert Decimal(body["total_cost_usd"]) == cost_of(api, user, at(10, 0), at(12, 0))
    # the previous period's figures are the summary of that period asked directly
    direct = summary(api, user, start=at(8, 0), end=at(10, 0)).json()
    assert {k: v for k, v in previous.items() if k not in ("start", "end")} == \
        {k: v for k, v in direct.items() if k != "previous"}


def test_with_no_end_the_current_period_runs_to_now(api: ApiServer) -> None:
    user = create_user(api)
    now = datetime.now(UTC)
    ago = lambda hours: (now - timedelta(hours=hours)).isoformat()  # noqa: E731
    post_events(api, user, [make_event(timestamp=ago(1)), make_event(timestamp=ago(1.5)),  # current
                            make_event(timestamp=ago(3)),                                   # previous
                            make_event(timestamp=ago(5))]).raise_for_status()              # neither
    body = summary(api, user, start=ago(2), compare="previous").json()
    assert (body["calls"], body["previous"]["calls"]) == (2, 1)
    length = datetime.fromisoformat(body["previous"]["end"]) - datetime.fromisoformat(body["previous"]["start"])
    assert abs(length - timedelta(hours=2)) < timedelta(seconds=30)


def test_filters_apply_to_both_periods(api: ApiServer) -> None:
    user = create_user(api)
    post_events(api, user, [make_event(timestamp="2026-11-01T10:00:00Z", customer_id="acme", tags={"team": "a"}),
                            make_event(timestamp="2026-11-01T11:00:00Z", customer_id="globex", tags={"team": "a"}),
                            make_event(timestamp="2026-11-02T10:00:00Z", customer_id="acme"),
                            make_event(timestamp="2026-11-02T11:00:00Z", customer_id="acme", tags={"team": "a"})])
    body = summary(api, user, start="2026-11-02T00:00:00Z", end="2026-11-03T00:00:00Z", compare="previous",
                   customer_id="acme").json()
    assert (body["calls"], body["previous"]["calls"]) == (2, 1)
    tagged = httpx.get(f"{api.url}/v1/analytics/summary", headers=user.headers,
                       params=[("start", "2026-11-02T00:00:00Z"), ("end", "2026-11-03T00:00:00Z"),
                               ("compare", "previous"), ("tag", "team:a")]).json()
    assert (tagged["calls"], tagged["previous"]["calls"]) == (1, 2)


def test_without_compare_there_is_no_previous_and_without_start_it_is_a_clear_422(api: ApiServer,
                                                                                  user: TestUser) -> None:
    assert summary(api, user).json()["previous"] is None
    answer = summary(api, user, compare="previous")
    assert answer.status_code == 422 and "compare=previous needs start" in answer.json()["detail"]
    assert summary(api, user, start="2026-11-01T00:00:00Z", compare="last-year").status_code == 422
