"""Calendar periods of a budget, in the budget's own IANA timezone (pure: no FastAPI, no database).

A period starts at 00:00 local time (day; week from Monday; month from the 1st) and ends, exclusive,
where the next one starts. Bounds are computed on the local calendar and only then turned into
instants, so a day is 23 or 25 hours long across a DST change, and a midnight that does not exist
(zones that spring forward at 00:00) starts the day at the first instant that does (01:00 local).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

Period = Literal["day", "week", "month"]
PERIODS: tuple[str, ...] = ("day", "week", "month")


def zone(name: str) -> ZoneInfo:
    """The IANA zone, or ValueError naming it (fixed offsets like '+02:00' are not calendar zones)."""
    if name not in _known_zones():
        raise ValueError(f"unknown IANA timezone {name!r} (for example 'UTC' or 'Europe/Paris')")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:  # pragma: no cover - listed but unreadable
        raise ValueError(f"unknown IANA timezone {name!r}") from exc


_ZONES: frozenset[str] | None = None


def _known_zones() -> frozenset[str]:
    global _ZONES
    if _ZONES is None:
        _ZONES = frozenset(available_timezones()) | {"UTC"}
    return _ZONES


def _first_day(period: str, day: date) -> date:
    if period == "day":
        return day
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    raise ValueError(f"unknown period {period!r}: use day, week or month")


def _next_first_day(period: str, first: date) -> date:
    if period == "day":
        return first + timedelta(days=1)
    if period == "week":
        return first + timedelta(days=7)
    return date(first.year + first.month // 12, first.month % 12 + 1, 1)


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The first instant of `day` in `tz`, as an aware datetime in `tz`.

    fold=0 on a non-existent wall time applies the offset before the gap, which lands exactly on the
    instant the gap starts; the round trip through UTC then shows it with the offset in force after it.
    """
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC).astimezone(tz)


def period_bounds(period: str, tz: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """[start, end) of the period containing `now` (aware), both aware in `tz`. Subtract them in UTC:
    Python subtracts aware datetimes of one zone as wall clocks, an hour off across DST."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    first = _first_day(period, now.astimezone(tz).date())
    return local_midnight(first, tz), local_midnight(_next_first_day(period, first), tz)
