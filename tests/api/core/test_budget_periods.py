"""Calendar periods in the budget's timezone, DST included (api/budget_periods.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.budget_periods import period_bounds, zone

PARIS = zone("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_month_starts_on_the_first_at_local_midnight() -> None:
    start, end = period_bounds("month", PARIS, utc(2026, 3, 15, 12))
    assert start.isoformat() == "2026-03-01T00:00:00+01:00"
    assert end.isoformat() == "2026-04-01T00:00:00+02:00"  # DST began on 29 March
    # (aware datetimes in the same zone subtract as wall clocks: compare instants)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 31 * 86400 - 3600


def test_month_boundary_follows_local_time_not_utc() -> None:
    # 23:30 UTC on 31 January is already 1 February in Paris: the new month's period.
    start, _ = period_bounds("month", PARIS, utc(2026, 1, 31, 23, 30))
    assert start.isoformat() == "2026-02-01T00:00:00+01:00"
    start, _ = period_bounds("month", PARIS, utc(2026, 1, 31, 22, 59))
    assert start.isoformat() == "2026-01-01T00:00:00+01:00"


def test_december_rolls_into_next_year() -> None:
    start, end = period_bounds("month", zone("America/New_York"), utc(2026, 12, 20))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00-05:00", "2027-01-01T00:00:00-05:00")


def test_week_starts_monday() -> None:
    start, end = period_bounds("week", zone("Asia/Tokyo"), utc(2026, 12, 3, 16))  # Friday 4 Dec 01:00 in Tokyo
    assert start.isoformat() == "2026-11-30T00:00:00+09:00"
    assert start.weekday() == 0
    assert end.isoformat() == "2026-12-07T00:00:00+09:00"


@pytest.mark.parametrize(("day", "hours"), [((2026, 3, 29, 12), 23), ((2026, 10, 25, 12), 25), ((2026, 6, 1, 12), 24)])
def test_a_day_is_as_long_as_the_local_calendar_says(day: tuple[int, ...], hours: int) -> None:
    start, end = period_bounds("day", PARIS, utc(*day))
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == hours * 3600


def test_a_midnight_that_does_not_exist_starts_the_day_at_the_first_instant_that_does() -> None:
    # Chile springs forward at 00:00 (to 01:00) on 6 September 2026.
    start, _ = period_bounds("day", zone("America/Santiago"), utc(2026, 9, 6, 12))
    assert start.isoformat() == "2026-09-06T01:00:00-03:00"
    assert start.astimezone(UTC) == utc(2026, 9, 6, 4)


def test_unknown_zone_and_period_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus"):
        zone("Mars/Olympus")
    with pytest.raises(ValueError, match="year"):
        period_bounds("year", PARIS, utc(2026, 1, 1))
    with pytest.raises(ValueError, match="aware"):
        period_bounds("day", PARIS, datetime(2026, 1, 1))
