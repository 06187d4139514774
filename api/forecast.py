"""The spend forecast shared by `GET /v1/analytics/forecast` and every budget's `projected_usd` (pure).

Method (docs/budgets.md): a run-rate. The rate is the cost of the trailing window divided by its
length, and the projection is what is spent so far in the period plus that rate over what is left:

    projected = spent + rate × (period_end − now)
    rate      = cost in [window_start, now) / (now − window_start)
    window_start = max(now − lookback, first call in scope), and at least a minimum window before now

The lookback is one day for daily periods and seven days otherwise, so the first days of a month are
projected from last week's pace (not from a few hours), and one weekend does not halve a monthly
projection. A scope whose first call is recent uses the time since that call, not days it did not
exist, but never less than one hour (daily periods) or one day (weekly and monthly): a first call
seconds old says little about a month's pace. The projection never falls below what is already spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

MICRO_USD = Decimal("0.000001")


def lookback(period: str) -> timedelta:
    return timedelta(days=1) if period == "day" else timedelta(days=7)


def min_window(period: str) -> timedelta:
    return timedelta(hours=1) if period == "day" else timedelta(days=1)


def window_start(*, period: str, now: datetime, first_call_at: datetime | None) -> datetime:
    """Where the trailing window starts (see the module docstring)."""
    start = now - lookback(period)
    if first_call_at is not None and first_call_at > start:
        start = first_call_at
    return min(start, now - min_window(period))


@dataclass(frozen=True)
class Forecast:
    spent_usd: Decimal
    projected_usd: Decimal


def project(*, spent: Decimal, window_cost: Decimal, window_from: datetime, now: datetime,
            period_end: datetime) -> Forecast:
    """spent + rate × time left, rate from the trailing window; exact decimals, rounded to 1e-6 USD."""
    # in UTC: aware datetimes sharing a zone subtract as wall clocks, which is wrong across DST
    now, window_from, period_end = (t.astimezone(UTC) for t in (now, window_from, period_end))
    window_seconds = Decimal(str((now - window_from).total_seconds()))
    left_seconds = Decimal(str(max((period_end - now).total_seconds(), 0.0)))
    rate = window_cost / window_seconds if window_seconds > 0 else Decimal(0)
    projected = spent + rate * left_seconds
    return Forecast(spent_usd=spent, projected_usd=max(projected, spent).quantize(MICRO_USD))
