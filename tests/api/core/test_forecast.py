"""The run-rate forecast (api/forecast.py), against numbers worked out by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from api.forecast import project, window_start

NOW = datetime(2026, 4, 10, 12, tzinfo=UTC)  # a 30-day month: 20.5 days left until 1 May 00:00 UTC
END = datetime(2026, 5, 1, tzinfo=UTC)


def test_month_projects_last_weeks_pace_over_what_is_left() -> None:
    start = window_start(period="month", now=NOW, first_call_at=NOW - timedelta(days=40))
    assert start == NOW - timedelta(days=7)
    # $70 in the trailing 7 days is $10/day; 20.5 days left; $95 spent so far → 95 + 205 = 300.
    f = project(spent=Decimal("95"), window_cost=Decimal("70"), window_from=start, now=NOW, period_end=END)
    assert f.projected_usd == Decimal("300.000000")


def test_a_young_scope_uses_the_time_since_its_first_call() -> None:
    first = NOW - timedelta(days=2)
    start = window_start(period="month", now=NOW, first_call_at=first)
    assert start == first
    # $8 over 2 days = $4/day × 20.5 days = 82, plus the $8 spent.
    f = project(spent=Decimal("8"), window_cost=Decimal("8"), window_from=start, now=NOW, period_end=END)
    assert f.projected_usd == Decimal("90.000000")


def test_a_first_call_seconds_old_counts_as_a_day_for_a_month() -> None:
    start = window_start(period="month", now=NOW, first_call_at=NOW - timedelta(seconds=5))
    assert start == NOW - timedelta(days=1)
    start = window_start(period="day", now=NOW, first_call_at=NOW - timedelta(seconds=5))
    assert start == NOW - timedelta(hours=1)


def test_daily_period_looks_back_one_day() -> None:
    start = window_start(period="day", now=NOW, first_call_at=None)
    assert start == NOW - timedelta(days=1)
    # $48 in 24 h = $2/h; 12 h left today; $30 spent → 54.
    f = project(spent=Decimal("30"), window_cost=Decimal("48"), window_from=start, now=NOW,
                period_end=datetime(2026, 4, 11, tzinfo=UTC))
    assert f.projected_usd == Decimal("54.000000")


def test_no_traffic_projects_what_is_spent_and_never_less() -> None:
    start = window_start(period="week", now=NOW, first_call_at=None)
    f = project(spent=Decimal("12.5"), window_cost=Decimal("0"), window_from=start, now=NOW, period_end=END)
    assert f.projected_usd == Decimal("12.500000")
    after = project(spent=Decimal("3"), window_cost=Decimal("7"), window_from=start, now=END + timedelta(hours=1),
                    period_end=END)
    assert after.projected_usd == Decimal("3.000000")
