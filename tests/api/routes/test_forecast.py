"""GET /v1/analytics/forecast against a hand computation on synthetic traffic (method: docs/budgets.md)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import httpx

from tests.factories import TestUser, make_event, post_events
from tests.server import ApiServer

DAY = timedelta(days=1)


def forecast(api: ApiServer, user: TestUser, **params: str) -> dict:
    answer = httpx.get(f"{api.url}/v1/analytics/forecast", headers=user.headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_month_forecast_is_spent_plus_last_weeks_daily_rate_times_days_left(api: ApiServer, user: TestUser) -> None:
    now = datetime.now(UTC)
    traffic = [(timedelta(hours=2), "1"), (timedelta(hours=30), "2"), (timedelta(days=5), "4"),
               (timedelta(days=9), "8"), (timedelta(days=40), "16")]
    post_events(api, user, [make_event(customer_id="fc", cost_usd=cost, timestamp=(now - age).isoformat())
                            for age, cost in traffic])
    post_events(api, user, [make_event(customer_id="other", cost_usd="1000", timestamp=now.isoformat())])
    f = forecast(api, user, period="month", timezone="Asia/Kolkata", customer_id="fc")
    tz = ZoneInfo("Asia/Kolkata")
    local = now.astimezone(tz)
    start, end = datetime.fromisoformat(f["period_start"]), datetime.fromisoformat(f["period_end"])
    assert start == datetime(local.year, local.month, 1, tzinfo=tz)
    assert end == datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz)
    # By hand: spent is the calls since the 1st (Kolkata); the first call is 40 days old, so the window is the
    # full 7 days, holding $1 + $2 + $4 = $7: $1 a day, times the days left.
    spent = sum(Decimal(cost) for age, cost in traffic if now - age >= start)
    days_left = Decimal((end - now).total_seconds()) / 86400
    assert Decimal(f["spent_usd"]) == spent
    assert abs(Decimal(f["projected_usd"]) - (spent + days_left)) < Decimal("0.001")
    assert f["calls"] == sum(1 for age, _ in traffic if now - age >= start)


def test_a_young_scope_projects_from_its_own_age(api: ApiServer, user: TestUser) -> None:
    now = datetime.now(UTC)
    post_events(api, user, [make_event(customer_id="young", cost_usd="6", timestamp=(now - 2 * DAY).isoformat()),
                            make_event(customer_id="young", model="unknown-model-q", timestamp=now.isoformat())])
    f = forecast(api, user, period="week", customer_id="young")
    start, end = datetime.fromisoformat(f["period_start"]), datetime.fromisoformat(f["period_end"])
    assert start.weekday() == 0 and (start.hour, start.minute) == (0, 0) and end - start == 7 * DAY
    # $6 over the 2 days since the first call: $3 a day over what is left of the week.
    spent = Decimal("6") if now - 2 * DAY >= start else Decimal(0)
    expected = spent + 3 * Decimal((end - now).total_seconds()) / 86400
    assert Decimal(f["spent_usd"]) == spent
    assert abs(Decimal(f["projected_usd"]) - expected) < Decimal("0.001")
    assert f["unpriced_calls"] == 1


def test_forecast_matches_the_budgets_projection(api: ApiServer, user: TestUser) -> None:
    now = datetime.now(UTC)
    post_events(api, user, [make_event(provider="anthropic", model="claude-3-5-haiku-20241022", cost_usd="2.5",
                                       timestamp=(now - timedelta(hours=3)).isoformat(), tags={"team": "search"})])
    b = httpx.post(f"{api.url}/v1/budgets", headers=user.headers,
                   json={"name": "t", "amount_usd": 5, "period": "day", "timezone": "America/Denver",
                         "scope": {"tag": "team:search"}}).json()
    f = forecast(api, user, period="day", timezone="America/Denver", tag="team:search")
    assert (f["period_start"], f["period_end"], f["spent_usd"]) == (b["period_start"], b["period_end"], b["spent_usd"])
    assert abs(Decimal(f["projected_usd"]) - Decimal(b["projected_usd"])) < Decimal("0.001")


def test_bad_forecast_parameters_name_the_field(api: ApiServer, user: TestUser) -> None:
    for params, field in (({"period": "year"}, "period"), ({"timezone": "Nowhere/City"}, "timezone"),
                          ({"tag": "nocolon"}, "tag")):
        answer = httpx.get(f"{api.url}/v1/analytics/forecast", headers=user.headers, params=params)
        assert answer.status_code == 422
        assert ["query", field] in [e["loc"] for e in answer.json()["detail"]]
